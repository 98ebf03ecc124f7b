"""Stripe events and objects as we read them, in both payload shapes (pure).

API 2025-03-31.basil moved the billing period onto each subscription item and an invoice's
subscription under `parent.subscription_details`; older versions (and localstripe) keep
`current_period_end` on the subscription and `subscription` on the invoice. Both are accepted.
Unknown fields are ignored: Stripe adds fields without a new API version.
"""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic
# would otherwise compile each annotation string at import, on every cold start.

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError

from inboxfleet.billing.errors import InvalidEventMessage
from inboxfleet.lifecycles import SubscriptionStatus
from inboxfleet.records import (
    InvoiceSnapshot,
    InvoiceStatus,
    PlanItem,
    SubscriptionSnapshot,
    Watermark,
)
from inboxfleet.validation import describe

SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        # Pause and resume are updates of the same object; their snapshots say what changed.
        "customer.subscription.paused",
        "customer.subscription.resumed",
    }
)
INVOICE_EVENTS = frozenset(
    {
        "invoice.payment_succeeded",
        "invoice.paid",
        "invoice.payment_failed",
        # No longer owed (voided, or written off): such an invoice stops counting as past due.
        "invoice.voided",
        "invoice.marked_uncollectible",
    }
)
HANDLED_EVENTS = SUBSCRIPTION_EVENTS | INVOICE_EVENTS


def _expandable_id(value: Any) -> Any:
    """Stripe fields like `customer` are an id, or the object itself when expanded."""
    if isinstance(value, dict):
        return value.get("id")
    return value


ExpandableId = Annotated[str, BeforeValidator(_expandable_id)]
OptionalExpandableId = Annotated[str | None, BeforeValidator(_expandable_id)]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class EventData(_Lenient):
    object: dict[str, Any]


class StripeEvent(_Lenient):
    """The envelope; `data.object` is read per type below."""

    id: str = Field(pattern=r"^evt_[A-Za-z0-9_]+$", max_length=255)
    object: Literal["event"] = "event"
    type: str = Field(pattern=r"^[a-z_]+(\.[a-z_]+)+$", max_length=100)
    created: int = Field(gt=0)
    api_version: str | None = None
    livemode: bool = False
    data: EventData

    @property
    def created_at(self) -> datetime:
        return _at(self.created)

    @property
    def watermark(self) -> Watermark:
        return Watermark(event_created=self.created_at, event_id=self.id)

    @property
    def customer_id(self) -> str | None:
        customer = _expandable_id(self.data.object.get("customer"))
        return customer if isinstance(customer, str) else None

    @property
    def handled(self) -> bool:
        return self.type in HANDLED_EVENTS


def _at(timestamp: int | None) -> datetime:
    assert timestamp is not None
    return datetime.fromtimestamp(timestamp, UTC)


def _maybe_at(timestamp: int | None) -> datetime | None:
    return None if timestamp is None else _at(timestamp)


class _Price(_Lenient):
    id: str
    lookup_key: str | None = None


class _Item(_Lenient):
    price: _Price
    quantity: int = Field(default=1, ge=0)
    current_period_end: int | None = None


class _Items(_Lenient):
    data: list[_Item]
    has_more: bool = False


class _CancellationDetails(_Lenient):
    reason: str | None = None


