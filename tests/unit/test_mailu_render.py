"""Rendering Mailu's files: golden files for each, plus the properties that must hold."""

from __future__ import annotations

import os
import re
import string

import pytest
import yaml
from pydantic import ValidationError

from inboxfleet.mailu.config import MAIL_PORTS, MailuConfig, MailuSecrets, parse_env
from inboxfleet.mailu.render import (
    COMPOSE_FILE,
    ENV_FILE,
    MTA_STS_FILE,
    RenderedFile,
    UnsafeRenderedFile,
    check_file,
    render,
)
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


# --- values that would add lines (issue 10, section 2) -------------------------------------------
# model_construct skips validation: these stand for a validator that let something through.


def _config(**changes: object) -> MailuConfig:
    return MailuConfig.model_construct(**{**dict(CONFIG), **changes})


@pytest.mark.parametrize(
    ("config", "where"),
    [
        (_config(domain="x\n.reboot\n.example.com"), "/mailu/docker-compose.yml, line 1"),
        (_config(webmail="roundcube\n    privileged: true"), "/mailu/docker-compose.yml, line 115"),
        (_config(mail_host="mail.x\nAPI=false"), "/mailu/mailu.env, line 8"),
        (_config(postmaster="postmaster\rTLS_FLAVOR=notls"), "/mailu/mailu.env, line 9"),
        (_config(dmarc_rua="dmarc\u2028x"), "/mailu/mailu.env, line 29"),
        (
            _config(mta_sts_mode="testing\nmx: evil.example"),
            "/mailu/overrides/nginx/mta-sts.conf, line 13",
        ),
    ],
    ids=["domain", "webmail", "mail_host", "postmaster", "dmarc_rua", "mta_sts_mode"],
)
def test_a_config_value_that_would_add_lines_is_refused(config: MailuConfig, where: str) -> None:
    with pytest.raises(ValueError, match=re.escape(where)) as refused:
        render(config, FIXED)
    assert isinstance(refused.value, UnsafeRenderedFile)
    assert "evil" not in str(refused.value)


@pytest.mark.parametrize(
    "secrets",
    [
        MailuSecrets.model_construct(
            secret_key="S3cretKey\nDOMAIN=evil", api_token=FIXED.api_token
        ),
        MailuSecrets.model_construct(secret_key=FIXED.secret_key, api_token="T0ken\r\x00T0ken"),
    ],
    ids=["secret_key", "api_token"],
)
def test_a_secret_that_would_add_lines_is_refused_without_being_quoted(
    secrets: MailuSecrets,
) -> None:
    with pytest.raises(ValueError, match=r"/mailu/mailu\.env, line (4|23)") as refused:
        render(CONFIG, secrets)
    assert "S3cretKey" not in str(refused.value)
    assert "T0ken" not in str(refused.value)
    assert "evil" not in str(refused.value)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("domain=example.com", "KEY=VALUE"),
        ("DOMAIN", "KEY=VALUE"),
        (" DOMAIN=example.com", "KEY=VALUE"),
        ("=example.com", "KEY=VALUE"),
        ("1DOMAIN=example.com", "KEY=VALUE"),
        ("DOMAIN=example.com\r", "control"),
        ("DOMAIN=exa\tmple.com", "control"),
        ("SITENAME=B\u00fccher", "non-ASCII"),
        ("# a comment \x85 with a line break", "control"),
    ],
)
def test_every_env_line_is_a_comment_a_blank_or_key_value(line: str, problem: str) -> None:
    content = f"# header\n\nSECRET_KEY=S3cret\n{line}\nTZ=Etc/UTC\n"
    with pytest.raises(UnsafeRenderedFile, match=rf"^/mailu/mailu\.env, line 4: .*{problem}") as e:
        check_file(RenderedFile(ENV_FILE, content, 0o600))
    assert line.strip() not in str(e.value)  # the line may hold a secret


def test_the_rendered_files_pass_their_own_check() -> None:
    for config in (CONFIG, CONFIG.model_copy(update={"webmail": "none"})):
        for file in render(config, FIXED):
            check_file(file)
    check_file(RenderedFile(ENV_FILE, "# only\n\nA_1=\nB=x=y\n", 0o600))


@pytest.mark.parametrize("path", [COMPOSE_FILE, MTA_STS_FILE])
def test_other_files_take_any_printable_line_and_nothing_else(path: str) -> None:
    check_file(RenderedFile(path, "services:\n  a: {b: 'c=d'}\n\n", 0o644))
    for bad in ("\r", "\x00", "\x0b", "\u2028", "\u00e9"):
        with pytest.raises(UnsafeRenderedFile, match=rf"^{re.escape(path)}, line 2: "):
            check_file(RenderedFile(path, f"services:\n  a: b{bad}\n", 0o644))
