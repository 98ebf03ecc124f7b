"""A tenant's inboxes. Status changes are compare-and-set against the lifecycle's predecessors."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from inboxfleet.db.repositories.base import TenantTable
from inboxfleet.lifecycles import InboxStatus, inbox_predecessors
from inboxfleet.records import Inbox

_COLUMNS = (
    "tenant_id, id, domain_id, server_id, address, status, execution_name, attempt, "
    "failure_reason, suspension_reason, suspend_at, password_ciphertext, created_at, updated_at"
)


class Inboxes(TenantTable[Inbox]):
    table = "inboxes"
    columns = _COLUMNS
    record = Inbox

    def add(
        self,
        domain_id: UUID,
        address: str,
        status: InboxStatus = InboxStatus.AWAITING_PAYMENT,
        server_id: UUID | None = None,
        inbox_id: UUID | None = None,
    ) -> Inbox:
        row = self._session.fetch_one(
            Inbox,
            "INSERT INTO inboxes (tenant_id, id, domain_id, server_id, address, status) "
            f"VALUES (%s, coalesce(%s, gen_random_uuid()), %s, %s, %s, %s) RETURNING {_COLUMNS}",
            (self.tenant_id, inbox_id, domain_id, server_id, address, status),
        )
        assert row is not None
        return row

    def list_by_status(self, status: InboxStatus) -> list[Inbox]:
        return self._session.fetch_all(
            Inbox,
            f"SELECT {_COLUMNS} FROM inboxes WHERE tenant_id = %s AND status = %s "
            "ORDER BY created_at, id",
            (self.tenant_id, status),
        )

    def count_by_status(self, status: InboxStatus) -> int:
        return int(
            self._session.scalar(
                "SELECT count(*) FROM inboxes WHERE tenant_id = %s AND status = %s",
                (self.tenant_id, status),
            )
        )

    def transition(
        self,
        inbox_id: UUID,
        target: InboxStatus,
        failure_reason: str | None = None,
        *,
        expected: InboxStatus | None = None,
    ) -> Inbox | None:
        """Move to `target` if the current status allows it (and equals `expected`, when
        given); None when it does not or the inbox does not exist. Check and write are one
        statement: no race between them."""
        allowed = sorted(inbox_predecessors(target))
        if expected is not None:
            allowed = [s for s in allowed if s == expected]
        return self._session.fetch_one(
            Inbox,
            "UPDATE inboxes SET status = %s, updated_at = now(), "
            "failure_reason = CASE WHEN %s = 'failed' THEN %s ELSE NULL END, "
            # Billing's reason only lives as long as the suspension it explains.
            "suspension_reason = CASE WHEN %s = 'suspended' THEN suspension_reason END "
            "WHERE tenant_id = %s AND id = %s AND status = ANY(%s) "
            f"RETURNING {_COLUMNS}",
            (target, target, failure_reason, target, self.tenant_id, inbox_id, allowed),
        )

    # Billing's desired-state changes: each one statement, compare-and-set on the status.

    def release(self, inbox_id: UUID) -> Inbox | None:
        """awaiting_payment -> queued, as a new workflow attempt."""
        return self._session.fetch_one(
            Inbox,
            "UPDATE inboxes SET status = 'queued', attempt = attempt + 1, execution_name = NULL, "
            "updated_at = now() WHERE tenant_id = %s AND id = %s AND status = 'awaiting_payment' "
            f"RETURNING {_COLUMNS}",
            (self.tenant_id, inbox_id),
        )

    def suspend(self, inbox_id: UUID, reason: str) -> Inbox | None:
        return self._session.fetch_one(
            Inbox,
            "UPDATE inboxes SET status = 'suspended', suspension_reason = %s, suspend_at = NULL, "
            "updated_at = now() WHERE tenant_id = %s AND id = %s AND status = 'active' "
            f"RETURNING {_COLUMNS}",
            (reason, self.tenant_id, inbox_id),
        )

    def reactivate(self, inbox_id: UUID) -> Inbox | None:
        """suspended -> active, only for a suspension billing made (it has a reason)."""
        return self._session.fetch_one(
            Inbox,
            "UPDATE inboxes SET status = 'active', suspension_reason = NULL, updated_at = now() "
            "WHERE tenant_id = %s AND id = %s AND status = 'suspended' "
            f"AND suspension_reason IS NOT NULL RETURNING {_COLUMNS}",
            (self.tenant_id, inbox_id),
        )

    def schedule_suspension(self, inbox_id: UUID, at: datetime | None) -> None:
        self._session.execute(
            "UPDATE inboxes SET suspend_at = %s, updated_at = now() "
            "WHERE tenant_id = %s AND id = %s",
            (at, self.tenant_id, inbox_id),
        )

    def queued_without_execution(self) -> list[Inbox]:
        """Released inboxes whose workflow has not been started (or not recorded as started)."""
        return self._session.fetch_all(
            Inbox,
            f"SELECT {_COLUMNS} FROM inboxes WHERE tenant_id = %s AND status = 'queued' "
            "AND execution_name IS NULL ORDER BY created_at, id",
            (self.tenant_id,),
        )

    def set_execution_name(self, inbox_id: UUID, execution_name: str) -> None:
        self._session.execute(
            "UPDATE inboxes SET execution_name = %s, updated_at = now() "
            "WHERE tenant_id = %s AND id = %s AND execution_name IS NULL",
            (execution_name, self.tenant_id, inbox_id),
        )
