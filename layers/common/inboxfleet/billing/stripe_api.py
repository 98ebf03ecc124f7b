"""Stripe's API through the official SDK (the only module that imports `stripe`).

Every call has the settings' timeout; the SDK retries connection failures, 409/429 and 5xx with
backoff, and sends an idempotency key with each POST so its retries never create twice. Objects
come back as plain dicts (stripe-python 16's objects are not dicts) for pydantic to read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from inboxfleet.billing.errors import CustomerMissing, StripeUnavailable
from inboxfleet.settings import BillingSettings

DUPLICATE_CODE = "resource_already_exists"


class StripeApi:
    """Connects (imports the SDK, reads the key) on the first call, not when built."""

    def __init__(self, api_key: Callable[[], str], settings: BillingSettings) -> None:
        self._api_key = api_key
        self._settings = settings
        self._lock = threading.Lock()
        self._client: Any = None

    def _v1(self) -> Any:
        with self._lock:
            if self._client is None:
                import stripe

                self._client = stripe.StripeClient(
                    self._api_key(),
                    base_addresses={"api": self._settings.stripe_api_base},
                    max_network_retries=self._settings.stripe_max_retries,
                    http_client=stripe.HTTPXClient(
                        timeout=self._settings.stripe_timeout_s, allow_sync_methods=True
                    ),
                )
            return self._client.v1

    def _call(
        self,
        what: str,
        call: Callable[[Any], Any],
        passthrough: type[Exception] | None = None,
    ) -> dict[str, Any]:
        """The call's result as a dict; Stripe's errors as StripeUnavailable (but for
        `passthrough`, which the caller interprets)."""
        import stripe

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

    # -- reads the worker needs (StripeGateway) --

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        return self._call(
            "subscription read", lambda v1: v1.subscriptions.retrieve(subscription_id)
        )

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        return self._call("invoice read", lambda v1: v1.invoices.retrieve(invoice_id))

    def customer(self, customer_id: str) -> dict[str, Any]:
        return self._call("customer read", lambda v1: v1.customers.retrieve(customer_id))

    # -- onboarding and metering --

    def create_customer(
        self, *, email: str | None, name: str | None, tenant_id: str, idempotency_key: str
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"metadata": {"tenant_id": tenant_id}}
        if email:
            params["email"] = email
        if name:
            params["name"] = name
        return self._call(
            "customer creation",
            lambda v1: v1.customers.create(
                params=params,
                options={"idempotency_key": idempotency_key},
            ),
        )

    def price_by_lookup_key(self, lookup_key: str) -> dict[str, Any] | None:
        page = self._call(
            "price lookup",
            lambda v1: v1.prices.list(params={"lookup_keys": [lookup_key], "active": True}),
        )
        prices: list[dict[str, Any]] = page.get("data") or []
        return prices[0] if prices else None

    def create_checkout_session(
        self, params: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        return self._for_customer(
            "checkout session creation",
            lambda v1: v1.checkout.sessions.create(
                params=params,
                options={"idempotency_key": idempotency_key},
            ),
        )

    def create_portal_session(self, *, customer_id: str, return_url: str) -> dict[str, Any]:
        """A customer-portal session (a short-lived sign-in link for the customer). No key of
        ours: another session is as good as the first, and the SDK keys its own retries."""
        return self._for_customer(
            "portal session creation",
            lambda v1: v1.billing_portal.sessions.create(
                params={"customer": customer_id, "return_url": return_url}
            ),
        )

    def _for_customer(self, what: str, call: Callable[[Any], Any]) -> dict[str, Any]:
        """A call naming a customer: CustomerMissing when Stripe does not know it (a 400
        `resource_missing` on the `customer` parameter), StripeUnavailable otherwise."""
        import stripe

        try:
            return self._call(what, call, passthrough=stripe.InvalidRequestError)
        except stripe.InvalidRequestError as exc:
            if exc.code == "resource_missing" and exc.param == "customer":
                raise CustomerMissing(f"Stripe {what}: the customer does not exist") from None
            raise StripeUnavailable(
                f"Stripe {what} failed: {type(exc).__name__} {exc.code}"
            ) from None

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
