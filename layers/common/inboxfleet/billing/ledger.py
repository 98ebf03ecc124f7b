"""Applying one Stripe event to its tenant, and what follows from the result.

In the tenant's session: judge the event against the object's watermark (older never rolls back;
a same-second twin with other content is settled by fetching the object from Stripe), store the
snapshot, derive the account's entitlement from all its subscriptions and invoices, and set the
inboxes' desired states. After the commit: start released inboxes and send a due payment
reminder (once per invoice attempt) — outside the transaction, so a mail or workflow failure
never undoes billing state, and a retry finds what is still due.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar
from uuid import UUID

from inboxfleet.billing.errors import CustomerMissing
from inboxfleet.billing.inbox_policy import InboxPlan, due_for_suspension, plan_inboxes
from inboxfleet.billing.ports import BillingDeps, MailRejected
from inboxfleet.billing.reminders import payment_failed_email
from inboxfleet.billing.state import Verdict, derive_entitlement, judge
from inboxfleet.billing.stripe_objects import (
    StripeEvent,
    StripeInvoice,
    StripeObject,
    StripeSubscription,
    parse_stripe,
)
from inboxfleet.db.connection import Database
from inboxfleet.db.repositories import (
    BillingAccounts,
    BillingObjects,
    Inboxes,
    MailboxStates,
    TenantProfile,
)
from inboxfleet.db.sessions import TenantSession, tenant_session
from inboxfleet.entitlement import Entitlement
from inboxfleet.lifecycles import InboxStatus, SuspensionReason
from inboxfleet.observability import count, logger
from inboxfleet.provisioning.start import start_convergence, start_queued
from inboxfleet.records import Inbox, InvoiceSnapshot, SubscriptionSnapshot, Watermark

Outcome = Literal["applied", "stale", "duplicate", "ignored"]
_I = InboxStatus


@dataclass(frozen=True)
class DueReminder:
    invoice: InvoiceSnapshot
    to: str | None
    company: str | None


@dataclass
class Applied:
    outcome: Outcome
    verdict: Verdict
    # Released inboxes whose workflow is not started yet (this event's, or a failed start's).
    waiting: list[Inbox] = field(default_factory=list)
    reminder: DueReminder | None = None
    # Inboxes whose mail server must be brought to their (new) desired state: suspended ones
    # disabled, reactivated ones enabled.
    drifted: list[UUID] = field(default_factory=list)


def apply_event(
    tenant_id: UUID, event: StripeEvent, obj: StripeObject, deps: BillingDeps
) -> Applied:
    with tenant_session(tenant_id, database=deps.database) as session:
        objects = BillingObjects(session)
        reminder: DueReminder | None = None
        if isinstance(obj, StripeSubscription):
            held = objects.subscription(obj.id, lock=True)
            verdict, _ = _store(
                held.split() if held else None,
                event.watermark,
                obj.snapshot() if obj.complete else None,
                lambda: parse_stripe(
                    StripeSubscription, deps.stripe.subscription(obj.id)
                ).snapshot(),
                objects.save_subscription,
            )
        else:
            held_invoice = objects.invoice(obj.id, lock=True)
            verdict, invoice = _store(
                held_invoice.split() if held_invoice else None,
                event.watermark,
                obj.snapshot(),
                lambda: parse_stripe(StripeInvoice, deps.stripe.invoice(obj.id)).snapshot(),
                objects.save_invoice,
            )
            if event.type == "invoice.payment_failed" and verdict != Verdict.STALE:
                reminded = held_invoice.reminded_attempt if held_invoice else 0
                reminder = _due_reminder(session, invoice, reminded, obj.customer_email)
        waiting = Inboxes(session).queued_without_execution
        if verdict in (Verdict.SAME, Verdict.STALE):
            outcome: Outcome = "duplicate" if verdict == Verdict.SAME else "stale"
            return Applied(outcome, verdict, waiting(), reminder)
        # Taken after any fetch from Stripe (never held across a network call), before the
        # inboxes are counted against the plan, as the API takes it before it counts them.
        _rederive(session, deps)
        drifted = MailboxStates(session).drifted()
        return Applied("applied", verdict, waiting(), reminder, drifted)


S = TypeVar("S", SubscriptionSnapshot, InvoiceSnapshot)


def _store(
    held: tuple[Watermark, S] | None,
    mark: Watermark,
    incoming: S | None,
    fetch: Callable[[], S],
    save: Callable[[S, Watermark], None],
) -> tuple[Verdict, S | None]:
    """Judge an event's snapshot against the held one, fetch Stripe's object on doubt, save
    what is newer; returns the verdict and the snapshot now held."""
    if incoming is None:
        # The payload cannot be read in full (more items than it lists, a price without its
        # lookup_key): unless it is already outdated, Stripe's current object decides.
        older = held is not None and mark.event_created < held[0].event_created
        verdict = Verdict.STALE if older else Verdict.REFETCH
    else:
        verdict = judge(held, mark, incoming)
    if verdict == Verdict.REFETCH:
        incoming = fetch()
        count("StripeObjectsRefetched")
    if verdict in (Verdict.APPLY, Verdict.REFETCH):
        assert incoming is not None
        save(incoming, mark)
        return verdict, incoming
    return verdict, held[1] if held else None


def apply_inbox_plan(session: TenantSession, entitlement: Entitlement) -> InboxPlan:
    inboxes = Inboxes(session)
    plan = plan_inboxes(entitlement, inboxes.list())
    moves = (
        (plan.release, _I.AWAITING_PAYMENT, _I.QUEUED, "the subscription entitles it"),
        (plan.reactivate, _I.SUSPENDED, _I.ACTIVE, "in good standing and within the plan"),
    )
    for inbox_ids, current, target, why in moves:
        for inbox_id in inbox_ids:
            inboxes.transition(inbox_id, target, by="billing", why=why, expected=current)
    for inbox_id, reason in plan.suspend:
        _suspend(inboxes, inbox_id, reason)
    for inbox_id, at in plan.schedule:
        inboxes.schedule_suspension(inbox_id, at)
    for inbox_id in plan.unschedule:
        inboxes.schedule_suspension(inbox_id, None)
    if plan:
        logger.info(
            "inbox desired states changed by billing",
            extra={
                "released": len(plan.release),
                "reactivated": len(plan.reactivate),
                "suspended": len(plan.suspend),
                "scheduled": len(plan.schedule),
                "unscheduled": len(plan.unschedule),
            },
        )
    return plan


def _due_reminder(
    session: TenantSession, invoice: InvoiceSnapshot | None, reminded: int, email: str | None
) -> DueReminder | None:
    """The reminder the invoice's held state calls for, if its attempt has had none."""
    if invoice is None or not invoice.outstanding:
        return None  # paid or voided since (what we hold is at least as new as this event)
    if reminded >= invoice.attempt_count:
        return None
    tenant = TenantProfile(session).get()
    return DueReminder(invoice, tenant.billing_email or email, tenant.name)


