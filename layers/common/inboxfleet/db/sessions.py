"""Tenant and system sessions: the only way application code reaches tenant tables.

`tenant_session(id)` opens a transaction whose very first statement is
`SET LOCAL nile.tenant_id = '<uuid>'` (Nile accepts the setting only there; psycopg cannot bind a
parameter in SET, so the uuid is validated and rendered as a literal). The setting dies with the
transaction, and sessions never nest on a thread.

`system_session(reason)` is the explicit, named cross-tenant context (reconcile, mapping a Stripe
customer to its tenant, shared tables). On vanilla PostgreSQL the row-level-security policies
admit its reads; they never admit its writes to tenant rows — those happen in tenant sessions.

The context guard. Raw SQL in a session is application code, and a bug there must still not move
the session to another tenant, open it to all tenants, or carry a setting into the next session
on the same (warm, reused) connection. Three layers, each on its own enough for what it covers:

1. A text check before sending: one data statement (SELECT, INSERT, UPDATE, DELETE, WITH, ...)
   after any leading comments, and no call that sets a setting, hides a name, or runs SQL text.
   It is the only layer that sees a statement switch to another tenant and back within itself.
2. After every statement, in the same round trip (pipeline mode), the tenant and system settings
   are read back and compared with what the preamble reported. Any difference: roll back, drop
   the connection, raise TenantContextChanged. This catches every form text scanning misses.
3. A connection is reset (`RESET ALL`, in the COMMIT's or ROLLBACK's round trip) when a session
   ends, and every session starts only from a verified context: the preamble reports the settings
   too, and a connection that arrives with a foreign one is dropped and a fresh one tried once.

Preamble, existence check, context report and timeout go to the server as one simple query: one
round trip.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import RowFactory, class_row, tuple_row
from pydantic import BaseModel

from inboxfleet.db.connection import Database, default_database
from inboxfleet.db.errors import (
    DatabaseUnavailable,
    ForbiddenStatement,
    InvalidSessionReason,
    InvalidTenantId,
    NestedSession,
    SessionAborted,
    SessionClosed,
    StatementTimedOut,
    TenantContextChanged,
    UnknownTenant,
)

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")
Params = Sequence[Any] | dict[str, Any] | None
Query = str | sql.SQL | sql.Composed

TENANT_SETTING = "nile.tenant_id"
SYSTEM_REASON_SETTING = "inboxfleet.system_reason"
_REASON = re.compile(r"[a-z][a-z0-9_.:-]{0,62}")

# Only data statements: anything else (transaction control, SET/RESET, DO, DDL, PREPARE, ...)
# would end the session's transaction or change its context from inside it.
_DATA_STATEMENT = re.compile(r"(?:SELECT|INSERT|UPDATE|DELETE|WITH|VALUES|TABLE|MERGE)\b|\(", re.I)
# Within one data statement these could switch to another tenant and back, which the settings
# check after the statement cannot see: set_config itself, the pg_settings view (its update rule
# calls set_config per row), a unicode-escaped identifier (a name this scan cannot read), and the
# built-ins that run SQL text handed to them.
_CONTEXT_CALLS = re.compile(
    r'\b(?:set_config|pg_settings|query_to_xml\w*|ts_stat|ts_rewrite)\b|u&"', re.I
)

# The settings as the server sees them; '' when unset (a placeholder reads '' once it has been
# set and reset, NULL before).
_CONTEXT_COLUMNS = sql.SQL(", ").join(
    sql.SQL("coalesce(current_setting({}, true), '')").format(sql.Literal(name))
    for name in (TENANT_SETTING, SYSTEM_REASON_SETTING)
)
# Rendered once: it is sent after every statement.
_READ_CONTEXT = sql.SQL("SELECT {}").format(_CONTEXT_COLUMNS).as_string()

_open_on_thread = threading.local()


@dataclass(frozen=True)
class _Context:
    """A session's tenant and system settings as the server reports them ('' when unset)."""

    tenant: str
    system_reason: str

    def changed_in(self, seen: _Context) -> str:
        """The names of the settings `seen` holds differently (never their values)."""
        names = [TENANT_SETTING] if seen.tenant != self.tenant else []
        names += [SYSTEM_REASON_SETTING] if seen.system_reason != self.system_reason else []
        return " and ".join(names)


