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

    def add(self, domain_id: UUID, location: str, environment: str) -> Server:
        server_id = uuid4()
        row = self._session.fetch_one(
            Server,
            "INSERT INTO servers (tenant_id, id, domain_id, name, location) "
            f"VALUES (%s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
            (self.tenant_id, server_id, domain_id, server_name(environment, server_id), location),
        )
        assert row is not None
        return row
