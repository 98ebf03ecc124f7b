"""What the simulated Stripe account holds, guarded by one lock, rendered through `objects`.

Records keep only what the simulator varies; every answer is rendered fresh from them, so a
retrieve always shows the current state in the configured shape (basil or legacy).
"""

from __future__ import annotations

import calendar
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from local.stripe_sim.ids import new_id
from local.stripe_sim.objects import (
    checkout_session_object,
    customer_object,
    event_object,
    invoice_object,
    portal_session_object,
    price_object,
    subscription_object,
)

T = TypeVar("T")

CHECKOUT_URL = "https://checkout.stripe.com/c/pay/"
INVOICE_URL = "https://invoice.stripe.com/i/acct_simulated/"
CHECKOUT_LIFETIME_S = 24 * 3600  # Stripe's default expires_at: 24 hours after creation
PORTAL_URL = "https://billing.stripe.com/p/session/"
# The account's default portal configuration (the only one: the simulator makes no others).
PORTAL_CONFIGURATION = "bpc_1SimulatedDefaultPortal"


@dataclass
class PriceRecord:
    id: str
    lookup_key: str | None
    product: str = "prod_inboxes"
    unit_amount: int = 1500
    currency: str = "usd"
    interval: str = "month"
    usage_type: str = "licensed"
    active: bool = True

    def render(self) -> dict[str, Any]:
        return price_object(
            id=self.id,
            lookup_key=self.lookup_key,
            product=self.product,
            unit_amount=self.unit_amount,
            currency=self.currency,
            interval=self.interval,
            usage_type=self.usage_type,
            active=self.active,
        )


@dataclass
class CustomerRecord:
    id: str
    email: str | None
    name: str | None
    metadata: dict[str, str]
    created: int

    def render(self) -> dict[str, Any]:
        return customer_object(
            id=self.id,
            email=self.email,
            name=self.name,
            metadata=self.metadata,
            created=self.created,
        )


@dataclass
class SubscriptionRecord:
    id: str
    customer: str
    price_id: str
    status: str
    quantity: int
    metadata: dict[str, str]
    created: int
    current_period_start: int
    current_period_end: int
    cancel_at_period_end: bool = False
    canceled_at: int | None = None
    ended_at: int | None = None
    cancellation_reason: str | None = None


@dataclass
class InvoiceRecord:
    id: str
    customer: str
    subscription: str | None
    status: str
    created: int
    amount_due: int
    amount_paid: int
    currency: str
    attempt_count: int
    next_payment_attempt: int | None
    hosted_invoice_url: str | None
    customer_email: str | None
    billing_reason: str
    subscription_metadata: dict[str, str] | None


@dataclass
class CheckoutSessionRecord:
    id: str
    mode: str
    customer: str | None
    client_reference_id: str | None
    metadata: dict[str, str]
    success_url: str | None
    cancel_url: str | None
    created: int
    line_items: list[tuple[str, int | None]]  # (price id, quantity)
    subscription_metadata: dict[str, str] = field(default_factory=dict)
    status: str = "open"
    subscription: str | None = None


@dataclass
class PortalSessionRecord:
    id: str
    customer: str
    return_url: str
    created: int
    locale: str | None = None


