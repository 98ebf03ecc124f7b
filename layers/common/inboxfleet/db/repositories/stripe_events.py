"""The shared log of received Stripe events (no tenant data; system sessions only)."""

from __future__ import annotations

from datetime import datetime

from inboxfleet.db.repositories.base import SystemRepository
from inboxfleet.records import StripeEventRecord

_COLUMNS = "event_id, type, created, customer_id, received_at, processed_at, outcome, detail"


class StripeEventLog(SystemRepository):
    def record(self, event_id: str, type_: str, created: datetime, customer_id: str | None) -> bool:
        """Record a received event; False when it had been recorded before (a duplicate)."""
        inserted = self._session.execute(
            "INSERT INTO stripe_events (event_id, type, created, customer_id) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
            (event_id, type_, created, customer_id),
        )
        return inserted == 1

    def finish(
        self,
        event_id: str,
        type_: str,
        created: datetime,
        customer_id: str | None,
        *,
        outcome: str,
        detail: str | None = None,
    ) -> None:
        """Record how the event ended (the row is created if the receipt was never recorded);
        an event once applied or ignored stays so."""
        self._session.execute(
            "INSERT INTO stripe_events (event_id, type, created, customer_id, processed_at, "
            "outcome, detail) VALUES (%s, %s, %s, %s, now(), %s, %s) "
            "ON CONFLICT (event_id) DO UPDATE SET processed_at = now(), "
            "outcome = EXCLUDED.outcome, detail = EXCLUDED.detail "
            "WHERE stripe_events.outcome IS DISTINCT FROM 'applied' "
            "AND stripe_events.outcome IS DISTINCT FROM 'ignored'",
            (event_id, type_, created, customer_id, outcome, detail),
        )

    def get(self, event_id: str) -> StripeEventRecord | None:
        return self._session.fetch_one(
            StripeEventRecord,
            f"SELECT {_COLUMNS} FROM stripe_events WHERE event_id = %s",
            (event_id,),
        )
