"""What a mail client needs of a tenant's inboxes (address, server, password ciphertext), the new
password a tenant asks for, and the timeline entries that record every read of them.

Passwords appear here only as KMS ciphertext; the entries written never hold one."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from inboxfleet.db.repositories.base import TenantRepository
from inboxfleet.lifecycles import InboxStatus
from inboxfleet.records import MailboxLogin

# The inbox with its server's domain (one server per domain: its mail host is named from it).
_SELECT = (
    "SELECT i.id, i.address, i.status, i.password_ciphertext, i.created_at, "
    "d.name AS server_domain "
    "FROM inboxes i "
    "LEFT JOIN servers s ON s.tenant_id = i.tenant_id AND s.id = i.server_id "
    "LEFT JOIN domains d ON d.tenant_id = s.tenant_id AND d.id = s.domain_id "
)


class MailboxLogins(TenantRepository):
    def get(self, inbox_id: UUID) -> MailboxLogin | None:
        return self._session.fetch_one(
            MailboxLogin,
            f"{_SELECT}WHERE i.tenant_id = %s AND i.id = %s",
            (self.tenant_id, inbox_id),
        )

    def page_in_status(
        self, status: InboxStatus, *, limit: int, after: tuple[datetime, UUID] | None = None
    ) -> list[MailboxLogin]:
        """Up to `limit` inboxes of the tenant in `status` in (created_at, id) order after the
        keyset `after`, in one statement: a row that existed when paging began is read exactly
        once, whatever is inserted meanwhile."""
        keyset = "AND (i.created_at, i.id) > (%s, %s) " if after is not None else ""
        return self._session.fetch_all(
            MailboxLogin,
            f"{_SELECT}WHERE i.tenant_id = %s AND i.status = %s {keyset}"
            "ORDER BY i.created_at, i.id LIMIT %s",
            (self.tenant_id, status, *(after or ()), limit),
        )

    def record(self, inbox_ids: Collection[UUID], step: str, detail: dict[str, Any]) -> int:
        """One timeline entry (`step`, outcome info, `detail`) on each inbox, in one statement;
        returns how many were written."""
        if not inbox_ids:
            return 0
        return self._session.execute(
            "INSERT INTO inbox_events (tenant_id, inbox_id, step, outcome, detail) "
            "SELECT %s, r.inbox_id, %s, 'info', %s FROM unnest(%s::uuid[]) AS r(inbox_id)",
            (self.tenant_id, step, Jsonb(detail), list(inbox_ids)),
        )

    def request_password(
        self,
        inbox_id: UUID,
        ciphertext: bytes,
        *,
        allowed: Collection[InboxStatus],
        step: str,
        detail: dict[str, Any],
    ) -> InboxStatus | None:
        """Keep `ciphertext` as the inbox's desired password (convergence applies it on the
        server) if the inbox is in an `allowed` status, with its timeline entry, in one
        statement; the inbox's status, or None when it is not (or does not exist). A later
        request replaces an earlier one not yet applied."""
        status = self._session.scalar(
            "WITH changed AS ("
            "  UPDATE inboxes SET desired_password_ciphertext = %(ciphertext)s,"
            "    password_requested_at = now(), updated_at = now()"
            "  WHERE tenant_id = %(tenant)s AND id = %(id)s AND status = ANY(%(allowed)s)"
            "  RETURNING tenant_id, id, status"
            "), logged AS ("
            "  INSERT INTO inbox_events (tenant_id, inbox_id, step, outcome, detail)"
            "  SELECT tenant_id, id, %(step)s, 'info', %(detail)s FROM changed"
            ") SELECT status FROM changed",
            {
                "ciphertext": ciphertext,
                "tenant": self.tenant_id,
                "id": inbox_id,
                "allowed": sorted(allowed),
                "step": step,
                "detail": Jsonb(detail),
            },
        )
        return None if status is None else InboxStatus(status)

    def store_password(self, inbox_id: UUID, ciphertext: bytes) -> bool:
        """The password the mailbox is configured with (as ciphertext): what the workflow keeps
        when it creates the mailbox. False when there is no such inbox."""
        return (
            self._session.execute(
                "UPDATE inboxes SET password_ciphertext = %s, updated_at = now() "
                "WHERE tenant_id = %s AND id = %s",
                (ciphertext, self.tenant_id, inbox_id),
            )
            == 1
        )
