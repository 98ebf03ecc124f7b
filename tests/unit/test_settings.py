from __future__ import annotations

import pytest

from inboxfleet.db.connection import APP_ROLE, app_conninfo, resolve_flavor
from inboxfleet.settings import SettingsError, database_settings_from_env, environment_name


def test_defaults_with_an_empty_environment() -> None:
    s = database_settings_from_env({})
    assert (s.url, s.url_secret, s.app_url, s.flavor) == (None, None, None, "auto")
    assert (s.connect_timeout_s, s.statement_timeout_ms) == (5, 15_000)
    assert environment_name({}) == "local"


def test_values_are_read_and_validated() -> None:
    s = database_settings_from_env(
        {"DATABASE_URL": "postgresql://u:pw@h/db", "DATABASE_STATEMENT_TIMEOUT_MS": "2500"}
    )
    assert s.url is not None
    assert s.url.get_secret_value() == "postgresql://u:pw@h/db"
    assert s.statement_timeout_ms == 2500
    assert "pw" not in repr(s)


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("DATABASE_FLAVOR", "mysql"),
        ("DATABASE_CONNECT_TIMEOUT_S", "soon"),
        ("DATABASE_STATEMENT_TIMEOUT_MS", "1"),
    ],
)
def test_bad_values_name_the_variable_and_not_the_secret(var: str, value: str) -> None:
    with pytest.raises(SettingsError, match=var) as info:
        database_settings_from_env({var: value, "DATABASE_URL": "postgresql://u:topsecret@h/db"})
    assert "topsecret" not in str(info.value)


@pytest.mark.parametrize(
    ("flavor", "url", "expected"),
    [
        ("auto", "postgresql://u:p@eu-central-1.db.thenile.dev:5432/db", "nile"),
        ("auto", "postgresql://u@localhost/db", "postgres"),
        ("auto", "postgresql://postgres:@/postgres?host=/tmp/x", "postgres"),
        ("nile", "postgresql://u@localhost/db", "nile"),
        ("postgres", "postgresql://u@x.db.thenile.dev/db", "postgres"),
    ],
)
def test_flavor_resolution(flavor: str, url: str, expected: str) -> None:
    assert resolve_flavor(flavor, url) == expected


def test_app_conninfo_swaps_the_user_and_drops_the_password() -> None:
    info = app_conninfo("postgresql://owner:secret@db.internal:5433/inboxfleet")
    assert f"user={APP_ROLE}" in info
    assert "secret" not in info
    assert "port=5433" in info
    assert "dbname=inboxfleet" in info
