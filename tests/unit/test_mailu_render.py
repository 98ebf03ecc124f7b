"""Rendering Mailu's files: golden files for each, plus the properties that must hold."""

from __future__ import annotations

import os
import re
import string

import pytest
import yaml
from pydantic import ValidationError

from inboxfleet.mailu.config import MAIL_PORTS, MailuConfig, MailuSecrets, parse_env
from inboxfleet.mailu.render import render
from inboxfleet.mtasts import policy_id, policy_text
from local.template import REPO_ROOT

GOLDEN = REPO_ROOT / "tests" / "unit" / "golden" / "mailu"
CONFIG = MailuConfig.for_domain("acme-outreach.example")
FIXED = MailuSecrets(secret_key="S3cretKeyS3cretK", api_token="T0ken" * 8)


@pytest.mark.parametrize(
    "index", [0, 1, 2], ids=["docker-compose.yml", "mailu.env", "mta-sts.conf"]
)
def test_golden_files(index: int) -> None:
    rendered = render(CONFIG, FIXED)[index]
    golden = GOLDEN / rendered.path.rsplit("/", 1)[1]
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(rendered.content)
    assert rendered.content == golden.read_text(), f"{golden.name} differs (UPDATE_GOLDEN=1)"


def test_paths_and_modes() -> None:
    assert [(f.path, f.mode) for f in render(CONFIG, FIXED)] == [
        ("/mailu/docker-compose.yml", 0o644),
        ("/mailu/mailu.env", 0o600),
        ("/mailu/overrides/nginx/mta-sts.conf", 0o644),
    ]


def test_compose_is_valid_yaml_with_every_service_and_a_loopback_api() -> None:
    compose = yaml.safe_load(render(CONFIG, FIXED)[0].content)
    services = compose["services"]
    assert set(services) == {
        "redis",
        "front",
        "resolver",
        "admin",
        "imap",
        "smtp",
        "antispam",
        "webmail",
    }
    assert services["admin"]["ports"] == ["127.0.0.1:8080:8080"]
    assert services["front"]["ports"] == [f"{p}:{p}" for p in MAIL_PORTS]
    assert {587, 993} <= set(MAIL_PORTS)
    assert all(s["image"].endswith(":2024.06") for n, s in services.items() if n != "redis")
    assert services["resolver"]["networks"]["default"]["ipv4_address"] == "192.168.203.254"


def test_without_webmail_there_is_no_webmail_service() -> None:
    config = CONFIG.model_copy(update={"webmail": "none"})
    assert "webmail" not in yaml.safe_load(render(config, FIXED)[0].content)["services"]


def test_env_holds_what_mailu_needs() -> None:
    env = parse_env(render(CONFIG, FIXED)[1].content)
    assert env["HOSTNAMES"] == "mail.acme-outreach.example,mta-sts.acme-outreach.example"
    assert (env["TLS_FLAVOR"], env["API"], env["WEB_API"]) == ("letsencrypt", "true", "/api")
    assert env["API_TOKEN"] == FIXED.api_token
    assert env["SECRET_KEY"] == FIXED.secret_key
    assert env["PORTS"] == "25,80,443,465,587,993,4190"
    assert (env["DMARC_RUA"], env["DMARC_RUF"], env["POSTMASTER"]) == (
        "dmarc-reports",
        "dmarc-reports",
        "postmaster",
    )


def test_mta_sts_override_serves_the_policy() -> None:
    conf = render(CONFIG, FIXED)[2].content
    assert "location = /.well-known/mta-sts.txt" in conf
    served = re.search(r'return 200 "(.*)";', conf)
    assert served is not None
    assert served.group(1).replace("\\r\\n", "\r\n") == policy_text(["mail.acme-outreach.example"])
    assert "mode: enforce" in served.group(1)


def test_policy_id_changes_with_the_policy() -> None:
    enforce = policy_id(policy_text(["mail.a.example"]))
    testing = policy_id(policy_text(["mail.a.example"], mode="testing"))
    assert enforce != testing
    assert re.fullmatch(r"[0-9a-f]{20}", enforce)


def test_generated_secrets_are_random_and_safe_in_any_shell_or_env_file() -> None:
    generated = [MailuSecrets.generate() for _ in range(20)]
    safe = set(string.ascii_letters + string.digits)
    for s in generated:
        assert set(s.secret_key) <= safe
        assert set(s.api_token) <= safe
        assert (len(s.secret_key), len(s.api_token)) == (16, 48)
    assert len({s.api_token for s in generated}) == 20
    assert "T0ken" not in repr(FIXED)


def test_existing_secrets_are_read_back_for_a_reinstall() -> None:
    env = render(CONFIG, FIXED)[1].content
    assert MailuSecrets.from_env_file(env) == FIXED
    assert MailuSecrets.from_env_file("DOMAIN=x\n") is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"domain": "bad domain.example"}, "domain"),
        ({"mail_host": "mail.other.example"}, "mail_host"),
        ({"postmaster": "Robert'); DROP"}, "postmaster"),
        ({"webmail": "outlook"}, "webmail"),
    ],
)
def test_bad_config_is_refused(changes: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        MailuConfig.model_validate({**CONFIG.model_dump(), **changes})
