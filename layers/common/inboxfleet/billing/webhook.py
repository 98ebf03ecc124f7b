"""The Stripe webhook endpoint: verify, queue, record, answer.

A delivery is verified on the exact raw body; a bad one gets 400 and a short reason (Stripe
shows it on the endpoint), never 5xx. A verified event is queued on the FIFO queue (group = the
customer, deduplication id = the event id) and recorded only after the send succeeded; if the
send or the record fails the answer is 5xx and Stripe delivers again, so nothing is
acknowledged that is not durably queued. Duplicates are answered 200 and not queued again.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from inboxfleet.billing.errors import InvalidDelivery, InvalidEventMessage, QueueUnavailable
from inboxfleet.billing.ports import EventQueue
from inboxfleet.billing.signature import verify
from inboxfleet.billing.stripe_objects import StripeEvent, parse_event
from inboxfleet.db.connection import Database
from inboxfleet.db.repositories import StripeEventLog
from inboxfleet.db.sessions import system_session
from inboxfleet.observability import count, logger

# What the FIFO queue takes (MaximumMessageSize 256 KiB), less room for its attributes.
MAX_BODY_BYTES = 255 * 1024


class HttpRequest(BaseModel):
    """The parts of an API Gateway HTTP API (payload 2.0) request we read."""

    model_config = ConfigDict(extra="ignore")

    headers: dict[str, str] = {}
    body: str | None = None
    isBase64Encoded: bool = False  # API Gateway's field name


@dataclass
class WebhookDeps:
    secrets: Callable[[], list[str]]
    queue: EventQueue
    now: Callable[[], float]
    tolerance_s: int = 300
    database: Database | None = None


def _answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }


def _raw_body(request: HttpRequest) -> bytes:
    text = request.body or ""
    if not request.isBase64Encoded:
        return text.encode()
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidDelivery("body is not valid base64") from None


def receive(event: Any, deps: WebhookDeps) -> dict[str, Any]:
    try:
        stripe_event, payload = _verified_event(event, deps)
    except InvalidDelivery as exc:
        count("StripeDeliveriesRejected")
        logger.warning("Stripe delivery rejected", extra={"reason": str(exc)})
        return _answer(400, {"error": str(exc)})
    except Exception:
        # The signing secrets could not be read: nothing is wrong with the delivery.
        count("StripeDeliveriesNotVerified")
        logger.exception("could not verify a Stripe delivery; Stripe will deliver it again")
        return _answer(503, {"error": "could not verify the delivery now; deliver it again"})
    logger.append_keys(stripe_event_id=stripe_event.id, stripe_event_type=stripe_event.type)
    try:
        outcome = _accept(stripe_event, payload, deps)
    except QueueUnavailable as exc:
        count("StripeDeliveriesNotQueued")
        logger.error("verified Stripe event not queued; Stripe will deliver it again")
        return _answer(503, {"error": str(exc)})
    except Exception:
        # The event log could not be read or written (the queue may hold the event already:
        # its deduplication id and the worker's watermarks make Stripe's redelivery harmless).
        count("StripeDeliveriesNotRecorded")
        logger.exception("verified Stripe event not recorded; Stripe will deliver it again")
        return _answer(503, {"error": "could not record the event; deliver it again"})
    return _answer(200, {"received": True, "outcome": outcome})


def _verified_event(event: Any, deps: WebhookDeps) -> tuple[StripeEvent, str]:
    try:
        request = HttpRequest.model_validate(event)
    except ValidationError:
        raise InvalidDelivery("not an HTTP API request") from None
    raw = _raw_body(request)
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidDelivery("body too large")
    headers = {name.lower(): value for name, value in request.headers.items()}
    verify(raw, headers.get("stripe-signature"), deps.secrets, deps.now(), deps.tolerance_s)
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        raise InvalidDelivery("body is not JSON") from None
    try:
        if not isinstance(data, dict):
            raise InvalidEventMessage("not an object")
        stripe_event = parse_event(data)
    except InvalidEventMessage:
        raise InvalidDelivery("body is not a Stripe event") from None
    return stripe_event, text


def _accept(event: StripeEvent, payload: str, deps: WebhookDeps) -> str:
    with system_session("billing.webhook", database=deps.database) as session:
        log = StripeEventLog(session)
        if log.get(event.id) is not None:
            count("StripeDeliveriesDuplicate")
            return "duplicate"
        if not event.handled or event.customer_id is None:
            detail = "event type not handled" if not event.handled else "event names no customer"
            log.finish(
                event.id,
                event.type,
                event.created_at,
                event.customer_id,
                outcome="ignored",
                detail=detail,
            )
            count("StripeEventsIgnored")
            return "ignored"
    # Sent outside any transaction: nothing waits on SQS with a database transaction open.
    deps.queue.send(payload, group_id=event.customer_id, deduplication_id=event.id)
    with system_session("billing.webhook", database=deps.database) as session:
        StripeEventLog(session).record(event.id, event.type, event.created_at, event.customer_id)
    count("StripeEventsQueued")
    return "queued"
