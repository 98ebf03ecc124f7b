"""Settings, read from the environment on first use (never at import).

Secrets never live here: only the *names* of Secrets Manager secrets do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


class DatabaseSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    url: SecretStr | None = Field(
        default=None,
        description="DATABASE_URL: the server (owner credentials on vanilla PostgreSQL).",
    )
    url_secret: str | None = Field(
        default=None,
        description="DATABASE_URL_SECRET: Secrets Manager name holding the URL (Lambda).",
    )
    app_url: SecretStr | None = Field(
        default=None,
        description="DATABASE_APP_URL: what the application connects with; on vanilla "
        "PostgreSQL it defaults to DATABASE_URL with the user replaced by the app role.",
    )
    flavor: Literal["auto", "nile", "postgres"] = Field(
        default="auto", description="DATABASE_FLAVOR: auto = nile for *.thenile.dev hosts."
    )
    connect_timeout_s: int = Field(default=5, ge=1, le=60)
    statement_timeout_ms: int = Field(default=15_000, ge=100, le=900_000)


class HostwindsSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    api_url: str = "https://clients.hostwinds.com/cloud/api.php"
    api_key_secret: str | None = None
    timeout_s: float = Field(default=15.0, gt=0, le=120)
    plan_rid: int | None = Field(default=None, gt=0)
    image: str | None = None
    ssh_key_name: str = Field(default="inboxfleet-platform", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    billing_cycle: Literal["monthly", "quarterly", "semiannually", "annually"] = "monthly"


class MailuSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    ssh_key_secret: str | None = None
    ssh_user: str = Field(default="root", pattern=r"^[a-z_][a-z0-9_-]{0,31}$")
    connect_timeout_s: float = Field(default=15.0, gt=0, le=120)
    # Below the function's 900 s limit, so a hung command ends in a named error, not a kill.
    command_timeout_s: float = Field(default=600.0, gt=0, le=840)
    address_book_url: str | None = None


class DnsSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    authoritative_servers: str | None = None  # "host:port,..."; default: the zone's NS, port 53
    resolvers: str = "1.1.1.1:53,8.8.8.8:53"
    parent_servers: str | None = None  # default: the resolvers (recursive NS answer)
    blocklist_resolvers: str | None = None  # default: the resolvers
    dqs_key_secret: str | None = None  # Spamhaus DQS key (Secrets Manager name), optional
    timeout_s: float = Field(default=2.0, gt=0, le=30)
    concurrency: int = Field(default=32, ge=1, le=512)
    dmarc_policy: Literal["none", "quarantine", "reject"] = "none"
    dmarc_report_domain: str | None = None


class BillingSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    stripe_api_key_secret: str | None = None
    stripe_webhook_secrets_secret: str | None = None
    stripe_api_base: str = Field(default="https://api.stripe.com", pattern=r"^https?://")
    stripe_timeout_s: float = Field(default=5.0, gt=0, le=30)
    # The SDK's own retries: idempotency keys make its POST retries safe.
    stripe_max_retries: int = Field(default=1, ge=0, le=3)
    webhook_tolerance_s: int = Field(default=300, ge=1, le=3600)
    events_queue_url: str | None = None
    dead_letter_queue_url: str | None = None
    # Below the queue's maxReceiveCount (5), or SQS moves the message before the worker parks it.
    park_unknown_customer_after: int = Field(default=3, ge=1, le=4)
    reminder_sender: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    ses_configuration_set: str | None = None
    retention_days: int = Field(default=30, ge=1, le=365)


M = TypeVar("M", bound=BaseModel)

_DATABASE_ENV = {
    "url": "DATABASE_URL",
    "url_secret": "DATABASE_URL_SECRET",
    "app_url": "DATABASE_APP_URL",
    "flavor": "DATABASE_FLAVOR",
    "connect_timeout_s": "DATABASE_CONNECT_TIMEOUT_S",
    "statement_timeout_ms": "DATABASE_STATEMENT_TIMEOUT_MS",
}
_HOSTWINDS_ENV = {
    "api_url": "HOSTWINDS_API_URL",
    "api_key_secret": "HOSTWINDS_API_KEY_SECRET",
    "timeout_s": "HOSTWINDS_TIMEOUT_S",
    "plan_rid": "HOSTWINDS_PLAN_RID",
    "image": "HOSTWINDS_IMAGE",
    "ssh_key_name": "HOSTWINDS_SSH_KEY_NAME",
    "billing_cycle": "HOSTWINDS_BILLING_CYCLE",
}

_MAILU_ENV = {
    "ssh_key_secret": "MAILU_SSH_KEY_SECRET",
    "ssh_user": "MAILU_SSH_USER",
    "connect_timeout_s": "MAILU_CONNECT_TIMEOUT_S",
    "command_timeout_s": "MAILU_COMMAND_TIMEOUT_S",
    "address_book_url": "SSH_ADDRESS_BOOK_URL",
}

_DNS_ENV = {
    "authoritative_servers": "DNS_AUTHORITATIVE_SERVERS",
    "resolvers": "DNS_RESOLVERS",
    "parent_servers": "DNS_PARENT_SERVERS",
    "blocklist_resolvers": "DNS_BLOCKLIST_RESOLVERS",
    "dqs_key_secret": "SPAMHAUS_DQS_KEY_SECRET",
    "timeout_s": "DNS_TIMEOUT_S",
    "concurrency": "DNS_CONCURRENCY",
    "dmarc_policy": "DMARC_POLICY",
    "dmarc_report_domain": "DMARC_REPORT_DOMAIN",
}

_BILLING_ENV = {
    "stripe_api_key_secret": "STRIPE_API_KEY_SECRET",
    "stripe_webhook_secrets_secret": "STRIPE_WEBHOOK_SECRETS_SECRET",
    "stripe_api_base": "STRIPE_API_BASE",
    "stripe_timeout_s": "STRIPE_TIMEOUT_S",
    "stripe_max_retries": "STRIPE_MAX_RETRIES",
    "webhook_tolerance_s": "STRIPE_WEBHOOK_TOLERANCE_S",
    "events_queue_url": "BILLING_EVENTS_QUEUE_URL",
    "dead_letter_queue_url": "BILLING_DEAD_LETTER_QUEUE_URL",
    "park_unknown_customer_after": "BILLING_PARK_UNKNOWN_CUSTOMER_AFTER",
    "reminder_sender": "BILLING_REMINDER_SENDER",
    "ses_configuration_set": "SES_CONFIGURATION_SET",
    "retention_days": "BILLING_RETENTION_DAYS",
}


def _from_env(model: type[M], names: dict[str, str], environ: Mapping[str, str] | None) -> M:
    env = os.environ if environ is None else environ
    raw = {field: env[var] for field, var in names.items() if env.get(var)}
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        bad = ", ".join(names[str(e["loc"][0])] for e in exc.errors())
        raise SettingsError(f"invalid settings: {bad}") from None


def database_settings_from_env(environ: Mapping[str, str] | None = None) -> DatabaseSettings:
    return _from_env(DatabaseSettings, _DATABASE_ENV, environ)


def mailu_settings_from_env(environ: Mapping[str, str] | None = None) -> MailuSettings:
    return _from_env(MailuSettings, _MAILU_ENV, environ)


def dns_settings_from_env(environ: Mapping[str, str] | None = None) -> DnsSettings:
    return _from_env(DnsSettings, _DNS_ENV, environ)


def billing_settings_from_env(environ: Mapping[str, str] | None = None) -> BillingSettings:
    return _from_env(BillingSettings, _BILLING_ENV, environ)


def hostwinds_settings_from_env(environ: Mapping[str, str] | None = None) -> HostwindsSettings:
    return _from_env(HostwindsSettings, _HOSTWINDS_ENV, environ)


_ENVIRONMENT = re.compile(r"[a-z][a-z0-9]{0,15}")


def environment_name(environ: Mapping[str, str] | None = None) -> str:
    """ENVIRONMENT: the deployment stage (dev, prod, local); part of provider resource names,
    so it is held to a short lowercase word."""
    env = os.environ if environ is None else environ
    name = env.get("ENVIRONMENT", "local")
    if not _ENVIRONMENT.fullmatch(name):
        raise SettingsError("invalid settings: ENVIRONMENT (a short lowercase word, e.g. dev)")
    return name
