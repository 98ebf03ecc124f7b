"""Stripe's side of a webhook, locally: an event POSTed to an endpoint, signed with the endpoint's
secret as Stripe signs it (`Stripe-Signature: t=<now>,v1=<HMAC-SHA256>`)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from local.stripe_samples import signature_header

DELIVERY_TIMEOUT_S = 30.0


def deliver(endpoint: str, event: dict[str, Any], secret: str) -> httpx.Response:
    body = json.dumps(event)
    headers = {
        "content-type": "application/json; charset=utf-8",
        "stripe-signature": signature_header(body, secret, int(time.time())),
    }
    return httpx.post(endpoint, content=body, headers=headers, timeout=DELIVERY_TIMEOUT_S)
