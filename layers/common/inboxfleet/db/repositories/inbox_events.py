"""The per-inbox timeline: one row per workflow step outcome."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from inboxfleet.db.repositories.base import TenantRepository
from inboxfleet.records import InboxEvent

_COLUMNS = "tenant_id, id, inbox_id, step, outcome, detail, occurred_at"
STATUS_STEP = "status"


class InboxEvents(TenantRepository):
    def append(
        self, inbox_id: UUID, step: str, outcome: str, detail: dict[str, Any] | None = None
    ) -> InboxEvent:
        if step == STATUS_STEP:
            # Written only by Inboxes.transition, in the statement that changes the status.
            raise ValueError("a 'status' entry is written only with the status change itself")
        row = self._session.fetch_one(
            InboxEvent,
            "INSERT INTO inbox_events (tenant_id, inbox_id, step, outcome, detail) "
            f"VALUES (%s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
            (self.tenant_id, inbox_id, step, outcome, Jsonb(detail or {})),
        )
        assert row is not None
        return row

    def timeline(self, inbox_id: UUID, *, last: int | None = None) -> list[InboxEvent]:
        """The inbox's entries in order; `last`: only the newest that many (still in order,
        read backwards on the timeline index)."""
        if last is None:
            return self._session.fetch_all(
                InboxEvent,
                f"SELECT {_COLUMNS} FROM inbox_events WHERE tenant_id = %s AND inbox_id = %s "
                "ORDER BY occurred_at, id",
                (self.tenant_id, inbox_id),
            )
        newest = self._session.fetch_all(
            InboxEvent,
            f"SELECT {_COLUMNS} FROM inbox_events WHERE tenant_id = %s AND inbox_id = %s "
            "ORDER BY occurred_at DESC, id DESC LIMIT %s",
            (self.tenant_id, inbox_id, last),
        )
        return newest[::-1]

    def undo_end(self, inbox_id: UUID, execution: str) -> InboxEvent | None:
        """How the undoing of that run ended, the newest "compensate" entry that says so:
        outcome "succeeded", or "failed" (incomplete: `server_left` says whether the server it
        gave back may still be there); None while it has not ended (or never began)."""
        return self._session.fetch_one(
            InboxEvent,
            f"SELECT {_COLUMNS} FROM inbox_events WHERE tenant_id = %s AND inbox_id = %s "
            "AND step = 'compensate' AND outcome IN ('succeeded', 'failed') "
            "AND detail->>'execution' = %s ORDER BY occurred_at DESC, id DESC LIMIT 1",
            (self.tenant_id, inbox_id, execution),
        )

    def latest(self, inbox_id: UUID, step: str, outcome: str) -> InboxEvent | None:
        """The newest entry of that step and outcome, however far back."""
        return self._session.fetch_one(
            InboxEvent,
            f"SELECT {_COLUMNS} FROM inbox_events WHERE tenant_id = %s AND inbox_id = %s "
            "AND step = %s AND outcome = %s ORDER BY occurred_at DESC, id DESC LIMIT 1",
            (self.tenant_id, inbox_id, step, outcome),
        )
