"""Reconcile in the local cloud: each kind of drift made for real (an instance terminated
behind our back, a lost start, a stuck run, an edited record...) and seen repaired by a pass of
the real function, invoked as Lambda would; dry runs; faults; two passes at once."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import BaseModel

from inboxfleet.admin.__main__ import main as admin
from inboxfleet.db import system_session, tenant_session
from inboxfleet.db.repositories import (
    BillingAccounts,
    BillingObjects,
    Domains,
    IdempotencyRecords,
    IdempotencyRow,
    Inboxes,
    InboxEvents,
    MailboxStates,
    Servers,
    TenantDirectory,
)
from inboxfleet.db.repositories.reconcile import RowlessInstances
from inboxfleet.hostwinds.client import HostwindsClient
from inboxfleet.lifecycles import InboxStatus, ServerStatus
from inboxfleet.provisioning.runtime import using_starter
from inboxfleet.reconcile.commands import PARTS, ReconcileCommand
from inboxfleet.reconcile.runtime import deps
from inboxfleet.reconcile.service import handle
from inboxfleet.records import Watermark
from local.billing_cloud import sent_emails
from local.cloud import LocalCloud
from local.customer_api import Customer
from local.hostwinds_sim.account import API_KEY as HOSTWINDS_API_KEY
from local.hostwinds_sim.faults import BodyDefect, HttpErrorPage, MalformedBody, SlowReply
from local.polling import poll
from local.provisioning_runs import (
    MACHINE,
    MAILBOX,
    TEARDOWN,
    ended,
    execution_arn,
    machine_arn,
    sfn,
)
from local.recording_starter import UnreachableStarter
from tests.factories import subscription_snapshot
from tests.provisioning_support import (
    Tenant,
    fail_step,
    failed_with_undo_left,
    nothing_left,
    route53,
    zone_records,
)
from tests.reconcile_support import (
    SCHEDULE,
    counts,
    items,
    listed,
    part,
    reconcile,
    server_row,
)

pytestmark = pytest.mark.usefixtures("reconcile_settings")


@pytest.fixture(autouse=True)
def no_leftover_faults(cloud: LocalCloud) -> Iterator[None]:
    yield
    cloud.lambdas.clear_faults()
    cloud.hostwinds.clear_faults()


def _domain_id(tenant: Tenant, name: str) -> UUID:
    with tenant_session(tenant.id) as s:
        (domain,) = [d for d in Domains(s).list() if d.name == name]
    return domain.id


def test_an_instance_whose_row_is_failed_or_going_is_terminated(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    domain_id = _domain_id(tenant, tenant.add_domain(delegate=False))
    rows = {
        status: server_row(tenant.id, domain_id, status)
        for status in (
            ServerStatus.FAILED,
            ServerStatus.DECOMMISSIONING,
            ServerStatus.DECOMMISSIONED,
        )
    }
    cloud.hostwinds.seed_instances(names=[name for _, name in rows.values()])

    report = reconcile(cloud)

    assert report["outcome"] == "complete", report
    for server_id, name in rows.values():
        (item,) = items(report, "instance_terminated", server_id=server_id)
        assert item["name"] == name
        assert name not in listed(cloud)
    assert counts(report, "instance_terminated")[0] == counts(report, "instance_terminated")[1]


def test_a_rowless_instance_is_reported_with_its_first_sighting_and_never_terminated(
    cloud: LocalCloud,
) -> None:
    # A restored database: an instance named like ours with no row at all.
    name = f"ifl-local-{uuid4()}"
    [(serviceid, _)] = cloud.hostwinds.seed_instances(names=[name])

    first = reconcile(cloud)
    second = reconcile(cloud)

    (seen,) = items(first, "rowless_instance", serviceid=serviceid)
    (again,) = items(second, "rowless_instance", serviceid=serviceid)
    assert seen["name"] == name
    assert seen["first_seen"] is not None
    assert again["first_seen"] == seen["first_seen"]
    assert listed(cloud)[name] == [serviceid]
    assert counts(second, "rowless_instance")[1] == 0  # never "repaired"


def test_another_environments_instances_are_never_touched(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    domain_id = _domain_id(tenant, tenant.add_domain(delegate=False))
    server_id, _ = server_row(tenant.id, domain_id, ServerStatus.FAILED)
    # prod's server of the same id (a copy of the database), and one with no row anywhere.
    theirs = [f"ifl-prod-{server_id}", f"ifl-prod-{uuid4()}", f"ifl-localx-{uuid4()}"]
    cloud.hostwinds.seed_instances(names=theirs)

    report = reconcile(cloud)

    assert all(name in listed(cloud) for name in theirs)
    mentioned = str(report)
    assert not any(name in mentioned for name in theirs)


def _age_server(tenant: Tenant, server_id: UUID) -> None:
    """The server's row has not changed for two hours: a pass judges it against its listing
    (a row changed while the listing is taken waits for the next pass)."""
    with tenant_session(tenant.id) as s:
        s.execute(
            "UPDATE servers SET updated_at = now() - interval '2 hours' "
            "WHERE tenant_id = %s AND id = %s",
            (tenant.id, server_id),
        )


def test_a_server_the_listing_missed_is_looked_up_before_it_counts_as_lost(
    cloud: LocalCloud,
) -> None:
    tenant = Tenant.entitled(cloud)
    domain_id = _domain_id(tenant, tenant.add_domain(delegate=False))
    server_id, _ = server_row(tenant.id, domain_id, ServerStatus.CREATING)
    # Its instance exists, though no listing shows it under the row's name (as when a page
    # shifts while another instance is terminated): a lookup by serviceid finds it.
    [(serviceid, ip)] = cloud.hostwinds.seed_instances(names=[f"elsewhere-{uuid4()}"])
    with tenant_session(tenant.id) as s:
        servers = Servers(s)
        assert servers.record_instance(server_id, serviceid, str(ip))
        assert servers.move(server_id, ServerStatus.READY)
    _age_server(tenant, server_id)

    report = reconcile(cloud)

    assert items(report, "listing_missed", server_id=server_id)
    assert items(report, "server_lost", server_id=server_id) == []
    with tenant_session(tenant.id) as s:
        row = Servers(s).get(server_id)
    assert row is not None
    assert row.status == "ready"


def test_more_servers_lost_at_once_than_the_cap_fails_none(
    cloud: LocalCloud, reconcile_settings: pytest.MonkeyPatch
) -> None:
    reconcile(cloud)  # earlier tests' drift out of the way
    tenant = Tenant.entitled(cloud)
    domain_id = _domain_id(tenant, tenant.add_domain(delegate=False))
    server_id, _ = server_row(tenant.id, domain_id, ServerStatus.CREATING)
    with tenant_session(tenant.id) as s:  # ready on an instance Hostwinds does not have
        servers = Servers(s)
        assert servers.record_instance(server_id, 999_999, "203.0.113.250")
        assert servers.move(server_id, ServerStatus.READY)
    _age_server(tenant, server_id)
    reconcile_settings.setenv("RECONCILE_LOST_CAP", "0")

    held = reconcile(cloud)

    assert items(held, "server_lost_held", server_id=server_id)
    assert part(held, "servers")["status"] == "incomplete"
    assert tenant.servers()[0].status == "ready"

    reconcile_settings.setenv("RECONCILE_LOST_CAP", "10")
    lost = reconcile(cloud)

    assert items(lost, "server_lost", server_id=server_id)
    assert tenant.servers()[0].status == "failed"


def _hostwinds(cloud: LocalCloud) -> HostwindsClient:
    return HostwindsClient(lambda: HOSTWINDS_API_KEY, url=cloud.hostwinds.url, timeout_s=5)


def test_a_server_whose_instance_vanished_is_lost_and_its_inboxes_fail(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    inbox_ids = tenant.ask(f"a@{domain}", f"b@{domain}")
    for inbox_id in inbox_ids:
        assert tenant.settled(inbox_id).status == "active"
    (server,) = tenant.servers()
    assert server.provider_instance_id is not None
    with _hostwinds(cloud) as client:
        client.terminate(int(server.provider_instance_id))  # a server dies at Hostwinds
    _age_server(tenant, server.id)

    report = reconcile(cloud)

    (item,) = items(report, "server_lost", server_id=server.id)
    assert item["serviceid"] == server.provider_instance_id
    (lost,) = tenant.servers()
    assert lost.status == "failed"
    assert (lost.failure_reason or "").startswith("server_lost")
    for inbox_id in inbox_ids:
        inbox = tenant.inbox(inbox_id)
        assert inbox.status == "failed"
        assert (inbox.failure_reason or "").startswith("server_lost")
        with tenant_session(tenant.id) as s:
            (moved,) = [
                e for e in InboxEvents(s).timeline(inbox_id) if e.detail.get("to") == "failed"
            ]
        assert moved.detail["from"] == "active"
        assert moved.detail["by"] == "reconcile"
    # A second pass finds nothing more to do about it.
    assert items(reconcile(cloud), "server_lost", server_id=server.id) == []


def test_a_status_hostwinds_changed_is_recorded_once(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    _active_inbox(tenant)
    (server,) = tenant.servers()
    assert server.provider_instance_id is not None
    cloud.hostwinds.set_instance_status(int(server.provider_instance_id), "SUSPENDED")
    _age_server(tenant, server.id)

    first = reconcile(cloud)
    second = reconcile(cloud)

    (item,) = items(first, "server_status_changed", server_id=server.id)
    assert (item["was"], item["now"]) == ("ACTIVE", "SUSPENDED")
    assert items(second, "server_status_changed", server_id=server.id) == []
    with tenant_session(tenant.id) as s:
        provider_status = s.scalar(
            "SELECT provider_status FROM servers WHERE tenant_id = %s AND id = %s",
            (tenant.id, server.id),
        )
    assert provider_status == "SUSPENDED"
    assert tenant.servers()[0].status == "ready"  # recorded, not acted on


def test_the_termination_cap_holds_and_the_next_pass_goes_on(
    cloud: LocalCloud, reconcile_settings: pytest.MonkeyPatch
) -> None:
    reconcile(cloud)  # whatever earlier tests left is dealt with first
    reconcile_settings.setenv("RECONCILE_TERMINATE_CAP", "2")
    tenant = Tenant.entitled(cloud)
    domain_id = _domain_id(tenant, tenant.add_domain(delegate=False))
    names = [server_row(tenant.id, domain_id, ServerStatus.FAILED)[1] for _ in range(3)]
    cloud.hostwinds.seed_instances(names=names)

    first = reconcile(cloud)

    assert counts(first, "instance_terminated") == (2, 2)
    (capped,) = items(first, "termination_capped")
    assert capped["name"] in names
    assert [n for n in names if n in listed(cloud)] == [capped["name"]]

    second = reconcile(cloud)

    assert counts(second, "instance_terminated") == (1, 1)
    assert not any(n in listed(cloud) for n in names)


def test_a_dry_run_reports_and_changes_nothing(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    domain_id = _domain_id(tenant, tenant.add_domain(delegate=False))
    _, failed = server_row(tenant.id, domain_id, ServerStatus.FAILED)
    rowless = f"ifl-local-{uuid4()}"
    cloud.hostwinds.seed_instances(names=[failed, rowless])
    before = cloud.hostwinds.instances()

    report = reconcile(cloud, dry_run=True)

    assert report["dry_run"] is True
    assert items(report, "instance_terminated", name=failed)
    assert items(report, "rowless_instance", name=rowless)
    assert all(p["drift"][k]["repaired"] == 0 for p in report["parts"] for k in p["drift"])
    assert cloud.hostwinds.instances() == before
    with system_session("test.reconcile") as s:
        assert RowlessInstances(s).get(before[-1]["serviceid"]) is None  # type: ignore[arg-type]


def _world(cloud: LocalCloud, tenant: Tenant, domain: str) -> dict[str, Any]:
    """What a pass could change, as a comparable value."""
    with tenant_session(tenant.id) as s:
        rows = {
            table: s.fetch_all(
                _Row,
                f"SELECT to_jsonb(t) - 'updated_at' AS row FROM {table} t "
                "WHERE tenant_id = %s ORDER BY 1",
                (tenant.id,),
            )
            for table in ("inboxes", "servers", "domains", "idempotency_records")
        }
    with system_session("test.reconcile") as s:
        shared = {
            table: s.fetch_all(_Row, f"SELECT to_jsonb(t) AS row FROM {table} t ORDER BY 1")
            for table in ("rowless_instances", "reconcile_leases")
        }
    executions = [
        (e["name"], e["status"])
        for machine in (MACHINE, TEARDOWN, MAILBOX)
        for e in sfn().list_executions(stateMachineArn=machine_arn(cloud, machine))["executions"]
    ]
    return {
        **rows,
        **shared,
        "instances": cloud.hostwinds.instances(),
        "zone": zone_records(cloud, tenant, domain),
        "executions": sorted(executions),
    }


class _Row(BaseModel):
    row: dict[str, Any]


def test_a_dry_run_reports_every_kind_of_drift_and_changes_nothing(cloud: LocalCloud) -> None:
    reconcile(cloud)  # earlier tests' drift out of the way
    tenant = Tenant.entitled(cloud)
    domain, due = _active_inbox(tenant)
    (drifted,) = tenant.ask(f"b@{domain}")
    assert tenant.settled(drifted).status == "active"
    with using_starter(None):
        (lost,) = tenant.ask(f"c@{domain}")
    with tenant_session(tenant.id) as s:
        inboxes = Inboxes(s)
        inboxes.schedule_suspension(due, datetime.now(UTC) - timedelta(hours=1))
        assert inboxes.transition(
            drifted, InboxStatus.SUSPENDED, by="billing", why="test", suspension_reason="canceled"
        )
        now = int(time.time())
        expired = IdempotencyRow(
            key="old",
            status="COMPLETED",
            expires_at=now - 60,
            in_progress_expires_at=None,
            payload_hash="",
            response_data="{}",
        )
        assert IdempotencyRecords(s).claim(expired, now_s=now, now_ms=now * 1000)
    other = _domain_id(tenant, tenant.add_domain(delegate=False))
    _, failed = server_row(tenant.id, other, ServerStatus.FAILED)
    rowless = f"ifl-local-{uuid4()}"
    cloud.hostwinds.seed_instances(names=[failed, rowless])
    _alter_dmarc(tenant, domain)
    before = _world(cloud, tenant, domain)

    report = reconcile(cloud, dry_run=True)

    assert _world(cloud, tenant, domain) == before
    expected: dict[str, dict[str, Any]] = {
        "instance_terminated": {"name": failed},
        "rowless_instance": {"name": rowless},
        "lost_start": {"inbox_id": lost},
        "due_suspension": {"tenant_id": tenant.id},
        "mailbox_drift": {"inbox_id": drifted},
        "dns_records_altered": {"domain": domain},
        "expired_idempotency": {"tenant_id": tenant.id},
    }
    for kind, match in expected.items():
        assert items(report, kind, **match), kind
    assert all(p["drift"][k]["repaired"] == 0 for p in report["parts"] for k in p["drift"])
    assert report["outcome"] == "complete"


@pytest.mark.parametrize(
    "fault",
    [
        HttpErrorPage(action="get_instances", times=10),
        MalformedBody(action="get_instances", defect=BodyDefect.TRUNCATED, times=10),
    ],
    ids=["listing-fails", "listing-cut-short"],
)
def test_a_listing_not_seen_complete_terminates_nothing_and_fails_nothing(
    cloud: LocalCloud, fault: HttpErrorPage | MalformedBody
) -> None:
    tenant = Tenant.entitled(cloud)
    _, inbox_id = _active_inbox(tenant)
    (server,) = tenant.servers()
    assert server.provider_instance_id is not None
    with _hostwinds(cloud) as client:
        client.terminate(int(server.provider_instance_id))
    _age_server(tenant, server.id)
    other = _domain_id(tenant, tenant.add_domain(delegate=False))
    going = server_row(tenant.id, other, ServerStatus.FAILED)[1]
    cloud.hostwinds.seed_instances(names=[going])
    cloud.hostwinds.inject(fault)

    report = reconcile(cloud)

    assert report["outcome"] == "incomplete"
    servers = part(report, "servers")
    assert servers["status"] == "incomplete"
    assert "nothing terminated or failed" in servers["reason"]
    assert servers["drift"] == {}
    assert going in listed(cloud)
    assert tenant.inbox(inbox_id).status == "active"
    assert {s.id: s.status for s in tenant.servers()}[server.id] == "ready"
    cloud.hostwinds.clear_faults()
    assert items(reconcile(cloud), "server_lost", server_id=server.id)  # once seen whole


def test_the_schedule_fires_a_full_pass(cloud: LocalCloud) -> None:
    report = cloud.fire(SCHEDULE)
    assert report.ok, report.payload
    assert report.payload["dry_run"] is False
    assert [p["part"] for p in report.payload["parts"]] == [
        "servers",
        "work",
        "billing",
        "mailboxes",
        "dns",
        "housekeeping",
    ]


# ---- stuck and lost work ---------------------------------------------------------------------


def _applied(tenant: Tenant, inbox_id: UUID) -> str:
    """What the inbox's server last applied of its mailbox (enabled or disabled)."""
    with tenant_session(tenant.id) as s:
        state = MailboxStates(s).get(inbox_id)
    assert state is not None
    return state.mailbox_applied


