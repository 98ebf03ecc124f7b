"""The tenant context cannot be changed from inside a session (issue 10, section 2).

Raw SQL in a session is application code, but a bug there must not move the session to another
tenant, open a tenant session to every tenant, let a system session write as a tenant, or carry a
context into the next session on the same connection (a warm Lambda reuses its connection).

Every attack runs with another tenant's rows in the database; each test checks what the attack
read, what it wrote, and what the next sessions on the same thread see. The text check and the
settings check after every statement are also tried one without the other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from uuid import UUID

import psycopg
import pytest

from inboxfleet.db import (
    Database,
    ForbiddenStatement,
    SessionAborted,
    system_session,
    tenant_session,
)
from inboxfleet.db import sessions as sessions_module
from inboxfleet.db.connection import app_conninfo
from inboxfleet.db.errors import TenantContextChanged
from inboxfleet.db.repositories import Domains
from inboxfleet.db.sessions import Session
from inboxfleet.settings import DatabaseSettings
from tests.factories import new_tenant

TENANT = "SELECT current_setting('nile.tenant_id', true)"
REASON = "SELECT current_setting('inboxfleet.system_reason', true)"
DOMAIN_TENANTS = "SELECT DISTINCT tenant_id FROM domains"
TAKEN_OVER = "taken over"


def do_block(body: str) -> str:
    """A DO block with no semicolon in its text: the escape string spells them."""
    escaped = body.replace("'", "''").replace(";", "\\x3b")
    return f"DO E'BEGIN {escaped} END'"


# Statements that leave the session under another context when they end. <other> and <mine>
# stand for the two tenants' ids.
CHANGE_FROM_TENANT = {
    "block comment, SET LOCAL": "/* x */ SET LOCAL nile.tenant_id = '<other>'",
    "nested block comment, SET": "/* a /* b */ SET */ SET nile.tenant_id = '<other>'",
    "line comment, SET LOCAL": "-- x\nSET LOCAL nile.tenant_id = '<other>'",
    "line comment, SET": "-- x\n  SET nile.tenant_id = '<other>'",
    "set_config local": "SELECT set_config('nile.tenant_id', '<other>', true)",
    "set_config session": "SELECT set_config('nile.tenant_id', '<other>', false)",
    "set_config local in a CTE": (
        "WITH x AS (SELECT set_config('nile.tenant_id', '<other>', true) AS v) "
        "SELECT count(*) FROM x"
    ),
    "set_config session in a CTE": (
        "WITH x AS (SELECT set_config('nile.tenant_id', '<other>', false) AS v) "
        "SELECT count(*) FROM x"
    ),
    "set_config qualified, upper case": (
        "SELECT PG_CATALOG.SET_CONFIG('nile.tenant_id', '<other>', false)"
    ),
    "set_config behind a unicode-escaped name": (
        "SELECT U&\"set\\005fconfig\"('nile.tenant_id', '<other>', true)"
    ),
    "DO block": do_block("PERFORM set_config('nile.tenant_id', '<other>', false);"),
    "DO block, dynamic SQL": do_block(
        "EXECUTE 'SELECT set_' || 'config(''nile.tenant_id'', ''<other>'', false)';"
    ),
    "SQL text run by a function": (
        "SELECT ts_stat('SELECT to_tsvector(set_' || "
        "'config(''nile.tenant_id'', ''<other>'', true))')"
    ),
    "system reason and no tenant": (
        "SELECT set_config('nile.tenant_id', '', true), "
        "set_config('inboxfleet.system_reason', 'sneaky', true)"
    ),
    "system reason, session-wide": (
        "SELECT set_config('inboxfleet.system_reason', 'sneaky', false)"
    ),
}

CHANGE_FROM_SYSTEM = {
    "block comment, SET LOCAL": "/* x */ SET LOCAL nile.tenant_id = '<other>'",
    "line comment, SET": "-- x\nSET nile.tenant_id = '<other>'",
    "set_config local": "SELECT set_config('nile.tenant_id', '<other>', true)",
    "set_config session": "SELECT set_config('nile.tenant_id', '<other>', false)",
    "set_config session in a CTE": (
        "WITH x AS (SELECT set_config('nile.tenant_id', '<other>', false) AS v) "
        "SELECT count(*) FROM x"
    ),
    "another reason": "SELECT set_config('inboxfleet.system_reason', 'another.reason', true)",
    "reason cleared, session-wide": ("SELECT set_config('inboxfleet.system_reason', '', false)"),
}

# Statements that switch to the other tenant and back within themselves: the settings after
# them look untouched, so only the text check can stop them. Each returns what it read.
SWITCH_AND_BACK = {
    "set_config": (
        "SELECT array_to_string(ARRAY[set_config('nile.tenant_id', '<other>', true), "
        "(SELECT string_agg(tenant_id::text, ',') FROM domains), "
        "set_config('nile.tenant_id', '<mine>', true)], '|')"
    ),
    "unicode-escaped name": (
        "SELECT array_to_string(ARRAY[U&\"set\\005fconfig\"('nile.tenant_id', '<other>', true), "
        "(SELECT string_agg(tenant_id::text, ',') FROM domains), "
        "U&\"set\\005fconfig\"('nile.tenant_id', '<mine>', true)], '|')"
    ),
    "SQL text run by query_to_xml": (
        "SELECT array_to_string(ARRAY["
        "query_to_xml('SELECT set_' || 'config(''nile.tenant_id'', ''<other>'', true)', "
        "true, true, '')::text, (SELECT string_agg(tenant_id::text, ',') FROM domains), "
        "query_to_xml('SELECT set_' || 'config(''nile.tenant_id'', ''<mine>'', true)', "
        "true, true, '')::text], '|')"
    ),
    "SQL text run by ts_stat": (
        "SELECT array_to_string(ARRAY["
        "ts_stat('SELECT to_tsvector(set_' || 'config(''nile.tenant_id'', ''<other>'', true))')"
        "::text, (SELECT string_agg(tenant_id::text, ',') FROM domains), "
        "ts_stat('SELECT to_tsvector(set_' || 'config(''nile.tenant_id'', ''<mine>'', true))')"
        "::text], '|')"
    ),
    # The view's update rule calls set_config once per joined row (where the setting is a
    # registered one, as it may be on Nile; vanilla PostgreSQL hides placeholders from it).
    "UPDATE pg_settings": (
        "UPDATE pg_catalog.pg_settings SET setting = CASE v.n WHEN 1 THEN '<other>' "
        "ELSE '<mine>' END FROM (VALUES (1), (2)) AS v(n) WHERE name = 'nile.tenant_id'"
    ),
}


@dataclass(frozen=True)
class Tenants:
    mine: UUID
    other: UUID

    def fill(self, template: str) -> str:
        return template.replace("<other>", str(self.other)).replace("<mine>", str(self.mine))


@dataclass
class Attempt:
    """What an attacked session managed before it was stopped."""

    error: Exception | None = None
    read: set[UUID] | None = None  # tenants whose rows it read after the statement
    wrote: list[int] | None = None  # rows touched by writes aimed at the other tenant
    backend: int | None = None


def domain(tenant: UUID, label: str = "d") -> str:
    return f"{label}{tenant.hex[:12]}.example"


@pytest.fixture
def tenants(app_db: Database) -> Iterator[Tenants]:
    pair = Tenants(new_tenant("mine"), new_tenant("other"))
    for tenant in (pair.mine, pair.other):
        with tenant_session(tenant) as s:
            Domains(s).add(domain(tenant))
    yield pair
    app_db.discard()  # whatever an attack left on this thread's connection stays in this test


@pytest.fixture
def settings_check_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The text check switched off: the settings check must hold on its own."""
    monkeypatch.setattr(sessions_module, "_text_refusal", lambda text: None)


