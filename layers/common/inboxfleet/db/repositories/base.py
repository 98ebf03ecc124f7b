"""What every repository shares: the session it is bound to, checked for kind at construction."""

from __future__ import annotations

from typing import Generic, TypeVar

from inboxfleet.db.errors import WrongSession
from inboxfleet.db.sessions import Session, SystemSession, TenantSession

S = TypeVar("S", bound=Session)


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


class SystemRepository(_Repository[SystemSession]):
    """Cross-tenant reads and shared-table writes, in a named system session."""

    _session_kind = SystemSession
