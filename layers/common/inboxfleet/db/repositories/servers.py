"""A tenant's mail servers (Hostwinds instances)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from inboxfleet.db.repositories.base import TenantTable
from inboxfleet.names import server_name
from inboxfleet.records import Server, ServerInUse

_COLUMNS = (
    "tenant_id, id, domain_id, name, location, provider_instance_id, ip, host_key_fingerprint, "
    "status, created_at"
)


class Servers(TenantTable[Server]):
    table = "servers"
    columns = _COLUMNS
    record = Server

    def page(self, *, limit: int, after: tuple[datetime, UUID] | None = None) -> list[ServerInUse]:
        """Up to `limit` servers in (created_at, id) order after the keyset `after`, each with
        its domain's name and how many inboxes (not deleted) it holds."""
        keyset = "AND (s.created_at, s.id) > (%s, %s) " if after is not None else ""
        return self._session.fetch_all(
            ServerInUse,
            "SELECT s.id, s.ip, s.location, s.status, s.created_at, d.name AS domain, "
            "  (SELECT count(*) FROM inboxes i WHERE i.tenant_id = s.tenant_id "
            "   AND i.server_id = s.id AND i.status <> 'deleted') AS inboxes "
            "FROM servers s JOIN domains d ON d.tenant_id = s.tenant_id AND d.id = s.domain_id "
            f"WHERE s.tenant_id = %s {keyset}ORDER BY s.created_at, s.id LIMIT %s",
            (self.tenant_id, *(after or ()), limit),
        )

    def pin_host_key(self, server_id: UUID, fingerprint: str) -> Server | None:
        """Store the host key seen on first contact, once: the same fingerprint again is a
        no-op, a different one changes nothing and returns None (the caller raises)."""
        return self._session.fetch_one(
            Server,
            "UPDATE servers SET host_key_fingerprint = %s, updated_at = now() "
            "WHERE tenant_id = %s AND id = %s "
            "AND (host_key_fingerprint IS NULL OR host_key_fingerprint = %s) "
            f"RETURNING {_COLUMNS}",
            (fingerprint, self.tenant_id, server_id, fingerprint),
        )

    def add(
        self, domain_id: UUID, location: str, environment: str, server_id: UUID | None = None
    ) -> Server:
        server_id = server_id or uuid4()
        row = self._session.fetch_one(
            Server,
            "INSERT INTO servers (tenant_id, id, domain_id, name, location) "
            f"VALUES (%s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
            (self.tenant_id, server_id, domain_id, server_name(environment, server_id), location),
        )
        assert row is not None
        return row
