"""Repository behaviour the later features build on."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import psycopg
import pytest

from inboxfleet.db import Database, system_session, tenant_session
from inboxfleet.db.repositories import (
    BillingAccounts,
    Domains,
    Inboxes,
    Servers,
    StripeEventLog,
    TenantDirectory,
)
from inboxfleet.lifecycles import InboxStatus
from tests.factories import new_tenant


def test_inboxes_by_status_in_creation_order(app_db: Database) -> None:
    tenant = new_tenant()
    with tenant_session(tenant) as s:
        domain = Domains(s).add("status.example")
        first = Inboxes(s).add(domain.id, "a@status.example")
        Inboxes(s).add(domain.id, "b@status.example", status=InboxStatus.ACTIVE)
        third = Inboxes(s).add(domain.id, "c@status.example")
        waiting = Inboxes(s).list_by_status(InboxStatus.AWAITING_PAYMENT)
        active = Inboxes(s).list_by_status(InboxStatus.ACTIVE)
    assert [i.id for i in waiting] == [first.id, third.id]
    assert [i.address for i in active] == ["b@status.example"]


def test_transition_is_compare_and_set(app_db: Database) -> None:
    tenant = new_tenant()
    with tenant_session(tenant) as s:
        domain = Domains(s).add("cas.example")
        inbox = Inboxes(s).add(domain.id, "x@cas.example", status=InboxStatus.PROVISIONING)
        failed = Inboxes(s).transition(inbox.id, InboxStatus.FAILED, "VpsNotReady")
        refused = Inboxes(s).transition(inbox.id, InboxStatus.ACTIVE)
        requeued = Inboxes(s).transition(inbox.id, InboxStatus.QUEUED)
    assert failed is not None
    assert (failed.status, failed.failure_reason) == ("failed", "VpsNotReady")
    assert refused is None
    assert requeued is not None
    assert (requeued.status, requeued.failure_reason) == ("queued", None)


def test_server_names_are_unique_provider_names(app_db: Database) -> None:
    tenant = new_tenant()
    with tenant_session(tenant) as s:
        domain = Domains(s).add("servers.example")
        server = Servers(s).add(domain.id, "dallas", "dev")
        listed = Servers(s).list()
    assert server.name == f"ifl-dev-{server.id}"
    assert (server.status, server.location) == ("creating", "dallas")
    assert [x.id for x in listed] == [server.id]


def test_a_customer_link_is_made_once_and_never_moved(app_db: Database) -> None:
    tenant = new_tenant()
    with tenant_session(tenant) as s:
        first = BillingAccounts(s).link_customer("cus_First")
        again = BillingAccounts(s).link_customer("cus_First")
        other = BillingAccounts(s).link_customer("cus_Second")
        stored = BillingAccounts(s).get()
    assert first is not None
    assert again is not None
    assert (first.stripe_customer_id, again.stripe_customer_id) == ("cus_First", "cus_First")
    assert other is None
    assert stored is not None
    assert stored.stripe_customer_id == "cus_First"
    assert (stored.payment_state, stored.max_inboxes) == ("ok", 0)


def test_stripe_events_are_recorded_once(app_db: Database) -> None:
    created = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    event_id = f"evt_{uuid4().hex}"
    with system_session("tests.webhook") as s:
        first = StripeEventLog(s).record(event_id, "invoice.paid", created, "cus_X")
        second = StripeEventLog(s).record(event_id, "invoice.paid", created, "cus_X")
        stored = StripeEventLog(s).get(event_id)
    assert (first, second) == (True, False)
    assert stored is not None
    assert (stored.type, stored.created, stored.processed_at) == ("invoice.paid", created, None)


def test_malformed_rows_are_refused_by_the_schema(app_db: Database) -> None:
    tenant = new_tenant()
    with pytest.raises(psycopg.errors.CheckViolation), tenant_session(tenant) as s:
        Domains(s).add("UPPER.example")
    with pytest.raises(psycopg.errors.CheckViolation), system_session("tests.webhook") as s:
        StripeEventLog(s).record("not-an-event", "x", datetime.now(UTC), None)


def test_directory_lists_tenants(app_db: Database) -> None:
    tenant = new_tenant("listed")
    with system_session("tests.directory") as s:
        assert tenant in {t.id for t in TenantDirectory(s).list()}
