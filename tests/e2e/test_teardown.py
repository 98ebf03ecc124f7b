"""Teardown and convergence end to end in the local cloud: deleting inboxes and domains through
the tenant API (deprovision_inbox.asl.json), suspending and reactivating mailboxes through
Stripe's signed events (converge_mailbox.asl.json), a new password through the API, and failed
executions routed by the template's own EventBridge rule to its queue."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import boto3
import pytest

from inboxfleet.billing.retention import tear_down_after_retention
from inboxfleet.db import system_session, tenant_session
from inboxfleet.db.repositories import DomainClaims, Domains, InboxEvents, TenantDirectory
from inboxfleet.provisioning.ports import StartRequest
from inboxfleet.provisioning.step_functions import StepFunctionsStarter
from local.account import REGION
from local.cloud import LocalCloud
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
from tests.provisioning_support import (
    Tenant,
    fail_step,
    histories_text,
    instances,
    known_secrets,
    route53,
    zone_records,
)

# The tenant's own records: its website and a verification TXT at the apex.
WEBSITE = "192.0.2.80"
VERIFICATION = '"google-site-verification=abc123"'


@pytest.fixture(autouse=True)
def no_leftover_faults(cloud: LocalCloud) -> Iterator[None]:
    yield
    cloud.lambdas.clear_faults()


def _zone_id(tenant: Tenant, domain: str) -> str:
    with tenant_session(tenant.id) as s:
        (row,) = [d for d in Domains(s).list() if d.name == domain]
    assert row.hosted_zone_id is not None
    return row.hosted_zone_id


def _add_own_records(tenant: Tenant, domain: str) -> None:
    """What the tenant keeps in its zone beside ours (its website, a verification TXT)."""
    changes = [
        ("A", f"www.{domain}.", WEBSITE),
        ("TXT", f"{domain}.", VERIFICATION),
    ]
    route53().change_resource_record_sets(
        HostedZoneId=_zone_id(tenant, domain),
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": name,
                        "Type": kind,
                        "TTL": 300,
                        "ResourceRecords": [{"Value": value}],
                    },
                }
                for kind, name, value in changes
            ]
        },
    )


def _active(cloud: LocalCloud, tenant: Tenant | None = None) -> tuple[Tenant, str, UUID]:
    """A tenant (entitled, unless given) with a new domain and one active inbox on it."""
    tenant = tenant or Tenant.entitled(cloud)
    domain = tenant.add_domain()
    (inbox_id,) = tenant.ask(f"sales@{domain}")
    assert tenant.settled(inbox_id).status == "active"
    return tenant, domain, inbox_id


def _deleted(tenant: Tenant, inbox_id: UUID) -> str:
    """DELETE the inbox through the API, then wait for its teardown to end; its status."""
    answer = tenant("DELETE", f"/v1/inboxes/{inbox_id}")
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "deleting"
    run = ended(tenant.cloud, f"{inbox_id}-delete", machine=TEARDOWN)
    assert run["status"] in ("SUCCEEDED", "FAILED")
    return str(tenant.inbox(inbox_id).status)


def test_deleting_a_domains_only_inbox_gives_the_server_back_and_keeps_the_tenants_records(
    cloud: LocalCloud,
) -> None:
    tenant, domain, inbox_id = _active(cloud)
    _add_own_records(tenant, domain)
    (server,) = tenant.servers()

    assert _deleted(tenant, inbox_id) == "deleted"

    assert instances(cloud, server.name) == []
    (gone,) = tenant.servers()
    assert gone.status == "decommissioned"
    # Only the tenant's own records are left in the zone, and the zone itself stays.
    assert zone_records(cloud, tenant, domain) == {
        (f"www.{domain}.", "A"): [WEBSITE],
        (f"{domain}.", "TXT"): [VERIFICATION],
    }
    assert ("teardown", "succeeded") in tenant.timeline(inbox_id)
    # Asked again: the same answer, and nothing more to do.
    again = tenant("DELETE", f"/v1/inboxes/{inbox_id}")
    assert again.status_code == 202
    assert again.json()["status"] == "deleted"

    # Deleting the domain then removes the zone and the claim on its name.
    zone_id = _zone_id(tenant, domain)
    (domain_row,) = tenant("GET", "/v1/domains").json()["domains"]
    removed = tenant("DELETE", f"/v1/domains/{domain_row['id']}")
    assert removed.status_code == 200, removed.text
    assert removed.json()["status"] == "removed"
    zones = route53().list_hosted_zones()["HostedZones"]
    assert zone_id not in {z["Id"].rsplit("/", 1)[-1] for z in zones}
    with system_session("test.teardown") as s:
        assert DomainClaims(s).of_name(domain) == []


def test_deleting_one_of_two_inboxes_keeps_the_server_and_the_other_mailbox(
    cloud: LocalCloud,
) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    (first,) = tenant.ask(f"one@{domain}")
    assert tenant.settled(first).status == "active"
    (second,) = tenant.ask(f"two@{domain}")
    assert tenant.settled(second).status == "active"
    before = zone_records(cloud, tenant, domain)
    (server,) = tenant.servers()
    mailu = cloud.fleet.host(str(server.ip)).mailu

    assert _deleted(tenant, first) == "deleted"

    (kept,) = tenant.servers()
    assert kept.status == "ready"
    assert len(instances(cloud, server.name)) == 1
    assert set(mailu.users) == {f"two@{domain}"}
    assert zone_records(cloud, tenant, domain) == before
    password = tenant("GET", f"/v1/inboxes/{second}/credentials").json()["password"]
    assert mailu.login_allowed(f"two@{domain}", password)

    # The last one out gives the server back.
    assert _deleted(tenant, second) == "deleted"
    assert instances(cloud, server.name) == []
    assert zone_records(cloud, tenant, domain) == {}


def test_a_teardown_whose_termination_keeps_failing_leaves_the_inbox_deleting_with_a_reason(
    cloud: LocalCloud,
) -> None:
    tenant, domain, inbox_id = _active(cloud)
    (server,) = tenant.servers()
    fail_step(cloud, "HostwindsFunction", "terminate_server", error="HostwindsProtocolError")
    fail_step(cloud, "HostwindsFunction", "terminate_server", error="HostwindsProtocolError")

    assert _deleted(tenant, inbox_id) == "deleting"
    stuck = tenant.inbox(inbox_id)
    assert stuck.failure_reason is not None
    assert "HostwindsProtocolError" in stuck.failure_reason
    assert ("teardown", "failed") in tenant.timeline(inbox_id)
    (going,) = tenant.servers()
    assert going.status == "decommissioning"

    # Deleted again, the next run (under the next name) finishes the job.
    again = tenant("DELETE", f"/v1/inboxes/{inbox_id}")
    assert (again.status_code, again.json()["status"]) == (202, "deleting")
    assert ended(cloud, f"{inbox_id}-delete-2", machine=TEARDOWN)["status"] == "SUCCEEDED"
    assert tenant.inbox(inbox_id).status == "deleted"
    assert instances(cloud, server.name) == []
    assert tenant.servers()[0].status == "decommissioned"
    assert zone_records(cloud, tenant, domain) == {}


# ---- convergence ---------------------------------------------------------------------------


def _paying_tenant(cloud: LocalCloud) -> tuple[Tenant, str, dict[str, Any]]:
    """A tenant entitled the way a customer is: a Stripe subscription, announced by a signed
    webhook delivery and applied by the billing worker. Returns it, its Stripe customer and
    the subscription."""
    with system_session("test.teardown") as s:
        tenant_id = TenantDirectory(s).create("Paying Co", "billing@paying.example").id
    customer = cloud.stripe.add_customer(metadata={"tenant_id": str(tenant_id)})
    subscription = _subscribe(cloud, customer["id"])
    Tenant.made.append((cloud, tenant_id))
    return Tenant(cloud, tenant_id, cloud.token(tenant_id)), customer["id"], subscription


def _subscribe(cloud: LocalCloud, customer_id: str) -> dict[str, Any]:
    subscription = cloud.stripe.add_subscription(customer_id, "growth_monthly")
    _deliver(cloud, "customer.subscription.created", subscription)
    return subscription


def _deliver(cloud: LocalCloud, event_type: str, obj: dict[str, Any]) -> None:
    """Stripe sends the event to the platform's webhook; the billing worker applies it."""
    url, secret = f"{cloud.api_url}/webhooks/stripe", cloud.secrets.webhook_secrets[0]
    cloud.stripe.add_webhook_endpoint(url, secret)
    try:
        (delivery,) = cloud.stripe.send_event(event_type, obj)
    finally:
        cloud.stripe.remove_webhook_endpoint(url)  # the module's cloud is shared
    assert delivery.status == 200, delivery.answer
    report = cloud.deliver_queued()
    assert report.failed == 0, report


