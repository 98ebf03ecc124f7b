"""Settings, read from the environment on first use (never at import).

Each field declares its environment variable once, as its alias; code and tests may still build
a model by field name. Secrets never live here: only the *names* of Secrets Manager secrets do.
"""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic
# would otherwise compile each annotation string at import, on every cold start.

import os
import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from inboxfleet.names import Email, Hostname


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


class EnvSettings(BaseModel):
    """A group of settings whose field aliases are their environment variables."""

    # validate_by_name + validate_by_alias is pydantic 2.11+'s spelling of populate_by_name.
    model_config = ConfigDict(
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        # Built on first use: a function reads one or two of these models, never all of them.
        defer_build=True,
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        # A field without an alias could never be read from the environment: fail at definition.
        super().__pydantic_init_subclass__(**kwargs)
        unnamed = [name for name, field in cls.model_fields.items() if not field.alias]
        if unnamed:
            raise TypeError(f"{cls.__name__}: no environment variable (alias) for {unnamed}")

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable a field is read from, for messages that name it."""
        return variables(cls)[field]


class DatabaseSettings(EnvSettings):
    url: SecretStr | None = Field(
        default=None,
        alias="DATABASE_URL",
        description="The server (owner credentials on vanilla PostgreSQL).",
    )
    url_secret: str | None = Field(
        default=None,
        alias="DATABASE_URL_SECRET",
        description="Secrets Manager name holding the URL (Lambda).",
    )
    app_url: SecretStr | None = Field(
        default=None,
        alias="DATABASE_APP_URL",
        description="What the application connects with; on vanilla PostgreSQL it defaults to "
        "DATABASE_URL with the user replaced by the app role.",
    )
    flavor: Literal["auto", "nile", "postgres"] = Field(
        default="auto", alias="DATABASE_FLAVOR", description="auto = nile for *.thenile.dev hosts."
    )
    connect_timeout_s: int = Field(default=5, ge=1, le=60, alias="DATABASE_CONNECT_TIMEOUT_S")
    statement_timeout_ms: int = Field(
        default=15_000, ge=100, le=900_000, alias="DATABASE_STATEMENT_TIMEOUT_MS"
    )


class HostwindsSettings(EnvSettings):
    api_url: str = Field(
        default="https://clients.hostwinds.com/cloud/api.php", alias="HOSTWINDS_API_URL"
    )
    api_key_secret: str | None = Field(default=None, alias="HOSTWINDS_API_KEY_SECRET")
    timeout_s: float = Field(default=15.0, gt=0, le=120, alias="HOSTWINDS_TIMEOUT_S")
    plan_rid: int | None = Field(default=None, gt=0, alias="HOSTWINDS_PLAN_RID")
    image: str | None = Field(default=None, alias="HOSTWINDS_IMAGE")
    ssh_key_name: str = Field(
        default="inboxfleet-platform",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        alias="HOSTWINDS_SSH_KEY_NAME",
    )
    billing_cycle: Literal["monthly", "quarterly", "semiannually", "annually"] = Field(
        default="monthly", alias="HOSTWINDS_BILLING_CYCLE"
    )
    # How long an order may take to show up in listings before we believe it never happened
    # (Hostwinds polls its own async work for up to 30 minutes). Too short re-orders (and pays
    # for) a server that was only slow to appear; too long stalls a lost order for that long.
    # At most 3000: the workflow's waits for a maybe-sent order (provision_inbox.asl.json,
    # 3120 s) must outlast it.
    order_grace_s: int = Field(default=1800, ge=600, le=3000, alias="HOSTWINDS_ORDER_GRACE_S")

    @property
    def order_grace(self) -> timedelta:
        return timedelta(seconds=self.order_grace_s)


class MailuSettings(EnvSettings):
    ssh_key_secret: str | None = Field(default=None, alias="MAILU_SSH_KEY_SECRET")
    ssh_user: str = Field(
        default="root", pattern=r"^[a-z_][a-z0-9_-]{0,31}$", alias="MAILU_SSH_USER"
    )
    connect_timeout_s: float = Field(default=15.0, gt=0, le=120, alias="MAILU_CONNECT_TIMEOUT_S")
    # Below the function's 900 s limit, so a hung command ends in a named error, not a kill.
    command_timeout_s: float = Field(default=600.0, gt=0, le=840, alias="MAILU_COMMAND_TIMEOUT_S")
    # Local mode only: the Hostwinds simulator's address book (hence no MAILU_ prefix).
    address_book_url: str | None = Field(default=None, alias="SSH_ADDRESS_BOOK_URL")


class DnsSettings(EnvSettings):
    # "host:port,..."; unset: the zone's own name servers, port 53.
    authoritative_servers: str | None = Field(default=None, alias="DNS_AUTHORITATIVE_SERVERS")
    # Local mode only: the local DNS's page of which loopback port plays which name server.
    name_server_book_url: str | None = Field(
        default=None, pattern=r"^http://127\.0\.0\.1:\d+/", alias="DNS_NAME_SERVER_BOOK_URL"
    )
    resolvers: str = Field(default="1.1.1.1:53,8.8.8.8:53", alias="DNS_RESOLVERS")
    # Unset: the resolvers (a recursive NS answer).
    parent_servers: str | None = Field(default=None, alias="DNS_PARENT_SERVERS")
    # Unset: the resolvers.
    blocklist_resolvers: str | None = Field(default=None, alias="DNS_BLOCKLIST_RESOLVERS")
    # Spamhaus DQS key (Secrets Manager name), optional.
    dqs_key_secret: str | None = Field(default=None, alias="SPAMHAUS_DQS_KEY_SECRET")
    timeout_s: float = Field(default=2.0, gt=0, le=30, alias="DNS_TIMEOUT_S")
    concurrency: int = Field(default=32, ge=1, le=512, alias="DNS_CONCURRENCY")
    dmarc_policy: Literal["none", "quarantine", "reject"] = Field(
        default="none", alias="DMARC_POLICY"
    )
    dmarc_report_domain: Hostname | None = Field(default=None, alias="DMARC_REPORT_DOMAIN")


class BillingSettings(EnvSettings):
    stripe_api_key_secret: str | None = Field(default=None, alias="STRIPE_API_KEY_SECRET")
    stripe_webhook_secrets_secret: str | None = Field(
        default=None, alias="STRIPE_WEBHOOK_SECRETS_SECRET"
    )
    stripe_api_base: str = Field(
        default="https://api.stripe.com", pattern=r"^https?://", alias="STRIPE_API_BASE"
    )
    stripe_timeout_s: float = Field(default=5.0, gt=0, le=30, alias="STRIPE_TIMEOUT_S")
    # The SDK's own retries: idempotency keys make its POST retries safe.
    stripe_max_retries: int = Field(default=1, ge=0, le=3, alias="STRIPE_MAX_RETRIES")
    webhook_tolerance_s: int = Field(default=300, ge=1, le=3600, alias="STRIPE_WEBHOOK_TOLERANCE_S")
    events_queue_url: str | None = Field(default=None, alias="BILLING_EVENTS_QUEUE_URL")
    dead_letter_queue_url: str | None = Field(default=None, alias="BILLING_DEAD_LETTER_QUEUE_URL")
    # Below the queue's maxReceiveCount (5), or SQS moves the message before the worker parks it.
    park_unknown_customer_after: int = Field(
        default=3, ge=1, le=4, alias="BILLING_PARK_UNKNOWN_CUSTOMER_AFTER"
    )
    reminder_sender: Email | None = Field(default=None, alias="BILLING_REMINDER_SENDER")
    ses_configuration_set: str | None = Field(default=None, alias="SES_CONFIGURATION_SET")
    retention_days: int = Field(default=30, ge=1, le=365, alias="BILLING_RETENTION_DAYS")


class ApiSettings(EnvSettings):
    # The claim API Gateway's JWT authorizer passes the caller's tenant id in (template
    # parameter TenantClaim).
    tenant_claim: str = Field(
        default="custom:tenant_id", pattern=r"^[A-Za-z0-9:_.-]{1,64}$", alias="TENANT_CLAIM"
    )


class InboxSecretsSettings(EnvSettings):
    # The KMS key mailbox passwords are encrypted with (template: InboxSecretsKey): the
    # workflow's new ones (inventory) and a tenant's new one (tenant API).
    inbox_secrets_key_id: str | None = Field(
        default=None, min_length=1, max_length=2048, alias="INBOX_SECRETS_KEY_ID"
    )


_STATE_MACHINE_ARN = r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$"


class ProvisioningSettings(EnvSettings):
    # The provisioning state machine the tenant API and billing start (template:
    # ProvisionInboxStateMachine); unset: requests stay queued for reconcile to start.
    state_machine_arn: str | None = Field(
        default=None, pattern=_STATE_MACHINE_ARN, alias="PROVISIONING_STATE_MACHINE_ARN"
    )
    # The teardown the tenant API starts for a deleted inbox (DeprovisionInboxStateMachine);
    # unset: the inbox stays `deleting` for reconcile.
    deprovisioning_state_machine_arn: str | None = Field(
        default=None, pattern=_STATE_MACHINE_ARN, alias="DEPROVISIONING_STATE_MACHINE_ARN"
    )
    # The mailbox convergence billing and the tenant API start after a change
    # (ConvergeMailboxStateMachine); unset: the change waits for reconcile.
    mailbox_state_machine_arn: str | None = Field(
        default=None, pattern=_STATE_MACHINE_ARN, alias="MAILBOX_STATE_MACHINE_ARN"
    )

    def arn_of(self, workflow: str) -> str | None:
        return {
            "provision": self.state_machine_arn,
            "deprovision": self.deprovisioning_state_machine_arn,
            "mailbox": self.mailbox_state_machine_arn,
        }[workflow]


class ReconcileSettings(EnvSettings):
    # Instances of failed or decommissioning servers one pass terminates at most: a bug that
    # marks many rows failed must not destroy a fleet in one pass (hitting it raises an alarm).
    terminate_cap: int = Field(default=10, ge=0, le=200, alias="RECONCILE_TERMINATE_CAP")
    # Servers one pass may fail as lost at most: more at once (a key for another account, a
    # listing that is wrong) fails none and raises LostServersHeld for a human to look.
    lost_cap: int = Field(default=10, ge=0, le=1000, alias="RECONCILE_LOST_CAP")
    # Items of each kind of drift the report lists (counts are always complete).
    report_items: int = Field(default=20, ge=0, le=200, alias="RECONCILE_REPORT_ITEMS")
    # Rows read per database round trip.
    page_size: int = Field(default=2000, ge=10, le=20_000, alias="RECONCILE_PAGE_SIZE")
    # A pass stops this long before the Lambda's own timeout; the next pass resumes.
    stop_margin_s: int = Field(default=60, ge=5, le=300, alias="RECONCILE_STOP_MARGIN_S")
    # Work younger than this is left to whoever is doing it (a start being recorded, a run
    # that has just ended and is being followed up).
    work_grace_s: int = Field(default=600, ge=0, le=86_400, alias="RECONCILE_WORK_GRACE_S")
    # A provisioning run still going after this is stuck: stopped and undone. Longer than a
    # slow run can take (order grace 3000 s + VPS and Mailu polls + install, about 2 h).
    provisioning_overdue_s: int = Field(
        default=14_400, ge=600, le=86_400, alias="RECONCILE_PROVISIONING_OVERDUE_S"
    )
    # A failed or decommissioning server's instance is terminated only once its own undoing
    # (compensation, teardown) has had this long to do it.
    terminate_after_s: int = Field(
        default=3600, ge=0, le=604_800, alias="RECONCILE_TERMINATE_AFTER_S"
    )
    # An entitled subscription no Stripe event has touched for this long is re-read from
    # Stripe (every period sends invoice events: their webhooks may have been lost).
    billing_quiet_days: int = Field(default=35, ge=1, le=400, alias="RECONCILE_BILLING_QUIET_DAYS")
    # Domains re-verified per pass, oldest check first: 1100 x 96 passes a day (every 15
    # minutes) covers 100,000 domains daily; `dns_workers` verify at once.
    dns_batch: int = Field(default=1100, ge=0, le=20_000, alias="RECONCILE_DNS_BATCH")
    # Minutes between passes (template: ReconcileRateMinutes): a batch is never smaller than
    # what checks every domain in service once a day at this rate.
    rate_minutes: int = Field(default=15, ge=1, le=1440, alias="RECONCILE_RATE_MINUTES")
    dns_workers: int = Field(default=8, ge=1, le=64, alias="RECONCILE_DNS_WORKERS")
    # When the Hostwinds API key expires (YYYY-MM-DD; Hostwinds keys can be set to expire),
    # and how many days before it the HostwindsApiKeyExpiringSoon metric is raised.
    hostwinds_key_expires_on: date | None = Field(
        default=None, alias="HOSTWINDS_API_KEY_EXPIRES_ON"
    )
    key_expiry_warning_days: int = Field(
        default=14, ge=1, le=90, alias="HOSTWINDS_KEY_EXPIRY_WARNING_DAYS"
    )

    @field_validator("hostwinds_key_expires_on", mode="before")
    @classmethod
    def _empty_is_unknown(cls, value: Any) -> Any:
        # The template passes its parameter through, empty when no date is known.
        return None if value == "" else value


SETTINGS_MODELS: tuple[type[EnvSettings], ...] = (
    ApiSettings,
    InboxSecretsSettings,
    ProvisioningSettings,
    DatabaseSettings,
    HostwindsSettings,
    MailuSettings,
    DnsSettings,
    BillingSettings,
    ReconcileSettings,
)
ENVIRONMENT_VARIABLE = "ENVIRONMENT"

S = TypeVar("S", bound=EnvSettings)


def variables(model: type[EnvSettings]) -> dict[str, str]:
    """Field name -> environment variable, as the model's aliases declare them."""
    return {name: str(field.alias) for name, field in model.model_fields.items()}


def all_variables() -> list[str]:
    """Every environment variable the settings read (for the README and template checks)."""
    return [ENVIRONMENT_VARIABLE, *(v for m in SETTINGS_MODELS for v in variables(m).values())]


def settings_from_env(model: type[S], environ: Mapping[str, str] | None = None) -> S:
    """Build `model` from the variables that are set and non-empty; the rest keep defaults."""
    env = os.environ if environ is None else environ
    names = variables(model)
    # Empty counts as unset: a template `!If [..., !Ref AWS::NoValue]` or a blank parameter
    # must fall back to the default, not fail validation.
    raw = {var: env[var] for var in names.values() if env.get(var)}
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        # Names only, never values: those may be URLs with passwords in them. Errors are
        # located by alias (the variable); the field-name lookup is a fallback.
        by_loc = {**names, **{var: var for var in names.values()}}
        bad = dict.fromkeys(
            by_loc.get(str(e["loc"][0]), model.__name__) if e["loc"] else model.__name__
            for e in exc.errors(include_input=False, include_url=False)
        )
        raise SettingsError(f"invalid settings: {', '.join(bad)}") from None


def api_settings_from_env(environ: Mapping[str, str] | None = None) -> ApiSettings:
    return settings_from_env(ApiSettings, environ)


def inbox_secrets_settings_from_env(
    environ: Mapping[str, str] | None = None,
) -> InboxSecretsSettings:
    return settings_from_env(InboxSecretsSettings, environ)


def provisioning_settings_from_env(
    environ: Mapping[str, str] | None = None,
) -> ProvisioningSettings:
    return settings_from_env(ProvisioningSettings, environ)


def database_settings_from_env(environ: Mapping[str, str] | None = None) -> DatabaseSettings:
    return settings_from_env(DatabaseSettings, environ)


def mailu_settings_from_env(environ: Mapping[str, str] | None = None) -> MailuSettings:
    return settings_from_env(MailuSettings, environ)


def dns_settings_from_env(environ: Mapping[str, str] | None = None) -> DnsSettings:
    return settings_from_env(DnsSettings, environ)


def billing_settings_from_env(environ: Mapping[str, str] | None = None) -> BillingSettings:
    return settings_from_env(BillingSettings, environ)


def hostwinds_settings_from_env(environ: Mapping[str, str] | None = None) -> HostwindsSettings:
    return settings_from_env(HostwindsSettings, environ)


def reconcile_settings_from_env(environ: Mapping[str, str] | None = None) -> ReconcileSettings:
    return settings_from_env(ReconcileSettings, environ)


_ENVIRONMENT = re.compile(r"[a-z][a-z0-9]{0,15}")


def environment_name(environ: Mapping[str, str] | None = None) -> str:
    """ENVIRONMENT: the deployment stage (dev, prod, local); part of provider resource names,
    so it is held to a short lowercase word."""
    env = os.environ if environ is None else environ
    name = env.get(ENVIRONMENT_VARIABLE, "local")
    if not _ENVIRONMENT.fullmatch(name):
        raise SettingsError("invalid settings: ENVIRONMENT (a short lowercase word, e.g. dev)")
    return name
