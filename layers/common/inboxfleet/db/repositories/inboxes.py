"""A tenant's inboxes. Status changes are compare-and-set against the lifecycle's predecessors."""

from __future__ import annotations

from uuid import UUID

from inboxfleet.db.repositories.base import TenantTable
from inboxfleet.lifecycles import InboxStatus, inbox_predecessors
from inboxfleet.records import Inbox

_COLUMNS = (
    "tenant_id, id, domain_id, server_id, address, status, execution_name, attempt, "
    "failure_reason, password_ciphertext, created_at, updated_at"
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
            "failure_reason = CASE WHEN %s = 'failed' THEN %s ELSE NULL END "
            "WHERE tenant_id = %s AND id = %s AND status = ANY(%s) "
            f"RETURNING {_COLUMNS}",
            (target, target, failure_reason, self.tenant_id, inbox_id, allowed),
        )
