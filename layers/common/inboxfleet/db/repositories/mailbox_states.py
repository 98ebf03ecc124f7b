"""What each mailbox should be on its server (the inbox's status, a new password) beside what was
last applied there, and the lease of the convergence run applying it.

Passwords appear here only as KMS ciphertext."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from inboxfleet.db.repositories.base import TenantRepository
from inboxfleet.records import MailboxState

_INBOX = (
    "id, address, status, mailbox_applied, desired_password_ciphertext, mailbox_lease, "
    "mailbox_lease_until, server_id, tenant_id"
)
# The server differs from what is wanted (the partial index inboxes_mailbox_drift_idx, 0007).
DRIFT = (
    "((i.status = 'active' AND i.mailbox_applied = 'disabled') "
    "OR (i.status = 'suspended' AND i.mailbox_applied = 'enabled') "
    "OR (i.status IN ('active', 'suspended') AND i.desired_password_ciphertext IS NOT NULL))"
)
# The inbox's columns from `i` (the table, or a statement's RETURNING) and its server's.
_SELECT = (
    "SELECT i.id, i.address, i.status, i.mailbox_applied, i.desired_password_ciphertext, "
    "i.mailbox_lease, i.mailbox_lease_until, i.server_id, s.status AS server_status, "
    f"s.ip AS server_ip, s.host_key_fingerprint, {DRIFT} AS differs "
)
_SERVER = "LEFT JOIN servers s ON s.tenant_id = i.tenant_id AND s.id = i.server_id "


class MailboxStates(TenantRepository):
    def get(self, inbox_id: UUID, *, lock: bool = False) -> MailboxState | None:
        lock_row = " FOR UPDATE OF i" if lock else ""
        return self._session.fetch_one(
            MailboxState,
            f"{_SELECT}FROM inboxes i {_SERVER}WHERE i.tenant_id = %s AND i.id = %s{lock_row}",
            (self.tenant_id, inbox_id),
        )

    def drifted(self, *, limit: int = 1000) -> list[UUID]:
        """The tenant's inboxes whose mailbox differs from what is wanted, oldest first."""
        ids: list[UUID] = self._session.column(
            f"SELECT i.id FROM inboxes i WHERE i.tenant_id = %s AND {DRIFT} "
            "ORDER BY i.created_at, i.id LIMIT %s",
            (self.tenant_id, limit),
        )
        return ids

    def lease(self, inbox_id: UUID, holder: str, hold: timedelta) -> bool:
        """`holder` applies the inbox's mailbox state for `hold` from now, unless another
        holder's lease has not run out (False)."""
        return (
            self._session.execute(
                "UPDATE inboxes SET mailbox_lease = %(holder)s, "
                "mailbox_lease_until = now() + %(hold)s, updated_at = now() "
                "WHERE tenant_id = %(tenant)s AND id = %(id)s AND (mailbox_lease IS NULL "
                "OR mailbox_lease = %(holder)s OR mailbox_lease_until < now())",
                {"holder": holder, "hold": hold, "tenant": self.tenant_id, "id": inbox_id},
            )
            == 1
        )

    def applied(
        self, inbox_id: UUID, holder: str, *, enabled: bool, password_ciphertext: bytes | None
    ) -> MailboxState | None:
        """What `holder` applied is now the server's state: the enabled flag, and the password
        it set becomes the inbox's (the one wanted stays wanted if the tenant asked for another
        meanwhile); the lease ends. None (nothing written) when `holder` has lost the lease."""
        return self._session.fetch_one(
            MailboxState,
            "WITH applied AS ("
            "  UPDATE inboxes SET mailbox_applied = %(state)s, updated_at = now(),"
            # The password the server now holds is the one sent, whatever is wanted since.
            "    password_ciphertext = coalesce(%(sent)s::bytea, password_ciphertext),"
            "    desired_password_ciphertext = CASE"
            "      WHEN desired_password_ciphertext = %(sent)s::bytea THEN NULL"
            "      ELSE desired_password_ciphertext END,"
            "    mailbox_lease = NULL, mailbox_lease_until = NULL"
            "  WHERE tenant_id = %(tenant)s AND id = %(id)s AND mailbox_lease = %(holder)s"
            f"  RETURNING {_INBOX}"
            # Read from RETURNING: the statement's own snapshot predates its update.
            f") {_SELECT}FROM applied i {_SERVER}",
            {
                "state": "enabled" if enabled else "disabled",
                "sent": password_ciphertext,
                "tenant": self.tenant_id,
                "id": inbox_id,
                "holder": holder,
            },
        )

    def release(self, inbox_id: UUID, holder: str) -> bool:
        """`holder` gives its lease back without applying anything."""
        return (
            self._session.execute(
                "UPDATE inboxes SET mailbox_lease = NULL, mailbox_lease_until = NULL, "
                "updated_at = now() WHERE tenant_id = %s AND id = %s AND mailbox_lease = %s",
                (self.tenant_id, inbox_id, holder),
            )
            == 1
        )