def _applied(tenant: Tenant, inbox_id: UUID) -> int:
    """How many convergence runs have recorded the inbox's mailbox applied."""
    return tenant.timeline(inbox_id).count(("mailbox", "succeeded"))


def _mailbox_enabled(
    cloud: LocalCloud, tenant: Tenant, inbox_id: UUID, *, enabled: bool, applied_before: int
) -> None:
    """Once a convergence run (after the `applied_before` ones) has recorded it applied: the
    mailbox as asked on its server."""
    poll(
        lambda: _applied(tenant, inbox_id) > applied_before,
        "the convergence run to record the mailbox applied",
        60,
    )
    (server,) = tenant.servers()
    address = tenant.inbox(inbox_id).address
    assert cloud.fleet.host(str(server.ip)).mailu.users[address].enabled == enabled


def test_a_canceled_subscription_disables_mailboxes_and_paying_again_enables_them(
    cloud: LocalCloud,
) -> None:
    paying, customer_id, subscription = _paying_tenant(cloud)
    tenant, domain, inbox_id = _active(cloud, paying)
    address = f"sales@{domain}"
    password = tenant("GET", f"/v1/inboxes/{inbox_id}/credentials").json()["password"]
    (server,) = tenant.servers()
    mailu = cloud.fleet.host(str(server.ip)).mailu
    assert mailu.login_allowed(address, password)

    canceled = cloud.stripe.update_subscription(subscription["id"], status="canceled")
    applied = _applied(tenant, inbox_id)
    _deliver(cloud, "customer.subscription.deleted", canceled)

    assert tenant.inbox(inbox_id).status == "suspended"
    _mailbox_enabled(cloud, tenant, inbox_id, enabled=False, applied_before=applied)
    assert not mailu.login_allowed(address, password)

    applied = _applied(tenant, inbox_id)
    _subscribe(cloud, customer_id)

    assert tenant.inbox(inbox_id).status == "active"
    _mailbox_enabled(cloud, tenant, inbox_id, enabled=True, applied_before=applied)
    assert mailu.login_allowed(address, password)


