"""Billing state as the platform keeps it: the last known snapshot of each Stripe subscription
and invoice, and what they add up to for the tenant (pure; no I/O).

Every snapshot carries the watermark of the event it came from. An event older than the stored
watermark never rolls a snapshot back; one at the same second with different content is a doubt
that only Stripe can settle (the caller re-fetches the object).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from inboxfleet.billing.plans import Catalogue
from inboxfleet.entitlement import Entitlement, Limits
from inboxfleet.lifecycles import PaymentState, SubscriptionStatus, SuspensionReason
from inboxfleet.records import (
    InvoiceSnapshot,
    SubscriptionSnapshot,
    Watermark,
)

_S = SubscriptionStatus
ENTITLED_STATUSES = frozenset({_S.ACTIVE, _S.TRIALING, _S.PAST_DUE})


Snapshot = SubscriptionSnapshot | InvoiceSnapshot


class Verdict(StrEnum):
    APPLY = "apply"  # newer than what we hold (or the first we see)
    SAME = "same"  # a redelivery, or a same-second twin saying the same thing
    STALE = "stale"  # older than what we hold: never rolls back
    REFETCH = "refetch"  # same second, different content: ask Stripe


def judge(
    stored: tuple[Watermark, Snapshot] | None, incoming: Watermark, snapshot: Snapshot
) -> Verdict:
    if stored is None:
        return Verdict.APPLY
    mark, held = stored
    if incoming.event_id == mark.event_id:
        return Verdict.SAME
    if incoming.event_created > mark.event_created:
        return Verdict.APPLY
    if incoming.event_created < mark.event_created:
        return Verdict.STALE
    return Verdict.SAME if held == snapshot else Verdict.REFETCH


def current_subscription(
    subscriptions: list[SubscriptionSnapshot],
) -> SubscriptionSnapshot | None:
    """The subscription that governs the account: the newest one that still entitles, else the
    newest one (a tenant may cancel and subscribe again)."""
    if not subscriptions:
        return None
    live = [s for s in subscriptions if s.status in ENTITLED_STATUSES]
    pool = live or subscriptions
    return max(pool, key=lambda s: (s.subscription_created, s.subscription_id))


def _latest_invoice_paid(invoices: list[InvoiceSnapshot], subscription_id: str) -> bool:
    own = [i for i in invoices if i.subscription_id == subscription_id]
    if not own:
        return False
    return max(own, key=lambda i: (i.invoice_created, i.invoice_id)).status == "paid"


def derive_entitlement(
    subscriptions: list[SubscriptionSnapshot],
    invoices: list[InvoiceSnapshot],
    catalogue: Catalogue,
    retention: timedelta,
) -> Entitlement:
    current = current_subscription(subscriptions)
    # Only the governing subscription's invoices (and one-off ones) can make the account past
    # due: an invoice left open on a subscription that has ended does not outlive it.
    governing = current.subscription_id if current else None
    outstanding = any(i.outstanding for i in invoices if i.subscription_id in (None, governing))
    if current is None:
        return Entitlement(
            subscription_id=None,
            subscription_status=None,
            plan=None,
            quantity=0,
            limits=Limits(),
            current_period_end=None,
            payment_state=PaymentState.PAST_DUE if outstanding else PaymentState.OK,
            entitled=False,
            suspension_reason=None,
            teardown_after=None,
        )
    status = current.status
    entitled = status in ENTITLED_STATUSES
    reason: SuspensionReason | None = None
    teardown_after: datetime | None = None
    if status == _S.UNPAID and _latest_invoice_paid(invoices, current.subscription_id):
        # The invoice was paid and Stripe's subscription update is still on its way.
        entitled = True
    elif status in (_S.CANCELED, _S.INCOMPLETE_EXPIRED):
        reason = "non_payment" if current.cancellation_reason == "payment_failed" else "canceled"
        if current.ended_at is not None:
            teardown_after = current.ended_at + retention
    elif not entitled:
        reason = "non_payment"  # unpaid, paused (trial ended unpaid), incomplete
    if not entitled:
        payment_state = PaymentState.SUSPENDED
    elif outstanding:
        payment_state = PaymentState.PAST_DUE
    else:
        payment_state = PaymentState.OK
    items = [(item.lookup_key, item.quantity) for item in current.items]
    return Entitlement(
        subscription_id=current.subscription_id,
        subscription_status=status,
        plan=current.items[0].lookup_key if current.items else None,
        quantity=sum(item.quantity for item in current.items),
        limits=catalogue.limits(items) if entitled else Limits(),
        current_period_end=current.current_period_end,
        payment_state=payment_state,
        entitled=entitled,
        suspension_reason=reason,
        teardown_after=teardown_after,
    )
