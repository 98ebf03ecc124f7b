"""What a Mailu installation is made of: typed settings and its generated secrets. Pure."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from inboxfleet.mailpolicy import DMARC_REPORT_MAILBOX, MTA_STS_MAX_AGE_S, MTA_STS_MODE
from inboxfleet.mtasts import Mode
from inboxfleet.names import Hostname, mail_host_of

MAILU_VERSION = "2024.06"
# Mailu's own default subnet; the bundled resolver takes its .254.
SUBNET = "192.168.203.0/24"
RESOLVER_IP = "192.168.203.254"
SMTP_PORT = 25  # server to server
SUBMISSIONS_PORT = 465  # client submission, implicit TLS
SUBMISSION_PORT = 587  # client submission, STARTTLS (RFC 6409)
IMAPS_PORT = 993  # IMAP, implicit TLS
# Host ports the front publishes and the firewall opens (SSH aside). POP3 and IMAP without TLS
# stay off: clients use 993 and 587/465.
MAIL_PORTS = (SMTP_PORT, 80, 443, SUBMISSIONS_PORT, SUBMISSION_PORT, IMAPS_PORT, 4190)
ADMIN_API_PORT = 8080  # published on the host's loopback only, reached through SSH


@dataclass(frozen=True)
class ClientEndpoint:
    """Where a mail client (a sequencer) connects, as the installed front offers it."""

    protocol: Literal["smtp", "imap"]
    port: int
    security: Literal["starttls", "tls"]  # STARTTLS upgrade, or TLS from the first byte


def _published(*endpoints: ClientEndpoint) -> dict[str, ClientEndpoint]:
    """The endpoints by protocol, each on a port the front publishes (checked at import)."""
    for endpoint in endpoints:
        if endpoint.port not in MAIL_PORTS:
            raise ValueError(f"{endpoint} is on a port the mail server does not publish")
    return {endpoint.protocol: endpoint for endpoint in endpoints}


# What the credentials and exports tell clients: submission with STARTTLS (what sequencers
# expect for "SMTP") and IMAP over TLS.
CLIENT_ENDPOINTS = _published(
    ClientEndpoint("smtp", SUBMISSION_PORT, "starttls"),
    ClientEndpoint("imap", IMAPS_PORT, "tls"),
)

_SECRET_ALPHABET = string.ascii_letters + string.digits
LocalPart = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")


class MailuConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    domain: Hostname
    mail_host: Hostname
    postmaster: str = LocalPart
    dmarc_rua: str = LocalPart
    dmarc_ruf: str = LocalPart
    webmail: Literal["roundcube", "snappymail", "none"] = "roundcube"
    mta_sts_mode: Mode = MTA_STS_MODE
    mta_sts_max_age_s: int = Field(default=MTA_STS_MAX_AGE_S, ge=86_400, le=31_557_600)
    message_size_limit: int = Field(default=50_000_000, ge=1_000_000, le=200_000_000)

    @model_validator(mode="after")
    def _mail_host_in_domain(self) -> Self:
        if not self.mail_host.endswith("." + self.domain):
            raise ValueError("mail_host must be a name inside the domain")
        return self

    @classmethod
    def for_domain(cls, domain: str) -> MailuConfig:
        return cls(
            domain=domain,
            mail_host=mail_host_of(domain),
            postmaster="postmaster",
            dmarc_rua=DMARC_REPORT_MAILBOX,
            dmarc_ruf=DMARC_REPORT_MAILBOX,
        )

    @property
    def mta_sts_host(self) -> str:
        return f"mta-sts.{self.domain}"


class MailuSecrets(BaseModel):
    """The installation's own secrets. Letters and digits only: they end up in an env file and
    (for the admin password path) a shell, and must never need quoting."""

    # A validation error must never quote the values it refused.
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    secret_key: str = Field(pattern=r"^[A-Za-z0-9]{16,64}$", repr=False)
    api_token: str = Field(pattern=r"^[A-Za-z0-9]{32,64}$", repr=False)

    @classmethod
    def generate(cls) -> MailuSecrets:
        return cls(secret_key=_random(16), api_token=_random(48))

    @classmethod
    def from_env_file(cls, text: str) -> MailuSecrets | None:
        """The secrets of an existing mailu.env, so a re-install keeps them (None if absent)."""
        values = parse_env(text)
        if "SECRET_KEY" not in values or "API_TOKEN" not in values:
            return None
        try:
            return cls(secret_key=values["SECRET_KEY"], api_token=values["API_TOKEN"])
        except ValueError:
            return None  # unusable: the caller generates new ones


def parse_env(text: str) -> dict[str, str]:
    values = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _random(length: int) -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(length))
