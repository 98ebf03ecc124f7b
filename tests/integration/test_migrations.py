"""The migrator: ordered, recorded, concurrent-safe, atomic per file, Nile-clean."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from enum import StrEnum
from pathlib import Path

import psycopg
import pytest

from inboxfleet.db.errors import (
    MigrationError,
    MigrationFailed,
    MigrationTampered,
    NileIncompatibleSql,
)
from inboxfleet.db.migrator import MigrationReport, default_directory, migrate
from inboxfleet.lifecycles import (
    DomainStatus,
    InboxStatus,
    PaymentState,
    ServerStatus,
    SubscriptionStatus,
)
from local.template import REPO_ROOT as REPO


def ledger(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT version, filename FROM schema_migrations ORDER BY 1").fetchall()


# The files this code ships, and the version numbers a test's extra files take after them.
SHIPPED = sorted(path.name for path in (default_directory() / "nile").glob("*.sql"))
SHIPPED_LEDGER = [(int(name[:4]), name) for name in SHIPPED]
NEXT = len(SHIPPED) + 1


def extra(number: int, name: str) -> str:
    return f"{number:04d}_{name}.sql"


def copy_migrations(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    shutil.copytree(default_directory(), target)
    return target


def test_applies_in_order_once_and_twice_is_a_no_op(empty_database: str) -> None:
    first = migrate(empty_database, "postgres")
    second = migrate(empty_database, "postgres")
    assert SHIPPED[:2] == ["0001_core.sql", "0002_billing.sql"]
    assert first.applied == tuple(SHIPPED)
    assert second == MigrationReport(applied=(), current_version=first.current_version)
    assert ledger(empty_database) == SHIPPED_LEDGER


def test_two_migrators_at_once_apply_each_file_exactly_once(empty_database: str) -> None:
    barrier = threading.Barrier(2)
    reports: list[MigrationReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            reports.append(migrate(empty_database, "postgres"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(len(r.applied) for r in reports) == [0, len(SHIPPED)]
    assert ledger(empty_database) == SHIPPED_LEDGER


def test_a_broken_file_leaves_the_previous_version_and_names_the_file(
    empty_database: str, tmp_path: Path
) -> None:
    directory = copy_migrations(tmp_path)
    broken = extra(NEXT, "broken")
    (directory / "nile" / broken).write_text(
        "CREATE TABLE half_done (id uuid PRIMARY KEY);\n"
        "ALTER TABLE no_such_table ADD COLUMN x int;\n"
    )
    with pytest.raises(MigrationFailed, match=re.escape(broken)) as info:
        migrate(empty_database, "postgres", directory)
    assert info.value.filename == broken
    assert ledger(empty_database) == SHIPPED_LEDGER
    with psycopg.connect(empty_database) as conn:
        assert conn.execute("SELECT to_regclass('half_done')").fetchone() == (None,)


def test_tables_of_a_run_that_failed_later_still_get_isolation(
    empty_database: str, tmp_path: Path
) -> None:
    directory = copy_migrations(tmp_path)
    (directory / "nile" / extra(NEXT, "notes")).write_text(
        "CREATE TABLE notes (tenant_id uuid NOT NULL REFERENCES tenants (id), id uuid,"
        " PRIMARY KEY (tenant_id, id));\n"
    )
    broken = extra(NEXT + 1, "broken")
    (directory / "nile" / broken).write_text("SELECT no_such_function();\n")
    with pytest.raises(MigrationFailed, match=re.escape(broken)):
        migrate(empty_database, "postgres", directory)
    with psycopg.connect(empty_database) as conn:
        row = conn.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'notes'"
        ).fetchone()
    assert row == (True, True)


def test_a_database_newer_than_the_code_is_refused(empty_database: str, tmp_path: Path) -> None:
    directory = copy_migrations(tmp_path)
    (directory / "nile" / extra(NEXT, "extra")).write_text(
        "CREATE TABLE extra (id uuid PRIMARY KEY);\n"
    )
    migrate(empty_database, "postgres", directory)
    with pytest.raises(MigrationError, match="newer"):
        migrate(empty_database, "postgres")


def test_a_file_with_transaction_control_is_refused_before_running(
    empty_database: str, tmp_path: Path
) -> None:
    directory = copy_migrations(tmp_path)
    (directory / "nile" / extra(NEXT, "commits")).write_text("CREATE TABLE a (id int);\nCOMMIT;\n")
    with pytest.raises(MigrationError, match="transaction control"):
        migrate(empty_database, "postgres", directory)
    with psycopg.connect(empty_database) as conn:
        assert conn.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,)


def test_an_edited_applied_file_is_refused(empty_database: str, tmp_path: Path) -> None:
    directory = copy_migrations(tmp_path)
    migrate(empty_database, "postgres", directory)
    core = directory / "nile" / "0001_core.sql"
    core.write_text(core.read_text() + "\n-- edited afterwards\n")
    with pytest.raises(MigrationTampered, match=r"0001_core\.sql"):
        migrate(empty_database, "postgres", directory)


def test_nile_flavor_refuses_forbidden_sql_before_connecting(tmp_path: Path) -> None:
    directory = copy_migrations(tmp_path)
    (directory / "nile" / extra(NEXT, "bad")).write_text("CREATE SEQUENCE counter;\n")
    with pytest.raises(NileIncompatibleSql, match="CREATE SEQUENCE"):
        migrate("postgresql://nobody@127.0.0.1:9/none", "nile", directory)


def catalog(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def test_tenant_tables_follow_niles_rules(migrated_url: str) -> None:
    tenant_tables = {
        r[0]
        for r in catalog(
            migrated_url,
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'tenant_id'",
        )
    }
    assert tenant_tables >= {"billing_accounts", "domains", "servers", "inboxes", "inbox_events"}
    for table in tenant_tables:
        pk = catalog(
            migrated_url,
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
            f"WHERE i.indrelid = 'public.{table}'::regclass AND i.indisprimary",
        )
        assert pk == [("tenant_id",)], table
        refs = {
            r[0]
            for r in catalog(
                migrated_url,
                "SELECT confrelid::regclass::text FROM pg_constraint "
                f"WHERE conrelid = 'public.{table}'::regclass AND contype = 'f'",
            )
        }
        assert "tenants" in refs, table
        assert refs <= tenant_tables | {"tenants"}, f"{table} references a shared table"


@pytest.mark.parametrize(
    ("table", "column", "values"),
    [
        ("inboxes", "status", InboxStatus),
        ("servers", "status", ServerStatus),
        ("domains", "status", DomainStatus),
        ("billing_accounts", "subscription_status", SubscriptionStatus),
        ("billing_accounts", "payment_state", PaymentState),
    ],
)
def test_status_columns_accept_exactly_the_lifecycle_values(
    migrated_url: str, table: str, column: str, values: type[StrEnum]
) -> None:
    definitions = [
        str(r[0])
        for r in catalog(
            migrated_url,
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            f"WHERE conrelid = 'public.{table}'::regclass AND contype = 'c'",
        )
    ]
    (definition,) = [d for d in definitions if f"({column} = ANY" in d or f"(({column} = ANY" in d]
    allowed = {part.split("'")[1] for part in definition.split("ARRAY[")[1].split(",")}
    assert allowed == {v.value for v in values}


def test_indexes_for_the_lookups_later_features_need(migrated_url: str) -> None:
    indexes = {
        str(r[0])
        for r in catalog(
            migrated_url, "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'"
        )
    }
    wanted = [
        "inboxes USING btree (tenant_id, status, created_at, id)",
        "inboxes USING btree (tenant_id, created_at, id)",
        "inboxes USING btree (tenant_id, domain_id, created_at, id)",
        "idempotency_records USING btree (expires_at)",
        "billing_accounts USING btree (stripe_customer_id)",
        "servers USING btree (provider_instance_id)",
        "domains USING btree (name)",
        "inbox_events USING btree (tenant_id, inbox_id, occurred_at, id)",
    ]
    for fragment in wanted:
        assert any(fragment in d for d in indexes), fragment


def run_migrate_cli(database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inboxfleet.db", "migrate"],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )


def test_cli_migrates_database_url(empty_database: str) -> None:
    done = run_migrate_cli(empty_database)
    assert done.returncode == 0, done.stderr
    assert f"schema version {len(SHIPPED)}" in done.stdout
    assert "nothing new" in run_migrate_cli(empty_database).stdout


def test_cli_failure_is_one_clear_line() -> None:
    done = run_migrate_cli("postgresql://nobody@127.0.0.1:9/none?connect_timeout=1")
    assert done.returncode == 1
    assert done.stderr.startswith("migrate failed:")
    assert "Traceback" not in done.stderr
