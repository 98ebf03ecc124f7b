"""The shared log of received Stripe events (no tenant data; system sessions only)."""

from __future__ import annotations

from datetime import datetime

from inboxfleet.db.repositories.base import SystemRepository
from inboxfleet.records import StripeEventRecord

_COLUMNS = "event_id, type, created, received_at, processed_at, outcome"


class StripeEventLog(SystemRepository):
    def record(self, event_id: str, type_: str, created: datetime, customer_id: str | None) -> bool:
        """Record a received event; False when it had been recorded before (a duplicate)."""
        inserted = self._session.execute(
            "INSERT INTO stripe_events (event_id, type, created, customer_id) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
            (event_id, type_, created, customer_id),
        )
        return inserted == 1

    def get(self, event_id: str) -> StripeEventRecord | None:
        return self._session.fetch_one(
            StripeEventRecord,
            f"SELECT {_COLUMNS} FROM stripe_events WHERE event_id = %s",
            (event_id,),
        )
