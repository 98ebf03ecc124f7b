"""A tenant's sending domains."""

from __future__ import annotations

from inboxfleet.db.repositories.base import TenantTable
from inboxfleet.records import Domain

_COLUMNS = (
    "tenant_id, id, name, status, hosted_zone_id, name_servers, verification_report, created_at"
)


class Domains(TenantTable[Domain]):
    table = "domains"
    columns = _COLUMNS
    record = Domain

    def add(self, name: str) -> Domain:
        row = self._session.fetch_one(
            Domain,
            f"INSERT INTO domains (tenant_id, name) VALUES (%s, %s) RETURNING {_COLUMNS}",
            (self.tenant_id, name),
        )
        assert row is not None
        return row