def _age(tenant: Tenant, inbox_id: UUID, hours: float) -> None:
    """The inbox has not changed for `hours` (as if its run had been going that long)."""
    with tenant_session(tenant.id) as s:
        s.execute(
            "UPDATE inboxes SET updated_at = now() - make_interval(secs => %s) "
            "WHERE tenant_id = %s AND id = %s",
            (hours * 3600, tenant.id, inbox_id),
        )


def test_a_lost_start_is_started_under_its_name(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    with using_starter(None):  # StartExecution never happened
        (inbox_id,) = tenant.ask(f"a@{domain}")
    queued = tenant.inbox(inbox_id)
    assert (queued.status, queued.execution_name) == ("queued", None)

    report = reconcile(cloud)

    run = f"{inbox_id}-{queued.attempt}"
    assert items(report, "lost_start", inbox_id=inbox_id, execution=run)
    inbox = tenant.settled(inbox_id)
    assert (inbox.status, inbox.execution_name) == ("active", run)


def test_a_queued_inbox_whose_run_ended_gets_a_new_attempt(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    with using_starter(None):
        (inbox_id,) = tenant.ask(f"a@{domain}")
    attempt = tenant.inbox(inbox_id).attempt
    run = f"{inbox_id}-{attempt}"
    # Its name was used by a run that ended before taking it (here: refused input).
    body = {"tenant_id": str(tenant.id), "inbox_id": str(inbox_id), "mode": "bogus"}
    sfn().start_execution(stateMachineArn=machine_arn(cloud), name=run, input=json.dumps(body))
    assert ended(cloud, run)["status"] == "FAILED"

    report = reconcile(cloud)

    (item,) = items(report, "ended_start", inbox_id=inbox_id)
    assert (item["execution"], item["ended"]) == (run, "FAILED")
    inbox = tenant.settled(inbox_id)
    assert (inbox.status, inbox.attempt) == ("active", attempt + 1)
    assert inbox.execution_name == f"{inbox_id}-{attempt + 1}"


def test_a_run_stuck_far_past_its_time_is_stopped_and_undone(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    release = threading.Event()
    fail_step(cloud, "MailuInstallerFunction", "install", before=lambda: release.wait(30))
    try:
        (inbox_id,) = tenant.ask(f"a@{domain}")
        poll(lambda: ("install_mailu", "started") in tenant.timeline(inbox_id), "the install")
        run = tenant.inbox(inbox_id).execution_name or ""
        _age(tenant, inbox_id, hours=5)  # past RECONCILE_PROVISIONING_OVERDUE_S (4 h)

        report = reconcile(cloud)
    finally:
        release.set()

    (item,) = items(report, "stuck_provisioning", inbox_id=inbox_id)
    assert (item["status"], item["compensation"]) == ("RUNNING", f"{run}-compensate")
    assert ended(cloud, run)["status"] == "ABORTED"
    assert ended(cloud, f"{run}-compensate")["status"] == "FAILED"  # ends in ProvisioningFailed
    inbox = tenant.inbox(inbox_id)
    assert inbox.status == "failed"
    assert "RunStopped" in (inbox.failure_reason or "")
    nothing_left(cloud, tenant, domain)


def test_a_provisioning_inbox_whose_run_is_gone_is_undone(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    release = threading.Event()
    fail_step(cloud, "MailuInstallerFunction", "install", before=lambda: release.wait(30))
    (inbox_id,) = tenant.ask(f"a@{domain}")
    poll(lambda: ("install_mailu", "started") in tenant.timeline(inbox_id), "the install")
    run = tenant.inbox(inbox_id).execution_name or ""
    # Stopped by hand (StopExecution skips Catch): the inbox is left provisioning.
    sfn().stop_execution(executionArn=execution_arn(cloud, run))
    release.set()
    assert ended(cloud, run)["status"] == "ABORTED"
    assert tenant.inbox(inbox_id).status == "provisioning"

    first = reconcile(cloud)
    second = reconcile(cloud)  # while the compensation runs: nothing new is started

    (item,) = items(first, "stranded_provisioning", inbox_id=inbox_id)
    assert (item["status"], item["compensation"]) == ("ABORTED", f"{run}-compensate")
    assert items(second, "stranded_provisioning", inbox_id=inbox_id) == []
    assert ended(cloud, f"{run}-compensate")["status"] == "FAILED"
    assert tenant.inbox(inbox_id).status == "failed"
    nothing_left(cloud, tenant, domain)


def test_a_failed_inbox_whose_undoing_ended_incomplete_is_undone_again(
    cloud: LocalCloud,
) -> None:
    tenant = Tenant.entitled(cloud)
    domain, failed = failed_with_undo_left(cloud, tenant)
    inbox_id = failed.id
    run = failed.execution_name or ""
    assert failed.status == "failed"
    assert ("compensate", "failed") in tenant.timeline(inbox_id)
    cloud.lambdas.clear_faults()  # Route 53 answers again

    report = reconcile(cloud)

    (item,) = items(report, "unfinished_undo", inbox_id=inbox_id)
    assert item["compensation"] == f"{run}-compensate"
    assert ended(cloud, f"{run}-compensate")["status"] == "FAILED"  # ends in ProvisioningFailed
    assert tenant.timeline(inbox_id)[-1] != ("compensate", "failed")
    nothing_left(cloud, tenant, domain)
    assert items(reconcile(cloud), "unfinished_undo", inbox_id=inbox_id) == []


def test_a_deleted_inbox_with_no_teardown_running_is_torn_down(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    (inbox_id,) = tenant.ask(f"a@{domain}")
    assert tenant.settled(inbox_id).status == "active", tenant.inbox(inbox_id).failure_reason
    with using_starter(None, "deprovision"):
        assert tenant("DELETE", f"/v1/inboxes/{inbox_id}").status_code == 202
    assert tenant.inbox(inbox_id).status == "deleting"

    report = reconcile(cloud)

    assert items(report, "unfinished_teardown", inbox_id=inbox_id, execution=f"{inbox_id}-delete")
    assert ended(cloud, f"{inbox_id}-delete", machine=TEARDOWN)["status"] == "SUCCEEDED"
    assert tenant.inbox(inbox_id).status == "deleted"
    nothing_left(cloud, tenant, domain)


# ---- billing ---------------------------------------------------------------------------------


@pytest.fixture
def stripe_endpoint(cloud: LocalCloud) -> Iterator[None]:
    """The platform's webhook endpoint registered at Stripe, as its operator does."""
    url = f"{cloud.api_url}/webhooks/stripe"
    cloud.stripe.add_webhook_endpoint(url, cloud.secrets.webhook_secrets[0])
    yield
    cloud.stripe.remove_webhook_endpoint(url)


def _subscribed(cloud: LocalCloud, plan: str = "starter_monthly") -> tuple[Tenant, str]:
    """A tenant that paid through Checkout (the webhook delivered, the worker applied it), with
    a delegated domain: the tenant and its subscription's id."""
    with system_session("test.reconcile") as s:
        tenant_id = TenantDirectory(s).create(f"Co {uuid4().hex[:6]}", "ops@co.example").id
    tenant = Tenant(cloud, tenant_id, cloud.token(tenant_id))
    Tenant.made.append((cloud, tenant_id))
    customer = Customer(cloud.api_url, tenant.token)
    try:
        checkout = customer.checkout(plan, key=str(uuid4()))
    finally:
        customer.close()
    subscription = cloud.stripe.complete_checkout(checkout["session_id"])
    cloud.deliver_queued()
    assert BillingView(tenant).max_inboxes > 0
    return tenant, str(subscription["id"])


class BillingView:
    def __init__(self, tenant: Tenant) -> None:
        with tenant_session(tenant.id) as s:
            account = BillingAccounts(s).get()
        assert account is not None
        self.max_inboxes = account.max_inboxes
        self.status = account.subscription_status
        self.teardown_after = account.teardown_after


def _canceled_long_ago(cloud: LocalCloud, subscription: str) -> dict[str, Any]:
    """The subscription ended 40 days ago, as Stripe has it: its retention (30 days) is over."""
    ended = int((datetime.now(UTC) - timedelta(days=40)).timestamp())
    return cloud.stripe.update_subscription(
        subscription, status="canceled", canceled_at=ended, ended_at=ended
    )


def _canceled_while_webhooks_were_lost(cloud: LocalCloud) -> Tenant:
    """A tenant whose subscription Stripe has canceled, no event of it received for 40 days."""
    tenant, subscription = _subscribed(cloud)
    cloud.stripe.update_subscription(subscription, status="canceled")
    _quiet_for(tenant, days=40)
    return tenant


def _quiet_for(tenant: Tenant, days: int) -> None:
    """No Stripe event has reached the tenant's objects for `days` (webhooks lost)."""
    with tenant_session(tenant.id) as s:
        for table in ("billing_subscriptions", "billing_invoices"):
            s.execute(
                f"UPDATE {table} SET event_created = event_created - make_interval(days => %s) "
                "WHERE tenant_id = %s",
                (days, tenant.id),
            )


def _active_inbox(tenant: Tenant) -> tuple[str, UUID]:
    domain = tenant.add_domain()
    (inbox_id,) = tenant.ask(f"a@{domain}")
    assert tenant.settled(inbox_id).status == "active", tenant.inbox(inbox_id).failure_reason
    return domain, inbox_id


@pytest.mark.usefixtures("stripe_endpoint")
def test_a_cancellation_whose_webhooks_were_lost_is_read_from_stripe(cloud: LocalCloud) -> None:
    tenant, subscription = _subscribed(cloud)
    _, inbox_id = _active_inbox(tenant)
    cloud.stripe.remove_webhook_endpoint(f"{cloud.api_url}/webhooks/stripe")  # lost from here
    cloud.stripe.update_subscription(subscription, status="canceled")
    _quiet_for(tenant, days=40)

    report = reconcile(cloud)

    assert items(report, "billing_reread", tenant_id=tenant.id)
    assert BillingView(tenant).status == "canceled"
    inbox = tenant.inbox(inbox_id)
    assert (inbox.status, inbox.suspension_reason) == ("suspended", "canceled")
    poll(lambda: _applied(tenant, inbox_id) == "disabled", "the mailbox disabled on its server")
    assert items(reconcile(cloud), "billing_reread", tenant_id=tenant.id) == []


@pytest.mark.usefixtures("stripe_endpoint")
def test_one_tenant_stripe_refuses_never_stops_the_others(cloud: LocalCloud) -> None:
    tenant = _canceled_while_webhooks_were_lost(cloud)
    # A tenant whose Stripe customer and subscription Stripe does not know (any more).
    broken = Tenant.entitled(cloud)
    with tenant_session(broken.id) as s:
        BillingObjects(s).save_subscription(
            subscription_snapshot(f"sub_{broken.id.hex[:12]}"),
            Watermark(event_created=datetime.now(UTC) - timedelta(days=40), event_id="evt_old"),
        )

    try:
        report = reconcile(cloud)
    finally:  # the next tests' passes need not meet it
        with tenant_session(broken.id) as s:
            s.execute(
                "UPDATE billing_subscriptions SET event_created = now() WHERE tenant_id = %s",
                (broken.id,),
            )

    (failed,) = items(report, "billing_failed", tenant_id=broken.id)
    assert failed["kind"] == "billing_reread"
    assert items(report, "billing_reread", tenant_id=tenant.id)
    assert BillingView(tenant).status == "canceled"
    billing = part(report, "billing")
    assert billing["status"] == "incomplete"  # said, though not an outage: the rest went on
    assert "Stripe unreachable" not in billing["reason"]


@pytest.mark.usefixtures("stripe_endpoint")
def test_a_resubscription_whose_webhooks_were_lost_is_never_torn_down(cloud: LocalCloud) -> None:
    tenant, subscription = _subscribed(cloud)
    _, inbox_id = _active_inbox(tenant)
    canceled = _canceled_long_ago(cloud, subscription)
    cloud.stripe.send_event("customer.subscription.deleted", canceled)
    cloud.deliver_queued()
    assert tenant.inbox(inbox_id).status == "suspended"
    # The customer subscribes again; every webhook of it is lost.
    cloud.stripe.remove_webhook_endpoint(f"{cloud.api_url}/webhooks/stripe")
    cloud.stripe.add_subscription(str(canceled["customer"]), "starter_monthly")

    report = reconcile(cloud)

    (item,) = items(report, "retention_ended", tenant_id=tenant.id)
    assert item["inboxes_going"] == 0
    assert BillingView(tenant).teardown_after is None
    assert tenant.inbox(inbox_id).status == "active"  # back, not deleted


@pytest.mark.usefixtures("stripe_endpoint")
def test_a_downgrade_suspension_that_has_come_is_made(cloud: LocalCloud) -> None:
    tenant, subscription = _subscribed(cloud)
    domain = tenant.add_domain()
    kept, excess = tenant.ask(f"a@{domain}", f"b@{domain}")
    for inbox_id in (kept, excess):
        assert tenant.settled(inbox_id).status == "active"
    # Downgraded to one seat: the newest inbox is marked for the end of the paid period.
    fewer = cloud.stripe.update_subscription(
        subscription, lookup_key="inbox_seat_monthly", quantity=1
    )
    cloud.stripe.send_event("customer.subscription.updated", fewer)
    cloud.deliver_queued()
    assert tenant.inbox(excess).suspend_at is not None
    with tenant_session(tenant.id) as s:  # the period has ended
        Inboxes(s).schedule_suspension(excess, datetime.now(UTC) - timedelta(hours=1))

    report = reconcile(cloud)

    (item,) = items(report, "due_suspension", tenant_id=tenant.id)
    assert item["inboxes"] == 1
    inbox = tenant.inbox(excess)
    assert (inbox.status, inbox.suspension_reason) == ("suspended", "over_limit")
    assert tenant.inbox(kept).status == "active"
    assert items(reconcile(cloud), "due_suspension", tenant_id=tenant.id) == []


@pytest.mark.usefixtures("stripe_endpoint")
def test_a_reminder_whose_send_failed_is_sent_by_the_next_pass(cloud: LocalCloud) -> None:
    tenant, subscription = _subscribed(cloud)
    customer_id = str(cloud.stripe.subscription(subscription)["customer"])
    invoice = cloud.stripe.add_invoice(customer_id, subscription, attempt_count=1)
    cloud.stripe.send_event("invoice.payment_failed", invoice)
    sent_before = len(sent_emails())
    cloud.deliver_queued()
    assert len(sent_emails()) == sent_before + 1
    with tenant_session(tenant.id) as s:  # as if SES had failed for a passing reason
        s.execute(
            "UPDATE billing_invoices SET reminded_attempt = 0 WHERE tenant_id = %s", (tenant.id,)
        )

    report = reconcile(cloud)

    (item,) = items(report, "reminder_due", tenant_id=tenant.id)
    assert item["sent"] == 1
    assert len(sent_emails()) == sent_before + 2
    assert items(reconcile(cloud), "reminder_due", tenant_id=tenant.id) == []


@pytest.mark.usefixtures("stripe_endpoint")
def test_yesterdays_usage_of_a_metered_plan_is_reported_once(cloud: LocalCloud) -> None:
    tenant, _ = _subscribed(cloud, plan="usage_monthly")
    _active_inbox(tenant)
    before = len(cloud.stripe.meter_events)

    first = reconcile(cloud)
    second = reconcile(cloud)

    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    assert items(first, "usage_unreported", tenant_id=tenant.id, day=yesterday)
    assert items(second, "usage_unreported", tenant_id=tenant.id) == []
    (event,) = cloud.stripe.meter_events[before:]
    assert event["payload"]["value"] == "1"


@pytest.mark.usefixtures("stripe_endpoint")
def test_a_tenant_whose_retention_ended_is_torn_down_then_its_domains_removed(
    cloud: LocalCloud,
) -> None:
    tenant, subscription = _subscribed(cloud)
    domain, inbox_id = _active_inbox(tenant)
    canceled = _canceled_long_ago(cloud, subscription)
    cloud.stripe.send_event("customer.subscription.deleted", canceled)
    cloud.deliver_queued()

    first = reconcile(cloud)

    (item,) = items(first, "retention_ended", tenant_id=tenant.id)
    assert item["inboxes_going"] == 1
    assert ended(cloud, f"{inbox_id}-delete", machine=TEARDOWN)["status"] == "SUCCEEDED"
    assert tenant.inbox(inbox_id).status == "deleted"

    second = reconcile(cloud)

    (item,) = items(second, "retention_ended", tenant_id=tenant.id)
    assert item["domains_removed"] == 1
    assert tenant.domain_status(domain) == "removed"
    assert items(reconcile(cloud), "retention_ended", tenant_id=tenant.id) == []


@pytest.mark.usefixtures("stripe_endpoint")
def test_a_stripe_outage_skips_what_needs_stripe_and_says_so(cloud: LocalCloud) -> None:
    tenant = _canceled_while_webhooks_were_lost(cloud)
    cloud.stripe.fail_next(503, times=100)
    try:
        report = reconcile(cloud)
    finally:
        cloud.stripe.clear_faults()

    billing = part(report, "billing")
    assert billing["status"] == "incomplete"
    assert "failed" in billing["reason"] or "Stripe unreachable" in billing["reason"]
    assert items(report, "billing_failed", tenant_id=tenant.id)
    assert report["outcome"] == "incomplete"
    assert part(report, "housekeeping")["status"] == "done"  # the rest ran
    assert BillingView(tenant).status == "active"  # nothing guessed


@pytest.mark.usefixtures("stripe_endpoint")
def test_a_mailbox_billing_suspended_without_its_run_is_converged(cloud: LocalCloud) -> None:
    tenant, subscription = _subscribed(cloud)
    _, inbox_id = _active_inbox(tenant)
    canceled = cloud.stripe.update_subscription(subscription, status="canceled")
    cloud.stripe.send_event("customer.subscription.deleted", canceled)
    with using_starter(None, "mailbox"):  # the convergence run could not be started
        cloud.deliver_queued()
    assert tenant.inbox(inbox_id).status == "suspended"
    assert _applied(tenant, inbox_id) == "enabled"

    report = reconcile(cloud)

    assert items(report, "mailbox_drift", inbox_id=inbox_id)
    poll(lambda: _applied(tenant, inbox_id) == "disabled", "the mailbox disabled on its server")
    assert items(reconcile(cloud), "mailbox_drift", inbox_id=inbox_id) == []


# ---- DNS -------------------------------------------------------------------------------------


def _zone_id(tenant: Tenant, domain: str) -> str:
    with tenant_session(tenant.id) as s:
        (row,) = [d for d in Domains(s).list() if d.name == domain]
    assert row.hosted_zone_id is not None
    return row.hosted_zone_id


def _alter_dmarc(tenant: Tenant, domain: str) -> None:
    """The customer edits our DMARC record in the domain's zone."""
    route53().change_resource_record_sets(
        HostedZoneId=_zone_id(tenant, domain),
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": f"_dmarc.{domain}.",
                        "Type": "TXT",
                        "TTL": 300,
                        "ResourceRecords": [{"Value": '"v=DMARC1; p=none"'}],
                    },
                }
            ]
        },
    )
    assert tenant.cloud.dns.route53 is not None
    tenant.cloud.dns.route53.refresh()  # the local DNS reads Route 53 twice a second; now


def _api_domain(tenant: Tenant, domain: str) -> dict[str, Any]:
    answer = tenant("GET", f"/v1/domains/{_domain_id(tenant, domain)}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_record_of_ours_the_customer_altered_is_put_back_and_recorded(
    cloud: LocalCloud,
) -> None:
    tenant = Tenant.entitled(cloud)
    domain, _ = _active_inbox(tenant)
    dmarc = (f"_dmarc.{domain}.", "TXT")
    published = zone_records(cloud, tenant, domain)[dmarc]
    _alter_dmarc(tenant, domain)

    report = reconcile(cloud)

    (item,) = items(report, "dns_records_altered", domain=domain)
    assert item["records"] == f"TXT {dmarc[0]}"
    assert zone_records(cloud, tenant, domain)[dmarc] == published
    view = _api_domain(tenant, domain)
    assert view["status"] == "verified"
    assert view["report"]["repaired"] == [f"TXT {dmarc[0]}"]
    assert cloud.dns.route53 is not None
    cloud.dns.route53.refresh()
    assert items(reconcile(cloud), "dns_records_altered", domain=domain) == []


def test_a_new_blocklisting_degrades_the_domain_on_the_api_until_it_is_lifted(
    cloud: LocalCloud, request: pytest.FixtureRequest
) -> None:
    tenant = Tenant.entitled(cloud)
    domain, _ = _active_inbox(tenant)
    (server,) = tenant.servers()
    cloud.dns.dnsbl.list_ip(str(server.ip))
    request.addfinalizer(lambda: cloud.dns.dnsbl.delist_ip(str(server.ip)))

    listed = reconcile(cloud)

    (item,) = items(listed, "domain_degraded", domain=domain)
    assert "blocklisted" in item["why"]
    view = _api_domain(tenant, domain)
    assert view["status"] == "degraded"
    assert "blocklisted" in view["report"]["degraded_because"]

    cloud.dns.dnsbl.delist_ip(str(server.ip))
    lifted = reconcile(cloud)

    assert items(lifted, "domain_recovered", domain=domain)
    assert _api_domain(tenant, domain)["status"] == "verified"


def test_a_dns_outage_decides_nothing_and_says_so(
    cloud: LocalCloud, reconcile_settings: pytest.MonkeyPatch
) -> None:
    tenant = Tenant.entitled(cloud)
    domain, _ = _active_inbox(tenant)
    with tenant_session(tenant.id) as s:  # the oldest check of all: first in the batch
        s.execute(
            "UPDATE domains SET dns_checked_at = '2000-01-01' WHERE tenant_id = %s", (tenant.id,)
        )
    reconcile_settings.setenv("RECONCILE_DNS_BATCH", "1")
    reconcile_settings.setenv("DNS_TIMEOUT_S", "0.2")
    assert cloud.dns.zone_servers is not None
    zone = cloud.dns.zone_servers.server_of_zone(_zone_id(tenant, domain))
    zone.drop(times=None)
    try:
        report = reconcile(cloud)
    finally:
        zone.clear_faults()

    assert items(report, "dns_unverifiable", domain=domain)
    dns = part(report, "dns")
    assert dns["status"] == "incomplete"
    assert "outage" in dns["reason"]
    assert _api_domain(tenant, domain)["status"] == "verified"
    assert zone_records(cloud, tenant, domain)[(f"{domain}.", "MX")]


def test_domains_are_rechecked_in_rotation_oldest_first(
    cloud: LocalCloud, reconcile_settings: pytest.MonkeyPatch
) -> None:
    tenant = Tenant.entitled(cloud)
    _active_inbox(tenant)
    reconcile_settings.setenv("RECONCILE_DNS_BATCH", "1")

    def checked() -> dict[UUID, object]:
        with system_session("test.reconcile") as s:
            rows = s.column(
                "SELECT id::text || ' ' || coalesce(dns_checked_at::text, '-') FROM domains "
                "WHERE status IN ('verified', 'degraded') AND published IS NOT NULL"
            )
        return {UUID(r.split(" ", 1)[0]): r.split(" ", 1)[1] for r in rows}

    before = checked()
    reconcile(cloud)
    after_one = checked()
    reconcile(cloud)
    after_two = checked()

    first = {d for d in before if after_one[d] != before[d]}
    second = {d for d in before if after_two[d] != after_one[d]}
    assert len(first) == 1
    assert len(second) == 1
    assert first != second
    # The one checked longest ago (never checked counts as oldest) went first.
    oldest = min((before[d] != "-", before[d]) for d in before)
    (picked,) = first
    assert (before[picked] != "-", before[picked]) == oldest


# ---- housekeeping ----------------------------------------------------------------------------


def test_expired_idempotency_records_are_purged_and_live_ones_kept(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    now = int(time.time())
    with tenant_session(tenant.id) as s:
        records = IdempotencyRecords(s)
        for key, expires_at in (("old", now - 60), ("live", now + 3600)):
            row = IdempotencyRow(
                key=key,
                status="COMPLETED",
                expires_at=expires_at,
                in_progress_expires_at=None,
                payload_hash="",
                response_data="{}",
            )
            assert records.claim(row, now_s=now, now_ms=now * 1000)

    report = reconcile(cloud)

    (item,) = items(report, "expired_idempotency", tenant_id=tenant.id)
    assert item["purged"] == 1
    with tenant_session(tenant.id) as s:
        assert IdempotencyRecords(s).get("old") is None
        assert IdempotencyRecords(s).get("live") is not None


def test_the_hostwinds_key_about_to_expire_is_reported_every_pass(
    cloud: LocalCloud, reconcile_settings: pytest.MonkeyPatch
) -> None:
    expires = datetime.now(UTC).date() + timedelta(days=3)
    reconcile_settings.setenv("HOSTWINDS_API_KEY_EXPIRES_ON", expires.isoformat())

    (item,) = items(reconcile(cloud), "hostwinds_key_expiring")

    assert item == {"expires_on": expires.isoformat(), "days_left": 3}
    reconcile_settings.setenv("HOSTWINDS_API_KEY_EXPIRES_ON", "2099-01-01")
    assert items(reconcile(cloud), "hostwinds_key_expiring") == []


def test_an_operator_terminates_a_reviewed_rowless_instance_and_nothing_else(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"ifl-local-{uuid4()}"
    [(serviceid, _)] = cloud.hostwinds.seed_instances(names=[name])
    reconcile(cloud)
    assert admin(["list-rowless"]) == 0
    out = capsys.readouterr().out.splitlines()
    listed_rows = [json.loads(line) for line in out if line.startswith('{"serviceid"')]
    assert {"serviceid": serviceid, "name": name} in [
        {k: r[k] for k in ("serviceid", "name")} for r in listed_rows
    ]

    wrong = admin(["terminate-rowless", "--serviceid", str(serviceid), "--name", "ifl-local-x"])
    assert wrong == 1
    assert "not ifl-local-x" in capsys.readouterr().err
    assert name in listed(cloud)

    assert admin(["terminate-rowless", "--serviceid", str(serviceid), "--name", name]) == 0
    out = capsys.readouterr().out.splitlines()
    assert {"terminated": serviceid, "name": name} in [
        json.loads(line) for line in out if line.startswith('{"terminated"')
    ]
    assert name not in listed(cloud)
    again = admin(["terminate-rowless", "--serviceid", str(serviceid), "--name", name])
    assert again == 1
    assert "not an open row-less report" in capsys.readouterr().err


def test_an_instance_whose_row_came_back_is_not_terminated_by_the_operator_command(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = Tenant.entitled(cloud)
    domain_id = _domain_id(tenant, tenant.add_domain(delegate=False))
    server_id = uuid4()
    name = f"ifl-local-{server_id}"
    [(serviceid, _)] = cloud.hostwinds.seed_instances(names=[name])
    reconcile(cloud)  # reported row-less
    with tenant_session(tenant.id) as s:  # the backup's missing rows restored
        Servers(s).add(domain_id, "seattle", "local", server_id)

    assert admin(["terminate-rowless", "--serviceid", str(serviceid), "--name", name]) == 1
    assert "exists now" in capsys.readouterr().err
    assert name in listed(cloud)
    assert items(reconcile(cloud), "rowless_instance", serviceid=serviceid) == []


# ---- one pass at a time, within its time -----------------------------------------------------


def test_two_passes_at_once_repair_once(cloud: LocalCloud) -> None:
    reconcile(cloud)  # earlier tests' drift out of the way
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    with using_starter(None):
        (inbox_id,) = tenant.ask(f"a@{domain}")
    other = _domain_id(tenant, tenant.add_domain(delegate=False))
    names = [server_row(tenant.id, other, ServerStatus.FAILED)[1] for _ in range(3)]
    serviceids = {str(i) for i, _ in cloud.hostwinds.seed_instances(names=names)}
    # The first pass is slow to list Hostwinds: the second starts while it holds the lease.
    cloud.hostwinds.inject(SlowReply(action="get_instances", delay_s=1.0, act_first=False))
    listings = len([r for r in cloud.hostwinds.requests if r.action == "get_instances"])
    reports: list[dict[str, Any]] = []
    first = threading.Thread(target=lambda: reports.append(reconcile(cloud)))
    first.start()
    poll(
        lambda: (
            len([r for r in cloud.hostwinds.requests if r.action == "get_instances"]) > listings
        ),
        "the first pass to list Hostwinds",
    )
    reports.append(reconcile(cloud))
    first.join(30)

    assert sorted(r["outcome"] for r in reports) == ["complete", "lease_held"]
    held = next(r for r in reports if r["outcome"] == "lease_held")
    assert held["parts"] == []
    terminations = [
        str(r.field("serviceid"))
        for r in cloud.hostwinds.requests
        if r.action == "terminate" and r.field("serviceid") in serviceids
    ]
    assert sorted(terminations) == sorted(serviceids)  # each once
    assert not any(name in listed(cloud) for name in names)
    assert tenant.settled(inbox_id).status == "active"
    runs = sfn().list_executions(stateMachineArn=machine_arn(cloud))["executions"]
    assert [e["name"] for e in runs if e["name"].startswith(str(inbox_id))] == [f"{inbox_id}-1"]


def test_a_lease_left_by_a_killed_pass_runs_out(cloud: LocalCloud) -> None:
    with system_session("test.reconcile") as s:
        s.execute(
            "UPDATE reconcile_leases SET holder = 'pass-killed', "
            "held_until = now() + interval '1 hour' WHERE name = 'reconcile'"
        )
    assert reconcile(cloud)["outcome"] == "lease_held"
    with system_session("test.reconcile") as s:
        s.execute(
            "UPDATE reconcile_leases SET held_until = now() - interval '1 second' "
            "WHERE name = 'reconcile'"
        )
    assert reconcile(cloud)["outcome"] != "lease_held"


def test_a_pass_out_of_time_stops_between_parts_and_the_next_resumes_there(
    cloud: LocalCloud,
) -> None:
    checks = iter([10**9] * 3 + [0] * 1000)  # time for a few checks, then none

    stopped = handle(ReconcileCommand(), deps(), lambda: next(checks))

    assert stopped.outcome == "stopped_early"
    assert stopped.resume_part is not None
    statuses = [(p.part, p.status) for p in stopped.parts]
    at = [p for p, _ in statuses].index(stopped.resume_part)
    assert statuses[at][1] == "incomplete"
    assert all(status == "not_reached" for _, status in statuses[at + 1 :])

    # Started there and out of time again at once: the next part goes first next time.
    stuck = handle(ReconcileCommand(), deps(), lambda: 0)
    first = stuck.parts[0]
    assert (first.part, first.status) == (stopped.resume_part, "incomplete")
    after = PARTS[(PARTS.index(stopped.resume_part) + 1) % len(PARTS)]
    assert stuck.resume_part == stopped.resume_part  # the report says where it stopped

    resumed = reconcile(cloud)

    assert resumed["parts"][0]["part"] == after
    assert resumed["outcome"] == "complete"
    assert resumed["resume_part"] is None
    assert reconcile(cloud)["parts"][0]["part"] == "servers"


def test_a_step_functions_outage_skips_the_work_part_and_says_so(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    with using_starter(None):
        (inbox_id,) = tenant.ask(f"a@{domain}")
    with using_starter(UnreachableStarter()):
        report = reconcile(cloud)

    work = part(report, "work")
    assert work["status"] == "skipped"
    assert "Step Functions unreachable" in work["reason"]
    assert part(report, "housekeeping")["status"] == "done"
    assert tenant.inbox(inbox_id).status == "queued"
    assert items(reconcile(cloud), "lost_start", inbox_id=inbox_id)  # the next pass does it
