"""Connections: one per thread, reused across warm invocations, re-opened after a failure.

A Lambda container runs one invocation at a time, so "one per thread" is "one per container"
there; the local cloud runs handlers on threads, where sharing a connection would let one
thread's tenant setting meet another's queries.
"""

from __future__ import annotations

import threading
import weakref
from typing import Literal

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from inboxfleet.db.errors import NotConfigured
from inboxfleet.settings import DatabaseSettings, database_settings_from_env

APP_ROLE = "inboxfleet_app"
Flavor = Literal["nile", "postgres"]


def resolve_flavor(settings_flavor: str, conninfo: str) -> Flavor:
    if settings_flavor in ("nile", "postgres"):
        return settings_flavor  # type: ignore[return-value]
    host = str(conninfo_to_dict(conninfo).get("host") or "")
    return "nile" if host.endswith(".thenile.dev") else "postgres"


def app_conninfo(owner_conninfo: str) -> str:
    """The owner's URL with the app role as user: on vanilla PostgreSQL the application must not
    connect as the tables' owner, or row-level security would not apply to it."""
    params = conninfo_to_dict(owner_conninfo)
    params.pop("password", None)
    params["user"] = APP_ROLE
    return make_conninfo("", **params)


class Database:
    """Where the application's connections come from. Holds no connection itself: each thread
    gets its own, opened on first use."""

    def __init__(self, conninfo: str, flavor: Flavor, settings: DatabaseSettings) -> None:
        self._conninfo = conninfo
        self.flavor: Flavor = flavor
        self.statement_timeout_ms = settings.statement_timeout_ms
        self._connect_timeout_s = settings.connect_timeout_s
        self._local = threading.local()
        self._all: weakref.WeakSet[psycopg.Connection[tuple[object, ...]]] = weakref.WeakSet()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: DatabaseSettings) -> Database:
        if settings.url is not None:
            owner = settings.url.get_secret_value()
        elif settings.url_secret:
            from inboxfleet.secret_store import get_secret

            owner = get_secret(settings.url_secret)
        else:
            raise NotConfigured(
                "no database configured: set DATABASE_URL, or DATABASE_URL_SECRET in Lambda"
            )
        flavor = resolve_flavor(settings.flavor, owner)
        if settings.app_url is not None:
            conninfo = settings.app_url.get_secret_value()
        else:
            conninfo = owner if flavor == "nile" else app_conninfo(owner)
        return cls(conninfo, flavor, settings)

    def connection(self) -> psycopg.Connection[tuple[object, ...]]:
        conn: psycopg.Connection[tuple[object, ...]] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = psycopg.connect(
                self._conninfo,
                autocommit=True,  # sessions send BEGIN/COMMIT themselves, preamble included
                connect_timeout=self._connect_timeout_s,
                application_name="inboxfleet",
                # Nile pools server-side; prepared statements do not survive that.
                prepare_threshold=None if self.flavor == "nile" else 5,
            )
            self._local.conn = conn
            with self._lock:
                self._all.add(conn)
        return conn

    def discard(self) -> None:
        """Drop this thread's connection (after a failure); the next use opens a new one."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

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