def send_reminder(tenant_id: UUID, due: DueReminder, deps: BillingDeps) -> bool:
    """Send a due reminder and mark its attempt reminded. A crash between the two can send it
    twice (at least once). A refusal for good is logged and marked, never retried. A passing
    failure leaves it due, without failing the event (its state is saved, and the customer's
    later events must not wait behind an email): `send_due_reminders` delivers it later."""
    invoice = due.invoice
    if due.to is None:
        logger.warning("payment failed but there is no billing contact to remind")
        count("PaymentRemindersWithoutContact")
        sent = False
    else:
        try:
            deps.mailer.send(payment_failed_email(due.to, due.company, invoice))
            count("PaymentRemindersSent")
            sent = True
        except MailRejected as exc:
            logger.error("payment reminder refused by the mail service", extra={"error": str(exc)})
            count("PaymentRemindersRejected")
            sent = False
        except Exception as exc:
            logger.warning(
                "payment reminder not sent now; it stays due",
                extra={"error": type(exc).__name__},
            )
            count("PaymentRemindersDeferred")
            return False
    with tenant_session(tenant_id, database=deps.database) as session:
        BillingObjects(session).mark_reminded(invoice.invoice_id, invoice.attempt_count)
    return sent


def send_due_reminders(tenant_id: UUID, deps: BillingDeps) -> int:
    """Send the reminders still due for this tenant (one whose send failed for a passing
    reason); the reconcile job calls this. Returns how many went out."""
    with tenant_session(tenant_id, database=deps.database) as session:
        tenant = TenantProfile(session).get()
        due = BillingObjects(session).invoices_due_reminder()
    sent = 0
    for invoice in due:
        reminder = DueReminder(invoice, tenant.billing_email, tenant.name)
        sent += send_reminder(tenant_id, reminder, deps)
    return sent


