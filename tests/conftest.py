"""Shared fixtures: a real PostgreSQL server for the whole run, a migrated database per need."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from inboxfleet.db import Database
from inboxfleet.db.connection import resolve_flavor
from inboxfleet.db.migrator import migrate
from local.embedded_db import installed_database, postgres_server, scratch_database

# leakcheck also turns Powertools logging up to DEBUG; nothing above creates a Powertools logger.
pytest_plugins = ["tests.leakcheck", "pytester"]


def pytest_configure(config: pytest.Config) -> None:
    """A suite started as a background job (`make test &` in a script) inherits SIGINT ignored,
    and so would every process it spawns: the tests that press Ctrl-C on `up` or a simulator
    would wait in vain. A handler here is reset to the default in each child, as a terminal
    would have it."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Owner conninfo of the server every database test uses (embedded unless DATABASE_URL)."""
    with postgres_server() as url:
        yield url


@pytest.fixture
def empty_database(pg_server: str) -> Iterator[str]:
    """A fresh, empty database (owner conninfo), dropped after the test."""
    with scratch_database(pg_server, "empty") as url:
        yield url


@pytest.fixture(scope="session")
def migrated_url(pg_server: str) -> Iterator[str]:
    """Owner conninfo of one migrated database shared by the session's tests."""
    with scratch_database(pg_server, "shared") as url:
        migrate(url, resolve_flavor("auto", url))
        yield url


@pytest.fixture(scope="session")
def app_db(migrated_url: str) -> Iterator[Database]:
    """The application's Database (app role, RLS applies) on the shared migrated database,
    installed as the process default."""
    with installed_database(migrated_url) as db:
        yield db


@pytest.fixture
def fresh_app_db(pg_server: str) -> Iterator[Database]:
    """Like app_db, on a freshly migrated database of the test's own (for fixed-id samples)."""
    with scratch_database(pg_server, "fresh") as url:
        migrate(url, resolve_flavor("auto", url))
        with installed_database(url) as db:
            yield db
