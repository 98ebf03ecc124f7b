"""Tenant and system sessions: the only way application code reaches tenant tables.

`tenant_session(id)` opens a transaction whose very first statement is
`SET LOCAL nile.tenant_id = '<uuid>'` (Nile accepts the setting only there; psycopg cannot bind a
parameter in SET, so the uuid is validated and rendered as a literal). The setting dies with the
transaction, so it cannot outlive it, and sessions never nest on a thread, so it cannot leak.

`system_session(reason)` is the explicit, named cross-tenant context (reconcile, mapping a Stripe
customer to its tenant, shared tables). On vanilla PostgreSQL the row-level-security policies
admit its reads; they never admit its writes to tenant rows — those happen in tenant sessions.

Preamble, existence check and timeout go to the server as one simple query: one round trip.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import class_row
from pydantic import BaseModel

from inboxfleet.db.connection import Database, default_database
from inboxfleet.db.errors import (
    ForbiddenStatement,
    InvalidSessionReason,
    InvalidTenantId,
    NestedSession,
    SessionAborted,
    SessionClosed,
    UnknownTenant,
)

M = TypeVar("M", bound=BaseModel)
Params = Sequence[Any] | dict[str, Any] | None
Query = str | sql.SQL | sql.Composed

SYSTEM_REASON_SETTING = "inboxfleet.system_reason"
_REASON = re.compile(r"[a-z][a-z0-9_.:-]{0,62}")
# Statements that would end the session's transaction or change its context from inside it.
_CONTEXT_CHANGING = re.compile(
    r"\s*(BEGIN|START|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE|PREPARE|SET|RESET|DISCARD)\b",
    re.IGNORECASE,
)
_open_on_thread = threading.local()


def parse_tenant_id(value: object) -> UUID:
    if isinstance(value, UUID):
        return value
    if not isinstance(value, str):
        raise InvalidTenantId(value)
    try:
        return UUID(value)
    except ValueError:
        raise InvalidTenantId(value) from None


class Session:
    """A live transaction. Repositories take one; it refuses all use once the block has ended."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn: psycopg.Connection[Any] | None = conn

    def _live(self, query: Query | None = None) -> psycopg.Connection[Any]:
        conn = self._conn
        if conn is None:
            raise SessionClosed("this session has ended; open a new one")
        if conn.info.transaction_status != TransactionStatus.INTRANS:
            # An earlier statement failed (and was caught): the transaction is void, and going
            # on would silently lose every write made so far.
            raise SessionAborted("an earlier statement in this session failed; nothing was saved")
        if query is not None:
            text = query if isinstance(query, str) else query.as_string(conn)
            if _CONTEXT_CHANGING.match(text) or ";" in text.rstrip().rstrip(";"):
                raise ForbiddenStatement(
                    "sessions run single statements; transactions and settings are theirs"
                )
        return conn

    def _end(self) -> None:
        self._conn = None

    def fetch_one(self, model: type[M], query: Query, params: Params = None) -> M | None:
        with self._live(query).cursor(row_factory=class_row(model)) as cur:
            cur.execute(query, params)
            return cur.fetchone()

    def fetch_all(self, model: type[M], query: Query, params: Params = None) -> list[M]:
        with self._live(query).cursor(row_factory=class_row(model)) as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def scalar(self, query: Query, params: Params = None) -> Any:
        row = self._live(query).execute(query, params).fetchone()
        return None if row is None else row[0]

    def column(self, query: Query, params: Params = None) -> list[Any]:
        """The first column of every row."""
        return [row[0] for row in self._live(query).execute(query, params).fetchall()]

    def execute(self, query: Query, params: Params = None) -> int:
        """Run one statement; returns the number of rows it touched."""
        return self._live(query).execute(query, params).rowcount


class TenantSession(Session):
    def __init__(self, conn: psycopg.Connection[Any], tenant_id: UUID) -> None:
        super().__init__(conn)
        self.tenant_id = tenant_id


class SystemSession(Session):
    def __init__(self, conn: psycopg.Connection[Any], reason: str) -> None:
        super().__init__(conn)
        self.reason = reason


def _tenant_preamble(db: Database, tenant_id: UUID) -> sql.Composed:
    tid = sql.Literal(str(tenant_id))
    return sql.SQL(
        "BEGIN; SET LOCAL nile.tenant_id = {tid}; SET LOCAL statement_timeout = {timeout}; "
        "SELECT count(*) FROM tenants WHERE id = {tid} AND deleted IS NULL"
    ).format(tid=tid, timeout=sql.Literal(db.statement_timeout_ms))


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
    statements.append(sql.SQL("SELECT 1"))
    return sql.SQL("; ").join(statements)


def _begin(db: Database, preamble: sql.Composed) -> tuple[psycopg.Connection[Any], Any]:
    """Open the transaction and return the preamble's final answer.

    A connection can die while a Lambda container is frozen; the first statement then fails
    with nothing done yet, which is the one moment a reconnect-and-repeat is always safe.
    """
    for attempt in (1, 2):
        conn = db._connection()
        if conn.info.transaction_status != TransactionStatus.IDLE:
            # Interrupted mid-session earlier: never let a new session join that transaction.
            db.discard()
            conn = db._connection()
        try:
            cur = conn.execute(preamble)
            while cur.description is None and cur.nextset():
                pass
            row = cur.fetchone()
            return conn, None if row is None else row[0]
        except psycopg.OperationalError:
            db.discard()
            if attempt == 2:
                raise
        except psycopg.Error:
            _rollback(db, conn)
            raise
    raise AssertionError("unreachable")


@contextmanager
def _transaction(db: Database, preamble: sql.Composed) -> Iterator[tuple[Any, Any]]:
    if getattr(_open_on_thread, "open", False):
        raise NestedSession("a database session is already open on this thread")
    _open_on_thread.open = True
    try:
        conn, answer = _begin(db, preamble)
        try:
            yield conn, answer
        except BaseException:
            _rollback(db, conn)
            raise
        if conn.info.transaction_status != TransactionStatus.INTRANS:
            _rollback(db, conn)
            raise SessionAborted("a statement in this session failed; nothing was saved")
        try:
            conn.execute("COMMIT")
        except psycopg.OperationalError:
            db.discard()
            raise
    finally:
        _open_on_thread.open = False


def _rollback(db: Database, conn: psycopg.Connection[Any]) -> None:
    try:
        conn.execute("ROLLBACK")
    except psycopg.Error:
        # The connection is unusable; the server rolls back on disconnect.
        db.discard()


@contextmanager
def tenant_session(
    tenant_id: UUID | str, *, database: Database | None = None
) -> Iterator[TenantSession]:
    """A transaction scoped to one tenant. Raises InvalidTenantId before any SQL, and
    UnknownTenant before any of the caller's SQL."""
    tid = parse_tenant_id(tenant_id)
    db = database or default_database()
    with _transaction(db, _tenant_preamble(db, tid)) as (conn, found):
        if not found:
            raise UnknownTenant(tid)
        session = TenantSession(conn, tid)
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
    with _transaction(db, _system_preamble(db, reason)) as (conn, _):
        session = SystemSession(conn, reason)
        try:
            yield session
        finally:
            session._end()
