"""A tenant's sending domains."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from inboxfleet.db.repositories.base import TenantTable
from inboxfleet.records import Domain

_COLUMNS = (
    "tenant_id, id, name, status, hosted_zone_id, name_servers, verification_report, created_at"
)


class Domains(TenantTable[Domain]):
    table = "domains"
    columns = _COLUMNS
    record = Domain

    def count_live(self) -> int:
        """The tenant's domains that are not removed (what max_domains bounds)."""
        return int(
            self._session.scalar(
                "SELECT count(*) FROM domains WHERE tenant_id = %s AND status <> 'removed'",
                (self.tenant_id,),
            )
        )

    def named(self, names: list[str]) -> list[Domain]:
        """The tenant's domains (not removed) with these names."""
        return self._session.fetch_all(
            Domain,
            f"SELECT {_COLUMNS} FROM domains WHERE tenant_id = %s AND name = ANY(%s) "
            "AND status <> 'removed' ORDER BY name",
            (self.tenant_id, names),
        )

    def save_verification(self, domain_id: UUID, report: dict[str, Any]) -> bool:
        """Keep the latest per-record verification report on the domain."""
        return (
            self._session.execute(
                "UPDATE domains SET verification_report = %s, updated_at = now() "
                "WHERE tenant_id = %s AND id = %s",
                (Jsonb(report), self.tenant_id, domain_id),
            )
            == 1
        )

    def add(self, name: str, domain_id: UUID | None = None) -> Domain:
        row = self._session.fetch_one(
            Domain,
            "INSERT INTO domains (tenant_id, id, name) "
            f"VALUES (%s, coalesce(%s, gen_random_uuid()), %s) RETURNING {_COLUMNS}",
            (self.tenant_id, domain_id, name),
        )
        assert row is not None
        return row
