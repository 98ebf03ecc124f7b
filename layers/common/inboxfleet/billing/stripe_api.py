"""Stripe's API through the official SDK (the only module that imports `stripe`).

Every call has a timeout (the settings', or the one its builder gives: the tenant API's is
shorter); the SDK retries connection failures, 409/429 and 5xx with backoff as often as it is
told, and sends an idempotency key with each POST so its retries never create twice. A call
made within `stripe_deadline(...)` is not started when it could not end in time. Objects come
back as plain dicts (stripe-python 16's objects are not dicts) for pydantic to read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from inboxfleet.billing.errors import CustomerMissing, StripeRefused, StripeUnavailable
from inboxfleet.settings import BillingSettings

DUPLICATE_CODE = "resource_already_exists"
# One page of a customer's subscriptions or open Checkout sessions: a customer has a handful.
LIST_LIMIT = 100
# The SDK's longest wait between two tries (stripe._http_client.HTTPClient.MAX_DELAY).
_MAX_RETRY_DELAY_S = 5.0
_STAGES = 3  # connect, write, read: httpx times each on its own

# When the current request's Stripe calls must have ended (time.monotonic()), if it has such
# a limit: a context variable, so concurrent requests in one process keep their own.
_deadline: ContextVar[float | None] = ContextVar("stripe_deadline", default=None)


@contextmanager
def stripe_deadline(at: float) -> Iterator[None]:
    """Within the block a Stripe call that could end after `at` (time.monotonic()), given its
    timeout and retries, is not started: StripeUnavailable at once, rather than the caller's
    own time running out in the middle of it."""
    token = _deadline.set(at)
    try:
        yield
    finally:
        _deadline.reset(token)


class StripeApi:
    """Connects (imports the SDK, reads the key) on the first call, not when built. Each call
    waits `timeout_s` at most and is tried again `max_retries` times (the settings' unless
    given)."""

    def __init__(
        self,
        api_key: Callable[[], str],
        settings: BillingSettings,
        *,
        timeout_s: float | None = None,
        max_retries: int | None = None,
    ) -> None:
        self._api_key = api_key
        self._settings = settings
        self.timeout_s = settings.stripe_timeout_s if timeout_s is None else timeout_s
        self.max_retries = settings.stripe_max_retries if max_retries is None else max_retries
        self._lock = threading.Lock()
        self._client: Any = None

    def longest_call_s(self) -> float:
        """How long one call may take at most: the HTTP client applies its timeout to each
        stage of a try (connecting, sending, every read), so a try may last three of them;
        and the waits between tries."""
        per_try = _STAGES * self.timeout_s
        return per_try * (self.max_retries + 1) + _MAX_RETRY_DELAY_S * self.max_retries

    def _v1(self) -> Any:
        with self._lock:
            if self._client is None:
                import stripe

                self._client = stripe.StripeClient(
                    self._api_key(),
                    base_addresses={"api": self._settings.stripe_api_base},
                    max_network_retries=self.max_retries,
                    http_client=stripe.HTTPXClient(timeout=self.timeout_s, allow_sync_methods=True),
                )
            return self._client.v1

    def _call(
        self,
        what: str,
        call: Callable[[Any], Any],
        passthrough: type[Exception] | tuple[type[Exception], ...] | None = None,
    ) -> dict[str, Any]:
        """The call's result as a dict; Stripe's errors as StripeUnavailable (but for
        `passthrough`, which the caller interprets)."""
        import stripe

        deadline = _deadline.get()
        if deadline is not None and time.monotonic() + self.longest_call_s() > deadline:
            raise StripeUnavailable(f"Stripe {what} not started: too little time is left for it")
        try:
            result = call(self._v1())
        except stripe.StripeError as exc:
            if passthrough is not None and isinstance(exc, passthrough):
                raise
            # The SDK's message names the request, never the key; keep only the class and code.
            code = getattr(exc, "code", None) or getattr(exc, "http_status", None)
            raise StripeUnavailable(f"Stripe {what} failed: {type(exc).__name__} {code}") from None
        data: dict[str, Any] = result.to_dict()
        return data

    def _onboarding(self, what: str, call: Callable[[Any], Any]) -> dict[str, Any]:
        """A call onboarding makes while a tenant waits: Stripe's permanent refusals (a 4xx
        other than a rate limit) as CustomerMissing when the customer named is unknown (a 400
        `resource_missing` on `customer`), else StripeRefused naming Stripe's `param`; what may
        pass later (a connection failure, a timeout, 429, 5xx) as StripeUnavailable."""
        import stripe

        permanent = (
            stripe.InvalidRequestError,  # 400 and 404
            stripe.IdempotencyError,  # a key reused with other parameters
            stripe.AuthenticationError,
            stripe.PermissionError,
        )
        try:
            return self._call(what, call, passthrough=permanent)
        except stripe.InvalidRequestError as exc:
            if exc.code == "resource_missing" and exc.param == "customer":
                raise CustomerMissing(f"Stripe {what}: the customer does not exist") from None
            raise StripeRefused(
                f"Stripe refused the {what}: {type(exc).__name__} {exc.code} on {exc.param}",
                param=exc.param,
            ) from None
        except (stripe.IdempotencyError, stripe.AuthenticationError, stripe.PermissionError) as exc:
            raise StripeRefused(f"Stripe refused the {what}: {type(exc).__name__}") from None

    # -- reads the worker needs (StripeGateway) --

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        return self._call(
            "subscription read", lambda v1: v1.subscriptions.retrieve(subscription_id)
        )

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        return self._call("invoice read", lambda v1: v1.invoices.retrieve(invoice_id))

    def customer(self, customer_id: str) -> dict[str, Any]:
        return self._call("customer read", lambda v1: v1.customers.retrieve(customer_id))

    # -- onboarding (the tenant API's checkout and portal) --

    def create_customer(
        self, *, email: str | None, name: str | None, tenant_id: str, idempotency_key: str
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"metadata": {"tenant_id": tenant_id}}
        if email:
            params["email"] = email
        if name:
            params["name"] = name
        return self._onboarding(
            "customer creation",
            lambda v1: v1.customers.create(
                params=params,
                options={"idempotency_key": idempotency_key},
            ),
        )

    def price_by_lookup_key(self, lookup_key: str) -> dict[str, Any] | None:
        page = self._onboarding(
            "price lookup",
            lambda v1: v1.prices.list(params={"lookup_keys": [lookup_key], "active": True}),
        )
        prices: list[dict[str, Any]] = page.get("data") or []
        return prices[0] if prices else None

    def subscriptions_of(self, customer_id: str) -> list[dict[str, Any]]:
        """The customer's subscriptions in every status, newest first (one page: a customer
        has a handful)."""
        return self._listed(
            "subscription list",
            lambda v1: v1.subscriptions.list(
                params={"customer": customer_id, "status": "all", "limit": LIST_LIMIT}
            ),
        )

    def open_checkout_sessions(self, customer_id: str) -> list[dict[str, Any]]:
        """The customer's Checkout sessions that can still be paid, newest first (one page: an
        open session expires within a day, and onboarding keeps one at a time)."""
        return self._listed(
            "checkout session list",
            lambda v1: v1.checkout.sessions.list(
                params={"customer": customer_id, "status": "open", "limit": LIST_LIMIT}
            ),
        )

    def _listed(self, what: str, call: Callable[[Any], Any]) -> list[dict[str, Any]]:
        """The objects of a list's first page."""
        found: list[dict[str, Any]] = self._onboarding(what, call).get("data") or []
        return found

    def create_checkout_session(
        self, params: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        return self._onboarding(
            "checkout session creation",
            lambda v1: v1.checkout.sessions.create(
                params=params,
                options={"idempotency_key": idempotency_key},
            ),
        )

    def expire_checkout_session(self, session_id: str) -> dict[str, Any]:
        """The session expired (it can no longer be paid), or as it is when Stripe refuses
        because it is not open any more (paid or expired meanwhile: Stripe's refusal carries
        no code, so the session is read again to tell)."""
        try:
            return self._onboarding(
                "checkout session expiry",
                lambda v1: v1.checkout.sessions.expire(session_id),
            )
        except StripeRefused:
            current = self._onboarding(
                "checkout session read", lambda v1: v1.checkout.sessions.retrieve(session_id)
            )
            if current.get("status") == "open":
                raise
            return current

    def create_portal_session(self, *, customer_id: str, return_url: str) -> dict[str, Any]:
        """A customer-portal session (a short-lived sign-in link for the customer). No key of
        ours: another session is as good as the first, and the SDK keys its own retries."""
        return self._onboarding(
            "portal session creation",
            lambda v1: v1.billing_portal.sessions.create(
                params={"customer": customer_id, "return_url": return_url}
            ),
        )

    # -- metering --

    def create_meter_event(
        self, *, event_name: str, customer_id: str, value: int, identifier: str, timestamp: int
    ) -> dict[str, Any] | None:
        """The meter event; None when Stripe already has one with this identifier."""
        import stripe

        try:
            return self._call(
                "meter event",
                lambda v1: v1.billing.meter_events.create(
                    params={
                        "event_name": event_name,
                        "payload": {"stripe_customer_id": customer_id, "value": str(value)},
                        "identifier": identifier,
                        "timestamp": timestamp,
                    },
                    # No idempotency key of ours: a later run sends another timestamp, which
                    # Stripe would refuse under the same key. The identifier deduplicates.
                ),
                passthrough=stripe.InvalidRequestError,
            )
        except stripe.InvalidRequestError as exc:
            # Stripe answers a repeated identifier with a 400 that carries no error code, only
            # "An event already exists with identifier <id>." (seen in public clients).
            message = str(getattr(exc, "user_message", None) or exc)
            if "already exists with identifier" in message or exc.code == DUPLICATE_CODE:
                return None
            raise StripeUnavailable(
                f"Stripe meter event failed: {type(exc).__name__} {exc.code}"
            ) from None