def parse_tenant_id(value: object) -> UUID:
    if isinstance(value, UUID):
        return value
    if not isinstance(value, str):
        raise InvalidTenantId(value)
    try:
        return UUID(value)
    except ValueError:
        raise InvalidTenantId(value) from None


def _skip_comments(text: str) -> str:
    """The text from its first token: leading whitespace and comments skipped (block comments
    nest in PostgreSQL, so a regex would stop at the wrong `*/`)."""
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end + 1
        elif text.startswith("/*", i):
            i = _block_comment_end(text, i)
        else:
            break
    return text[i:]


def _block_comment_end(text: str, start: int) -> int:
    depth, i = 0, start
    while i < len(text):
        if text.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif text.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    return len(text)  # unterminated: nothing follows that the server would run


def _text_refusal(text: str) -> str | None:
    """Why the text check refuses a statement, or None (layer 1 of the guard)."""
    if ";" in text.rstrip().rstrip(";"):
        return "sessions run single statements"
    if not _DATA_STATEMENT.match(_skip_comments(text)):
        return "sessions run data statements only; transactions and settings are theirs"
    if _CONTEXT_CALLS.search(text):
        return "sessions do not call set_config, unicode-escaped names or SQL-text functions"
    return None


def _in_one_round_trip(
    conn: psycopg.Connection[Any], *statements: tuple[psycopg.Cursor[Any], Query, Params]
) -> None:
    """Send the statements pipelined and wait for all their results. A failure is raised as the
    failing statement's own error; psycopg would otherwise also log the pipeline's abort of the
    statements after it, as a warning, whenever the error arrived before the end of the block."""
    first: psycopg.Error | None = None
    try:
        with conn.pipeline():
            try:
                for cur, query, params in statements:
                    cur.execute(query, params)
            except psycopg.Error as exc:
                first = exc
    except psycopg.Error as exc:
        first = first or exc
    if first is not None:
        raise first


class Session:
    """A live transaction. Repositories take one; it refuses all use once the block has ended."""

    def __init__(self, conn: psycopg.Connection[Any], db: Database, context: _Context) -> None:
        self._conn: psycopg.Connection[Any] | None = conn
        self._db = db
        self._context = context

    def _live(self, query: Query | None = None) -> psycopg.Connection[Any]:
        conn = self._conn
        if conn is None:
            raise SessionClosed("this session has ended; open a new one")
        if conn.info.transaction_status != TransactionStatus.INTRANS:
            # An earlier statement failed (and was caught), or the guard dropped the connection:
            # the transaction is void, and going on would silently lose every write made so far.
            raise SessionAborted("an earlier statement in this session failed; nothing was saved")
        if query is not None:
            text = query if isinstance(query, str) else query.as_string(conn)
            if refusal := _text_refusal(text):
                raise ForbiddenStatement(refusal)
        return conn

    def _end(self) -> None:
        self._conn = None

    def _run(self, query: Query, params: Params, rows: RowFactory[R]) -> psycopg.Cursor[R]:
        """Run one statement and, in the same round trip, read back the settings it left."""
        conn = self._live(query)
        cur = conn.cursor(row_factory=rows)
        with conn.cursor(row_factory=tuple_row) as check:
            try:
                _in_one_round_trip(conn, (cur, query, params), (check, _READ_CONTEXT, None))
            except psycopg.errors.QueryCanceled as exc:
                raise StatementTimedOut(
                    f"a statement ran past {self._db.statement_timeout_ms} ms and was cancelled"
                ) from exc
            self._verify(check.fetchone())
        return cur

    def _verify(self, row: tuple[Any, ...] | None) -> None:
        """Layer 2 of the guard: the statement left the settings as the session set them."""
        seen = _Context(*row) if row is not None else _Context("?", "?")
        if seen == self._context:
            return
        if self._conn is not None:
            # Kept, though closed: any further use reports the session void (SessionAborted).
            _drop(self._db, self._conn)
        raise TenantContextChanged(
            f"a statement changed {self._context.changed_in(seen)} inside the session; "
            "its transaction was rolled back and the connection dropped"
        )

    def fetch_one(self, model: type[M], query: Query, params: Params = None) -> M | None:
        with self._run(query, params, class_row(model)) as cur:
            return cur.fetchone()

    def fetch_all(self, model: type[M], query: Query, params: Params = None) -> list[M]:
        with self._run(query, params, class_row(model)) as cur:
            return cur.fetchall()

    def scalar(self, query: Query, params: Params = None) -> Any:
        with self._run(query, params, tuple_row) as cur:
            row = cur.fetchone()
        return None if row is None else row[0]

    def column(self, query: Query, params: Params = None) -> list[Any]:
        """The first column of every row."""
        with self._run(query, params, tuple_row) as cur:
            return [row[0] for row in cur.fetchall()]

    def execute(self, query: Query, params: Params = None) -> int:
        """Run one statement; returns the number of rows it touched."""
        with self._run(query, params, tuple_row) as cur:
            return cur.rowcount


