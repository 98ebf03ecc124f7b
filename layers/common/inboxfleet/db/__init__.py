"""Data access for NileDB (and PostgreSQL that behaves like it).

Tenant tables are reachable only through `tenant_session` / `system_session` and the typed
repositories in `inboxfleet.db.repositories`; there is no other public way to a connection.
"""

from inboxfleet.db.connection import Database, default_database, use_database
from inboxfleet.db.errors import (
    DatabaseError,
    ForbiddenStatement,
    InvalidSessionReason,
    InvalidTenantId,
    NestedSession,
    NotConfigured,
    SessionAborted,
    SessionClosed,
    TenantContextChanged,
    UnknownTenant,
    WrongSession,
)
from inboxfleet.db.sessions import SystemSession, TenantSession, system_session, tenant_session

__all__ = [
    "Database",
    "DatabaseError",
    "ForbiddenStatement",
    "InvalidSessionReason",
    "InvalidTenantId",
    "NestedSession",
    "NotConfigured",
    "SessionAborted",
    "SessionClosed",
    "SystemSession",
    "TenantContextChanged",
    "TenantSession",
    "UnknownTenant",
    "WrongSession",
    "default_database",
    "system_session",
    "tenant_session",
    "use_database",
]
