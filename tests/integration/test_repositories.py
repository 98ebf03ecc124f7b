"""Repository behaviour the later features build on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from inboxfleet.db import Database, TenantSession, system_session, tenant_session
from inboxfleet.db.repositories import (
    BillingAccounts,
    Domains,
    Inboxes,
    InboxEvents,
    Servers,
    StripeEventLog,
    TenantDirectory,
)
from inboxfleet.lifecycles import InboxStatus, ServerStatus
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
        failed = Inboxes(s).transition(
            inbox.id, InboxStatus.FAILED, by="workflow", why="VpsNotReady"
        )
        refused = Inboxes(s).transition(inbox.id, InboxStatus.ACTIVE, by="workflow", why="test")
        requeued = Inboxes(s).transition(inbox.id, InboxStatus.QUEUED, by="tenant", why="retry")
    assert failed is not None
    assert (failed.status, failed.failure_reason) == ("failed", "VpsNotReady")
    assert refused is None
    assert requeued is not None
    assert (requeued.status, requeued.failure_reason) == ("queued", None)


@pytest.mark.parametrize("status", [InboxStatus.ACTIVE, InboxStatus.SUSPENDED])
def test_only_reconcile_fails_an_inbox_in_service(app_db: Database, status: InboxStatus) -> None:
    tenant = new_tenant()
    with tenant_session(tenant) as s:
        domain = Domains(s).add("lost.example")
        inbox = Inboxes(s).add(domain.id, "x@lost.example", status=status)
        refused = [
            Inboxes(s).transition(inbox.id, InboxStatus.FAILED, by=actor, why="late step")
            for actor in ("workflow", "billing", "tenant")
        ]
        lost = Inboxes(s).transition(
            inbox.id, InboxStatus.FAILED, by="reconcile", why="server_lost: gone"
        )
    assert refused == [None, None, None]
    assert lost is not None
    assert (lost.status, lost.failure_reason) == ("failed", "server_lost: gone")


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


@pytest.mark.parametrize(
    "location", ["1", "Dallas", "dallas\n", "dallas, tx", "dallas,seattle", "dallas seattle", None]
)
def test_locations_are_stored_only_as_hostwinds_slugs(
    app_db: Database, location: str | None
) -> None:
    tenant = new_tenant()
    with tenant_session(tenant) as s:
        domain = Domains(s).add("slugs.example")
        assert Servers(s).add(domain.id, "amsterdam", "dev").location == "amsterdam"
        BillingAccounts(s).link_customer(f"cus_{uuid4().hex}")
    if location is not None:
        with pytest.raises(psycopg.errors.CheckViolation), tenant_session(tenant) as s:
            Servers(s).add(domain.id, location, "dev")
    with pytest.raises(psycopg.errors.CheckViolation), tenant_session(tenant) as s:
        s.execute(
            "UPDATE billing_accounts SET allowed_locations = %s WHERE tenant_id = %s",
            (["seattle", location], tenant),
        )


def test_directory_lists_tenants(app_db: Database) -> None:
    tenant = new_tenant("listed")
    with system_session("tests.directory") as s:
        assert tenant in {t.id for t in TenantDirectory(s).list()}


def _status_entries(s: TenantSession, inbox_id: UUID) -> list[dict[str, Any]]:
    return [e.detail for e in InboxEvents(s).timeline(inbox_id) if e.step == "status"]


def test_every_status_change_is_on_the_timeline_with_who_and_why(app_db: Database) -> None:
    tenant = new_tenant()
    with tenant_session(tenant) as s:
        domain = Domains(s).add("timeline.example")
        inbox = Inboxes(s).add(domain.id, "t@timeline.example", status=InboxStatus.QUEUED)
        inboxes = Inboxes(s)
        inboxes.transition(inbox.id, InboxStatus.PROVISIONING, by="workflow", why="reserved")
        refused = inboxes.transition(inbox.id, InboxStatus.DELETED, by="tenant", why="no")
        inboxes.transition(inbox.id, InboxStatus.FAILED, by="reconcile", why="server_lost")
        entries = _status_entries(s, inbox.id)
    assert refused is None  # a move the lifecycle forbids leaves no entry
    assert entries == [
        {"from": "queued", "to": "provisioning", "by": "workflow", "why": "reserved"},
        {"from": "provisioning", "to": "failed", "by": "reconcile", "why": "server_lost"},
    ]


def test_queued_is_a_new_attempt_of_the_workflow(app_db: Database) -> None:
    tenant = new_tenant()
    with tenant_session(tenant) as s:
        domain = Domains(s).add("attempts.example")
        inbox = Inboxes(s).add(domain.id, "a@attempts.example", status=InboxStatus.PROVISIONING)
        inboxes = Inboxes(s)
        inboxes.set_execution_name(inbox.id, f"{inbox.id}-0")
        inboxes.transition(inbox.id, InboxStatus.FAILED, by="workflow", why="VpsNotReady")
        again = inboxes.transition(inbox.id, InboxStatus.QUEUED, by="tenant", why="retry")
    assert again is not None
    assert (again.attempt, again.execution_name, again.failure_reason) == (
        inbox.attempt + 1,
        None,
        None,
    )


def test_billing_only_lifts_the_suspensions_it_made(app_db: Database) -> None:
    tenant = new_tenant()
    with tenant_session(tenant) as s:
        domain = Domains(s).add("suspend.example")
        add = Inboxes(s).add
        by_tenant = add(domain.id, "t@suspend.example", status=InboxStatus.ACTIVE)
        by_billing = add(domain.id, "b@suspend.example", status=InboxStatus.ACTIVE)
        inboxes = Inboxes(s)
        inboxes.transition(by_tenant.id, InboxStatus.SUSPENDED, by="tenant", why="paused")
        suspended = inboxes.transition(
            by_billing.id,
            InboxStatus.SUSPENDED,
            by="billing",
            why="unpaid",
            suspension_reason="non_payment",
        )
        kept = inboxes.transition(by_tenant.id, InboxStatus.ACTIVE, by="billing", why="paid")
        lifted = inboxes.transition(by_billing.id, InboxStatus.ACTIVE, by="billing", why="paid")
        resumed = inboxes.transition(by_tenant.id, InboxStatus.ACTIVE, by="tenant", why="resume")
    assert suspended is not None
    assert suspended.suspension_reason == "non_payment"
    assert kept is None
    assert lifted is not None
    assert (lifted.status, lifted.suspension_reason) == ("active", None)
    assert resumed is not None
    assert resumed.status == "active"


def test_a_status_entry_cannot_be_written_without_a_status_change(app_db: Database) -> None:
    tenant = new_tenant()
    with tenant_session(tenant) as s:
        domain = Domains(s).add("forged.example")
        inbox = Inboxes(s).add(domain.id, "f@forged.example")
        with pytest.raises(ValueError, match="only with the status change"):
            InboxEvents(s).append(inbox.id, "status", "info", {"to": "active"})
        assert _status_entries(s, inbox.id) == []


def test_a_domain_has_at_most_one_live_server(app_db: Database) -> None:
    tenant = new_tenant()
    with tenant_session(tenant) as s:
        domain = Domains(s).add("one-server.example")
        first = Servers(s).add(domain.id, "dallas", "dev")
    with pytest.raises(psycopg.errors.UniqueViolation), tenant_session(tenant) as s:
        Servers(s).add(domain.id, "seattle", "dev")
    with tenant_session(tenant) as s:
        assert Servers(s).move(first.id, ServerStatus.DECOMMISSIONING) is not None
        assert Servers(s).add(domain.id, "seattle", "dev").status == ServerStatus.CREATING


def test_only_the_current_attempts_start_is_recorded(app_db: Database) -> None:
    tenant = new_tenant()
    with tenant_session(tenant) as s:
        domain = Domains(s).add("starts.example")
        inbox = Inboxes(s).add(domain.id, "s@starts.example", status=InboxStatus.QUEUED)
        inboxes = Inboxes(s)
        inboxes.set_execution_name(inbox.id, f"{inbox.id}-{inbox.attempt + 1}")  # not this one
        assert (inboxes.get(inbox.id) or inbox).execution_name is None
        inboxes.set_execution_name(inbox.id, f"{inbox.id}-{inbox.attempt}")
        assert (inboxes.get(inbox.id) or inbox).execution_name == f"{inbox.id}-{inbox.attempt}"
