"""Applies the plain-SQL migrations in order and records each version.

- Nile-bound files (`migrations/nile/NNNN_name.sql`) run everywhere, each in its own
  transaction together with its ledger row: a failure leaves the previous version intact and
  the error names the file.
- Vanilla-only files (`migrations/vanilla/`) emulate what Nile has built in: `bootstrap.sql`
  before, `isolation.sql` after; both idempotent and never sent to Nile.
- A session-level advisory lock serialises concurrent migrators; the loser then finds nothing
  left to do. Applied files are checksummed so an edited history is refused, not half-applied.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg

from inboxfleet.db.connection import Flavor
from inboxfleet.db.errors import (
    MigrationError,
    MigrationFailed,
    MigrationTampered,
    NileIncompatibleSql,
)
from inboxfleet.db.nile_rules import nile_problems, transaction_problems

# pg_advisory_lock key: the first 8 bytes of sha256("inboxfleet.migrate"), as a signed bigint.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"inboxfleet.migrate").digest()[:8], "big", signed=True)
_FILENAME = re.compile(r"([0-9]{4})_([a-z0-9_]+)\.sql")

LEDGER_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    filename   text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    version: int
    filename: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class MigrationReport:
    applied: tuple[str, ...]
    current_version: int


def default_directory() -> Path:
    return Path(str(resources.files("inboxfleet.db") / "migrations"))


def load_migrations(directory: Path) -> list[Migration]:
    migrations = []
    for path in sorted((directory / "nile").glob("*.sql")):
        match = _FILENAME.fullmatch(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_snake_name.sql")
        text = path.read_text()
        if problems := transaction_problems(text):
            raise MigrationError(f"{path.name}: not allowed in a migration: {', '.join(problems)}")
        migrations.append(Migration(int(match.group(1)), path.name, text))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a version number")
    return migrations


def migrate(conninfo: str, flavor: Flavor, directory: Path | None = None) -> MigrationReport:
    directory = directory or default_directory()
    migrations = load_migrations(directory)
    if flavor == "nile":
        for m in migrations:
            if problems := nile_problems(m.sql):
                raise NileIncompatibleSql(m.filename, problems)

    try:
        conn = psycopg.connect(
            conninfo, autocommit=True, application_name="inboxfleet-migrate", connect_timeout=10
        )
    except psycopg.OperationalError as exc:
        raise MigrationError(f"cannot connect to the database: {_first_line(exc)}") from None
    with conn:
        # Waits while another migrator works; it then finds its files already applied.
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            return _migrate_locked(conn, flavor, directory, migrations)
        finally:
            if not conn.broken:
                conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))


def _migrate_locked(
    conn: psycopg.Connection[Any], flavor: Flavor, directory: Path, migrations: list[Migration]
) -> MigrationReport:
    conn.execute(LEDGER_DDL)
    if flavor == "postgres":
        _run_file(conn, directory / "vanilla" / "bootstrap.sql")
    applied = dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())
    unknown = sorted(set(applied) - {m.version for m in migrations})
    if unknown:
        raise MigrationError(
            f"the database has versions this code does not know ({unknown}): it is newer"
        )

    done: list[str] = []
    try:
        for m in migrations:
            if m.version in applied:
                if applied[m.version] != m.checksum:
                    raise MigrationTampered(m.filename)
                continue
            try:
                with conn.transaction():
                    conn.execute(m.sql.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, filename, checksum) "
                        "VALUES (%s, %s, %s)",
                        (m.version, m.filename, m.checksum),
                    )
            except psycopg.Error as exc:
                raise MigrationFailed(m.filename, _first_line(exc)) from exc
            done.append(m.filename)
    finally:
        # Even after a failed file: the files before it are committed, and their tables must
        # not stay without isolation until the next run.
        if flavor == "postgres" and not conn.broken:
            _run_file(conn, directory / "vanilla" / "isolation.sql")
    current = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return MigrationReport(tuple(done), int(current[0]) if current else 0)


def _run_file(conn: psycopg.Connection[Any], path: Path) -> None:
    try:
        with conn.transaction():
            conn.execute(path.read_bytes())
    except psycopg.Error as exc:
        raise MigrationFailed(f"vanilla/{path.name}", _first_line(exc)) from exc


def _first_line(exc: psycopg.Error) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
