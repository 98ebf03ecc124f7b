"""Named database-layer errors. Each is raised before any tenant SQL runs where it can be."""

from __future__ import annotations


class DatabaseError(Exception):
    """Base of every error this package raises."""


class InvalidTenantId(DatabaseError, ValueError):
    def __init__(self, value: object) -> None:
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        super().__init__(f"tenant id {shown} is not a UUID")


class UnknownTenant(DatabaseError, LookupError):
    def __init__(self, tenant_id: object) -> None:
        super().__init__(f"tenant {tenant_id} does not exist (or was deleted)")
        self.tenant_id = tenant_id


class NestedSession(DatabaseError, RuntimeError):
    """A session is already open on this thread: a tenant setting must never leak into another."""


class SessionClosed(DatabaseError, RuntimeError):
    """A repository was used after its session ended."""


class SessionAborted(DatabaseError, RuntimeError):
    """A statement failed inside the session (even if the caller caught the error): the
    transaction is void and nothing in it was saved."""


class ForbiddenStatement(DatabaseError, ValueError):
    """Transaction control, settings or several statements sent through a session: they would
    end its transaction or change its tenant context from inside."""


class TenantContextChanged(ForbiddenStatement):
    """The tenant or system setting was not what the session set: a statement changed it, or the
    connection arrived with one already set. The transaction was rolled back and the connection
    dropped, so nothing done under the wrong context is saved or carried into another session."""


class WrongSession(DatabaseError, TypeError):
    """A repository was handed a session of the wrong kind (tenant vs system)."""


class InvalidSessionReason(DatabaseError, ValueError):
    pass


class DatabaseUnavailable(DatabaseError, ConnectionError):
    """The database cannot be reached now (refused, timed out, gone): worth trying later."""


class StatementTimedOut(DatabaseUnavailable):
    """A statement ran past the statement timeout (a lock held elsewhere, an overloaded server):
    its transaction is rolled back; the same work may pass later."""


class NotConfigured(DatabaseError, RuntimeError):
    """No database is configured: set DATABASE_URL (local) or DATABASE_URL_SECRET (Lambda)."""


class MigrationError(DatabaseError):
    pass


class MigrationFailed(MigrationError):
    def __init__(self, filename: str, cause: str) -> None:
        super().__init__(f"migration {filename} failed and was rolled back: {cause}")
        self.filename = filename


class MigrationTampered(MigrationError):
    def __init__(self, filename: str) -> None:
        super().__init__(
            f"migration {filename} was changed after it was applied; add a new migration instead"
        )
        self.filename = filename


class NileIncompatibleSql(MigrationError):
    def __init__(self, filename: str, problems: list[str]) -> None:
        super().__init__(f"{filename} holds SQL Nile refuses: " + "; ".join(problems))
        self.filename = filename
        self.problems = problems
