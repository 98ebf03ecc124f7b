"""Rendering a Mailu installation's files. Pure: typed config and secrets in, files out."""

from __future__ import annotations

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


@dataclass(frozen=True)
class RenderedFile:
    path: str
    content: str
    mode: int


def _template(name: str) -> Template:
    return Template((resources.files("inboxfleet.mailu") / "templates" / name).read_text())


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
        "front_ports": "\n".join(f'      - "{p}:{p}"' for p in MAIL_PORTS),
        "secret_key": secrets.secret_key,
        "api_token": secrets.api_token,
    }
    values["webmail_service"] = (
        "" if config.webmail == "none" else _template("webmail.yml.tmpl").substitute(values)
    )
    # nginx string literal: escape what nginx interprets, spell the CRLFs as escapes.
    policy = mta_sts_policy(config).replace("\\", "\\\\").replace('"', '\\"')
    values["policy"] = policy.replace("\r\n", "\\r\\n")
    return [
        RenderedFile(COMPOSE_FILE, _template("docker-compose.yml.tmpl").substitute(values), 0o644),
        RenderedFile(ENV_FILE, _template("mailu.env.tmpl").substitute(values), 0o600),
        RenderedFile(MTA_STS_FILE, _template("mta-sts.conf.tmpl").substitute(values), 0o644),
    ]
