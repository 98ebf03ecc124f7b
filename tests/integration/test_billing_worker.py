"""The billing_events Lambda end to end: Stripe events signed and delivered to the webhook
Lambda, queued on moto's FIFO queue, consumed through Powertools' FIFO partial-batch processor
the way Lambda's event source does, applied to real PostgreSQL; reminders through moto SES;
re-fetches and customer lookups against the Stripe simulator over HTTP."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from inboxfleet.billing.ledger import converge_tenant, send_due_reminders, suspend_due_inboxes
from inboxfleet.billing.worker import MIN_TIME_LEFT_MS
from inboxfleet.db import Database, system_session, tenant_session
from inboxfleet.db.repositories import (
    BillingAccounts,
    BillingObjects,
    Domains,
    Inboxes,
    InboxEvents,
    StripeEventLog,
)
from inboxfleet.lifecycles import InboxStatus
from inboxfleet.provisioning.runtime import using_starter
from inboxfleet.records import BillingAccount, Inbox
from inboxfleet.settings import BillingSettings
from local.sqs_event_source import redrive
from tests.billing_support import SENDER, BillingWorld, billing_world, invoke_worker
from tests.factories import new_tenant
from tests.stripe_support import PERIOD_END, Customer, delivery

pytestmark = pytest.mark.usefixtures("app_db")
PARK_AFTER = BillingSettings().park_unknown_customer_after


def add_inboxes(tenant_id: UUID, statuses: list[InboxStatus]) -> list[UUID]:
    with tenant_session(tenant_id) as s:
        domain = Domains(s).add(f"d{secrets.token_hex(4)}.example.com")
        return [
            Inboxes(s).add(domain.id, f"u{n}@{domain.name}", status=status).id
            for n, status in enumerate(statuses)
        ]


def inboxes(tenant_id: UUID) -> list[Inbox]:
    with tenant_session(tenant_id) as s:
        return Inboxes(s).list()


def account(tenant_id: UUID) -> BillingAccount:
    with tenant_session(tenant_id) as s:
        found = BillingAccounts(s).get()
    assert found is not None
    return found


def send(world: BillingWorld, customer: Customer, type_: str, obj: dict[str, Any], at: int) -> str:
    event = customer.event(type_, obj, at)
    answer = world.deliver(delivery(event))
    assert answer["statusCode"] == 200, answer
    return str(event["id"])


def fail_first_call(
    monkeypatch: pytest.MonkeyPatch, target: object, method: str, error: str
) -> list[Any]:
    """Make target.method fail once (a passing outage), then work; returns its arguments."""
    real = getattr(target, method)
    calls: list[Any] = []

    def flaky(argument: Any) -> None:
        calls.append(argument)
        if len(calls) == 1:
            raise ConnectionError(error)
        real(argument)

    monkeypatch.setattr(target, method, flaky)
    return calls


def recorded_outcome(event_id: str) -> str | None:
    with system_session("tests.event-log") as s:
        record = StripeEventLog(s).get(event_id)
    return None if record is None else record.outcome


def event_outcome(event_id: str) -> tuple[str | None, str | None]:
    with system_session("tests.event-log") as s:
        record = StripeEventLog(s).get(event_id)
    assert record is not None
    return record.outcome, record.detail


def test_subscription_created_links_entitles_and_releases_waiting_inboxes(
    world: BillingWorld,
) -> None:
    tenant = new_tenant()
    waiting = add_inboxes(tenant, [InboxStatus.AWAITING_PAYMENT] * 2)
    customer = Customer(tenant_id=str(tenant))
    event_id = send(world, customer, "customer.subscription.created", customer.subscription(), 100)

    report = world.drain()

    assert (report.succeeded, report.failed) == (1, 0)
    acc = account(tenant)
    assert acc.stripe_customer_id == customer.customer_id
    assert (acc.subscription_status, acc.plan, acc.max_inboxes, acc.max_domains) == (
        "active",
        "growth_monthly",
        25,
        10,
    )
    assert acc.allowed_locations == ["seattle", "dallas", "amsterdam"]
    assert acc.current_period_end == datetime.fromtimestamp(PERIOD_END, UTC)
    released = {i.id: i for i in inboxes(tenant)}
    assert {released[i].status for i in waiting} == {InboxStatus.QUEUED}
    assert {released[i].execution_name for i in waiting} == {f"{i}-1" for i in waiting}
    assert sorted(r.execution_name for r in world.starter.started) == sorted(
        f"{i}-1" for i in waiting
    )
    assert event_outcome(event_id) == ("applied", "apply")


def test_a_downgrade_marks_the_newest_excess_for_the_period_end_and_never_deletes(
    world: BillingWorld,
) -> None:
    tenant = new_tenant()
    ids = add_inboxes(tenant, [InboxStatus.ACTIVE] * 3)
    customer = Customer(tenant_id=str(tenant))
    seats = "inbox_seat_monthly"
    send(
        world,
        customer,
        "customer.subscription.created",
        customer.subscription(plan=seats, quantity=3),
        100,
    )
    send(
        world,
        customer,
        "customer.subscription.updated",
        customer.subscription(plan=seats, quantity=1),
        200,
    )
    world.drain()

    period_end = datetime.fromtimestamp(PERIOD_END, UTC)
    by_id = {i.id: i for i in inboxes(tenant)}
    assert account(tenant).max_inboxes == 1
    assert [by_id[i].suspend_at for i in ids] == [None, period_end, period_end]
    assert {i.status for i in by_id.values()} == {InboxStatus.ACTIVE}

    assert suspend_due_inboxes(tenant, lambda: period_end - timedelta(seconds=1)) == []
    assert suspend_due_inboxes(tenant, lambda: period_end) == ids[1:]
    by_id = {i.id: i for i in inboxes(tenant)}
    assert [(by_id[i].status, by_id[i].suspension_reason) for i in ids] == [
        (InboxStatus.ACTIVE, None),
        (InboxStatus.SUSPENDED, "over_limit"),
        (InboxStatus.SUSPENDED, "over_limit"),
    ]

    send(
        world,
        customer,
        "customer.subscription.updated",
        customer.subscription(plan=seats, quantity=3),
        300,
    )
    world.drain()
    assert {i.status for i in inboxes(tenant)} == {InboxStatus.ACTIVE}


def test_deletion_suspends_inboxes_and_schedules_teardown_after_retention(
    world: BillingWorld,
) -> None:
    tenant = new_tenant()
    add_inboxes(tenant, [InboxStatus.ACTIVE, InboxStatus.ACTIVE])
    customer = Customer(tenant_id=str(tenant))
    ended = 1_790_500_000
    send(world, customer, "customer.subscription.created", customer.subscription(), 100)
    send(
        world,
        customer,
        "customer.subscription.deleted",
        customer.subscription(
            status="canceled", ended_at=ended, cancellation_reason="cancellation_requested"
        ),
        200,
    )
    world.drain()

    acc = account(tenant)
    assert (acc.subscription_status, acc.payment_state, acc.max_inboxes) == (
        "canceled",
        "suspended",
        0,
    )
    assert acc.teardown_after == datetime.fromtimestamp(ended, UTC) + timedelta(days=30)
    assert {(i.status, i.suspension_reason) for i in inboxes(tenant)} == {
        (InboxStatus.SUSPENDED, "canceled")
    }
    # Billing moves statuses through the one path: each change is on the inbox's timeline.
    suspended = inboxes(tenant)
    with tenant_session(tenant) as s:
        for inbox in suspended:
            [change] = [e.detail for e in InboxEvents(s).timeline(inbox.id) if e.step == "status"]
            assert change == {
                "from": "active",
                "to": "suspended",
                "by": "billing",
                "why": "the subscription ended",
            }


def test_payment_failed_sends_one_reminder_per_attempt_and_payment_reactivates(
    world: BillingWorld,
) -> None:
    tenant = new_tenant()
    add_inboxes(tenant, [InboxStatus.ACTIVE])
    customer = Customer(tenant_id=str(tenant))
    invoice_id = f"in_{secrets.token_hex(6)}"
    retry_at = int(datetime(2026, 12, 3, 9, 30, tzinfo=UTC).timestamp())
    send(world, customer, "customer.subscription.created", customer.subscription(), 100)
    failed = customer.event(
        "invoice.payment_failed",
        customer.invoice(invoice_id, attempt_count=1, next_payment_attempt=retry_at),
        200,
    )
    world.deliver(delivery(failed))
    world.drain()

    assert account(tenant).payment_state == "past_due"
    [email] = world.emails
    assert email.source == SENDER
    assert email.destinations["ToAddresses"] == ["billing@example.com"]
    assert "49.00 USD" in email.subject
    assert "attempt 1" in email.subject
    assert "December 3, 2026 at 09:30 UTC" in email.body
    assert f"https://invoice.stripe.com/i/acct_test/{invoice_id}" in email.body

    # The same event redelivered (a new delivery, not a queue duplicate) sends nothing more.
    world.deliver(delivery(failed))
    world.drain()
    assert len(world.emails) == 1
    send(
        world,
        customer,
        "invoice.payment_failed",
        customer.invoice(invoice_id, attempt_count=2),
        300,
    )
    world.drain()
    assert [("attempt 2" in e.subject) for e in world.emails] == [False, True]

    # Dunning ran out: Stripe marks the subscription unpaid -> suspended for non-payment.
    send(
        world,
        customer,
        "customer.subscription.updated",
        customer.subscription(status="unpaid"),
        400,
    )
    world.drain()
    assert [(i.status, i.suspension_reason) for i in inboxes(tenant)] == [
        (InboxStatus.SUSPENDED, "non_payment")
    ]
    send(
        world,
        customer,
        "invoice.paid",
        customer.invoice(invoice_id, status="paid", attempt_count=3),
        500,
    )
    world.drain()
    assert account(tenant).payment_state == "ok"
    assert [(i.status, i.suspension_reason) for i in inboxes(tenant)] == [
        (InboxStatus.ACTIVE, None)
    ]


def test_an_older_event_never_rolls_back_and_a_same_second_doubt_asks_stripe(
    world: BillingWorld,
) -> None:
    tenant = new_tenant()
    stripe_customer = world.stripe.add_customer(metadata={"tenant_id": str(tenant)})
    world.stripe.add_price("growth_monthly")
    world.stripe.add_price("starter_monthly")
    live = world.stripe.add_subscription(
        stripe_customer["id"], "growth_monthly", metadata={"tenant_id": str(tenant)}
    )
    customer = Customer(
        tenant_id=str(tenant), customer_id=stripe_customer["id"], subscription_id=live["id"]
    )
    # updated (newer) arrives before created (older): created must not roll it back.
    send(
        world,
        customer,
        "customer.subscription.updated",
        customer.subscription(plan="growth_monthly"),
        200,
    )
    old = send(
        world,
        customer,
        "customer.subscription.created",
        customer.subscription(plan="starter_monthly"),
        100,
    )
    world.drain()
    assert account(tenant).plan == "growth_monthly"
    assert event_outcome(old) == ("applied", "stale")

    # Two updates in the same second saying different things: Stripe's object decides.
    world.stripe.update_subscription(live["id"], quantity=4)
    send(
        world,
        customer,
        "customer.subscription.updated",
        customer.subscription(plan="starter_monthly"),
        300,
    )
    send(world, customer, "customer.subscription.updated", customer.subscription(quantity=2), 300)
    world.drain()
    acc = account(tenant)
    assert (acc.plan, acc.quantity, acc.max_inboxes) == ("growth_monthly", 4, 100)
    assert ("GET", f"/v1/subscriptions/{live['id']}") in world.stripe.requests


def test_legacy_shaped_events_are_applied_like_current_ones(world: BillingWorld) -> None:
    tenant = new_tenant()
    customer = Customer(tenant_id=str(tenant), legacy=True)
    send(
        world,
        customer,
        "customer.subscription.created",
        customer.subscription(plan="starter_monthly"),
        100,
    )
    send(
        world,
        customer,
        "invoice.payment_failed",
        customer.invoice(f"in_{secrets.token_hex(5)}"),
        110,
    )
    world.drain()
    acc = account(tenant)
    assert (acc.plan, acc.max_inboxes, acc.payment_state) == ("starter_monthly", 5, "past_due")
    assert acc.current_period_end == datetime.fromtimestamp(PERIOD_END, UTC)


def test_a_customer_without_metadata_is_linked_through_stripes_customer(
    world: BillingWorld,
) -> None:
    tenant = new_tenant()
    stripe_customer = world.stripe.add_customer(metadata={"tenant_id": str(tenant)})
    customer = Customer(tenant_id=str(tenant), customer_id=stripe_customer["id"])
    send(
        world, customer, "customer.subscription.created", customer.subscription(metadata=False), 100
    )
    world.drain()
    assert account(tenant).stripe_customer_id == stripe_customer["id"]
    assert ("GET", f"/v1/customers/{stripe_customer['id']}") in world.stripe.requests


def test_poison_and_unlinked_events_are_parked_while_their_groups_and_others_go_on(
    world: BillingWorld,
) -> None:
    good_tenant = new_tenant()
    good = Customer(tenant_id=str(good_tenant))
    orphan_customer = world.stripe.add_customer()  # no metadata: links to no tenant
    orphan = Customer(tenant_id=None, customer_id=orphan_customer["id"])
    poisoned_tenant = new_tenant()
    poisoned = Customer(tenant_id=str(poisoned_tenant))

    orphan_event = send(
        world, orphan, "customer.subscription.created", orphan.subscription(metadata=False), 100
    )
    poison_event = send(
        world,
        poisoned,
        "customer.subscription.created",
        poisoned.subscription(plan="platinum_yearly"),
        100,
    )
    # Behind the poison, in the same group (customer): must not share its fate.
    follower_event = send(
        world, poisoned, "customer.subscription.updated", poisoned.subscription(), 200
    )
    good_event = send(world, good, "customer.subscription.created", good.subscription(), 100)

    report = world.drain()

    assert account(good_tenant).subscription_status == "active"
    assert event_outcome(good_event) == ("applied", "apply")
    assert event_outcome(follower_event) == ("applied", "apply")
    assert account(poisoned_tenant).plan == "growth_monthly"
    # The orphan was retried until the parking threshold; the poison was parked at once.
    assert report.failed == PARK_AFTER - 1
    dead = {
        json.loads(m["Body"])["id"]: m["MessageAttributes"]["error"]["StringValue"]
        for m in world.queued(world.dlq_url)
    }
    assert sorted(dead) == sorted([orphan_event, poison_event])
    assert dead[orphan_event].startswith("UnknownCustomer: no tenant is linked")
    assert dead[poison_event].startswith("UnknownPlan:")
    assert "platinum_yearly" in dead[poison_event]
    outcome, detail = event_outcome(orphan_event)
    assert outcome == "parked"
    assert detail is not None
    assert detail.startswith("UnknownCustomer: no tenant is linked")
    assert event_outcome(poison_event)[0] == "parked"
    assert world.queued() == []


def test_messages_that_are_not_events_are_parked_too(world: BillingWorld) -> None:
    world.sqs.send_message(
        QueueUrl=world.queue_url,
        MessageBody='{"not": "an event"}',
        MessageGroupId="cus_unknown",
        MessageDeduplicationId="junk-1",
    )
    report = world.drain()
    assert (report.succeeded, report.failed) == (1, 0)
    [parked] = world.queued(world.dlq_url)
    assert parked["MessageAttributes"]["error"]["StringValue"].startswith(
        "InvalidEventMessage: not a Stripe event"
    )
    # Redriven without a fix, at once: parked again, not lost to the DLQ's deduplication.
    assert redrive(world.sqs, world.dlq_url, world.queue_url) == 1
    world.drain()
    assert [m["Body"] for m in world.queued(world.dlq_url)] == ['{"not": "an event"}']


def test_a_parked_message_of_a_long_customer_id_stays_in_its_group(world: BillingWorld) -> None:
    customer = Customer(tenant_id=str(new_tenant()), customer_id="cus_" + "L" * 200)
    send(
        world,
        customer,
        "customer.subscription.created",
        customer.subscription(plan="platinum_yearly"),
        100,
    )
    [queued] = world.queued()
    world.drain()
    [parked] = world.queued(world.dlq_url)
    group = queued["Attributes"]["MessageGroupId"]
    assert group.startswith("sha256-")  # the 204-character id, made to fit
    assert parked["Attributes"]["MessageGroupId"] == group  # so a redrive keeps its order


def test_a_redriven_message_is_applied_once(world: BillingWorld) -> None:
    tenant = new_tenant()
    add_inboxes(tenant, [InboxStatus.AWAITING_PAYMENT])
    stripe_customer = world.stripe.add_customer()
    customer = Customer(tenant_id=str(tenant), customer_id=stripe_customer["id"])
    event_id = send(
        world, customer, "customer.subscription.created", customer.subscription(metadata=False), 100
    )
    world.drain()
    assert len(world.queued(world.dlq_url)) == 1

    # The operator fixes the cause (the customer names its tenant) and redrives.
    world.stripe.update_customer(stripe_customer["id"], metadata={"tenant_id": str(tenant)})
    assert redrive(world.sqs, world.dlq_url, world.queue_url) == 1
    world.drain()
    assert event_outcome(event_id) == ("applied", "apply")
    assert len(world.starter.started) == 1

    # Redriven twice (or redelivered by Stripe): nothing is applied again.
    world.deliver(
        delivery(
            customer.event(
                "customer.subscription.created",
                customer.subscription(metadata=False),
                100,
                event_id,
            )
        )
    )
    world.drain()
    assert len(world.starter.started) == 1
    with tenant_session(tenant) as s:
        stored = BillingObjects(s).subscription(customer.subscription_id)
    assert stored is not None
    assert stored.event_id == event_id


def test_a_failed_start_is_retried_and_starts_once(
    world: BillingWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = new_tenant()
    [inbox_id] = add_inboxes(tenant, [InboxStatus.AWAITING_PAYMENT])
    starter = world.starter
    calls = fail_first_call(monkeypatch, starter, "start", "Step Functions unreachable")
    customer = Customer(tenant_id=str(tenant))
    send(world, customer, "customer.subscription.created", customer.subscription(), 100)
    report = world.drain()

    assert (report.failed, report.succeeded) == (1, 1)
    assert [c.execution_name for c in calls] == [f"{inbox_id}-1", f"{inbox_id}-1"]
    assert [i.execution_name for i in inboxes(tenant)] == [f"{inbox_id}-1"]
    assert [r.execution_name for r in starter.started] == [f"{inbox_id}-1"]


def test_without_a_starter_a_released_inbox_stays_queued_and_no_start_is_claimed(
    world: BillingWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As production with no state machine configured (PROVISIONING_STATE_MACHINE_ARN unset).
    with using_starter(None):
        assert world.deps.starter is None
        tenant = new_tenant()
        [inbox_id] = add_inboxes(tenant, [InboxStatus.AWAITING_PAYMENT])
        customer = Customer(tenant_id=str(tenant))
        send(world, customer, "customer.subscription.created", customer.subscription(), 100)
        report = world.drain()

    assert (report.succeeded, report.failed) == (1, 0)
    [inbox] = inboxes(tenant)
    assert (inbox.id, inbox.status, inbox.attempt, inbox.execution_name) == (
        inbox_id,
        InboxStatus.QUEUED,
        1,
        None,
    )
    assert world.starter.started == []


def test_a_failed_reminder_keeps_the_state_holds_nothing_back_and_is_sent_later_once(
    world: BillingWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = new_tenant()
    customer = Customer(tenant_id=str(tenant))
    attempts = fail_first_call(monkeypatch, world.deps.mailer, "send", "SES endpoint unreachable")
    send(world, customer, "customer.subscription.created", customer.subscription(), 100)
    invoice_id = f"in_{secrets.token_hex(6)}"
    failed = send(world, customer, "invoice.payment_failed", customer.invoice(invoice_id), 200)
    behind = send(
        world, customer, "customer.subscription.updated", customer.subscription(quantity=2), 300
    )
    report = world.drain()

    assert (report.failed, len(attempts), len(world.emails)) == (0, 1, 0)
    assert account(tenant).payment_state == "past_due"
    assert event_outcome(failed)[0] == "applied"
    assert event_outcome(behind)[0] == "applied"
    assert send_due_reminders(tenant, world.deps) == 1
    assert send_due_reminders(tenant, world.deps) == 0
    [email] = world.emails
    assert invoice_id in email.subject


def test_a_worker_short_of_time_starts_no_record_and_hands_the_batch_back(
    world: BillingWorld,
) -> None:
    tenant = new_tenant()
    customer = Customer(tenant_id=str(tenant))
    event_id = send(world, customer, "customer.subscription.created", customer.subscription(), 100)
    [message] = world.queued()
    batch = {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message["Attributes"],
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q.fifo",
                "awsRegion": "us-east-1",
            }
        ]
    }
    with pytest.raises(BatchProcessingError):  # every record failed: Lambda retries the batch
        invoke_worker(batch, remaining_ms=MIN_TIME_LEFT_MS - 1)
    assert recorded_outcome(event_id) is None
    assert invoke_worker(batch, remaining_ms=MIN_TIME_LEFT_MS) == {"batchItemFailures": []}
    assert event_outcome(event_id)[0] == "applied"


def test_an_event_naming_a_tenant_linked_to_another_customer_is_parked(
    world: BillingWorld,
) -> None:
    tenant = new_tenant()
    first = Customer(tenant_id=str(tenant))
    send(world, first, "customer.subscription.created", first.subscription(), 100)
    intruder = Customer(tenant_id=str(tenant))  # another customer claiming the same tenant
    claim = send(
        world,
        intruder,
        "customer.subscription.created",
        intruder.subscription(plan="starter_monthly"),
        200,
    )
    report = world.drain()

    assert (report.succeeded, report.failed) == (2, 0)
    outcome, detail = event_outcome(claim)
    assert outcome == "parked"
    assert detail is not None
    assert detail.startswith("CustomerConflict:")
    acc = account(tenant)
    assert (acc.stripe_customer_id, acc.plan) == (first.customer_id, "growth_monthly")
    assert len(world.queued(world.dlq_url)) == 1


def test_a_reminder_ses_refuses_is_logged_not_retried(
    app_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with billing_world(monkeypatch) as world:
        # SES (moto) refuses a sender outside the verified identity, as SES does.
        monkeypatch.setenv("BILLING_REMINDER_SENDER", "billing@unverified.example")
        tenant = new_tenant()
        customer = Customer(tenant_id=str(tenant))
        send(world, customer, "customer.subscription.created", customer.subscription(), 100)
        failed = send(
            world,
            customer,
            "invoice.payment_failed",
            customer.invoice(f"in_{secrets.token_hex(6)}"),
            200,
        )
        report = world.drain()
        assert (report.succeeded, report.failed) == (2, 0)
        assert world.emails == []
        assert account(tenant).payment_state == "past_due"
        assert event_outcome(failed)[0] == "applied"


def test_a_renewal_does_not_push_back_a_downgrades_suspension(world: BillingWorld) -> None:
    tenant = new_tenant()
    ids = add_inboxes(tenant, [InboxStatus.ACTIVE] * 2)
    customer = Customer(tenant_id=str(tenant))
    seats = "inbox_seat_monthly"
    next_period = PERIOD_END + 30 * 86_400
    send(
        world,
        customer,
        "customer.subscription.created",
        customer.subscription(plan=seats, quantity=2),
        100,
    )
    send(
        world,
        customer,
        "customer.subscription.updated",
        customer.subscription(plan=seats, quantity=1),
        200,
    )
    send(
        world,
        customer,
        "customer.subscription.updated",
        customer.subscription(plan=seats, quantity=1, period_end=next_period),
        PERIOD_END + 5,
    )
    world.drain()
    by_id = {i.id: i for i in inboxes(tenant)}
    assert by_id[ids[1]].suspend_at == datetime.fromtimestamp(PERIOD_END, UTC)
    assert account(tenant).current_period_end == datetime.fromtimestamp(next_period, UTC)


def test_converging_suspends_an_inbox_that_became_active_after_the_cancellation(
    world: BillingWorld,
) -> None:
    tenant = new_tenant()
    [inbox_id] = add_inboxes(tenant, [InboxStatus.PROVISIONING])
    customer = Customer(tenant_id=str(tenant))
    send(world, customer, "customer.subscription.created", customer.subscription(), 100)
    send(
        world,
        customer,
        "customer.subscription.deleted",
        customer.subscription(status="canceled", ended_at=1_790_000_300),
        300,
    )
    world.drain()
    assert [i.status for i in inboxes(tenant)] == [InboxStatus.PROVISIONING]
    with tenant_session(tenant) as s:
        # The workflow finished meanwhile.
        Inboxes(s).transition(inbox_id, InboxStatus.ACTIVE, by="workflow", why="provisioned")

    plan = converge_tenant(tenant, world.deps)

    assert plan.suspend == [(inbox_id, "canceled")]
    assert [(i.status, i.suspension_reason) for i in inboxes(tenant)] == [
        (InboxStatus.SUSPENDED, "canceled")
    ]
