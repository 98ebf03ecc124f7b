"""Rendering a Mailu installation's files. Pure: typed config and secrets in, files out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from string import Template

from inboxfleet.mailpolicy import DKIM_SELECTOR
from inboxfleet.mailu.config import (
    ADMIN_API_PORT,
    MAIL_PORTS,
    MAILU_VERSION,
    RESOLVER_IP,
    SUBNET,
    MailuConfig,
    MailuSecrets,
)
from inboxfleet.mtasts import policy_text

MAILU_DIR = "/mailu"
COMPOSE_FILE = f"{MAILU_DIR}/docker-compose.yml"
ENV_FILE = f"{MAILU_DIR}/mailu.env"
MTA_STS_FILE = f"{MAILU_DIR}/overrides/nginx/mta-sts.conf"
# A mailu.env key as Mailu's settings name them (always used with fullmatch).
_ENV_KEY = re.compile(r"[A-Z][A-Z0-9_]*")


@dataclass(frozen=True)
class RenderedFile:
    path: str
    content: str
    mode: int


class UnsafeRenderedFile(ValueError):
    """A rendered file failed its line check before upload. The message names the file and the
    line, never the content: mailu.env holds SECRET_KEY and API_TOKEN."""

    def __init__(self, path: str, line: int, problem: str) -> None:
        super().__init__(f"{path}, line {line}: {problem}")
        self.path = path
        self.line = line


def _template(name: str) -> str:
    return (resources.files("inboxfleet.mailu") / "templates" / name).read_text()


def _printable(text: str) -> bool:
    # Printable ASCII only: no control character, and none of the Unicode line breaks
    # (\x85, \u2028, \u2029) that YAML, nginx or an env parser might split on.
    return all(" " <= c <= "~" for c in text)


def _lines(template: str, blocks: Mapping[str, str]) -> list[str]:
    """The template's lines, a line that names a block replaced by the block's own lines."""
    return [part for line in template.split("\n") for part in blocks.get(line, line).split("\n")]


def _fill(path: str, template: str, values: Mapping[str, str], blocks: Mapping[str, str]) -> str:
    """Substitute one line at a time, so a value holding a line break is caught on the line
    it would have split instead of becoming a line of its own."""
    filled: list[str] = []
    for line in _lines(template, blocks):
        text = Template(line).substitute(values)
        if not _printable(text):
            problem = "a substituted value holds a control or non-ASCII character"
            raise UnsafeRenderedFile(path, len(filled) + 1, problem)
        filled.append(text)
    return "\n".join(filled)


def _env_line_problem(line: str) -> str | None:
    if not line or line.startswith("#"):
        return None
    key, equals, _ = line.partition("=")
    if not equals or not _ENV_KEY.fullmatch(key):
        return "not a comment, a blank line or KEY=VALUE"
    return None


def check_file(file: RenderedFile) -> None:
    """Every line printable ASCII; in mailu.env, every line a comment, blank or KEY=VALUE."""
    for number, line in enumerate(file.content.split("\n"), start=1):
        if not _printable(line):
            raise UnsafeRenderedFile(file.path, number, "a control or non-ASCII character")
        problem = _env_line_problem(line) if file.path == ENV_FILE else None
        if problem is not None:
            raise UnsafeRenderedFile(file.path, number, problem)


def mta_sts_policy(config: MailuConfig) -> str:
    return policy_text([config.mail_host], config.mta_sts_mode, config.mta_sts_max_age_s)


def render(config: MailuConfig, secrets: MailuSecrets) -> list[RenderedFile]:
    """docker-compose.yml, mailu.env (0600: it holds the secrets) and the MTA-STS override."""
    values = {
        "mailu_version": MAILU_VERSION,
        "domain": config.domain,
        "mail_host": config.mail_host,
        "mta_sts_host": config.mta_sts_host,
        "postmaster": config.postmaster,
        "dmarc_rua": config.dmarc_rua,
        "dmarc_ruf": config.dmarc_ruf,
        "dkim_selector": DKIM_SELECTOR,
        "webmail": config.webmail,
        "message_size_limit": str(config.message_size_limit),
        "subnet": SUBNET,
        "resolver_ip": RESOLVER_IP,
        "admin_api_port": str(ADMIN_API_PORT),
        "ports": ",".join(str(p) for p in MAIL_PORTS),
        "secret_key": secrets.secret_key,
        "api_token": secrets.api_token,
    }
    # nginx string literal: escape what nginx interprets, spell the CRLFs as escapes.
    policy = mta_sts_policy(config).replace("\\", "\\\\").replace('"', '\\"')
    values["policy"] = policy.replace("\r\n", "\\r\\n")
    # Whole lines of the compose template that stand for several lines built here.
    blocks = {
        "$front_ports": "\n".join(f'      - "{p}:{p}"' for p in MAIL_PORTS),
        "$webmail_service": "" if config.webmail == "none" else _template("webmail.yml.tmpl"),
    }
    files = [
        RenderedFile(path, _fill(path, _template(name), values, blocks), mode)
        for path, name, mode in (
            (COMPOSE_FILE, "docker-compose.yml.tmpl", 0o644),
            (ENV_FILE, "mailu.env.tmpl", 0o600),
            (MTA_STS_FILE, "mta-sts.conf.tmpl", 0o644),
        )
    ]
    for file in files:
        check_file(file)
    return files
