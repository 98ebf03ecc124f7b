"""Tenant isolation is enforced by the database, not only by the Python layer."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from inboxfleet.db import Database, system_session, tenant_session
from inboxfleet.db.connection import app_conninfo
from inboxfleet.db.repositories import Domains, Inboxes
from tests.factories import new_tenant, seed_every_table


def tenant_tables(owner_url: str) -> list[str]:
    with psycopg.connect(owner_url) as conn:
        rows = conn.execute(
            "SELECT c.table_name FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_schema, table_name) "
            "WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' "
            "AND t.table_type = 'BASE TABLE' ORDER BY 1"
        ).fetchall()
    return [r[0] for r in rows]


def tenants_in(session: Any, table: str) -> set[UUID]:
    rows = session.scalar(
        sql.SQL("SELECT coalesce(array_agg(DISTINCT tenant_id), '{{}}') FROM {}").format(
            sql.Identifier(table)
        )
    )
    return set(rows)


def test_every_tenant_table_shows_only_the_sessions_tenant(
    app_db: Database, migrated_url: str
) -> None:
    a, b = seed_every_table(new_tenant("a")), seed_every_table(new_tenant("b"))
    tables = tenant_tables(migrated_url)
    assert {"billing_accounts", "domains", "servers", "inboxes", "inbox_events"} <= set(tables)

    for mine, other in ((a, b), (b, a)):
        with tenant_session(mine.tenant_id) as s:
            for table in tables:
                assert tenants_in(s, table) == {mine.tenant_id}, table
            assert Inboxes(s).get(other.inbox_id) is None


def test_app_role_without_context_sees_nothing(app_db: Database, migrated_url: str) -> None:
    seed_every_table(new_tenant())
    with psycopg.connect(app_conninfo(migrated_url), autocommit=True) as raw:
        for table in tenant_tables(migrated_url):
            count = raw.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            assert count.fetchone() == (0,), table


def test_writing_another_tenants_rows_fails(app_db: Database) -> None:
    a, b = seed_every_table(new_tenant("a")), seed_every_table(new_tenant("b"))

    with (
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"),
        tenant_session(a.tenant_id) as s,
    ):
        s.execute(
            "INSERT INTO domains (tenant_id, name) VALUES (%s, %s)",
            (b.tenant_id, "sneaky.example"),
        )

    with tenant_session(a.tenant_id) as s:
        touched = s.execute(
            "UPDATE inboxes SET failure_reason = 'tampered' WHERE id = %s", (b.inbox_id,)
        )
        deleted = s.execute("DELETE FROM inbox_events WHERE tenant_id = %s", (b.tenant_id,))
    assert (touched, deleted) == (0, 0)

    with (
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"),
        tenant_session(a.tenant_id) as s,
    ):
        s.execute("UPDATE domains SET tenant_id = %s WHERE id = %s", (b.tenant_id, a.domain_id))

    with tenant_session(b.tenant_id) as s:
        inbox = Inboxes(s).get(b.inbox_id)
        assert inbox is not None
        assert inbox.failure_reason is None
        assert [d.name for d in Domains(s).list() if d.name == "sneaky.example"] == []


def test_system_session_reads_across_tenants_but_cannot_write_tenant_rows(app_db: Database) -> None:
    a, b = seed_every_table(new_tenant("a")), seed_every_table(new_tenant("b"))
    with system_session("tests.reconcile") as s:
        seen = tenants_in(s, "inboxes")
    assert {a.tenant_id, b.tenant_id} <= seen

    with (
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"),
        system_session("tests.reconcile") as s,
    ):
        s.execute("INSERT INTO domains (tenant_id, name) VALUES (%s, 'x.example')", (a.tenant_id,))
    with system_session("tests.reconcile") as s:
        assert s.execute("UPDATE inboxes SET attempt = 9 WHERE id = %s", (a.inbox_id,)) == 0


@pytest.mark.parametrize(
    "statement",
    [
        "SET row_security = off; SELECT count(*) FROM inboxes",
        "ALTER TABLE inboxes DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE inboxes NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY tenant_read ON inboxes",
        "SET ROLE postgres",
        "CREATE POLICY open ON inboxes USING (true)",
    ],
)
def test_app_role_cannot_bypass_rls(app_db: Database, migrated_url: str, statement: str) -> None:
    with (
        psycopg.connect(app_conninfo(migrated_url), autocommit=True) as raw,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        raw.execute(statement)


def test_app_role_attributes(app_db: Database, migrated_url: str) -> None:
    with psycopg.connect(app_conninfo(migrated_url)) as raw:
        row = raw.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
            "WHERE rolname = current_user"
        ).fetchone()
        owners = raw.execute(
            "SELECT count(*) FROM pg_tables "
            "WHERE schemaname = 'public' AND tableowner = current_user"
        ).fetchone()
    assert row == (False, False, False, False)
    assert owners == (0,)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True)),
        min_size=1,
        max_size=25,
        unique_by=lambda row: row[1],
    )
)
def test_no_leak_for_random_tenants_and_rows(app_db: Database, rows: list[tuple[int, str]]) -> None:
    tenants = [new_tenant(f"p{i}") for i in range(4)]
    expected: dict[UUID, set[str]] = {t: set() for t in tenants}
    for index, label in rows:
        tenant = tenants[index]
        name = f"{label}.{str(tenant)[:8]}.example"
        with tenant_session(tenant) as s:
            domain = Domains(s).add(name)
            Inboxes(s).add(domain.id, f"info@{name}")
        expected[tenant].add(name)

    others = {t: [o for o in tenants if o != t] for t in tenants}
    for tenant, names in expected.items():
        with tenant_session(tenant) as s:
            # Unfiltered reads: only the database's policies stand between tenants here.
            assert set(s.scalar("SELECT coalesce(array_agg(name), '{}') FROM domains")) == names
            assert tenants_in(s, "inboxes") <= {tenant}
            assert tenants_in(s, "domains") <= {tenant}
            touched = s.execute(
                "UPDATE domains SET status = 'removed' WHERE tenant_id = ANY(%s)", (others[tenant],)
            )
            assert touched == 0


def test_two_threads_two_tenants_each_see_only_their_own(app_db: Database) -> None:
    a, b = seed_every_table(new_tenant("a")), seed_every_table(new_tenant("b"))
    barrier = threading.Barrier(2)
    results: dict[UUID, list[tuple[set[UUID], int]]] = {}
    errors: list[BaseException] = []

    def work(tenant: UUID) -> None:
        try:
            seen: list[tuple[set[UUID], int]] = []
            barrier.wait(timeout=10)
            for _ in range(50):
                with tenant_session(tenant) as s:
                    pid = s.scalar("SELECT pg_backend_pid()")
                    seen.append((tenants_in(s, "inboxes") | tenants_in(s, "domains"), pid))
            results[tenant] = seen
        except BaseException as exc:  # surfaced to the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t.tenant_id,)) for t in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    for tenant in (a.tenant_id, b.tenant_id):
        assert all(tenants == {tenant} for tenants, _ in results[tenant])
    pids_a = {pid for _, pid in results[a.tenant_id]}
    pids_b = {pid for _, pid in results[b.tenant_id]}
    assert len(pids_a) == 1
    assert len(pids_b) == 1
    assert pids_a != pids_b
