"""Applying one queued Stripe event to the tenant it belongs to.

Order of work for a message: read the envelope; an event already applied or ignored is done;
find the tenant (a system session maps the customer; a first event links it through
`metadata.tenant_id`); then, in that tenant's session: judge the event against the object's
watermark (older never rolls back; a same-second twin with other content is settled by fetching
the object from Stripe), store the snapshot, derive the account's entitlement from all its
subscriptions and invoices, set the inboxes' desired states and send a payment reminder once per
invoice attempt. Released inboxes are started after the commit. The event log records the
outcome (a separate system transaction: Nile forbids tenant and shared writes in one).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from inboxfleet.billing.errors import BillingError, CustomerConflict, UnknownCustomer
from inboxfleet.billing.inbox_policy import InboxPlan, due_for_suspension, plan_inboxes
from inboxfleet.billing.plans import Catalogue
from inboxfleet.billing.ports import (
    Mailer,
    ProvisioningStarter,
    StartRequest,
    StripeGateway,
)
from inboxfleet.billing.reminders import payment_failed_email
from inboxfleet.billing.state import (
    Entitlement,
    InvoiceSnapshot,
    SubscriptionSnapshot,
    Verdict,
    Watermark,
    derive_entitlement,
    judge,
)
from inboxfleet.billing.stripe_objects import (
    StripeCustomer,
    StripeEvent,
    StripeInvoice,
    StripeObject,
    StripeSubscription,
    parse_event,
    parse_object,
    parse_stripe,
)
from inboxfleet.db.connection import Database
from inboxfleet.db.errors import InvalidTenantId, UnknownTenant
from inboxfleet.db.repositories import (
    BillingAccounts,
    BillingDirectory,
    BillingObjects,
    Inboxes,
    StripeEventLog,
    TenantProfile,
)
from inboxfleet.db.sessions import TenantSession, parse_tenant_id, system_session, tenant_session
from inboxfleet.observability import count, logger
from inboxfleet.records import Inbox

Outcome = Literal["applied", "stale", "duplicate", "ignored"]
FINISHED = frozenset({"applied", "ignored"})


@dataclass
class BillingDeps:
    stripe: StripeGateway
    mailer: Mailer
    starter: ProvisioningStarter
    catalogue: Catalogue
    retention: timedelta
    database: Database | None = None


@dataclass(frozen=True)
class Result:
    event_id: str
    outcome: Outcome
    tenant_id: UUID | None = None
    verdict: Verdict | None = None
    started: tuple[str, ...] = ()
    reminded: bool = False


class CustomerLinks:
    """customer -> tenant, remembered once linked (a link never changes)."""

    def __init__(self, limit: int = 50_000) -> None:
        self._lock = threading.Lock()
        self._links: dict[str, UUID] = {}
        self._limit = limit

    def get(self, customer_id: str) -> UUID | None:
        with self._lock:
            return self._links.get(customer_id)

    def remember(self, customer_id: str, tenant_id: UUID) -> None:
        with self._lock:
            if len(self._links) >= self._limit:
                self._links.clear()
            self._links[customer_id] = tenant_id


_links = CustomerLinks()


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
        result = apply_event(tenant_id, event, obj, deps)
        started = start_released(tenant_id, result.waiting, deps)
    except BillingError as exc:
        count("StripeEventsFailed")
        _finish(deps, event, "failed", f"{type(exc).__name__}: {exc}")
        raise
    _finish(deps, event, "applied", None if result.verdict is None else result.verdict.value)
    count(f"StripeEvents{result.outcome.capitalize()}")
    return Result(event.id, result.outcome, tenant_id, result.verdict, started, result.reminded)


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


def resolve_tenant(event: StripeEvent, obj: StripeObject, deps: BillingDeps) -> UUID:
    customer_id = event.customer_id
    if customer_id is None:
        raise UnknownCustomer(f"{event.type} {event.id} names no customer")
    known = _links.get(customer_id)
    if known is not None:
        return known
    with system_session("billing.customer-lookup", database=deps.database) as session:
        tenants = BillingDirectory(session).tenants_for_customer(customer_id)
    if len(tenants) > 1:
        raise CustomerConflict(f"Stripe customer {customer_id} is linked to {len(tenants)} tenants")
    if tenants:
        _links.remember(customer_id, tenants[0])
        return tenants[0]
    hint = obj.tenant_hint or _customer_hint(customer_id, deps)
    if hint is None:
        raise UnknownCustomer(
            f"no tenant is linked to Stripe customer {customer_id}, and neither the event nor "
            "the customer's metadata names one (metadata.tenant_id)"
        )
    tenant_id = _link(customer_id, hint, deps)
    _links.remember(customer_id, tenant_id)
    return tenant_id


def _customer_hint(customer_id: str, deps: BillingDeps) -> str | None:
    customer = parse_stripe(StripeCustomer, deps.stripe.customer(customer_id))
    return customer.metadata.get("tenant_id")


def _link(customer_id: str, hint: str, deps: BillingDeps) -> UUID:
    try:
        tenant_id = parse_tenant_id(hint)
        with tenant_session(tenant_id, database=deps.database) as session:
            accounts = BillingAccounts(session)
            account = accounts.get()
            linked = account.stripe_customer_id if account else None
            if linked not in (None, customer_id):
                raise CustomerConflict(
                    f"Stripe customer {customer_id} names tenant {tenant_id}, which is linked to "
                    f"customer {linked}"
                )
            accounts.link_customer(customer_id)
    except (InvalidTenantId, UnknownTenant):
        raise UnknownCustomer(
            f"Stripe customer {customer_id}'s metadata.tenant_id names no tenant"
        ) from None
    logger.info("linked Stripe customer to tenant", extra={"tenant_id": str(tenant_id)})
    return tenant_id


@dataclass
class _Applied:
    outcome: Outcome
    verdict: Verdict
    reminded: bool = False
    plan: InboxPlan = field(default_factory=InboxPlan)
    # Released inboxes whose workflow is not started yet (this event's, or a failed start's).
    waiting: list[Inbox] = field(default_factory=list)


def apply_event(
    tenant_id: UUID, event: StripeEvent, obj: StripeObject, deps: BillingDeps
) -> _Applied:
    with tenant_session(tenant_id, database=deps.database) as session:
        objects = BillingObjects(session)
        if isinstance(obj, StripeSubscription):
            verdict, invoice = _store_subscription(objects, event, obj, deps), None
        else:
            verdict, invoice = _store_invoice(objects, event, obj, deps)
        if verdict in (Verdict.SAME, Verdict.STALE):
            outcome: Outcome = "duplicate" if verdict == Verdict.SAME else "stale"
            return _Applied(outcome, verdict, waiting=Inboxes(session).queued_without_execution())
        entitlement = derive_entitlement(
            objects.subscriptions(), objects.invoices(), deps.catalogue, deps.retention
        )
        BillingAccounts(session).save_entitlement(entitlement)
        plan = apply_inbox_plan(session, entitlement)
        reminded = False
        if event.type == "invoice.payment_failed" and invoice is not None:
            assert isinstance(obj, StripeInvoice)
            reminded = _remind(session, objects, invoice, obj.customer_email, deps)
        waiting = Inboxes(session).queued_without_execution()
        return _Applied("applied", verdict, reminded, plan, waiting)


def _store_subscription(
    objects: BillingObjects, event: StripeEvent, obj: StripeSubscription, deps: BillingDeps
) -> Verdict:
    stored = objects.subscription(obj.id, lock=True)
    incoming: SubscriptionSnapshot | None = obj.snapshot() if obj.complete else None
    verdict = _judge(stored.split() if stored else None, event.watermark, incoming)
    if verdict == Verdict.REFETCH or (verdict == Verdict.APPLY and incoming is None):
        fresh = parse_stripe(StripeSubscription, deps.stripe.subscription(obj.id))
        count("StripeObjectsRefetched")
        incoming, verdict = fresh.snapshot(), Verdict.REFETCH
    if verdict in (Verdict.APPLY, Verdict.REFETCH):
        assert incoming is not None
        objects.save_subscription(incoming, event.watermark)
    return verdict


def _store_invoice(
    objects: BillingObjects, event: StripeEvent, obj: StripeInvoice, deps: BillingDeps
) -> tuple[Verdict, InvoiceSnapshot | None]:
    stored = objects.invoice(obj.id, lock=True)
    incoming: InvoiceSnapshot = obj.snapshot()
    verdict = _judge(stored.split() if stored else None, event.watermark, incoming)
    if verdict == Verdict.REFETCH:
        incoming = parse_stripe(StripeInvoice, deps.stripe.invoice(obj.id)).snapshot()
        count("StripeObjectsRefetched")
    if verdict in (Verdict.APPLY, Verdict.REFETCH):
        objects.save_invoice(incoming, event.watermark)
    return verdict, incoming


def _judge(
    stored: tuple[Watermark, SubscriptionSnapshot] | tuple[Watermark, InvoiceSnapshot] | None,
    incoming: Watermark,
    snapshot: SubscriptionSnapshot | InvoiceSnapshot | None,
) -> Verdict:
    if snapshot is None:
        # The payload cannot be read in full (more items than it lists, a price without its
        # lookup_key): unless it is already outdated, Stripe's current object decides.
        older = stored is not None and incoming.event_created < stored[0].event_created
        return Verdict.STALE if older else Verdict.REFETCH
    return judge(stored, incoming, snapshot)


def apply_inbox_plan(session: TenantSession, entitlement: Entitlement) -> InboxPlan:
    inboxes = Inboxes(session)
    plan = plan_inboxes(entitlement, inboxes.list())
    for inbox_id in plan.release:
        inboxes.release(inbox_id)
    for inbox_id in plan.reactivate:
        inboxes.reactivate(inbox_id)
    for inbox_id, reason in plan.suspend:
        inboxes.suspend(inbox_id, reason)
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


def _remind(
    session: TenantSession,
    objects: BillingObjects,
    invoice: InvoiceSnapshot,
    invoice_email: str | None,
    deps: BillingDeps,
) -> bool:
    if not invoice.outstanding:
        return False  # paid (or voided) since: Stripe's current object said so
    tenant = TenantProfile(session).get()
    to = tenant.billing_email or invoice_email
    if to is None:
        logger.warning("payment failed but there is no billing contact to remind")
        count("PaymentRemindersWithoutContact")
        return False
    if not objects.claim_reminder(invoice.invoice_id, invoice.attempt_count):
        return False  # this attempt's reminder went out already
    # Sent inside the transaction that claims it: if sending fails, the claim rolls back and
    # the redelivered event sends it. (A crash between send and commit can send it twice.)
    deps.mailer.send(payment_failed_email(to, tenant.name, invoice))
    count("PaymentRemindersSent")
    return True


def start_released(tenant_id: UUID, waiting: list[Inbox], deps: BillingDeps) -> tuple[str, ...]:
    """Start the workflow of released inboxes; an execution is named <inbox id>-<attempt>, so
    starting one again (after a failure between start and record) is a no-op."""
    if not waiting:
        return ()
    names: list[tuple[UUID, str]] = []
    for inbox in waiting:
        name = f"{inbox.id}-{inbox.attempt}"
        request = StartRequest(tenant_id=tenant_id, inbox_id=inbox.id, execution_name=name)
        deps.starter.start(request)
        names.append((inbox.id, name))
    with tenant_session(tenant_id, database=deps.database) as session:
        inboxes = Inboxes(session)
        for inbox_id, name in names:
            inboxes.set_execution_name(inbox_id, name)
    count("ProvisioningStarted", len(names))
    return tuple(name for _, name in names)


def suspend_due_inboxes(
    tenant_id: UUID, now: Callable[[], datetime], database: Database | None = None
) -> list[UUID]:
    """Suspend the inboxes a downgrade marked for the end of the paid period, once it has come
    (the reconcile job calls this per tenant)."""
    with tenant_session(tenant_id, database=database) as session:
        inboxes = Inboxes(session)
        due = due_for_suspension(inboxes.list(), now())
        return [i for i in due if inboxes.suspend(i, "over_limit") is not None]