def write_as_other(s: Session, tenants: Tenants) -> list[int]:
    """Writes only the other tenant's context would admit."""
    renamed = s.execute("UPDATE tenants SET name = %s WHERE id = %s", (TAKEN_OVER, tenants.other))
    planted = s.execute(
        "INSERT INTO domains (tenant_id, name) VALUES (%s, %s)",
        (tenants.other, domain(tenants.other, "planted")),
    )
    return [renamed, planted]


def attack_tenant_session(tenants: Tenants, statement: str) -> Attempt:
    attempt = Attempt()
    try:
        with tenant_session(tenants.mine) as s:
            attempt.backend = s.scalar("SELECT pg_backend_pid()")
            Domains(s).add(domain(tenants.mine, "before"))  # must be rolled back
            s.execute(tenants.fill(statement))
            attempt.read = set(s.column(DOMAIN_TENANTS))
            attempt.wrote = write_as_other(s, tenants)
    except Exception as exc:  # what is raised is asserted by the caller
        attempt.error = exc
    return attempt


def attack_system_session(tenants: Tenants, statement: str, db: Database | None = None) -> Attempt:
    attempt = Attempt()
    try:
        with system_session("tests.attack", database=db) as s:
            attempt.backend = s.scalar("SELECT pg_backend_pid()")
            s.execute(tenants.fill(statement))
            attempt.wrote = write_as_other(s, tenants)
    except Exception as exc:  # what is raised is asserted by the caller
        attempt.error = exc
    return attempt


