"""Checkout and customer-portal sessions for the calling tenant: the request and answer bodies,
and the onboarding service's outcomes as the API's errors. The routes are in `api.billing`.

Stripe is reached only when a session is asked for: the SDK, the plan catalogue and the API key
are loaded then, never when the resolver is built.
"""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic and
# the resolver read them at run time.

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from inboxfleet.api.admission import CHECKOUT_PATH
from inboxfleet.api.errors import Conflict, Internal, InvalidRequest, Unavailable
from inboxfleet.api.runtime import ApiDeps

if TYPE_CHECKING:
    from inboxfleet.billing.stripe_api import StripeApi

PORTAL_PATH = "/v1/billing/portal"

# The tenant API's time with Stripe. Its function times out after 15 s (template.yaml), and a
# checkout makes five calls or more (the customer the first time, the price, the session, the
# customer's open sessions and the expiry of any other, its subscriptions). The settings' budget
# (5 s a try, one retry) would let one call alone outlast the function, so each call here gets
# 2 s for each stage (connect, send, read: at most 6 s) and no retry (the client may retry:
# Stripe replays a session under its key), and none is started that could not end a second
# before the function's time is up (the time to record and answer): a 503 in time, never a
# gateway timeout. Given here, not in the environment: the
# local cloud runs every function in one process with one environment, where a variable meant
# for this function would reach the billing worker too, whose calls keep the settings' budget.
STRIPE_TIMEOUT_S = 2.0
STRIPE_MAX_RETRIES = 0
ANSWER_RESERVE_S = 1.0
# What Stripe may refuse of a request body: the caller's URLs, a 422 on that field.
_URL_FIELDS = frozenset({"success_url", "cancel_url", "return_url"})

# Where Stripe sends the customer back: https anywhere, plain http only to this machine (a
# developer's local app). Never credentials, never another scheme (javascript:, data:, ftp:).
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
RETURN_URL_PATTERN = (
    rf"^(?:https://(?:{_LABEL}\.)*{_LABEL}|http://(?:localhost|127\.0\.0\.1|\[::1\]))"
    r"(?::[0-9]{1,5})?(?:[/?#][!-~]*)?$"
)
RETURN_URL_MAX = 2048


def _parsed(url: str) -> str:
    """The URL as a URL parser reads it (a port over 65535 is refused here; the pattern has
    settled the rest)."""
    from pydantic import AnyHttpUrl, TypeAdapter

    return str(TypeAdapter(AnyHttpUrl).validate_python(url))


ReturnUrl = Annotated[
    str,
    StringConstraints(pattern=RETURN_URL_PATTERN, max_length=RETURN_URL_MAX),
    AfterValidator(_parsed),
    Field(
        description="https (plain http only for localhost, 127.0.0.1 or [::1]); no user or "
        "password in it. Checkout replaces {CHECKOUT_SESSION_ID} in a query with the session's id.",
        examples=["https://app.example.com/billing"],
    ),
]


def _catalogue_plans() -> list[str]:
    from inboxfleet.billing.plans import default_catalogue

    return sorted(default_catalogue().plans)


def _in_catalogue(plan: str) -> str:
    if plan not in _catalogue_plans():
        raise ValueError(f"no plan {plan!r}: choose one of {', '.join(_catalogue_plans())}")
    return plan


def _plan_schema(schema: dict[str, Any]) -> None:
    # Read when the document is generated, not when the module is imported.
    schema["enum"] = _catalogue_plans()