def test_a_new_password_takes_effect_on_the_server(cloud: LocalCloud) -> None:
    tenant, domain, inbox_id = _active(cloud)
    address = f"sales@{domain}"
    old = tenant("GET", f"/v1/inboxes/{inbox_id}/credentials").json()["password"]
    (server,) = tenant.servers()
    mailu = cloud.fleet.host(str(server.ip)).mailu
    new = "Fresh-Passw0rd-For-Sales"

    answer = tenant("POST", f"/v1/inboxes/{inbox_id}/password", {"password": new})
    assert answer.status_code == 202, answer.text

    poll(lambda: mailu.login_allowed(address, new), "the new password to work", 60)
    assert not mailu.login_allowed(address, old)

    def handed_out() -> bool:
        body = tenant("GET", f"/v1/inboxes/{inbox_id}/credentials").json()
        return bool(body["password"] == new)

    # The credentials give the new password once it is the server's.
    poll(handed_out, "the credentials to give the new password", 60)


# ---- failed executions ---------------------------------------------------------------------


class FailedExecutions:
    """What the failed-executions queue has delivered so far (each message read once)."""

    def __init__(self, cloud: LocalCloud) -> None:
        self.url = cloud.aws.stack.resources["FailedExecutionsQueue"].ref
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.seen: list[dict[str, Any]] = []

    def receive(self) -> int:
        messages = self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        for message in messages:
            self.seen.append(json.loads(message["Body"]))
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def of(self, name: str) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            self.receive()
            return next((e for e in self.seen if e["detail"]["name"] == name), None)

        return poll(found, f"{name} in the failed-executions queue", 30)

    def drained(self) -> set[str]:
        """Every name delivered, once the queue is empty."""
        while self.receive():
            pass
        return {e["detail"]["name"] for e in self.seen}


