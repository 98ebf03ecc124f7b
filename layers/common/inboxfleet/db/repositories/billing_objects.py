"""A tenant's Stripe subscriptions and invoices as last seen, each with its watermark, and its
daily usage reports."""

from __future__ import annotations

from datetime import date, datetime

from psycopg.types.json import Jsonb

from inboxfleet.db.repositories.base import TenantRepository
from inboxfleet.records import InvoiceSnapshot, SubscriptionSnapshot, Watermark

_SUBSCRIPTION = (
    "subscription_id, status, items, current_period_end, cancel_at_period_end, ended_at, "
    "cancellation_reason, subscription_created"
)
_INVOICE = (
    "invoice_id, subscription_id, status, amount_due, amount_paid, currency, attempt_count, "
    "next_payment_attempt, hosted_invoice_url, invoice_created"
)


class StoredSubscription(SubscriptionSnapshot):
    event_created: datetime
    event_id: str

    def split(self) -> tuple[Watermark, SubscriptionSnapshot]:
        mark = Watermark(event_created=self.event_created, event_id=self.event_id)
        return mark, SubscriptionSnapshot.model_validate(
            self.model_dump(exclude={"event_created", "event_id"})
        )


class StoredInvoice(InvoiceSnapshot):
    event_created: datetime
    event_id: str
    reminded_attempt: int

    def split(self) -> tuple[Watermark, InvoiceSnapshot]:
        mark = Watermark(event_created=self.event_created, event_id=self.event_id)
        return mark, InvoiceSnapshot.model_validate(
            self.model_dump(exclude={"event_created", "event_id", "reminded_attempt"})
        )


class BillingObjects(TenantRepository):
    def subscription(
        self, subscription_id: str, *, lock: bool = False
    ) -> StoredSubscription | None:
        return self._session.fetch_one(
            StoredSubscription,
            f"SELECT {_SUBSCRIPTION}, event_created, event_id FROM billing_subscriptions "
            f"WHERE tenant_id = %s AND subscription_id = %s{' FOR UPDATE' if lock else ''}",
            (self.tenant_id, subscription_id),
        )

    def subscriptions(self) -> list[SubscriptionSnapshot]:
        return self._session.fetch_all(
            SubscriptionSnapshot,
            f"SELECT {_SUBSCRIPTION} FROM billing_subscriptions WHERE tenant_id = %s "
            "ORDER BY subscription_created, subscription_id",
            (self.tenant_id,),
        )

    def save_subscription(self, snapshot: SubscriptionSnapshot, mark: Watermark) -> None:
        s = snapshot
        self._session.execute(
            "INSERT INTO billing_subscriptions (tenant_id, subscription_id, status, items, "
            "current_period_end, cancel_at_period_end, ended_at, cancellation_reason, "
            "subscription_created, event_created, event_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (tenant_id, subscription_id) DO UPDATE SET status = EXCLUDED.status, "
            "items = EXCLUDED.items, current_period_end = EXCLUDED.current_period_end, "
            "cancel_at_period_end = EXCLUDED.cancel_at_period_end, "
            "ended_at = EXCLUDED.ended_at, cancellation_reason = EXCLUDED.cancellation_reason, "
            "subscription_created = EXCLUDED.subscription_created, "
            "event_created = EXCLUDED.event_created, event_id = EXCLUDED.event_id, "
            "updated_at = now()",
            (
                self.tenant_id,
                s.subscription_id,
                s.status,
                Jsonb([item.model_dump() for item in s.items]),
                s.current_period_end,
                s.cancel_at_period_end,
                s.ended_at,
                s.cancellation_reason,
                s.subscription_created,
                mark.event_created,
                mark.event_id,
            ),
        )

    def invoice(self, invoice_id: str, *, lock: bool = False) -> StoredInvoice | None:
        return self._session.fetch_one(
            StoredInvoice,
            f"SELECT {_INVOICE}, event_created, event_id, reminded_attempt FROM billing_invoices "
            f"WHERE tenant_id = %s AND invoice_id = %s{' FOR UPDATE' if lock else ''}",
            (self.tenant_id, invoice_id),
        )

    def invoices(self) -> list[InvoiceSnapshot]:
        return self._session.fetch_all(
            InvoiceSnapshot,
            f"SELECT {_INVOICE} FROM billing_invoices WHERE tenant_id = %s "
            "ORDER BY invoice_created, invoice_id",
            (self.tenant_id,),
        )

    def save_invoice(self, snapshot: InvoiceSnapshot, mark: Watermark) -> None:
        i = snapshot
        self._session.execute(
            "INSERT INTO billing_invoices (tenant_id, invoice_id, subscription_id, status, "
            "amount_due, amount_paid, currency, attempt_count, next_payment_attempt, "
            "hosted_invoice_url, invoice_created, event_created, event_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (tenant_id, invoice_id) DO UPDATE SET "
            "subscription_id = EXCLUDED.subscription_id, status = EXCLUDED.status, "
            "amount_due = EXCLUDED.amount_due, amount_paid = EXCLUDED.amount_paid, "
            "currency = EXCLUDED.currency, attempt_count = EXCLUDED.attempt_count, "
            "next_payment_attempt = EXCLUDED.next_payment_attempt, "
            "hosted_invoice_url = EXCLUDED.hosted_invoice_url, "
            "invoice_created = EXCLUDED.invoice_created, "
            "event_created = EXCLUDED.event_created, event_id = EXCLUDED.event_id, "
            "updated_at = now()",
            (
                self.tenant_id,
                i.invoice_id,
                i.subscription_id,
                i.status,
                i.amount_due,
                i.amount_paid,
                i.currency,
                i.attempt_count,
                i.next_payment_attempt,
                i.hosted_invoice_url,
                i.invoice_created,
                mark.event_created,
                mark.event_id,
            ),
        )

    def invoices_due_reminder(self) -> list[InvoiceSnapshot]:
        """Owed invoices whose latest failed attempt has had no reminder yet."""
        return self._session.fetch_all(
            InvoiceSnapshot,
            f"SELECT {_INVOICE} FROM billing_invoices WHERE tenant_id = %s AND status = 'open' "
            "AND attempt_count > 0 AND reminded_attempt < attempt_count "
            "ORDER BY invoice_created, invoice_id",
            (self.tenant_id,),
        )

    def mark_reminded(self, invoice_id: str, attempt: int) -> None:
        """Record that this attempt's reminder is dealt with (never moves backwards)."""
        self._session.execute(
            "UPDATE billing_invoices SET reminded_attempt = %s "
            "WHERE tenant_id = %s AND invoice_id = %s AND reminded_attempt < %s",
            (attempt, self.tenant_id, invoice_id, attempt),
        )


class UsageReports(TenantRepository):
    def reported(self, day: date) -> bool:
        return bool(
            self._session.scalar(
                "SELECT EXISTS (SELECT 1 FROM usage_reports WHERE tenant_id = %s AND day = %s)",
                (self.tenant_id, day),
            )
        )

    def add(self, day: date, event_name: str, value: int, identifier: str) -> None:
        self._session.execute(
            "INSERT INTO usage_reports (tenant_id, day, event_name, value, identifier) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant_id, day) DO NOTHING",
            (self.tenant_id, day, event_name, value, identifier),
        )
