"""A tenant's sending domains."""

from __future__ import annotations

from uuid import UUID

from inboxfleet.db.repositories.base import TenantRepository
from inboxfleet.records import Domain

_COLUMNS = (
    "tenant_id, id, name, status, hosted_zone_id, name_servers, verification_report, created_at"
)


class Domains(TenantRepository):
    def add(self, name: str) -> Domain:
        row = self._session.fetch_one(
            Domain,
            f"INSERT INTO domains (tenant_id, name) VALUES (%s, %s) RETURNING {_COLUMNS}",
            (self.tenant_id, name),
        )
        assert row is not None
        return row

    def get(self, domain_id: UUID) -> Domain | None:
        return self._session.fetch_one(
            Domain,
            f"SELECT {_COLUMNS} FROM domains WHERE tenant_id = %s AND id = %s",
            (self.tenant_id, domain_id),
        )

    def list(self) -> list[Domain]:
        return self._session.fetch_all(
            Domain,
            f"SELECT {_COLUMNS} FROM domains WHERE tenant_id = %s ORDER BY created_at, id",
            (self.tenant_id,),
        )