def test_failed_and_aborted_executions_land_in_the_failed_executions_queue(
    cloud: LocalCloud,
) -> None:
    tenant, _, inbox_id = _active(cloud)
    queue = FailedExecutions(cloud)
    # A teardown for an inbox nobody deleted is refused: the run fails, and changes nothing.
    refused = f"{inbox_id}-delete"
    StepFunctionsStarter(machine_arn(cloud, TEARDOWN)).start(
        StartRequest(tenant.id, inbox_id, refused)
    )
    assert ended(cloud, refused, machine=TEARDOWN)["status"] == "FAILED"
    assert tenant.inbox(inbox_id).status == "active"
    # A convergence with nothing to do succeeds: it is not announced.
    calm = f"{inbox_id}-mailbox-calm"
    StepFunctionsStarter(machine_arn(cloud, MAILBOX)).start(StartRequest(tenant.id, inbox_id, calm))
    assert ended(cloud, calm, machine=MAILBOX)["status"] == "SUCCEEDED"
    # One stopped while its first step runs (as an operator, or reconcile, stops a stuck run).
    stopped = f"{inbox_id}-mailbox-stopped"
    holding, released = threading.Event(), threading.Event()

    def hold() -> None:
        holding.set()
        released.wait(30)

    fail_step(
        cloud,
        "InventoryFunction",
        "claim_mailbox",
        when=lambda e: e.get("execution") == stopped,
        before=hold,
    )
    StepFunctionsStarter(machine_arn(cloud, MAILBOX)).start(
        StartRequest(tenant.id, inbox_id, stopped)
    )
    assert holding.wait(30)
    sfn().stop_execution(executionArn=execution_arn(cloud, stopped, MAILBOX))
    released.set()
    assert ended(cloud, stopped, machine=MAILBOX)["status"] == "ABORTED"

    event = queue.of(refused)
    assert event["source"] == "aws.states"
    assert event["detail-type"] == "Step Functions Execution Status Change"
    assert event["detail"]["status"] == "FAILED"
    assert event["detail"]["error"] == "InboxRejected"
    assert event["detail"]["stateMachineArn"] == machine_arn(cloud, TEARDOWN)
    assert queue.of(stopped)["detail"]["status"] == "ABORTED"
    assert calm not in queue.drained()
    assert {e["detail"]["status"] for e in queue.seen} <= {"FAILED", "TIMED_OUT", "ABORTED"}


def test_after_the_retention_of_a_canceled_subscription_billing_tears_every_inbox_down(
    cloud: LocalCloud,
) -> None:
    paying, _, subscription = _paying_tenant(cloud)
    tenant, domain, inbox_id = _active(cloud, paying)
    (server,) = tenant.servers()
    canceled = cloud.stripe.update_subscription(subscription["id"], status="canceled")
    _deliver(cloud, "customer.subscription.deleted", canceled)
    assert tenant.inbox(inbox_id).status == "suspended"
    starter = StepFunctionsStarter(machine_arn(cloud, TEARDOWN))

    # Within the retention nothing goes.
    assert tear_down_after_retention(tenant.id, starter, now=lambda: datetime.now(UTC)) == []
    assert tenant.inbox(inbox_id).status == "suspended"

    after = datetime.now(UTC) + timedelta(days=400)
    assert tear_down_after_retention(tenant.id, starter, now=lambda: after) == [inbox_id]
    assert ended(cloud, f"{inbox_id}-delete", machine=TEARDOWN)["status"] == "SUCCEEDED"
    assert tenant.inbox(inbox_id).status == "deleted"
    with tenant_session(tenant.id) as s:
        moves = [e.detail for e in InboxEvents(s).timeline(inbox_id) if e.step == "status"]
    assert {"from": "suspended", "to": "deleting", "by": "billing"}.items() <= moves[-2].items()
    assert instances(cloud, server.name) == []
    assert zone_records(cloud, tenant, domain) == {}
    # Called again (the next reconcile pass): the same run, nothing more.
    assert tear_down_after_retention(tenant.id, starter, now=lambda: after) == []


def test_no_history_or_failed_execution_message_of_any_workflow_holds_a_secret(
    cloud: LocalCloud,
) -> None:
    """Every run of the three machines so far, its own included (a provisioning, a password
    change and a teardown), and every failed-executions message; the passwords replaced and
    the one asked for as well as the current ones."""
    tenant, _, inbox_id = _active(cloud)
    old = tenant("GET", f"/v1/inboxes/{inbox_id}/credentials").json()["password"]
    new = "Scanned-Passw0rd-For-Sales"
    applied = _applied(tenant, inbox_id)
    assert tenant("POST", f"/v1/inboxes/{inbox_id}/password", {"password": new}).status_code == 202
    poll(lambda: _applied(tenant, inbox_id) > applied, "the new password to be applied", 60)
    assert _deleted(tenant, inbox_id) == "deleted"
    queue = FailedExecutions(cloud)
    queue.drained()

    text = histories_text(cloud, [MACHINE, TEARDOWN, MAILBOX]) + json.dumps(queue.seen)

    leaked = [s for s in [old, new, *known_secrets(cloud)] if s in text]
    assert leaked == []