def start_released(tenant_id: UUID, waiting: list[Inbox], deps: BillingDeps) -> tuple[str, ...]:
    """Start the workflow of released inboxes (see `start_queued`)."""
    return start_queued(tenant_id, waiting, deps.starter, deps.database)


def _rederive(session: TenantSession, deps: BillingDeps) -> InboxPlan:
    """The account re-derived from the stored snapshots, and the inboxes' desired states set
    from it, under the account lock."""
    BillingAccounts(session).lock()
    objects = BillingObjects(session)
    entitlement = derive_entitlement(
        objects.subscriptions(), objects.invoices(), deps.catalogue, deps.retention
    )
    BillingAccounts(session).save_entitlement(entitlement)
    return apply_inbox_plan(session, entitlement)


def converge_tenant(tenant_id: UUID, deps: BillingDeps) -> InboxPlan:
    """Re-derive the account from the stored snapshots and set the inboxes' desired states
    again (for the reconcile job: inboxes that changed status since the last billing event,
    e.g. one that finished provisioning after its tenant was suspended); released inboxes are
    started and changed mailboxes converged, as after an event."""
    with tenant_session(tenant_id, database=deps.database) as session:
        plan = _rederive(session, deps)
        waiting = Inboxes(session).queued_without_execution()
        drifted = MailboxStates(session).drifted()
    start_released(tenant_id, waiting, deps)
    start_convergence(deps.mailbox, tenant_id, drifted)
    return plan


def _subscriptions_of(deps: BillingDeps, customer: str | None) -> list[dict[str, Any]]:
    if customer is None:
        return []
    try:
        return deps.stripe.subscriptions_of(customer)
    except CustomerMissing:
        return []  # deleted at Stripe: its subscriptions are the ones stored, as they ended


def refresh_from_stripe(tenant_id: UUID, deps: BillingDeps, now: datetime) -> InboxPlan:
    """Re-read the tenant's subscriptions from Stripe, the source of truth, when what is stored
    looks inconsistent (a lost webhook): each is saved as of `now` (events created before it
    are older than what was read, and never roll it back), then the account is converged."""
    with tenant_session(tenant_id, database=deps.database) as session:
        account = BillingAccounts(session).get()
        ids = [s.subscription_id for s in BillingObjects(session).subscriptions()]
    customer = account.stripe_customer_id if account is not None else None
    # Fetched outside any transaction: no lock is held across a network call. The customer's
    # own list too: a subscription whose every webhook was lost is known to Stripe alone.
    listed = _subscriptions_of(deps, customer)
    ids += [str(s["id"]) for s in listed if s.get("id") and s["id"] not in ids]
    if not ids:
        return InboxPlan()  # nothing to re-read: what is stored is all there is
    fetched = [parse_stripe(StripeSubscription, deps.stripe.subscription(i)) for i in ids]
    mark = Watermark(event_created=now, event_id=f"reconcile-{int(now.timestamp())}")
    with tenant_session(tenant_id, database=deps.database) as session:
        objects = BillingObjects(session)
        for subscription in fetched:
            held = objects.subscription(subscription.id, lock=True)
            if subscription.complete and (held is None or held.split()[0].event_created < now):
                objects.save_subscription(subscription.snapshot(), mark)
        count("StripeObjectsRefetched", len(fetched))
    return converge_tenant(tenant_id, deps)


def suspend_due_inboxes(
    tenant_id: UUID, now: Callable[[], datetime], database: Database | None = None
) -> list[UUID]:
    """Suspend the inboxes a downgrade marked for the end of the paid period, once it has come
    (the reconcile job calls this per tenant)."""
    with tenant_session(tenant_id, database=database) as session:
        inboxes = Inboxes(session)
        due = due_for_suspension(inboxes.list(), now())
        return [i for i in due if _suspend(inboxes, i, "over_limit") is not None]


_SUSPENDED_BECAUSE: dict[SuspensionReason, str] = {
    "non_payment": "the subscription is not paid",
    "canceled": "the subscription ended",
    "over_limit": "above the plan's limit since the paid period ended (downgrade)",
}


def _suspend(inboxes: Inboxes, inbox_id: UUID, reason: SuspensionReason) -> Inbox | None:
    return inboxes.transition(
        inbox_id,
        InboxStatus.SUSPENDED,
        by="billing",
        why=_SUSPENDED_BECAUSE[reason],
        expected=InboxStatus.ACTIVE,
        suspension_reason=reason,
    )
