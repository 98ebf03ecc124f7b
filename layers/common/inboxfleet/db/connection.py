"""Connections: one per thread, reused across warm invocations, re-opened after a failure.

A Lambda container runs one invocation at a time, so "one per thread" is "one per container"
there; the local cloud runs handlers on threads, where sharing a connection would let one
thread's tenant setting meet another's queries. Nothing here hands a connection out: sessions
(inboxfleet.db.sessions) are the only users.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, Literal

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from inboxfleet.db.errors import DatabaseUnavailable, NotConfigured
from inboxfleet.settings import DatabaseSettings, database_settings_from_env

APP_ROLE = "inboxfleet_app"
Flavor = Literal["nile", "postgres"]


def _parse(conninfo: str) -> dict[str, Any]:
    try:
        return conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        # psycopg's message repeats the whole URL, password included.
        raise NotConfigured("the database URL is not a valid connection string") from None


def resolve_flavor(settings_flavor: str, conninfo: str) -> Flavor:
    if settings_flavor in ("nile", "postgres"):
        return settings_flavor  # type: ignore[return-value]
    host = str(_parse(conninfo).get("host") or "")
    return "nile" if host.endswith(".thenile.dev") else "postgres"


def app_conninfo(owner_conninfo: str) -> str:
    """The owner's URL with the app role as user: on vanilla PostgreSQL the application must not
    connect as the tables' owner, or row-level security would not apply to it."""
    params = _parse(owner_conninfo)
    params.pop("password", None)
    params["user"] = APP_ROLE
    return make_conninfo("", **params)


class _Held:
    """A thread's connection; closed when the thread (and so its thread-local) goes away."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def __del__(self) -> None:
        self.conn.close()


class Database:
    """Where the application's connections come from. Each thread gets its own, opened on
    first use; `conninfo` is asked again (force=True) when a connection fails, so a rotated
    secret is picked up without a cold start."""

    def __init__(
        self,
        conninfo: Callable[[bool], str],
        flavor: Flavor,
        settings: DatabaseSettings,
    ) -> None:
        self._conninfo = conninfo
        self.flavor: Flavor = flavor
        self.statement_timeout_ms = settings.statement_timeout_ms
        self._connect_timeout_s = settings.connect_timeout_s
        self._local = threading.local()
        self._all: weakref.WeakSet[psycopg.Connection[Any]] = weakref.WeakSet()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: DatabaseSettings) -> Database:
        def owner_url(force: bool) -> str:
            if settings.url is not None:
                return settings.url.get_secret_value()
            if settings.url_secret:
                from inboxfleet.secret_store import get_secret

                return get_secret(settings.url_secret, force=force)
            raise NotConfigured(
                "no database configured: set DATABASE_URL, or DATABASE_URL_SECRET in Lambda"
            )

        flavor = resolve_flavor(settings.flavor, owner_url(False))

        def conninfo(force: bool) -> str:
            if settings.app_url is not None:
                return settings.app_url.get_secret_value()
            owner = owner_url(force)
            return owner if flavor == "nile" else app_conninfo(owner)

        return cls(conninfo, flavor, settings)

    def _connection(self) -> psycopg.Connection[Any]:
        held: _Held | None = getattr(self._local, "held", None)
        if held is None or held.conn.closed or held.conn.broken:
            try:
                held = _Held(self._connect())
            except psycopg.OperationalError as exc:
                # Its text names the host and port, never the password: safe to pass on.
                raise DatabaseUnavailable(f"the database cannot be reached: {exc}") from exc
            self._local.held = held
            with self._lock:
                self._all.add(held.conn)
        return held.conn

    def _connect(self) -> psycopg.Connection[Any]:
        cached = self._conninfo(False)
        try:
            return self._open(cached)
        except psycopg.OperationalError:
            # libpq reports refused credentials as text only, so any failure re-reads the
            # secret once; only a changed value is worth a second attempt.
            fresh = self._conninfo(True)
            if fresh == cached:
                raise
        return self._open(fresh)

    def _open(self, conninfo: str) -> psycopg.Connection[Any]:
        _parse(conninfo)  # a malformed URL fails here, without repeating it
        return psycopg.connect(
            conninfo,
            autocommit=True,  # sessions send BEGIN/COMMIT themselves, preamble included
            connect_timeout=self._connect_timeout_s,
            application_name="inboxfleet",
            # Never prepared, on every server: Nile pools server-side and prepared statements do
            # not survive that; and a statement planned with its values fits the tenant at hand
            # (a generic plan would page a 20,000-inbox tenant like an average one), so local
            # plans are production's.
            prepare_threshold=None,
        )

    def discard(self) -> None:
        """Drop this thread's connection (after a failure); the next use opens a new one."""
        held: _Held | None = getattr(self._local, "held", None)
        self._local.held = None
        if held is not None:
            held.conn.close()

    def close(self) -> None:
        """Close every thread's connection (tests and the local cloud, at shutdown)."""
        with self._lock:
            conns = list(self._all)
        for conn in conns:
            conn.close()


_default: Database | None = None
_default_lock = threading.Lock()


def default_database() -> Database:
    """The process-wide Database, built from the environment on first use."""
    global _default  # noqa: PLW0603 - a lazily built per-container singleton is the point
    with _default_lock:
        if _default is None:
            _default = Database.from_settings(database_settings_from_env())
        return _default


def use_database(database: Database | None) -> Database | None:
    """Replace the process-wide Database (local cloud and tests); returns the previous one."""
    global _default
    with _default_lock:
        previous, _default = _default, database
    return previous
