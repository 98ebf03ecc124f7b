from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal, get_args, get_origin

import pytest
from pydantic import Field

from inboxfleet.db.connection import APP_ROLE, app_conninfo, resolve_flavor
from inboxfleet.settings import (
    SETTINGS_MODELS,
    DatabaseSettings,
    EnvSettings,
    HostwindsSettings,
    SettingsError,
    all_variables,
    database_settings_from_env,
    environment_name,
    hostwinds_settings_from_env,
    settings_from_env,
    variables,
)
from local.template import REPO_ROOT, functions, load_template


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


# --- Each variable declared once, as its field's alias -------------------------------------

MODEL_IDS = [m.__name__ for m in SETTINGS_MODELS]


def test_every_field_is_named_by_a_unique_upper_case_variable() -> None:
    names = all_variables()
    assert len(names) == len(set(names)), "a variable read by two fields"
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", name) for name in names), names


def test_a_field_without_a_variable_is_refused_at_definition() -> None:
    with pytest.raises(TypeError, match="unnamed"):

        class Broken(EnvSettings):
            named: int = Field(default=1, alias="BROKEN_NAMED")
            unnamed: int = 2


def test_models_are_still_built_by_field_name_and_stay_frozen() -> None:
    s = HostwindsSettings(order_grace_s=900, plan_rid=7)
    assert (s.order_grace_s, s.plan_rid) == (900, 7)
    assert DatabaseSettings(flavor="nile").flavor == "nile"
    with pytest.raises(ValueError, match="frozen"):
        s.plan_rid = 8  # type: ignore[misc]


@pytest.mark.parametrize("model", SETTINGS_MODELS, ids=MODEL_IDS)
def test_empty_variables_count_as_unset(model: type[EnvSettings]) -> None:
    blank = dict.fromkeys(variables(model).values(), "")
    assert settings_from_env(model, blank) == model()


def _rejects_words(annotation: Any) -> bool:
    """Whether "not-a-number" can never be a valid value of this field type."""
    options = get_args(annotation) if get_origin(annotation) is not Literal else (annotation,)
    options = tuple(o for o in options if o is not type(None)) or (annotation,)
    return all(o in (int, float) or get_origin(o) is Literal for o in options)


CHECKED = [
    (model, var)
    for model in SETTINGS_MODELS
    for name, var in variables(model).items()
    if _rejects_words(model.model_fields[name].annotation)
]


@pytest.mark.parametrize(("model", "var"), CHECKED, ids=[v for _, v in CHECKED])
def test_every_checked_variable_is_read_and_named_on_error(
    model: type[EnvSettings], var: str
) -> None:
    with pytest.raises(SettingsError, match=rf"\b{var}\b") as info:
        settings_from_env(model, {var: "not-a-number"})
    assert "not-a-number" not in str(info.value)


def test_several_bad_variables_are_all_named_once_and_no_value_is_shown() -> None:
    env = {
        "DATABASE_URL": "postgresql://u:topsecret@h/db",
        "DATABASE_APP_URL": "postgresql://app:alsosecret@h/db",
        "DATABASE_FLAVOR": "topsecret-flavor",
        "DATABASE_CONNECT_TIMEOUT_S": "0",
        "UNRELATED": "ignored",
    }
    with pytest.raises(SettingsError) as info:
        database_settings_from_env(env)
    assert str(info.value) == "invalid settings: DATABASE_FLAVOR, DATABASE_CONNECT_TIMEOUT_S"
    # pydantic's own error shows the inputs: it must not ride along in a logged traceback.
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


# --- The Hostwinds order grace -----------------------------------------------------------------


def test_the_order_grace_defaults_to_30_minutes_and_is_read_from_its_variable() -> None:
    assert hostwinds_settings_from_env({}).order_grace == timedelta(minutes=30)
    s = hostwinds_settings_from_env({"HOSTWINDS_ORDER_GRACE_S": "600"})
    assert (s.order_grace_s, s.order_grace) == (600, timedelta(minutes=10))


@pytest.mark.parametrize("value", ["599", "60", "3001", "-1", "1800.5", "30m"])
def test_the_order_grace_is_bounded(value: str) -> None:
    with pytest.raises(SettingsError, match="HOSTWINDS_ORDER_GRACE_S"):
        hostwinds_settings_from_env({"HOSTWINDS_ORDER_GRACE_S": value})


# --- The README's configuration tables and template.yaml agree with the models -----------------

# Read by libraries, not by inboxfleet.settings: Powertools, pydantic, the AWS runtime and SDKs.
EXTERNAL = re.compile(r"(POWERTOOLS|AWS)_[A-Z0-9_]+|PYDANTIC_DISABLE_PLUGINS")


def _readme_tables() -> list[dict[str, tuple[str, str]]]:
    """The Configuration section's tables: variable -> (default, meaning), in order."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    tables: list[dict[str, tuple[str, str]]] = []
    in_table = False
    for line in section.splitlines():
        row = re.fullmatch(r"\| `([A-Z][A-Z0-9_]*)` \| (.+?) \| (.+?) \|", line)
        if line.startswith("|") and not in_table:
            tables.append({})
        in_table = line.startswith("|")
        if row:
            tables[-1][row[1]] = (row[2], row[3])
    return tables


DEPLOYED, LOCAL_ONLY = _readme_tables()


def _readme_default(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def test_the_readme_documents_every_variable_and_its_default() -> None:
    assert environment_name({}) == "local"
    assert DEPLOYED["ENVIRONMENT"][0] == "`local`"
    for model in SETTINGS_MODELS:
        for name, var in variables(model).items():
            assert var in DEPLOYED, f"{var} is missing from the README's configuration table"
            default, meaning = DEPLOYED[var]
            assert meaning.strip(), var
            expected = model.model_fields[name].default
            if expected is None:
                assert default.startswith(("unset", "derived")), f"{var}: {default}"
            else:
                assert default.split(" ", 1)[0] == _readme_default(expected), var


def test_the_readme_documents_no_variable_that_nothing_reads() -> None:
    known = set(all_variables())
    assert {v for v in DEPLOYED if v not in known and not EXTERNAL.fullmatch(v)} == set()
    # The local-only table holds what only local tools and tests read; DATABASE_URL is in both
    # because the tests give it a meaning of their own.
    assert (set(LOCAL_ONLY) - {"DATABASE_URL"}) & known == set()


def test_every_variable_the_template_sets_is_one_something_reads() -> None:
    template = load_template()
    blocks = {"Globals": template["Globals"]["Function"]} | {
        spec.logical_id: template["Resources"][spec.logical_id]["Properties"]
        for spec in functions(template)
    }
    known = set(all_variables())
    unknown = {
        f"{where}: {var}"
        for where, props in blocks.items()
        for var in ((props.get("Environment") or {}).get("Variables") or {})
        if var not in known and not EXTERNAL.fullmatch(var)
    }
    assert unknown == set()
    documented = {
        var
        for props in blocks.values()
        for var in ((props.get("Environment") or {}).get("Variables") or {})
    }
    assert documented - set(DEPLOYED) == set(), "template variables missing from the README"
