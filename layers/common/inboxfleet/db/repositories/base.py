"""What every repository shares: the session it is bound to, checked for kind at construction."""

from __future__ import annotations

from typing import Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel

from inboxfleet.db.errors import WrongSession
from inboxfleet.db.sessions import Session, SystemSession, TenantSession

S = TypeVar("S", bound=Session)
R = TypeVar("R", bound=BaseModel)


class _Repository(Generic[S]):
    _session_kind: type[Session]

    def __init__(self, session: S) -> None:
        if not isinstance(session, self._session_kind):
            raise WrongSession(
                f"{type(self).__name__} needs a {self._session_kind.__name__}, "
                f"got {type(session).__name__}"
            )
        self._session: S = session


class TenantRepository(_Repository[TenantSession]):
    """Reads and writes one tenant's rows. Only a tenant session can carry tenant writes, so no
    transaction ever writes two tenants, or tenant and shared tables together (Nile's rules)."""

    _session_kind = TenantSession

    @property
    def tenant_id(self) -> str:
        return str(self._session.tenant_id)


class TenantTable(TenantRepository, Generic[R]):
    """A tenant table keyed by (tenant_id, id) with a created_at: get by id, list in creation
    order. Subclasses name the table, its column list and the record type."""

    table: str
    columns: str
    record: type[R]

    def get(self, row_id: UUID) -> R | None:
        return self._session.fetch_one(
            self.record,
            f"SELECT {self.columns} FROM {self.table} WHERE tenant_id = %s AND id = %s",
            (self.tenant_id, row_id),
        )

    def list(self) -> list[R]:
        return self._session.fetch_all(
            self.record,
            f"SELECT {self.columns} FROM {self.table} WHERE tenant_id = %s ORDER BY created_at, id",
            (self.tenant_id,),
        )


class SystemRepository(_Repository[SystemSession]):
    """Cross-tenant reads and shared-table writes, in a named system session."""

    _session_kind = SystemSession