def add_interval(timestamp: int, interval: str) -> int:
    """`timestamp` moved one billing interval on, by the calendar (Jan 31 + 1 month = Feb 28)."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    if interval in {"month", "year"}:
        months = 1 if interval == "month" else 12
        index = moment.month - 1 + months
        year, month = moment.year + index // 12, index % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        return int(moment.replace(year=year, month=month, day=day).timestamp())
    days = {"week": 7, "day": 1}.get(interval)
    if days is None:
        raise ValueError(f"unknown interval {interval!r}")
    return int((moment + timedelta(days=days)).timestamp())


class Store:
    """The account's objects. Callers hold `lock` around any read-modify-write sequence."""

    def __init__(self, *, clock: Callable[[], float], legacy: bool) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.legacy = legacy
        self.prices: dict[str, PriceRecord] = {}
        self.customers: dict[str, CustomerRecord] = {}
        self.subscriptions: dict[str, SubscriptionRecord] = {}
        self.invoices: dict[str, InvoiceRecord] = {}
        self.sessions: dict[str, CheckoutSessionRecord] = {}
        self.portal_sessions: dict[str, PortalSessionRecord] = {}
        self.meter_events: list[dict[str, Any]] = []
        self.meter_identifiers: set[str] = set()

    def now(self) -> int:
        return int(self.clock())

    # ---- lookups ---------------------------------------------------------------------------

    def price_by_lookup_key(self, lookup_key: str) -> PriceRecord:
        for price in self.prices.values():
            if price.lookup_key == lookup_key:
                return price
        raise KeyError(f"no price with lookup_key {lookup_key!r}")

    def _get(self, table: dict[str, T], object_id: str, kind: str) -> T:
        try:
            return table[object_id]
        except KeyError:
            raise KeyError(f"no {kind} {object_id!r}") from None

    # ---- creation ----------------------------------------------------------------------------

    def add_price(self, lookup_key: str | None, **kw: Any) -> PriceRecord:
        with self.lock:
            if lookup_key is not None and any(
                p.lookup_key == lookup_key for p in self.prices.values()
            ):
                raise ValueError(f"a price with lookup_key {lookup_key!r} exists already")
            price = PriceRecord(id=kw.pop("id", None) or new_id("price_"), lookup_key=lookup_key)
            for name, value in kw.items():
                if not hasattr(price, name):
                    raise TypeError(f"add_price() got an unexpected keyword argument {name!r}")
                setattr(price, name, value)
            self.prices[price.id] = price
            return price

    def add_customer(
        self, email: str | None, name: str | None, metadata: dict[str, str] | None
    ) -> CustomerRecord:
        with self.lock:
            customer = CustomerRecord(
                id=new_id("cus_"),
                email=email,
                name=name,
                metadata=dict(metadata or {}),
                created=self.now(),
            )
            self.customers[customer.id] = customer
            return customer

    def update_customer(self, customer_id: str, metadata: dict[str, str]) -> CustomerRecord:
        """Merge metadata into the customer's (as Stripe's update does)."""
        with self.lock:
            customer = self._get(self.customers, customer_id, "customer")
            customer.metadata.update(metadata)
            return customer

    def add_subscription(
        self,
        customer: str,
        price: PriceRecord,
        *,
        quantity: int,
        status: str,
        metadata: dict[str, str] | None,
        current_period_start: int | None = None,
        current_period_end: int | None = None,
    ) -> SubscriptionRecord:
        with self.lock:
            self._get(self.customers, customer, "customer")
            now = self.now()
            start = now if current_period_start is None else current_period_start
            end = (
                add_interval(start, price.interval)
                if current_period_end is None
                else current_period_end
            )
            subscription = SubscriptionRecord(
                id=new_id("sub_"),
                customer=customer,
                price_id=price.id,
                status=status,
                quantity=quantity,
                metadata=dict(metadata or {}),
                created=now,
                current_period_start=start,
                current_period_end=end,
            )
            if status in {"canceled", "incomplete_expired"}:
                subscription.canceled_at = subscription.ended_at = now
            self.subscriptions[subscription.id] = subscription
            return subscription

    def add_invoice(
        self,
        customer: str,
        subscription: str | None,
        *,
        status: str,
        amount_due: int | None,
        amount_paid: int | None,
        attempt_count: int,
        next_payment_attempt: int | None,
        billing_reason: str,
        currency: str,
    ) -> InvoiceRecord:
        with self.lock:
            owner = self._get(self.customers, customer, "customer")
            sub = None
            if subscription is not None:
                sub = self._get(self.subscriptions, subscription, "subscription")
            if amount_due is None:
                amount_due = (
                    self.prices[sub.price_id].unit_amount * sub.quantity if sub is not None else 0
                )
            invoice_id = new_id("in_")
            invoice = InvoiceRecord(
                id=invoice_id,
                customer=customer,
                subscription=subscription,
                status=status,
                created=self.now(),
                amount_due=amount_due,
                amount_paid=(amount_due if status == "paid" else 0)
                if amount_paid is None
                else amount_paid,
                currency=currency,
                attempt_count=attempt_count,
                next_payment_attempt=next_payment_attempt,
                hosted_invoice_url=None if status == "draft" else INVOICE_URL + invoice_id,
                customer_email=owner.email,
                billing_reason=billing_reason,
                # Stripe snapshots the subscription's metadata onto the invoice.
                subscription_metadata=dict(sub.metadata) if sub is not None else None,
            )
            self.invoices[invoice.id] = invoice
            return invoice

    # ---- changes -----------------------------------------------------------------------------

    _SUBSCRIPTION_CHANGES = frozenset(
        {
            "status",
            "quantity",
            "lookup_key",
            "metadata",
            "cancel_at_period_end",
            "cancellation_reason",
            "canceled_at",
            "ended_at",
            "current_period_start",
            "current_period_end",
        }
    )

    def update_subscription(self, sub_id: str, changes: dict[str, Any]) -> SubscriptionRecord:
        unknown = set(changes) - self._SUBSCRIPTION_CHANGES
        if unknown:
            raise TypeError(f"update_subscription() cannot change {sorted(unknown)}")
        with self.lock:
            sub = self._get(self.subscriptions, sub_id, "subscription")
            now = self.now()
            changes = dict(changes)
            if "lookup_key" in changes:
                sub.price_id = self.price_by_lookup_key(changes.pop("lookup_key")).id
            if "metadata" in changes:
                sub.metadata = dict(changes.pop("metadata"))
            for name, value in changes.items():
                setattr(sub, name, value)
            # What Stripe records along with a cancellation, unless the test set it itself.
            if changes.get("cancel_at_period_end") and "canceled_at" not in changes:
                sub.canceled_at = now
            if (changes.get("cancel_at_period_end") or changes.get("status") == "canceled") and (
                "cancellation_reason" not in changes and sub.cancellation_reason is None
            ):
                sub.cancellation_reason = "cancellation_requested"
            if changes.get("status") == "canceled":
                if "canceled_at" not in changes and sub.canceled_at is None:
                    sub.canceled_at = now
                if "ended_at" not in changes:
                    sub.ended_at = now
            return sub

    _INVOICE_CHANGES = frozenset(
        {
            "status",
            "amount_due",
            "amount_paid",
            "attempt_count",
            "next_payment_attempt",
            "hosted_invoice_url",
            "customer_email",
            "billing_reason",
        }
    )

    def update_invoice(self, invoice_id: str, changes: dict[str, Any]) -> InvoiceRecord:
        unknown = set(changes) - self._INVOICE_CHANGES
        if unknown:
            raise TypeError(f"update_invoice() cannot change {sorted(unknown)}")
        with self.lock:
            invoice = self._get(self.invoices, invoice_id, "invoice")
            for name, value in changes.items():
                setattr(invoice, name, value)
            if changes.get("status") == "paid":
                # A paid invoice has nothing left to collect, so no retry is scheduled.
                if "amount_paid" not in changes:
                    invoice.amount_paid = invoice.amount_due
                if "next_payment_attempt" not in changes:
                    invoice.next_payment_attempt = None
            return invoice

    def complete_checkout(self, session_id: str) -> SubscriptionRecord:
        """What a customer paying on the hosted page causes: a customer (if the session had
        none), an active subscription with `subscription_data[metadata]`, its first paid
        invoice, and the session marked complete."""
        with self.lock:
            session = self._get(self.sessions, session_id, "checkout session")
            if session.status != "open":
                raise ValueError(f"checkout session {session_id!r} is {session.status}")
            if session.customer is None:
                session.customer = self.add_customer(None, None, None).id
            price_id, quantity = session.line_items[0]
            subscription = self.add_subscription(
                session.customer,
                self.prices[price_id],
                quantity=quantity or 1,
                status="active",
                metadata=session.subscription_metadata,
            )
            self.add_invoice(
                session.customer,
                subscription.id,
                status="paid",
                amount_due=None,
                amount_paid=None,
                attempt_count=1,
                next_payment_attempt=None,
                billing_reason="subscription_create",
                currency=self.prices[price_id].currency,
            )
            session.status = "complete"
            session.subscription = subscription.id
            return subscription

    def expire_session(self, session_id: str) -> CheckoutSessionRecord:
        """An open session expired (Stripe's `POST /v1/checkout/sessions/{id}/expire`): it can no
        longer be paid. ValueError for one that is not open."""
        with self.lock:
            session = self._get(self.sessions, session_id, "checkout session")
            if session.status != "open":
                raise ValueError(f"checkout session {session_id!r} is {session.status}")
            session.status = "expired"
            return session

    # ---- rendering ---------------------------------------------------------------------------

    def render_customer(self, customer_id: str) -> dict[str, Any]:
        with self.lock:
            return self._get(self.customers, customer_id, "customer").render()

    def render_subscription(self, sub_id: str) -> dict[str, Any]:
        with self.lock:
            sub = self._get(self.subscriptions, sub_id, "subscription")
            return subscription_object(
                id=sub.id,
                customer=sub.customer,
                status=sub.status,
                created=sub.created,
                price=self.prices[sub.price_id].render(),
                quantity=sub.quantity,
                metadata=sub.metadata,
                current_period_start=sub.current_period_start,
                current_period_end=sub.current_period_end,
                cancel_at_period_end=sub.cancel_at_period_end,
                canceled_at=sub.canceled_at,
                ended_at=sub.ended_at,
                cancellation_reason=sub.cancellation_reason,
                legacy=self.legacy,
            )

    def render_invoice(self, invoice_id: str) -> dict[str, Any]:
        with self.lock:
            inv = self._get(self.invoices, invoice_id, "invoice")
            return invoice_object(
                id=inv.id,
                customer=inv.customer,
                subscription=inv.subscription,
                status=inv.status,
                created=inv.created,
                amount_due=inv.amount_due,
                amount_paid=inv.amount_paid,
                currency=inv.currency,
                attempt_count=inv.attempt_count,
                next_payment_attempt=inv.next_payment_attempt,
                hosted_invoice_url=inv.hosted_invoice_url,
                customer_email=inv.customer_email,
                billing_reason=inv.billing_reason,
                subscription_metadata=inv.subscription_metadata,
                legacy=self.legacy,
            )

    def render_session(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            session = self._get(self.sessions, session_id, "checkout session")
            prices = [(self.prices[price_id], qty) for price_id, qty in session.line_items]
            rendered = checkout_session_object(
                id=session.id,
                url=CHECKOUT_URL + session.id,
                mode=session.mode,
                customer=session.customer,
                client_reference_id=session.client_reference_id,
                metadata=session.metadata,
                success_url=session.success_url,
                cancel_url=session.cancel_url,
                created=session.created,
                expires_at=session.created + CHECKOUT_LIFETIME_S,
                currency=prices[0][0].currency if prices else None,
                amount_total=sum(
                    price.unit_amount * (qty or 1)
                    for price, qty in prices
                    if price.usage_type == "licensed"
                ),
            )
            # Only an open session has a payable URL.
            if session.status == "complete":
                rendered.update(
                    status=session.status,
                    payment_status="paid",
                    subscription=session.subscription,
                    url=None,
                )
            elif session.status == "expired":
                rendered.update(status=session.status, url=None)
            return rendered

    def render_portal_session(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            session = self._get(self.portal_sessions, session_id, "portal session")
            return portal_session_object(
                id=session.id,
                # Stripe's link carries an opaque token, not the session id; one per session.
                url=f"{PORTAL_URL}test_{session.id.removeprefix('bps_')}",
                customer=session.customer,
                return_url=session.return_url,
                created=session.created,
                configuration=PORTAL_CONFIGURATION,
                locale=session.locale,
            )

    def event(
        self,
        type: str,
        obj: dict[str, Any],
        previous_attributes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return event_object(
            id=new_id("evt_"),
            type=type,
            created=self.now(),
            obj=obj,
            legacy=self.legacy,
            previous_attributes=previous_attributes,
        )
