"""Sessions: validation before SQL, no nesting, no use after the block, reconnects."""

from __future__ import annotations

from uuid import uuid4

import psycopg
import pytest
from pydantic import SecretStr

from inboxfleet.db import (
    Database,
    InvalidTenantId,
    NestedSession,
    NotConfigured,
    SessionClosed,
    UnknownTenant,
    WrongSession,
    system_session,
    tenant_session,
)
from inboxfleet.db.errors import InvalidSessionReason
from inboxfleet.db.repositories import Inboxes, StripeEventLog, TenantDirectory, TenantProfile
from inboxfleet.settings import DatabaseSettings
from tests.factories import new_tenant, seed_every_table

# Nothing listens here: any attempt to reach the server would raise OperationalError instead.
UNREACHABLE = Database.from_settings(
    DatabaseSettings(
        url=SecretStr("postgresql://nobody@127.0.0.1:9/none"),
        app_url=SecretStr("postgresql://nobody@127.0.0.1:9/none"),
        connect_timeout_s=1,
    )
)


@pytest.mark.parametrize("bad", ["", "not-a-uuid", "1234", "x' OR '1'='1", 42, None, "a" * 500])
def test_malformed_tenant_id_fails_before_any_sql(bad: object) -> None:
    session = tenant_session(bad, database=UNREACHABLE)  # type: ignore[arg-type]
    with pytest.raises(InvalidTenantId, match="is not a UUID"), session:
        pytest.fail("the block must not run")


def test_error_message_does_not_echo_huge_input() -> None:
    with pytest.raises(InvalidTenantId) as info, tenant_session("b" * 10_000, database=UNREACHABLE):
        pass
    assert len(str(info.value)) < 100


def test_unknown_tenant_is_a_clear_error(app_db: Database) -> None:
    missing = uuid4()
    with pytest.raises(UnknownTenant, match=str(missing)), tenant_session(missing):
        pytest.fail("the block must not run")


def test_invalid_system_reason(app_db: Database) -> None:
    with pytest.raises(InvalidSessionReason), system_session("Robert'); DROP TABLE tenants;--"):
        pass


def test_sessions_do_not_nest(app_db: Database) -> None:
    tenant = new_tenant()
    with tenant_session(tenant), pytest.raises(NestedSession), tenant_session(tenant):
        pass
    with tenant_session(tenant) as s:  # the thread is usable again afterwards
        assert TenantProfile(s).get().id == tenant


def test_session_refuses_use_after_its_block(app_db: Database) -> None:
    tenant = new_tenant()
    with tenant_session(tenant) as s:
        repo = Inboxes(s)
    with pytest.raises(SessionClosed):
        repo.list()


def test_repositories_refuse_the_wrong_kind_of_session(app_db: Database) -> None:
    tenant = new_tenant()
    with system_session("tests.kinds") as sys_s, pytest.raises(WrongSession):
        Inboxes(sys_s)  # type: ignore[arg-type]
    with tenant_session(tenant) as ten_s, pytest.raises(WrongSession):
        StripeEventLog(ten_s)  # type: ignore[arg-type]
    with pytest.raises(WrongSession, match="needs a TenantSession"):
        Inboxes(None)  # type: ignore[arg-type]


def test_an_error_rolls_the_whole_session_back(app_db: Database) -> None:
    seeded = seed_every_table(new_tenant())
    with pytest.raises(RuntimeError), tenant_session(seeded.tenant_id) as s:
        Inboxes(s).add(seeded.domain_id, "rolled@back.example")
        raise RuntimeError("boom")
    with tenant_session(seeded.tenant_id) as s:
        assert "rolled@back.example" not in {i.address for i in Inboxes(s).list()}


def test_the_tenant_setting_dies_with_the_transaction(app_db: Database) -> None:
    tenant = new_tenant()
    with tenant_session(tenant) as s:
        assert s.scalar("SELECT current_setting('nile.tenant_id', true)") == str(tenant)
    with system_session("tests.after") as s:
        assert s.scalar("SELECT current_setting('nile.tenant_id', true)") in ("", None)


def test_connection_is_reused_then_reopened_after_failure(
    app_db: Database, migrated_url: str
) -> None:
    tenant = new_tenant()
    with tenant_session(tenant) as s:
        first = s.scalar("SELECT pg_backend_pid()")
    with tenant_session(tenant) as s:
        assert s.scalar("SELECT pg_backend_pid()") == first  # warm reuse

    with psycopg.connect(migrated_url, autocommit=True) as admin:
        # The timeout makes it wait until the backend is really gone.
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (first,))

    with tenant_session(tenant) as s:  # the stale connection is replaced transparently
        assert s.scalar("SELECT pg_backend_pid()") != first
        assert TenantProfile(s).get().id == tenant


def test_tenant_creation_and_profile(app_db: Database) -> None:
    with system_session("tests.signup") as s:
        created = TenantDirectory(s).create("Acme Outreach", None)
    with tenant_session(created.id) as s:
        TenantProfile(s).set_billing_email("ap@acme.example")
        profile = TenantProfile(s).get()
    assert (profile.name, profile.billing_email) == ("Acme Outreach", "ap@acme.example")


def test_no_database_configured_is_a_clear_error() -> None:
    with pytest.raises(NotConfigured, match="DATABASE_URL"):
        Database.from_settings(DatabaseSettings())
