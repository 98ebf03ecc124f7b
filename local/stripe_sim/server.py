"""The HTTP face of the Stripe simulator and the test-side handle on its state.

Requests go through: injected fault -> authentication -> parameter decoding -> idempotency
record -> endpoint. Answers are JSON with Stripe's headers (`Request-Id`, `Stripe-Version`,
`Idempotent-Replayed` on a replay, `Stripe-Should-Retry` where Stripe sends it).

Nothing received is logged or recorded beyond method, path, status and the Idempotency-Key:
never the API key, never a request body.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

from local.loopback import HttpSimulator, LoopbackHTTPServer, QuietHandler
from local.stripe_sim import errors
from local.stripe_sim.api import StripeApi
from local.stripe_sim.errors import StripeError
from local.stripe_sim.faults import ErrorFault, FaultQueue
from local.stripe_sim.forms import MalformedParams, Params, parse_params
from local.stripe_sim.idempotency import IdempotencyKeys
from local.stripe_sim.ids import new_id
from local.stripe_sim.objects import API_VERSION, LEGACY_API_VERSION
from local.stripe_sim.state import Store
from local.stripe_sim.webhooks import Delivery, WebhookEndpoint, deliver

FORM_TYPE = "application/x-www-form-urlencoded"

log = logging.getLogger("local.stripe_sim")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # without the query string
    status: int
    idempotency_key: str | None
    replayed: bool


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    should_retry: bool | None = None
    replayed: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)


def encode(payload: object) -> bytes:
    return json.dumps(payload, indent=2).encode()  # Stripe pretty-prints its JSON


def error_reply(error: StripeError) -> Reply:
    headers = {"WWW-Authenticate": 'Basic realm="Stripe"'} if error.status == 401 else {}
    return Reply(error.status, encode(error.body()), error.should_retry, headers=headers)


class _Handler(QuietHandler):
    server: LoopbackHTTPServer[StripeSimulator]
    server_version = "nginx"  # as api.stripe.com

    def _serve(self) -> None:
        body = self.read_body()
        if body is None:
            self.send_reply(Reply(HTTPStatus.BAD_REQUEST, b""), None)
            return
        self.server.owner._serve(self, body)

    do_GET = do_POST = do_DELETE = _serve

    def send_reply(self, reply: Reply, idempotency_key: str | None) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Request-Id", new_id("req_"))
        self.send_header("Stripe-Version", self.server.owner.api_version)
        if idempotency_key is not None:
            self.send_header("Idempotency-Key", idempotency_key)
        if reply.replayed:
            self.send_header("Idempotent-Replayed", "true")
        if reply.should_retry is not None:
            self.send_header("Stripe-Should-Retry", "true" if reply.should_retry else "false")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)
        log.debug("%s %s -> %s", self.command, urlsplit(self.path).path, reply.status)


class StripeSimulator(HttpSimulator):
    """Stripe's v1 API for one test-mode account on loopback; use as a context manager.

    `legacy_shapes` renders subscriptions, invoices and events as API version 2024-06-20 does
    (else as 2025-03-31.basil) whatever `Stripe-Version` a client sends. `clock` gives "now"
    for `created`, periods and the meter-event timestamp window.
    """

    kind = "Stripe simulator"
    handler = _Handler

    def __init__(
        self,
        api_key: str = "sk_test_local",
        *,
        legacy_shapes: bool = False,
        clock: Callable[[], float] = time.time,
        port: int = 0,
    ) -> None:
        if not api_key:
            raise ValueError("an API key is required")
        super().__init__(port)
        self._api_key = api_key
        self._store = Store(clock=clock, legacy=legacy_shapes)
        self._api = StripeApi(self._store)
        self._keys = IdempotencyKeys(clock)
        self._faults = FaultQueue()
        self._log: list[RecordedRequest] = []
        self._log_lock = threading.Lock()
        self._endpoints: dict[str, WebhookEndpoint] = {}
        self._deliveries: list[Delivery] = []

    def __repr__(self) -> str:  # never shows the API key
        state = "running" if self._serving is not None else "stopped"
        return f"<StripeSimulator {state}>"

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """For `StripeClient(key, base_addresses={"api": sim.base_url})`."""
        return self.root_url

    @property
    def legacy_shapes(self) -> bool:
        return self._store.legacy

    @property
    def api_version(self) -> str:
        return LEGACY_API_VERSION if self._store.legacy else API_VERSION

    # ---- set-up and inspection (no HTTP) ---------------------------------------------------

    def add_price(self, lookup_key: str | None, **kw: Any) -> dict[str, Any]:
        """A price; `kw`: id, product, unit_amount, currency, interval, usage_type, active."""
        return self._store.add_price(lookup_key, **kw).render()

    def add_customer(
        self,
        email: str | None = None,
        name: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        return self._store.add_customer(email, name, metadata).render()

    def update_customer(self, customer_id: str, metadata: dict[str, str]) -> dict[str, Any]:
        """Merge `metadata` into the customer's (e.g. an operator linking it to a tenant)."""
        return self._store.update_customer(customer_id, metadata).render()

    def add_subscription(
        self,
        customer: str,
        lookup_key: str,
        quantity: int = 1,
        status: str = "active",
        metadata: dict[str, str] | None = None,
        *,
        current_period_start: int | None = None,
        current_period_end: int | None = None,
    ) -> dict[str, Any]:
        """A one-item subscription on the price with `lookup_key`; the period starts now and
        lasts one price interval unless given."""
        with self._store.lock:
            sub = self._store.add_subscription(
                customer,
                self._store.price_by_lookup_key(lookup_key),
                quantity=quantity,
                status=status,
                metadata=metadata,
                current_period_start=current_period_start,
                current_period_end=current_period_end,
            )
            return self._store.render_subscription(sub.id)

    def update_subscription(self, sub_id: str, **changes: Any) -> dict[str, Any]:
        """Change status, quantity, lookup_key (the price), metadata, cancel_at_period_end,
        cancellation_reason, canceled_at, ended_at, current_period_start/end. Cancelling
        stamps canceled_at/ended_at with "now" and the reason "cancellation_requested" unless
        given. Nothing else moves (periods do not advance by themselves)."""
        with self._store.lock:
            self._store.update_subscription(sub_id, changes)
            return self._store.render_subscription(sub_id)

    def add_invoice(
        self,
        customer: str,
        subscription: str | None = None,
        *,
        status: str = "open",
        amount_due: int | None = None,
        amount_paid: int | None = None,
        attempt_count: int = 0,
        next_payment_attempt: int | None = None,
        billing_reason: str = "subscription_cycle",
        currency: str = "usd",
    ) -> dict[str, Any]:
        """An invoice; amount_due defaults to the subscription's price x quantity, amount_paid
        to amount_due when paid (else 0). The subscription's metadata is snapshotted."""
        with self._store.lock:
            invoice = self._store.add_invoice(
                customer,
                subscription,
                status=status,
                amount_due=amount_due,
                amount_paid=amount_paid,
                attempt_count=attempt_count,
                next_payment_attempt=next_payment_attempt,
                billing_reason=billing_reason,
                currency=currency,
            )
            return self._store.render_invoice(invoice.id)

    def update_invoice(self, invoice_id: str, **changes: Any) -> dict[str, Any]:
        """Change status, amount_due, amount_paid, attempt_count, next_payment_attempt,
        hosted_invoice_url, customer_email, billing_reason. Marking it paid also sets
        amount_paid = amount_due and clears next_payment_attempt unless given."""
        with self._store.lock:
            self._store.update_invoice(invoice_id, changes)
            return self._store.render_invoice(invoice_id)

    def complete_checkout(self, session_id: str) -> dict[str, Any]:
        """The customer pays on the hosted page: returns the new active subscription, after
        `customer.subscription.created` went to the webhook endpoints (if any)."""
        with self._store.lock:
            sub = self._store.complete_checkout(session_id)
            subscription = self._store.render_subscription(sub.id)
        self.send_event("customer.subscription.created", subscription)
        return subscription

    # ---- webhooks ----------------------------------------------------------------------------

    def add_webhook_endpoint(self, url: str, secret: str) -> None:
        """Register an endpoint (as in Stripe's dashboard): every event is POSTed to it, signed
        with `secret`. The same URL again replaces its secret."""
        with self._log_lock:
            self._endpoints[url] = WebhookEndpoint(url, secret)

    def remove_webhook_endpoint(self, url: str) -> None:
        with self._log_lock:
            self._endpoints.pop(url, None)

    def send_event(
        self, type: str, obj: dict[str, Any], previous_attributes: dict[str, Any] | None = None
    ) -> list[Delivery]:
        """An event around `obj`, POSTed to every endpoint (none registered: nobody hears of
        it); what each answered."""
        with self._log_lock:
            endpoints = list(self._endpoints.values())
        if not endpoints:
            return []
        event = self.event(type, obj, previous_attributes)
        sent = [deliver(endpoint, event) for endpoint in endpoints]
        with self._log_lock:
            self._deliveries.extend(sent)
        return sent

    @property
    def deliveries(self) -> list[Delivery]:
        """Every webhook delivery so far, oldest first."""
        with self._log_lock:
            return list(self._deliveries)

    def customer(self, customer_id: str) -> dict[str, Any]:
        return self._store.render_customer(customer_id)

    def subscription(self, sub_id: str) -> dict[str, Any]:
        return self._store.render_subscription(sub_id)

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        return self._store.render_invoice(invoice_id)

    def checkout_session(self, session_id: str) -> dict[str, Any]:
        return self._store.render_session(session_id)

    @property
    def customers(self) -> list[dict[str, Any]]:
        with self._store.lock:
            return [c.render() for c in self._store.customers.values()]

    @property
    def checkout_sessions(self) -> list[dict[str, Any]]:
        with self._store.lock:
            return [self._store.render_session(sid) for sid in self._store.sessions]

    @property
    def portal_sessions(self) -> list[dict[str, Any]]:
        """Customer-portal sessions, oldest first."""
        with self._store.lock:
            return [self._store.render_portal_session(sid) for sid in self._store.portal_sessions]

    def event(
        self,
        type: str,
        obj: dict[str, Any],
        previous_attributes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An event around `obj` with a fresh evt_ id, created now, in this simulator's shape
        (for building webhook deliveries)."""
        return self._store.event(type, obj, previous_attributes)

    @property
    def meter_events(self) -> list[dict[str, Any]]:
        """Accepted meter events, oldest first (a refused duplicate is not among them)."""
        with self._store.lock:
            return [dict(event) for event in self._store.meter_events]

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request received, oldest first."""
        with self._log_lock:
            return [(entry.method, entry.path) for entry in self._log]

    @property
    def request_log(self) -> list[RecordedRequest]:
        with self._log_lock:
            return list(self._log)

    # ---- faults ----------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        times: int = 1,
        *,
        path: str | None = None,
        method: str | None = None,
        should_retry: bool | None = None,
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        """Answer the next `times` matching requests with this error status (429: Stripe's
        rate_limit error, 5xx: api_error, another 4xx: invalid_request_error, naming `param`
        and `code` when given) without executing them."""
        fault = ErrorFault(
            status=status,
            path=path,
            method=method,
            should_retry=should_retry,
            param=param,
            code=code,
        )
        self._faults.add(fault, times)

    def pending_faults(self) -> int:
        return self._faults.pending()

    def clear_faults(self) -> None:
        self._faults.clear()

    # ---- serving ---------------------------------------------------------------------------

    def _serve(self, handler: _Handler, body: bytes) -> None:
        target = urlsplit(handler.path)
        path = unquote(target.path)
        method = handler.command
        key = handler.headers.get("Idempotency-Key") if method == "POST" else None
        try:
            reply = self._answer(method, path, target.query, body, handler=handler, key=key)
        except StripeError as error:
            reply = error_reply(error)
        except Exception:
            log.debug("stripe simulator: %s %s failed", method, path, exc_info=True)
            reply = error_reply(StripeError(500, "An unknown error occurred", type="api_error"))
        with self._log_lock:
            self._log.append(RecordedRequest(method, path, int(reply.status), key, reply.replayed))
        handler.send_reply(reply, key)

    def _answer(
        self,
        method: str,
        path: str,
        query: str,
        body: bytes,
        *,
        handler: _Handler,
        key: str | None,
    ) -> Reply:
        fault = self._faults.take_for(method, path)
        if fault is not None:
            return error_reply(fault.error())
        self._authenticate(handler.headers.get("Authorization"))
        params = self._params(method, query, body, handler.headers.get_content_type())
        if key is None:
            return self._execute(method, path, params)[0]
        # One POST at a time: a retry racing its original waits and then replays it.
        with self._store.lock:
            saved = self._keys.lookup(key, method, path, params)
            if saved is not None:
                return Reply(saved.status, saved.body, saved.should_retry, replayed=True)
            reply, keep = self._execute(method, path, params)
            if keep:
                self._keys.save(
                    key,
                    method=method,
                    path=path,
                    params=params,
                    status=reply.status,
                    body=reply.body,
                    should_retry=reply.should_retry,
                )
            return reply

    def _execute(self, method: str, path: str, params: Params) -> tuple[Reply, bool]:
        """The endpoint's reply, and whether an Idempotency-Key keeps it."""
        try:
            return Reply(HTTPStatus.OK, encode(self._api.handle(method, path, params))), True
        except StripeError as error:
            return error_reply(error), error.saved

    def _authenticate(self, authorization: str | None) -> None:
        scheme, _, credentials = (authorization or "").strip().partition(" ")
        presented = ""
        if scheme.lower() == "bearer":
            presented = credentials.strip()
        elif scheme.lower() == "basic":  # curl -u sk_test_...: (key as the user name)
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            presented = decoded.partition(":")[0]
        elif scheme:
            presented = scheme
        if not presented:
            raise errors.no_api_key()
        if not hmac.compare_digest(presented.encode(), self._api_key.encode()):
            raise errors.invalid_api_key(presented)

    @staticmethod
    def _params(method: str, query: str, body: bytes, content_type: str) -> Params:
        # v1 takes GET parameters in the query string and POST parameters as a form body.
        text = query if method == "GET" else ""
        if method != "GET" and (not body or content_type == FORM_TYPE):
            text = body.decode("utf-8", "replace")
        try:
            return parse_params(text)
        except MalformedParams as bad:
            raise errors.invalid_param(
                bad.param, f"Invalid {bad.param}: a value and a hash were both given"
            ) from None
