"""The simulated v1 endpoints: parameter validation as Stripe does it, then the store.

Each handler takes decoded parameters and returns the JSON object of a 200 answer, or raises
`StripeError`. Unknown top-level parameters are refused as Stripe refuses them (see
accepted_params); accepted parameters the simulator has no use for are ignored. `expand` is
accepted and ignored: answers are never expanded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from local.stripe_sim import errors
from local.stripe_sim.accepted_params import (
    CHECKOUT_CREATE_PARAMS,
    CHECKOUT_LIST_PARAMS,
    CUSTOMER_CREATE_PARAMS,
    METER_EVENT_CREATE_PARAMS,
    PORTAL_SESSION_CREATE_PARAMS,
    PRICE_LIST_PARAMS,
    RETRIEVE_PARAMS,
    SUBSCRIPTION_LIST_PARAMS,
)
from local.stripe_sim.errors import StripeError
from local.stripe_sim.forms import Params
from local.stripe_sim.ids import new_id
from local.stripe_sim.objects import list_object, meter_event_object
from local.stripe_sim.state import (
    PORTAL_CONFIGURATION,
    CheckoutSessionRecord,
    PortalSessionRecord,
    Store,
)

# Stripe: "Must be within the past 35 calendar days or up to 5 minutes in the future."
METER_PAST_WINDOW_S = 35 * 24 * 3600
METER_FUTURE_WINDOW_S = 5 * 60
DEFAULT_LIST_LIMIT = 10
MAX_LIST_LIMIT = 100
SUBSCRIPTION_STATUSES = frozenset(
    {
        "active",
        "canceled",
        "incomplete",
        "incomplete_expired",
        "past_due",
        "paused",
        "trialing",
        "unpaid",
    }
)
# What `status` selects besides one status: `all`, and `ended` (canceled or expired unpaid).
ENDED_STATUSES = frozenset({"canceled", "incomplete_expired"})
CHECKOUT_STATUSES = frozenset({"open", "complete", "expired"})


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[[StripeApi, Params, tuple[str, ...]], dict[str, Any]]


class StripeApi:
    def __init__(self, store: Store) -> None:
        self.store = store

    def handle(self, method: str, path: str, params: Params) -> dict[str, Any]:
        for route in ROUTES:
            match = route.pattern.fullmatch(path)
            if match is not None and route.method == method:
                return route.handler(self, params, match.groups())
        raise errors.unrecognized_url(method, path)

    # ---- customers -------------------------------------------------------------------------

    def create_customer(self, params: Params, _: tuple[str, ...]) -> dict[str, Any]:
        _refuse_unknown(params, CUSTOMER_CREATE_PARAMS)
        customer = self.store.add_customer(
            email=_string(params, "email") or None,
            name=_string(params, "name") or None,
            metadata=_metadata(params),
        )
        return customer.render()

    def get_customer(self, params: Params, ids: tuple[str, ...]) -> dict[str, Any]:
        _refuse_unknown(params, RETRIEVE_PARAMS)
        with self.store.lock:
            if ids[0] not in self.store.customers:
                raise errors.no_such("customer", ids[0])
            return self.store.render_customer(ids[0])

    # ---- prices ----------------------------------------------------------------------------

    def list_prices(self, params: Params, _: tuple[str, ...]) -> dict[str, Any]:
        _refuse_unknown(params, PRICE_LIST_PARAMS)
        lookup_keys = _string_list(params, "lookup_keys")
        active = _boolean(params, "active")
        product = _string(params, "product")
        kind = _string(params, "type")
        with self.store.lock:
            # Newest first, as Stripe lists.
            prices = [p.render() for p in reversed(self.store.prices.values())]
        selected = [
            price
            for price in prices
            if (lookup_keys is None or price["lookup_key"] in lookup_keys)
            and (active is None or price["active"] is active)
            and (product is None or price["product"] == product)
            and (kind is None or price["type"] == kind)
        ]
        return _page(selected, params, "/v1/prices")

    # ---- checkout --------------------------------------------------------------------------

    def create_checkout_session(self, params: Params, _: tuple[str, ...]) -> dict[str, Any]:
        _refuse_unknown(params, CHECKOUT_CREATE_PARAMS)
        mode = _string(params, "mode")
        if not mode:
            raise errors.missing_param("mode")
        if mode != "subscription":
            raise errors.invalid_param(
                "mode", f"The simulator supports only mode=subscription (got {mode!r})."
            )
        success_url = _string(params, "success_url")
        if not success_url:
            raise errors.missing_param("success_url")
        line_items = self._line_items(params)
        subscription_data = params.get("subscription_data", {})
        if not isinstance(subscription_data, dict):
            raise errors.invalid_param("subscription_data", "Invalid hash")
        with self.store.lock:
            customer = _string(params, "customer")
            if customer is not None and customer not in self.store.customers:
                raise errors.no_such("customer", customer, param="customer")
            session = CheckoutSessionRecord(
                id=new_id("cs_test_"),
                mode=mode,
                customer=customer,
                client_reference_id=_string(params, "client_reference_id"),
                metadata=_metadata(params),
                success_url=success_url,
                cancel_url=_string(params, "cancel_url"),
                created=self.store.now(),
                line_items=line_items,
                subscription_metadata=_metadata(
                    subscription_data, "metadata", "subscription_data[metadata]"
                ),
            )
            self.store.sessions[session.id] = session
            return self.store.render_session(session.id)

    def _line_items(self, params: Params) -> list[tuple[str, int | None]]:
        raw = params.get("line_items")
        if raw is None or raw == "":
            raise errors.missing_param("line_items")
        if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
            raise errors.invalid_param("line_items", "Invalid array")
        items: list[tuple[str, int | None]] = []
        with self.store.lock:
            for index, item in enumerate(raw):
                name = f"line_items[{index}]"
                price_id = item.get("price")
                if not isinstance(price_id, str) or not price_id:
                    raise errors.missing_param(f"{name}[price]")
                price = self.store.prices.get(price_id)
                if price is None:
                    raise errors.no_such("price", price_id, param=f"{name}[price]")
                if not price.active:
                    raise errors.invalid_param(
                        f"{name}[price]",
                        "The price specified is inactive. This field only accepts active prices.",
                    )
                quantity = None
                if "quantity" in item:
                    quantity = _integer(item, "quantity", 0, f"{name}[quantity]")
                    if price.usage_type == "metered":
                        # Wording unverified; Stripe refuses a quantity on a metered price.
                        raise errors.invalid_param(
                            f"{name}[quantity]",
                            "Quantity should not be specified where usage_type is `metered`. "
                            f"Remove quantity from `{name}`.",
                        )
                    if quantity < 1:
                        raise errors.invalid_param(
                            f"{name}[quantity]",
                            "This value must be greater than or equal to 1.",
                        )
                elif price.usage_type == "licensed":
                    raise errors.missing_param(f"{name}[quantity]")
                items.append((price_id, quantity))
        return items

    def get_checkout_session(self, params: Params, ids: tuple[str, ...]) -> dict[str, Any]:
        _refuse_unknown(params, RETRIEVE_PARAMS)
        with self.store.lock:
            if ids[0] not in self.store.sessions:
                raise errors.no_such("checkout.session", ids[0])
            return self.store.render_session(ids[0])

    def list_checkout_sessions(self, params: Params, _: tuple[str, ...]) -> dict[str, Any]:
        """Newest first, filtered by `customer`, `status` and `subscription`."""
        _refuse_unknown(params, CHECKOUT_LIST_PARAMS)
        status = _choice(params, "status", CHECKOUT_STATUSES)
        subscription = _string(params, "subscription")
        with self.store.lock:
            customer = self._listed_customer(params)
            sessions = [
                self.store.render_session(record.id)
                for record in reversed(self.store.sessions.values())
                if (customer is None or record.customer == customer)
                and (status is None or record.status == status)
                and (subscription is None or record.subscription == subscription)
            ]
        return _page(sessions, params, "/v1/checkout/sessions")

    def expire_checkout_session(self, params: Params, ids: tuple[str, ...]) -> dict[str, Any]:
        _refuse_unknown(params, RETRIEVE_PARAMS)
        with self.store.lock:
            session = self.store.sessions.get(ids[0])
            if session is None:
                raise errors.no_such("checkout.session", ids[0])
            if session.status != "open":
                raise session_not_open(session.status)
            self.store.expire_session(session.id)
            return self.store.render_session(session.id)

    # ---- customer portal -------------------------------------------------------------------

    def create_portal_session(self, params: Params, _: tuple[str, ...]) -> dict[str, Any]:
        _refuse_unknown(params, PORTAL_SESSION_CREATE_PARAMS)
        customer = _string(params, "customer")
        if not customer:
            # Stripe also takes `customer_account` (Accounts v2) instead; the simulator has none.
            raise errors.missing_param("customer")
        # Stripe falls back on the configuration's default return URL; the simulated account's
        # default configuration has none, so the session must be given one.
        return_url = _string(params, "return_url")
        if not return_url:
            raise errors.missing_param("return_url")
        configuration = _string(params, "configuration")
        if configuration is not None and configuration != PORTAL_CONFIGURATION:
            raise errors.no_such(
                "billing_portal.configuration", configuration, param="configuration"
            )
        with self.store.lock:
            if customer not in self.store.customers:
                raise errors.no_such("customer", customer, param="customer")
            session = PortalSessionRecord(
                id=new_id("bps_"),
                customer=customer,
                return_url=return_url,
                created=self.store.now(),
                locale=_string(params, "locale") or None,
            )
            self.store.portal_sessions[session.id] = session
            return self.store.render_portal_session(session.id)

    # ---- subscriptions and invoices --------------------------------------------------------

    def get_subscription(self, params: Params, ids: tuple[str, ...]) -> dict[str, Any]:
        _refuse_unknown(params, RETRIEVE_PARAMS)
        with self.store.lock:
            if ids[0] not in self.store.subscriptions:
                raise errors.no_such("subscription", ids[0])
            return self.store.render_subscription(ids[0])

    def list_subscriptions(self, params: Params, _: tuple[str, ...]) -> dict[str, Any]:
        """Newest first, filtered by `customer`, `price` and `status`: without one, every
        subscription but the canceled ones (as Stripe lists); `all`; `ended` (canceled or
        incomplete_expired); or one status."""
        _refuse_unknown(params, SUBSCRIPTION_LIST_PARAMS)
        status = _choice(params, "status", SUBSCRIPTION_STATUSES | {"all", "ended"})
        price = _string(params, "price")
        with self.store.lock:
            customer = self._listed_customer(params)
            subscriptions = [
                self.store.render_subscription(record.id)
                for record in reversed(self.store.subscriptions.values())
                if (customer is None or record.customer == customer)
                and (price is None or record.price_id == price)
                and _selected(record.status, status)
            ]
        return _page(subscriptions, params, "/v1/subscriptions")

    def _listed_customer(self, params: Params) -> str | None:
        """A list's `customer` filter: an id the account does not have is a 400, as Stripe
        answers it."""
        customer = _string(params, "customer")
        if customer is not None and customer not in self.store.customers:
            raise errors.no_such("customer", customer, param="customer")
        return customer

    def get_invoice(self, params: Params, ids: tuple[str, ...]) -> dict[str, Any]:
        _refuse_unknown(params, RETRIEVE_PARAMS)
        with self.store.lock:
            if ids[0] not in self.store.invoices:
                raise errors.no_such("invoice", ids[0])
            return self.store.render_invoice(ids[0])

    # ---- billing meter events --------------------------------------------------------------

    def create_meter_event(self, params: Params, _: tuple[str, ...]) -> dict[str, Any]:
        _refuse_unknown(params, METER_EVENT_CREATE_PARAMS)
        event_name = _string(params, "event_name")
        if not event_name:
            raise errors.missing_param("event_name")
        payload = params.get("payload")
        if payload is None or payload == "":
            raise errors.missing_param("payload")
        if not isinstance(payload, dict) or not all(isinstance(v, str) for v in payload.values()):
            raise errors.invalid_param("payload", "Invalid hash")
        # The default meter maps these two keys; Stripe checks the customer itself later and
        # asynchronously (a meter error report), so an unknown customer id is accepted here.
        for key in ("stripe_customer_id", "value"):
            if not payload.get(key):
                raise errors.missing_param(f"payload[{key}]")
        identifier = _string(params, "identifier") or new_id("mev_")
        with self.store.lock:
            now = self.store.now()
            timestamp = _integer(params, "timestamp", now)
            _check_meter_timestamp(timestamp, now)
            if identifier in self.store.meter_identifiers:
                raise duplicate_meter_event(identifier)
            event = meter_event_object(
                event_name=event_name,
                identifier=identifier,
                payload=payload,
                timestamp=timestamp,
                created=now,
            )
            self.store.meter_identifiers.add(identifier)
            self.store.meter_events.append(event)
            return dict(event)


def session_not_open(status: str) -> StripeError:
    """Stripe's refusal to expire a session that is complete or expired already (its wording,
    as quoted in Sylius/PayumStripePlugin issue #70; whether it carries a `code` is unverified,
    so none is invented)."""
    return StripeError(
        HTTPStatus.BAD_REQUEST,
        'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session '
        f"has a status of `{status}`.",
    )


def _selected(status: str, wanted: str | None) -> bool:
    if wanted is None:
        return status != "canceled"
    if wanted == "all":
        return True
    if wanted == "ended":
        return status in ENDED_STATUSES
    return status == wanted


def _page(objects: list[dict[str, Any]], params: Params, url: str) -> dict[str, Any]:
    """A list answer: `limit` objects after `starting_after` (an id of the list), `has_more`
    saying whether more follow."""
    limit = _integer(params, "limit", DEFAULT_LIST_LIMIT)
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise errors.invalid_param(
            "limit",
            f"This value must be greater than or equal to 1 and less than or equal to "
            f"{MAX_LIST_LIMIT} (it currently is '{limit}').",
        )
    after = _string(params, "starting_after")
    if after is not None:
        ids = [item["id"] for item in objects]
        if after not in ids:
            raise errors.no_such("object", after, param="starting_after")
        objects = objects[ids.index(after) + 1 :]
    answer = list_object(objects[:limit], url)
    answer["has_more"] = len(objects) > limit
    return answer


def duplicate_meter_event(identifier: str) -> StripeError:
    """Stripe refuses a repeated identifier rather than dropping it silently: HTTP 400,
    invalid_request_error, "An event already exists with identifier <id>.", with
    `Stripe-Should-Retry: false` and, as reported, no error `code` (langfuse/langfuse PR #16292
    quotes the live answer; other clients match the message). Whether a `code` is ever sent is
    unverified, so none is invented: a client must recognise the message."""
    return StripeError(
        HTTPStatus.BAD_REQUEST,
        f"An event already exists with identifier {identifier}.",
        should_retry=False,
    )


def _check_meter_timestamp(timestamp: int, now: int) -> None:
    earliest = now - METER_PAST_WINDOW_S
    latest = now + METER_FUTURE_WINDOW_S
    if timestamp < earliest:
        # Stripe's wording, as reported in the-answerai/theanswer PR #624.
        raise errors.invalid_param(
            "timestamp",
            "The event timestamp cannot be more than 35 days in past. Expected a timestamp "
            f"greater than or equal to {earliest}.",
        )
    if timestamp > latest:
        # Wording unverified: modelled on the past-window message.
        raise errors.invalid_param(
            "timestamp",
            "The event timestamp cannot be more than 5 minutes in the future. Expected a "
            f"timestamp less than or equal to {latest}.",
        )


# ---- parameter readers -----------------------------------------------------------------------


def _refuse_unknown(params: Params, allowed: Iterable[str]) -> None:
    allowed = frozenset(allowed)
    for name in params:
        if name not in allowed:
            raise errors.unknown_param(name)


def _choice(params: Params, name: str, allowed: Iterable[str]) -> str | None:
    """A string parameter that must be one of `allowed` when given."""
    value = _string(params, name)
    if value is not None and value not in allowed:
        # Wording unverified: Stripe's enum refusal names the values it takes.
        raise errors.invalid_param(
            name, f"Invalid {name}: must be one of {', '.join(sorted(allowed))}"
        )
    return value


def _string(params: Params, name: str, shown: str | None = None) -> str | None:
    value = params.get(name)
    if value is None or isinstance(value, str):
        return value
    raise errors.invalid_param(shown or name, "Invalid string: an object or array was given")


def _string_list(params: Params, name: str) -> list[str] | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.invalid_param(name, "Invalid array")
    return value


def _boolean(params: Params, name: str) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    if value in {"true", "false"}:
        return bool(value == "true")
    raise errors.invalid_param(name, f"Invalid boolean: {value}", "parameter_invalid_boolean")


def _integer(params: Params, name: str, default: int, shown: str | None = None) -> int:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    raise errors.invalid_integer(shown or name, value)


def _metadata(params: Params, name: str = "metadata", shown: str | None = None) -> dict[str, str]:
    """A metadata hash; an empty string means "no metadata" (Stripe's way to unset it)."""
    value = params.get(name)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise errors.invalid_param(shown or name, "Invalid hash")
    return dict(value)


_ID = r"([^/]+)"
ROUTES: tuple[Route, ...] = (
    Route("POST", re.compile("/v1/customers"), StripeApi.create_customer),
    Route("GET", re.compile(f"/v1/customers/{_ID}"), StripeApi.get_customer),
    Route("GET", re.compile("/v1/prices"), StripeApi.list_prices),
    Route("POST", re.compile("/v1/checkout/sessions"), StripeApi.create_checkout_session),
    Route("GET", re.compile("/v1/checkout/sessions"), StripeApi.list_checkout_sessions),
    Route("GET", re.compile(f"/v1/checkout/sessions/{_ID}"), StripeApi.get_checkout_session),
    Route(
        "POST",
        re.compile(f"/v1/checkout/sessions/{_ID}/expire"),
        StripeApi.expire_checkout_session,
    ),
    Route("POST", re.compile("/v1/billing_portal/sessions"), StripeApi.create_portal_session),
    Route("GET", re.compile("/v1/subscriptions"), StripeApi.list_subscriptions),
    Route("GET", re.compile(f"/v1/subscriptions/{_ID}"), StripeApi.get_subscription),
    Route("GET", re.compile(f"/v1/invoices/{_ID}"), StripeApi.get_invoice),
    Route("POST", re.compile("/v1/billing/meter_events"), StripeApi.create_meter_event),
)