class StripeSubscription(_Lenient):
    id: str = Field(pattern=r"^sub_[A-Za-z0-9_]+$")
    object: Literal["subscription"]
    customer: ExpandableId
    status: SubscriptionStatus
    created: int
    items: _Items
    metadata: dict[str, str] = Field(default_factory=dict)
    current_period_end: int | None = None  # before basil
    cancel_at_period_end: bool = False
    ended_at: int | None = None
    canceled_at: int | None = None
    cancellation_details: _CancellationDetails | None = None

    @property
    def complete(self) -> bool:
        """Everything we read is in the payload: all items, each price's lookup_key."""
        return not self.items.has_more and all(i.price.lookup_key for i in self.items.data)

    @property
    def tenant_hint(self) -> str | None:
        return self.metadata.get("tenant_id")

    def snapshot(self) -> SubscriptionSnapshot:
        period_ends = [i.current_period_end for i in self.items.data if i.current_period_end]
        period_end = self.current_period_end or (max(period_ends) if period_ends else None)
        ended = self.ended_at or (
            self.canceled_at if self.status == SubscriptionStatus.CANCELED else None
        )
        return SubscriptionSnapshot(
            subscription_id=self.id,
            status=self.status,
            items=tuple(
                PlanItem(lookup_key=i.price.lookup_key, quantity=i.quantity)
                for i in self.items.data
            ),
            current_period_end=_maybe_at(period_end),
            cancel_at_period_end=self.cancel_at_period_end,
            ended_at=_maybe_at(ended),
            cancellation_reason=(
                self.cancellation_details.reason if self.cancellation_details else None
            ),
            subscription_created=_at(self.created),
        )


class _SubscriptionDetails(_Lenient):
    subscription: OptionalExpandableId = None
    metadata: dict[str, str] | None = None


class _Parent(_Lenient):
    subscription_details: _SubscriptionDetails | None = None


class StripeInvoice(_Lenient):
    id: str = Field(pattern=r"^in_[A-Za-z0-9_]+$")
    object: Literal["invoice"]
    customer: ExpandableId
    status: InvoiceStatus
    created: int
    amount_due: int = Field(ge=0)
    amount_paid: int = Field(ge=0)
    currency: str = Field(pattern=r"^[a-z]{3}$")
    attempt_count: int = Field(default=0, ge=0)
    next_payment_attempt: int | None = None
    hosted_invoice_url: str | None = None
    customer_email: str | None = None
    billing_reason: str | None = None
    subscription: OptionalExpandableId = None  # before basil
    subscription_details: _SubscriptionDetails | None = None  # before basil
    parent: _Parent | None = None  # basil

    @property
    def _details(self) -> _SubscriptionDetails | None:
        if self.parent is not None and self.parent.subscription_details is not None:
            return self.parent.subscription_details
        return self.subscription_details

    @property
    def subscription_id(self) -> str | None:
        details = self._details
        return (details.subscription if details else None) or self.subscription

    @property
    def tenant_hint(self) -> str | None:
        details = self._details
        return (details.metadata or {}).get("tenant_id") if details else None

    def snapshot(self) -> InvoiceSnapshot:
        return InvoiceSnapshot(
            invoice_id=self.id,
            subscription_id=self.subscription_id,
            status=self.status,
            amount_due=self.amount_due,
            amount_paid=self.amount_paid,
            currency=self.currency,
            attempt_count=self.attempt_count,
            next_payment_attempt=_maybe_at(self.next_payment_attempt),
            hosted_invoice_url=self.hosted_invoice_url,
            invoice_created=_at(self.created),
        )


class StripeCustomer(_Lenient):
    id: str = Field(pattern=r"^cus_[A-Za-z0-9_]+$")
    object: Literal["customer"]
    email: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    deleted: bool = False


StripeObject = StripeSubscription | StripeInvoice
T = TypeVar("T", bound=BaseModel)

_EVENT: TypeAdapter[StripeEvent] = TypeAdapter(StripeEvent)


def parse_event(payload: str | bytes | dict[str, Any]) -> StripeEvent:
    """A Stripe event envelope; InvalidEventMessage (no input echoed) when it is not one."""
    try:
        if isinstance(payload, dict):
            return _EVENT.validate_python(payload)
        return _EVENT.validate_json(payload)
    except ValidationError as exc:
        raise InvalidEventMessage(f"not a Stripe event: {describe(exc)}") from None


def parse_object(event_type: str, obj: dict[str, Any]) -> StripeObject:
    model: type[StripeObject]
    model = StripeSubscription if event_type in SUBSCRIPTION_EVENTS else StripeInvoice
    return parse_stripe(model, obj)


def parse_stripe(model: type[T], obj: dict[str, Any]) -> T:
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise InvalidEventMessage(f"unreadable {model.__name__}: {describe(exc)}") from None
