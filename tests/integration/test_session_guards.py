"""What a session refuses: ending or re-scoping its own transaction, carrying on after a failed
statement, shared tables under a tenant context, and other tenants' rows in `tenants`."""

from __future__ import annotations

from uuid import uuid4

import psycopg
import pytest
from psycopg import sql
from pydantic import SecretStr

from inboxfleet.db import (
    Database,
    ForbiddenStatement,
    NotConfigured,
    SessionAborted,
    tenant_session,
)
from inboxfleet.db.connection import app_conninfo
from inboxfleet.db.repositories import Domains, StripeEventLog, TenantProfile
from inboxfleet.settings import DatabaseSettings
from tests.factories import new_tenant


def test_a_caught_failure_voids_the_session_loudly(app_db: Database) -> None:
    tenant = new_tenant()
    with pytest.raises(SessionAborted, match="nothing was saved"), tenant_session(tenant) as s:
        Domains(s).add("kept.example")
        with pytest.raises(psycopg.errors.UniqueViolation):
            Domains(s).add("kept.example")
        # The caller swallowed the error and carries on: the session must not pretend.
    with tenant_session(tenant) as s:
        assert Domains(s).list() == []


def test_the_next_statement_after_a_failure_is_refused(app_db: Database) -> None:
    tenant = new_tenant()
    with pytest.raises(SessionAborted), tenant_session(tenant) as s:
        with pytest.raises(psycopg.errors.CheckViolation):
            Domains(s).add("UPPER.example")
        Domains(s).list()


@pytest.mark.parametrize(
    "statement",
    [
        "COMMIT",
        "rollback",
        "BEGIN",
        "SET LOCAL inboxfleet.system_reason = 'sneaky'",
        "set nile.tenant_id = '00000000-0000-0000-0000-000000000000'",
        "RESET ALL",
        "SELECT 1; SELECT 2",
        "  savepoint x",
    ],
)
def test_sessions_refuse_context_changing_statements(app_db: Database, statement: str) -> None:
    tenant = new_tenant()
    with pytest.raises(ForbiddenStatement), tenant_session(tenant) as s:
        s.execute(statement)


def test_a_system_reason_set_under_a_tenant_context_opens_nothing(
    app_db: Database, migrated_url: str
) -> None:
    a, b = new_tenant("a"), new_tenant("b")
    for tenant in (a, b):
        with tenant_session(tenant) as s:
            Domains(s).add(f"{tenant}.example"[:60])
    with psycopg.connect(app_conninfo(migrated_url), autocommit=True) as raw:
        raw.execute(
            sql.SQL(
                "BEGIN; SET LOCAL nile.tenant_id = {}; SET LOCAL inboxfleet.system_reason = 'x'"
            ).format(sql.Literal(str(a)))
        )
        seen = raw.execute("SELECT DISTINCT tenant_id FROM domains").fetchall()
        raw.execute("ROLLBACK")
    assert seen == [(a,)]


def test_shared_tables_refuse_a_tenant_context(app_db: Database) -> None:
    """Nile refuses transactions writing tenant and shared tables; so does the emulation."""
    tenant = new_tenant()
    with (
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"),
        tenant_session(tenant) as s,
    ):
        s.execute(
            "INSERT INTO stripe_events (event_id, type, created) VALUES (%s, 'x', now())",
            (f"evt_{uuid4().hex}",),
        )
    with tenant_session(tenant) as s:
        assert s.scalar("SELECT count(*) FROM stripe_events") == 0
    with pytest.raises(Exception, match="needs a SystemSession"), tenant_session(tenant) as s:
        StripeEventLog(s)  # type: ignore[arg-type]


def test_a_tenant_cannot_see_or_rename_another_tenant(app_db: Database) -> None:
    a, b = new_tenant("a"), new_tenant("b")
    with tenant_session(a) as s:
        visible = s.scalar("SELECT count(*) FROM tenants")
        renamed = s.execute("UPDATE tenants SET name = 'taken over' WHERE id = %s", (b,))
    assert (visible, renamed) == (1, 0)
    with tenant_session(b) as s:
        assert TenantProfile(s).get().name != "taken over"


def test_a_malformed_url_is_refused_without_repeating_it() -> None:
    settings = DatabaseSettings(url=SecretStr("postgresql://u:S3cretPw@[badhost/db"))
    with pytest.raises(NotConfigured) as info:
        Database.from_settings(settings)
    assert "S3cretPw" not in str(info.value)
    assert info.value.__cause__ is None


def test_refused_credentials_are_fetched_again(migrated_url: str) -> None:
    """A rotated secret: the cached URL stops working, a forced re-read brings the new one."""
    asked: list[bool] = []
    good = app_conninfo(migrated_url)
    stale = good.replace("user=inboxfleet_app", "user=rotated_away")

    def conninfo(force: bool) -> str:
        asked.append(force)
        return good if force else stale

    db = Database(conninfo, "postgres", DatabaseSettings())
    try:
        tenant = new_tenant()
        with tenant_session(tenant, database=db) as s:
            assert TenantProfile(s).get().id == tenant
    finally:
        db.close()
    assert asked == [False, True]
