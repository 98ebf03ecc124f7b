"""The billing worker: one queued Stripe event at a time (the SQS record handler calls
`handle_record`).

Read the envelope; an event already applied or ignored is done; find the tenant; apply the event
in the tenant's session (ledger.py); then start released inboxes and send a due reminder. The
event log records how it ended, in its own system transaction (Nile forbids tenant and shared
writes in one).

Messages that can never succeed — not an event, a price outside the catalogue, a customer linked
to two tenants, or a customer still linked to no tenant after a few tries — are parked in the
dead-letter queue by the worker itself, with the reason as a message attribute, and reported as
handled. The FIFO processor would otherwise hold back the rest of the customer's group behind
them until SQS moved them all. Any other failure is retried (maxReceiveCount, then the DLQ).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from inboxfleet.billing.customers import resolve_tenant
from inboxfleet.billing.errors import (
    BillingError,
    CustomerConflict,
    InvalidEventMessage,
    UnknownCustomer,
    UnknownPlan,
)
from inboxfleet.billing.ledger import Outcome, apply_event, send_reminder, start_released
from inboxfleet.billing.ports import BillingDeps
from inboxfleet.billing.state import Verdict
from inboxfleet.billing.stripe_objects import StripeEvent, parse_event, parse_object
from inboxfleet.db.repositories import StripeEventLog
from inboxfleet.db.sessions import system_session
from inboxfleet.observability import count, logger
from inboxfleet.provisioning.start import start_convergence

__all__ = [
    "BillingDeps",
    "OutOfTime",
    "Result",
    "ensure_time_left",
    "handle_record",
    "process_message",
]

FINISHED = frozenset({"applied", "ignored"})
# The slowest a record can be: a customer lookup and a re-fetch at Stripe (5 s x 2 attempts
# each), an SES send (2 x (3 + 5) s), parking in the DLQ (~12 s) and database statements: about
# 60 s. No record starts with less left, so a slow batch ends in reported failures (retried)
# instead of a timeout that fails every record of it.
MIN_TIME_LEFT_MS = 60_000
# Failures no retry can mend: the message is parked at once.
NEVER_SUCCEEDS = (InvalidEventMessage, UnknownPlan, CustomerConflict)


@dataclass(frozen=True)
class Result:
    event_id: str | None
    outcome: Outcome | Literal["parked"]
    verdict: Verdict | None = None  # how the event compared with what was held


class OutOfTime(Exception):
    """Too little of the invocation is left to start another record: it is retried."""


def ensure_time_left(remaining_ms: int) -> None:
    if remaining_ms < MIN_TIME_LEFT_MS:
        count("BillingRecordsDeferred")
        raise OutOfTime(f"{remaining_ms} ms left: the record waits for the next invocation")


@dataclass(frozen=True)
class QueuedMessage:
    """One SQS record as the worker needs it."""

    body: str
    message_id: str
    group_id: str
    receive_count: int


def handle_record(message: QueuedMessage, deps: BillingDeps) -> Result:
    """One SQS record: its outcome, or an exception to have it retried."""
    logger.remove_keys(["stripe_event_id", "stripe_event_type"])  # the previous record's
    try:
        return process_message(message.body, deps)
    except NEVER_SUCCEEDS as exc:
        return _park(message, exc, deps)
    except UnknownCustomer as exc:
        if message.receive_count >= deps.park_unknown_customer_after:
            return _park(message, exc, deps)
        raise


def _park(message: QueuedMessage, exc: BillingError, deps: BillingDeps) -> Result:
    if deps.dead_letters is None:
        raise exc
    reason = f"{type(exc).__name__}: {exc}"[:256]
    logger.error("billing event cannot succeed: parking it", extra={"reason": reason})
    deps.dead_letters.send(
        message.body,
        group_id=message.group_id,
        # Per queued message (SQS does the same when it moves one): the same event redriven
        # (a new message id) and failing again is parked again, not taken for a duplicate.
        deduplication_id=f"parked-{message.message_id}",
        attributes={"error": reason},
    )
    count("StripeEventsParked")
    event_id = _record_parked(message.body, reason, deps)
    return Result(event_id, "parked")


def _record_parked(body: str, reason: str, deps: BillingDeps) -> str | None:
    try:
        event = parse_event(body)
    except InvalidEventMessage:
        return None  # not an event: nothing to record it under
    _finish(deps, event, "parked", reason)
    return event.id


def process_message(body: str, deps: BillingDeps) -> Result:
    count("StripeEventsReceived")
    event = parse_event(body)
    logger.append_keys(stripe_event_id=event.id, stripe_event_type=event.type)
    if not event.handled:
        _finish(deps, event, "ignored", "event type not handled")
        count("StripeEventsIgnored")
        return Result(event.id, "ignored")
    with system_session("billing.event-log", database=deps.database) as session:
        prior = StripeEventLog(session).get(event.id)
    if prior is not None and prior.outcome in FINISHED:
        count("StripeEventsDuplicate")
        return Result(event.id, "duplicate")
    try:
        obj = parse_object(event.type, event.data.object)
        tenant_id = resolve_tenant(event, obj, deps)
        applied = apply_event(tenant_id, event, obj, deps)
        start_released(tenant_id, applied.waiting, deps)
        start_convergence(deps.mailbox, tenant_id, applied.drifted)
        if applied.reminder:
            send_reminder(tenant_id, applied.reminder, deps)
    except Exception as exc:
        count("StripeEventsFailed")
        # Only our own errors' messages are known to hold no secrets or payloads.
        detail = str(exc) if isinstance(exc, BillingError) else "see the function's logs"
        _finish(deps, event, "failed", f"{type(exc).__name__}: {detail}")
        raise
    _finish(deps, event, "applied", applied.verdict.value)
    count(f"StripeEvents{applied.outcome.capitalize()}")
    return Result(event.id, applied.outcome, applied.verdict)


def _finish(deps: BillingDeps, event: StripeEvent, outcome: str, detail: str | None) -> None:
    with system_session("billing.event-log", database=deps.database) as session:
        StripeEventLog(session).finish(
            event.id,
            event.type,
            event.created_at,
            event.customer_id,
            outcome=outcome,
            detail=detail,
        )