def assert_nothing_kept(tenants: Tenants) -> None:
    """No write of the attacked session was committed, on either tenant."""
    with system_session("tests.after_attack") as s:
        names = set(s.column("SELECT name FROM domains"))
        other_name = s.scalar("SELECT name FROM tenants WHERE id = %s", (tenants.other,))
    assert domain(tenants.mine, "before") not in names
    assert domain(tenants.other, "planted") not in names
    assert other_name != TAKEN_OVER


def assert_next_sessions_clean(tenants: Tenants) -> None:
    """The next sessions on this thread run under exactly the context they set."""
    with tenant_session(tenants.mine) as s:
        context = (s.scalar(TENANT), s.scalar(REASON) or "")
        seen = set(s.column(DOMAIN_TENANTS))
    assert context == (str(tenants.mine), "")
    assert seen == {tenants.mine}
    with system_session("tests.after_attack") as s:
        context = (s.scalar(TENANT) or "", s.scalar(REASON))
        seen = set(s.column(DOMAIN_TENANTS))
    assert context == ("", "tests.after_attack")
    assert {tenants.mine, tenants.other} <= seen


@pytest.mark.parametrize("statement", CHANGE_FROM_TENANT.values(), ids=CHANGE_FROM_TENANT.keys())
def test_a_tenant_session_cannot_change_its_context(
    app_db: Database, tenants: Tenants, statement: str
) -> None:
    attempt = attack_tenant_session(tenants, statement)
    assert attempt.read is None, f"the session went on and read the rows of {attempt.read}"
    assert attempt.wrote is None, f"the session went on and wrote {attempt.wrote} rows"
    assert isinstance(attempt.error, ForbiddenStatement), repr(attempt.error)
    assert_nothing_kept(tenants)
    assert_next_sessions_clean(tenants)


@pytest.mark.parametrize("statement", CHANGE_FROM_SYSTEM.values(), ids=CHANGE_FROM_SYSTEM.keys())
def test_a_system_session_cannot_change_its_context(
    app_db: Database, tenants: Tenants, statement: str
) -> None:
    attempt = attack_system_session(tenants, statement)
    assert attempt.wrote is None, f"the session went on and wrote {attempt.wrote} rows"
    assert isinstance(attempt.error, ForbiddenStatement), repr(attempt.error)
    assert_nothing_kept(tenants)
    assert_next_sessions_clean(tenants)


