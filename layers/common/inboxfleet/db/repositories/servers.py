"""A tenant's mail servers (Hostwinds instances)."""

from __future__ import annotations

from uuid import UUID, uuid4

from inboxfleet.db.repositories.base import TenantTable
from inboxfleet.names import server_name
from inboxfleet.records import Server

_COLUMNS = (
    "tenant_id, id, domain_id, name, location, provider_instance_id, ip, host_key_fingerprint, "
    "status, created_at"
)


class Servers(TenantTable[Server]):
    table = "servers"
    columns = _COLUMNS
    record = Server

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