class TenantSession(Session):
    def __init__(
        self, conn: psycopg.Connection[Any], db: Database, context: _Context, tenant_id: UUID
    ) -> None:
        super().__init__(conn, db, context)
        self.tenant_id = tenant_id


class SystemSession(Session):
    def __init__(
        self, conn: psycopg.Connection[Any], db: Database, context: _Context, reason: str
    ) -> None:
        super().__init__(conn, db, context)
        self.reason = reason


def _tenant_preamble(db: Database, tenant_id: UUID) -> sql.Composed:
    tid = sql.Literal(str(tenant_id))
    return sql.SQL(
        "BEGIN; SET LOCAL nile.tenant_id = {tid}; SET LOCAL statement_timeout = {timeout}; "
        "SELECT count(*), {context} FROM tenants WHERE id = {tid} AND deleted IS NULL"
    ).format(tid=tid, timeout=sql.Literal(db.statement_timeout_ms), context=_CONTEXT_COLUMNS)


def _system_preamble(db: Database, reason: str) -> sql.Composed:
    statements: list[sql.Composable] = [sql.SQL("BEGIN")]
    if db.flavor == "postgres":
        # Only the vanilla emulation's policies read this; on Nile "no tenant" already means all.
        statements.append(
            sql.SQL("SET LOCAL {} = {}").format(
                sql.Identifier(*SYSTEM_REASON_SETTING.split(".")), sql.Literal(reason)
            )
        )
    statements.append(
        sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(db.statement_timeout_ms))
    )
    statements.append(sql.SQL("SELECT 1, {}").format(_CONTEXT_COLUMNS))
    return sql.SQL("; ").join(statements)


def _is_tenant_context(tenant_id: UUID, context: _Context) -> bool:
    try:
        return UUID(context.tenant) == tenant_id and context.system_reason == ""
    except ValueError:
        return False


def _system_context(db: Database, reason: str) -> _Context:
    return _Context("", reason if db.flavor == "postgres" else "")


def _idle_connection(db: Database) -> psycopg.Connection[Any]:
    conn = db._connection()
    if conn.info.transaction_status != TransactionStatus.IDLE:
        # Interrupted mid-session earlier: never let a new session join that transaction.
        db.discard()
        conn = db._connection()
    return conn


def _send_preamble(conn: psycopg.Connection[Any], preamble: sql.Composed) -> tuple[Any, _Context]:
    cur = conn.execute(preamble)
    while cur.description is None and cur.nextset():
        pass
    row = cur.fetchone()
    assert row is not None  # both preambles end in a SELECT of exactly one row
    answer, tenant, reason = row
    return answer, _Context(tenant, reason)


