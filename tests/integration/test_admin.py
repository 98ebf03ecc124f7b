"""`python -m inboxfleet.admin`: operators create and list tenants (no self sign-up); bad input
is refused naming the option, and nothing is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from uuid import UUID

import pytest

from inboxfleet.admin.__main__ import main
from inboxfleet.db import Database, system_session
from inboxfleet.db.repositories import TenantDirectory
from local.template import REPO_ROOT


def _tenant_names() -> list[str | None]:
    with system_session("test.admin") as s:
        return [t.name for t in TenantDirectory(s).list()]


def test_create_tenant_prints_its_id_and_list_tenants_shows_it(
    app_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            ["create-tenant", "--name", "  Admin Test Co ", "--billing-email", "Ops@Admin.Example"]
        )
        == 0
    )
    created = json.loads(capsys.readouterr().out)
    assert created["name"] == "Admin Test Co"
    UUID(created["id"])

    assert main(["list-tenants"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    [mine] = [t for t in listed if t["id"] == created["id"]]
    assert (mine["name"], mine["billing_email"]) == ("Admin Test Co", "ops@admin.example")


@pytest.mark.parametrize(
    ("name", "email", "complaint"),
    [
        ("Acme\nOutreach", "ops@acme.example", "--name: 'Acme\\nOutreach' holds"),
        ("Acme\u200bOutreach", "ops@acme.example", "--name: "),
        ("   ", "ops@acme.example", "--name: a tenant name is 1-200 characters"),
        ("x" * 201, "ops@acme.example", "--name: a tenant name is 1-200"),
        ("Acme", "not-an-email", "--billing-email:"),
        ("Acme", "ops@acme.example\nBcc: x@y.example", "--billing-email:"),
    ],
)
def test_bad_input_is_refused_naming_the_option_and_writes_nothing(
    app_db: Database, capsys: pytest.CaptureFixture[str], name: str, email: str, complaint: str
) -> None:
    before = _tenant_names()
    assert main(["create-tenant", "--name", name, "--billing-email", email]) == 2
    assert complaint in capsys.readouterr().err
    assert _tenant_names() == before


def admin(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m inboxfleet.admin ARGS` in a process of its own, with `env`."""
    return subprocess.run(
        [sys.executable, "-m", "inboxfleet.admin", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_it_runs_as_a_module_against_database_url(migrated_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": migrated_url}
    done = admin(
        "create-tenant", "--name", "Module Co", "--billing-email", "ops@module.example", env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["name"] == "Module Co"
    unset = admin(
        "list-tenants", env={k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    )
    assert unset.returncode == 1
    assert "list-tenants failed: no database configured" in unset.stderr


def test_an_unreachable_database_is_one_clear_line_not_a_traceback() -> None:
    # Nothing listens on port 1 of the loopback address.
    env = {**os.environ, "DATABASE_URL": "postgresql://app@127.0.0.1:1/inboxfleet"}
    done = admin("list-tenants", env=env)
    assert done.returncode == 1
    assert "list-tenants failed: the database cannot be reached" in done.stderr
    assert "Traceback" not in done.stderr