@pytest.mark.parametrize("statement", SWITCH_AND_BACK.values(), ids=SWITCH_AND_BACK.keys())
def test_switching_to_another_tenant_and_back_within_a_statement_is_refused(
    app_db: Database, tenants: Tenants, statement: str
) -> None:
    read: str | None = None
    with pytest.raises(ForbiddenStatement), tenant_session(tenants.mine) as s:
        read = s.scalar(tenants.fill(statement))
    assert read is None, f"the statement returned {read!r}"
    assert_next_sessions_clean(tenants)


def test_a_do_block_cannot_write_as_another_tenant_and_switch_back(
    app_db: Database, tenants: Tenants
) -> None:
    statement = do_block(
        "PERFORM set_config('nile.tenant_id', '<other>', true); "
        f"UPDATE tenants SET name = '{TAKEN_OVER}' WHERE id = '<other>'; "
        "PERFORM set_config('nile.tenant_id', '<mine>', true);"
    )
    with pytest.raises(ForbiddenStatement), tenant_session(tenants.mine) as s:
        s.execute(tenants.fill(statement))
    assert_nothing_kept(tenants)


@pytest.mark.parametrize("statement", CHANGE_FROM_TENANT.values(), ids=CHANGE_FROM_TENANT.keys())
@pytest.mark.usefixtures("settings_check_only")
def test_the_settings_check_alone_stops_a_tenant_session(
    app_db: Database, tenants: Tenants, statement: str
) -> None:
    attempt = attack_tenant_session(tenants, statement)
    assert (attempt.read, attempt.wrote) == (None, None)
    assert isinstance(attempt.error, TenantContextChanged), repr(attempt.error)
    assert_nothing_kept(tenants)
    with tenant_session(tenants.mine) as s:  # the connection was dropped, not reused
        assert s.scalar("SELECT pg_backend_pid()") != attempt.backend
    assert_next_sessions_clean(tenants)


@pytest.mark.parametrize("statement", CHANGE_FROM_SYSTEM.values(), ids=CHANGE_FROM_SYSTEM.keys())
@pytest.mark.usefixtures("settings_check_only")
def test_the_settings_check_alone_stops_a_system_session(
    app_db: Database, tenants: Tenants, statement: str
) -> None:
    attempt = attack_system_session(tenants, statement)
    assert attempt.wrote is None
    assert isinstance(attempt.error, TenantContextChanged), repr(attempt.error)
    assert_nothing_kept(tenants)
    with system_session("tests.after_attack") as s:
        assert s.scalar("SELECT pg_backend_pid()") != attempt.backend
    assert_next_sessions_clean(tenants)


@pytest.mark.usefixtures("settings_check_only")
def test_a_nile_flavoured_system_session_also_keeps_its_context(
    tenants: Tenants, migrated_url: str
) -> None:
    """On Nile a system session sets no reason: the check expects both settings empty."""
    db = Database(lambda force: app_conninfo(migrated_url), "nile", DatabaseSettings())
    try:
        with system_session("tests.nile", database=db) as s:
            assert s.scalar("SELECT 1") == 1
        attempt = attack_system_session(tenants, CHANGE_FROM_SYSTEM["set_config local"], db)
    finally:
        db.close()
    assert isinstance(attempt.error, TenantContextChanged), repr(attempt.error)
    assert_nothing_kept(tenants)


@pytest.mark.usefixtures("settings_check_only")
def test_a_caught_context_error_voids_the_session(app_db: Database, tenants: Tenants) -> None:
    read: set[UUID] | None = None
    with pytest.raises(SessionAborted), tenant_session(tenants.mine) as s:
        Domains(s).add(domain(tenants.mine, "before"))
        with pytest.raises(TenantContextChanged):
            s.execute(tenants.fill(CHANGE_FROM_TENANT["set_config local"]))
        read = set(s.column(DOMAIN_TENANTS))  # the caller carries on regardless
    assert read is None
    assert_nothing_kept(tenants)
    assert_next_sessions_clean(tenants)


