"""The tenants table: created in a system session, read and updated by the tenant itself."""

from __future__ import annotations

from uuid import UUID

from inboxfleet.db.repositories.base import SystemRepository, TenantRepository
from inboxfleet.records import Tenant

_COLUMNS = "id, name, billing_email, created"


class TenantDirectory(SystemRepository):
    def create(
        self, name: str, billing_email: str | None = None, *, id: UUID | None = None
    ) -> Tenant:
        row = self._session.fetch_one(
            Tenant,
            f"INSERT INTO tenants (id, name, billing_email) "
            f"VALUES (coalesce(%s, gen_random_uuid()), %s, %s) RETURNING {_COLUMNS}",
            (id, name, billing_email),
        )
        assert row is not None  # INSERT ... RETURNING always returns the row
        return row

    def list(self) -> list[Tenant]:
        return self._session.fetch_all(
            Tenant,
            f"SELECT {_COLUMNS} FROM tenants WHERE deleted IS NULL ORDER BY created, id",
        )


class TenantProfile(TenantRepository):
    def get(self) -> Tenant:
        row = self._session.fetch_one(
            Tenant,
            f"SELECT {_COLUMNS} FROM tenants WHERE id = %s",
            (self.tenant_id,),
        )
        assert row is not None  # the session checked the tenant exists
        return row

    def set_billing_email(self, email: str) -> None:
        self._session.execute(
            "UPDATE tenants SET billing_email = %s, updated = LOCALTIMESTAMP WHERE id = %s",
            (email, self.tenant_id),
        )
