"""The billing functions' collaborators, built from settings on first use (one set per
container and settings)."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

from inboxfleet.secret_store import secret_reader
from inboxfleet.settings import BillingSettings, SettingsError, billing_settings_from_env

if TYPE_CHECKING:
    from inboxfleet.billing.ports import BillingDeps
    from inboxfleet.billing.stripe_api import StripeApi
    from inboxfleet.billing.webhook import WebhookDeps

# Each function imports only its own side: the webhook never loads the worker, the plan
# catalogue or the Stripe adapter (cold start), the worker never loads the webhook.

_lock = threading.Lock()


def _required(settings: BillingSettings, field: str, what: str) -> str:
    value = getattr(settings, field)
    if not value:
        raise SettingsError(f"{settings.variable(field)} ({what}) is not set")
    return str(value)


def parse_webhook_secrets(value: str) -> list[str]:
    """The endpoint signing secrets: a JSON list (old and new while rolling) or one secret."""
    text = value.strip()
    secrets = json.loads(text) if text.startswith("[") else [text]
    if not secrets or not all(isinstance(s, str) and s.startswith("whsec_") for s in secrets):
        # The value itself never goes into the message.
        raise SettingsError("the webhook secrets secret must hold whsec_ values")
    return list(secrets)


def webhook_deps() -> WebhookDeps:
    settings = billing_settings_from_env()
    with _lock:
        return _webhook_deps(settings)


@cache
def _webhook_deps(settings: BillingSettings) -> WebhookDeps:
    from inboxfleet.billing.sqs_queue import SqsEventQueue
    from inboxfleet.billing.webhook import WebhookDeps

    read_secrets = secret_reader(
        settings.stripe_webhook_secrets_secret,
        settings.variable("stripe_webhook_secrets_secret"),
    )
    queue_url = _required(settings, "events_queue_url", "the billing events FIFO queue")

    def secrets() -> list[str]:
        return parse_webhook_secrets(read_secrets())

    return WebhookDeps(
        secrets=secrets,
        queue=SqsEventQueue(queue_url),
        now=time.time,
        tolerance_s=settings.webhook_tolerance_s,
    )


def stripe_api(*, timeout_s: float | None = None, max_retries: int | None = None) -> StripeApi:
    """Stripe's API for onboarding (the tenant API's checkout and portal): built now, connected
    (SDK imported, key read) on the first call. `timeout_s` and `max_retries` replace the
    settings' for a caller with less time than they allow (one per container and budget)."""
    settings = billing_settings_from_env()
    with _lock:
        return _stripe_api(settings, timeout_s, max_retries)


@cache
def _stripe_api(
    settings: BillingSettings, timeout_s: float | None = None, max_retries: int | None = None
) -> StripeApi:
    from inboxfleet.billing.stripe_api import StripeApi

    stripe_key = secret_reader(
        settings.stripe_api_key_secret, settings.variable("stripe_api_key_secret")
    )
    return StripeApi(stripe_key, settings, timeout_s=timeout_s, max_retries=max_retries)


def billing_deps() -> BillingDeps:
    from dataclasses import replace

    from inboxfleet.provisioning.runtime import starter, workflow_starter

    settings = billing_settings_from_env()
    with _lock:
        # Released inboxes start the provisioning workflow (the starter is built once per
        # state machine, outside this cache: a process running local clouds one after another
        # sees each one's).
        return replace(
            _billing_deps(settings), starter=starter(), mailbox=workflow_starter("mailbox")
        )


@cache
def _billing_deps(settings: BillingSettings) -> BillingDeps:
    from inboxfleet.billing.plans import default_catalogue
    from inboxfleet.billing.ports import BillingDeps
    from inboxfleet.billing.ses_mailer import SesMailer

    sender = _required(settings, "reminder_sender", "the From address of reminders")
    from inboxfleet.billing.sqs_queue import SqsEventQueue

    dead_letters = settings.dead_letter_queue_url
    return BillingDeps(
        # Built now, connected (SDK imported, key read) on the first call: most events need none.
        stripe=_stripe_api(settings),
        mailer=SesMailer(sender, settings.ses_configuration_set),
        starter=None,  # billing_deps() sets it
        catalogue=default_catalogue(),
        retention=timedelta(days=settings.retention_days),
        dead_letters=SqsEventQueue(dead_letters) if dead_letters else None,
        park_unknown_customer_after=settings.park_unknown_customer_after,
    )