@pytest.mark.usefixtures("settings_check_only")
def test_a_session_wide_setting_that_got_committed_does_not_outlive_the_session(
    app_db: Database, tenants: Tenants
) -> None:
    """Set session-wide, hidden under a local value: the check after the statement sees the
    session's own tenant, the transaction commits, and the session-wide value would surface
    when it ends. Resetting the connection when a session ends removes it."""
    masked = (
        "SELECT set_config('nile.tenant_id', '<other>', false), "
        "set_config('nile.tenant_id', '<mine>', true)"
    )
    with tenant_session(tenants.mine) as s:
        backend = s.scalar("SELECT pg_backend_pid()")
        s.execute(tenants.fill(masked))
    with system_session("tests.after_commit") as s:
        assert s.scalar("SELECT pg_backend_pid()") == backend  # the same, warm connection
        assert s.scalar(TENANT) in ("", None)
        assert {tenants.mine, tenants.other} <= set(s.column(DOMAIN_TENANTS))
    assert_next_sessions_clean(tenants)


def connecting_with(options: Callable[[int], str], migrated_url: str) -> tuple[Database, list[int]]:
    """A Database whose n-th connection carries `options(n)`; returns it and the list of
    connections it opened."""
    opened: list[int] = []

    def conninfo(force: bool) -> str:
        opened.append(len(opened) + 1)
        extra = options(len(opened))
        return app_conninfo(migrated_url) + (f" options='{extra}'" if extra else "")

    return Database(conninfo, "postgres", DatabaseSettings()), opened


def test_a_system_session_never_starts_under_a_tenant(tenants: Tenants, migrated_url: str) -> None:
    """A connection that arrives with a tenant set (here: a server option in the URL, which no
    reset removes) is dropped; a system session starts only from an empty tenant setting."""
    db, opened = connecting_with(lambda n: f"-c nile.tenant_id={tenants.other}", migrated_url)
    try:
        with (
            pytest.raises(TenantContextChanged),
            system_session("tests.tainted", database=db) as s,
        ):
            pytest.fail(f"the session started and saw {set(s.column(DOMAIN_TENANTS))}")
        assert len(opened) == 2  # a fresh connection was tried before giving up
        with tenant_session(tenants.mine, database=db) as s:  # its own tenant overrides it
            assert set(s.column(DOMAIN_TENANTS)) == {tenants.mine}
    finally:
        db.close()


def test_a_system_session_starts_again_on_a_fresh_connection(
    tenants: Tenants, migrated_url: str
) -> None:
    db, opened = connecting_with(
        lambda n: f"-c nile.tenant_id={tenants.other}" if n == 1 else "", migrated_url
    )
    try:
        with system_session("tests.retried", database=db) as s:
            assert s.scalar(TENANT) in ("", None)
            assert {tenants.mine, tenants.other} <= set(s.column(DOMAIN_TENANTS))
    finally:
        db.close()
    assert len(opened) == 2


def test_comments_before_an_ordinary_statement_are_fine(app_db: Database, tenants: Tenants) -> None:
    with tenant_session(tenants.mine) as s:
        seen = s.column(f"/* why */ -- and how\n {DOMAIN_TENANTS}")
    assert seen == [tenants.mine]


def test_a_failing_statement_raises_its_own_error_and_logs_nothing(
    app_db: Database, tenants: Tenants, caplog: pytest.LogCaptureFixture
) -> None:
    """The check rides in a pipeline behind the statement; when the statement fails, the caller
    sees the statement's error, and psycopg logs no second, ignored one for the check."""
    with caplog.at_level(logging.WARNING, logger="psycopg"):
        for _ in range(10):  # how soon the error arrives varies; give each timing a chance
            with (
                pytest.raises(SessionAborted),
                tenant_session(tenants.mine) as s,
                pytest.raises(psycopg.errors.UniqueViolation),
            ):
                Domains(s).add(domain(tenants.mine))  # the fixture added it already
    assert [r.getMessage() for r in caplog.records if r.name.startswith("psycopg")] == []