def _begin(
    db: Database, preamble: sql.Composed, accept: Callable[[_Context], bool]
) -> tuple[psycopg.Connection[Any], Any, _Context]:
    """Open the transaction; return its connection, the preamble's answer and the context the
    server reports, which `accept` approved.

    A connection can die while a Lambda container is frozen; the first statement then fails
    with nothing done yet, which is the one moment a reconnect-and-repeat is always safe. A
    connection that arrives with a context of its own (a server option in the URL, a default
    set on the role) is dropped the same way: no session starts from a context it did not set.
    """
    for attempt in (1, 2):
        conn = _idle_connection(db)
        try:
            answer, context = _send_preamble(conn, preamble)
        except psycopg.OperationalError as exc:
            db.discard()
            if attempt == 2:
                raise DatabaseUnavailable(f"the database cannot be reached: {exc}") from exc
            continue
        except psycopg.Error:
            _rollback(db, conn)
            raise
        if accept(context):
            return conn, answer, context
        _drop(db, conn)
    raise TenantContextChanged(
        "fresh connections arrive with a tenant or system setting already set; "
        "check the database URL's options and the role's defaults"
    )


@contextmanager
def _transaction(
    db: Database, preamble: sql.Composed, accept: Callable[[_Context], bool]
) -> Iterator[tuple[psycopg.Connection[Any], Any, _Context]]:
    if getattr(_open_on_thread, "open", False):
        raise NestedSession("a database session is already open on this thread")
    _open_on_thread.open = True
    try:
        conn, answer, context = _begin(db, preamble, accept)
        try:
            yield conn, answer, context
        except BaseException:
            _rollback(db, conn)
            raise
        if conn.info.transaction_status != TransactionStatus.INTRANS:
            _rollback(db, conn)
            raise SessionAborted("a statement in this session failed; nothing was saved")
        _commit(db, conn)
    finally:
        _open_on_thread.open = False


def _commit(db: Database, conn: psycopg.Connection[Any]) -> None:
    # RESET ALL (layer 3) rides in the COMMIT's round trip: a setting made session-wide inside
    # the transaction, and hidden from the check under a local one, must not reach the next
    # session. A connection that missed its reset is not reused.
    try:
        conn.execute("COMMIT; RESET ALL")
    except psycopg.Error:
        db.discard()
        raise


def _rollback(db: Database, conn: psycopg.Connection[Any]) -> None:
    try:
        conn.execute("ROLLBACK; RESET ALL")
    except psycopg.Error:
        # The connection is unusable; the server rolls back on disconnect.
        db.discard()


def _drop(db: Database, conn: psycopg.Connection[Any]) -> None:
    """Roll back and close: nothing done under a context the session did not set may be kept,
    and the connection's state is no longer trusted."""
    with suppress(psycopg.Error):  # closing rolls back too; this only makes it not depend on that
        conn.execute("ROLLBACK")
    db.discard()


@contextmanager
def tenant_session(
    tenant_id: UUID | str, *, database: Database | None = None
) -> Iterator[TenantSession]:
    """A transaction scoped to one tenant. Raises InvalidTenantId before any SQL, and
    UnknownTenant before any of the caller's SQL."""
    tid = parse_tenant_id(tenant_id)
    db = database or default_database()
    preamble = _tenant_preamble(db, tid)
    with _transaction(db, preamble, lambda c: _is_tenant_context(tid, c)) as (conn, found, ctx):
        if not found:
            raise UnknownTenant(tid)
        session = TenantSession(conn, db, ctx, tid)
        try:
            yield session
        finally:
            session._end()


@contextmanager
def system_session(reason: str, *, database: Database | None = None) -> Iterator[SystemSession]:
    """A named cross-tenant transaction; `reason` (a short slug) shows why it exists."""
    if not _REASON.fullmatch(reason):
        raise InvalidSessionReason(f"session reason {reason!r} must be a short lowercase slug")
    db = database or default_database()
    expected = _system_context(db, reason)
    with _transaction(db, _system_preamble(db, reason), lambda c: c == expected) as (conn, _, ctx):
        session = SystemSession(conn, db, ctx, reason)
        try:
            yield session
        finally:
            session._end()