class CheckoutBody(BaseModel):
    """A plan of the catalogue (its Stripe price's lookup_key) and where Stripe's hosted page
    sends the customer back."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plan: Annotated[
        str,
        AfterValidator(_in_catalogue),
        Field(description="A plan of the catalogue", json_schema_extra=_plan_schema),
    ]
    quantity: int = Field(
        default=1,
        ge=1,
        le=1000,
        strict=True,
        description="Units of the plan; a plan billed by usage takes only 1",
    )
    success_url: ReturnUrl
    cancel_url: ReturnUrl


class CheckoutView(BaseModel):
    model_config = ConfigDict(frozen=True)

    url: str  # Stripe's hosted Checkout page: send the customer there
    session_id: str
    customer_id: str  # the tenant's Stripe customer (made on its first checkout)


class PortalBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    return_url: ReturnUrl


class PortalView(BaseModel):
    model_config = ConfigDict(frozen=True)

    url: str  # a short-lived sign-in link to the customer portal: open it, do not keep it


class AlreadySubscribed(Conflict):
    code = "already_subscribed"


class NoBillingAccount(Conflict):
    code = "no_billing_account"


def onboarding_request_id(key: str | None, payload: dict[str, Any]) -> str:
    """The request's name for Stripe's idempotency (a retry reuses the session Stripe made):
    the client's Idempotency-Key with the body it came with, else API Gateway's request id."""
    from inboxfleet.api.caller import current_event

    named: list[Any] = (
        ["key", key, payload]
        if key is not None
        else ["request", current_event().request_context.request_id]
    )
    return hashlib.sha256(json.dumps(named, sort_keys=True).encode()).hexdigest()[:40]


def start_checkout(
    tenant_id: UUID, body: CheckoutBody, request_id: str, deps: ApiDeps
) -> CheckoutView:
    from inboxfleet.billing import onboarding
    from inboxfleet.billing.plans import default_catalogue

    request = onboarding.CheckoutRequest.model_validate(
        {**body.model_dump(), "tenant_id": tenant_id, "request_id": request_id}
    )
    with _billing_errors():
        try:
            checkout = onboarding.start_checkout(
                _stripe(), request, default_catalogue(), deps.database
            )
        except onboarding.AlreadySubscribed:
            raise AlreadySubscribed(
                "the tenant already has a subscription: change its plan or quantity, pay it or "
                f"resume it in the customer portal (POST {PORTAL_PATH})"
            ) from None
        except onboarding.CheckoutSuperseded:
            raise Conflict(
                "another checkout of this account was started at the same time and replaced "
                "this one; send the request again (with a new Idempotency-Key, if one was sent)"
            ) from None
        except onboarding.QuantityNotApplicable as exc:
            raise InvalidRequest(str(exc), field="body.quantity") from None
    return CheckoutView(
        url=checkout.url, session_id=checkout.session_id, customer_id=checkout.customer_id
    )


def open_portal(tenant_id: UUID, body: PortalBody, deps: ApiDeps) -> PortalView:
    from inboxfleet.billing import onboarding

    request = onboarding.PortalRequest.model_validate(
        {"tenant_id": tenant_id, "return_url": body.return_url}
    )
    with _billing_errors():
        try:
            portal = onboarding.start_portal(_stripe(), request, deps.database)
        except onboarding.NoCustomer:
            raise NoBillingAccount(
                f"the tenant has no billing account yet: start a checkout first (POST "
                f"{CHECKOUT_PATH})"
            ) from None
    return PortalView(url=portal.url)


def _stripe() -> "StripeApi":
    from inboxfleet.billing.runtime import stripe_api

    return stripe_api(timeout_s=STRIPE_TIMEOUT_S, max_retries=STRIPE_MAX_RETRIES)


@contextmanager
def _billing_errors() -> Iterator[None]:
    """What both routes may meet on the way to Stripe, as the API's errors; within the
    function's time (see STRIPE_TIMEOUT_S)."""
    from inboxfleet.api.caller import lambda_context
    from inboxfleet.billing.errors import (
        CustomerConflict,
        CustomerMissing,
        StripeRefused,
        StripeUnavailable,
        UnknownPlan,
    )
    from inboxfleet.billing.stripe_api import stripe_deadline
    from inboxfleet.observability import logger
    from inboxfleet.settings import SettingsError

    left_s = lambda_context().get_remaining_time_in_millis() / 1000
    try:
        with stripe_deadline(time.monotonic() + left_s - ANSWER_RESERVE_S):
            yield
    except SettingsError as exc:
        # The function's configuration (the Stripe settings or the key's secret name): ours.
        logger.error("the billing settings are invalid", extra={"error": str(exc)})
        raise Internal("the service could not answer; this is a bug on our side") from None
    except StripeRefused as exc:
        if exc.param in _URL_FIELDS:
            raise InvalidRequest(
                f"the payment provider refused this URL as {exc.param}; send another",
                field=f"body.{exc.param}",
            ) from None
        # Anything else Stripe refuses for good is a request of ours it cannot take.
        logger.error("Stripe refused an onboarding request", extra={"error": str(exc)})
        raise Internal("the service could not answer; this is a bug on our side") from None
    except StripeUnavailable as exc:
        logger.warning("Stripe could not be reached", extra={"error": str(exc)})
        raise Unavailable("the payment provider cannot be reached now; try again later") from None
    except CustomerMissing as exc:
        # Our link names a customer Stripe does not have: retrying cannot help, support can.
        logger.error("the tenant's Stripe customer does not exist", extra={"error": str(exc)})
        raise NoBillingAccount(
            "the tenant's billing account is not known to the payment provider; contact support"
        ) from None
    except CustomerConflict:
        raise Conflict(
            "the billing account was linked to a customer meanwhile; send the request again"
        ) from None
    except UnknownPlan as exc:
        # The body's plan is in the catalogue (validated): Stripe has no active price for it.
        logger.error("a catalogue plan has no active Stripe price", extra={"error": str(exc)})
        raise Internal("the service could not answer; this is a bug on our side") from None
