"""Stripe's side of webhooks: the endpoints registered with the account (as in Stripe's
dashboard, each with its signing secret) and each event POSTed to every one of them, signed as
Stripe signs (`Stripe-Signature: t=<now>,v1=<HMAC-SHA256 of "t.body">`). One attempt per
endpoint: Stripe's retries over three days are not simulated."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from inboxfleet.billing.signature import expected_signature

DELIVERY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class WebhookEndpoint:
    url: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class Delivery:
    """One POST of an event and what the endpoint answered (status 0: it could not be
    reached; `answer` then says why)."""

    event_id: str
    event_type: str
    url: str
    status: int
    answer: str


def signature_header(body: str, secret: str, at: int) -> str:
    return f"t={at},v1={expected_signature(body.encode(), at, secret)}"


def deliver(endpoint: WebhookEndpoint, event: dict[str, Any]) -> Delivery:
    body = json.dumps(event)
    headers = {
        "content-type": "application/json; charset=utf-8",
        "stripe-signature": signature_header(body, endpoint.secret, int(time.time())),
    }
    try:
        answer = httpx.post(endpoint.url, content=body, headers=headers, timeout=DELIVERY_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return Delivery(event["id"], event["type"], endpoint.url, 0, type(exc).__name__)
    return Delivery(event["id"], event["type"], endpoint.url, answer.status_code, answer.text)
