"""Stripe webhook signature verification (pure: no Stripe SDK on the webhook's cold path).

`Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`; a signature is
HMAC-SHA256(secret, "<t>.<raw body>"). Any v1 matching any of our secrets passes (Stripe sends
one v1 per active secret while a secret is being rolled). Only timestamps older than the
tolerance are refused; Stripe does not refuse future ones and neither do we. The tests sign with
Stripe's own helper, and a property test holds this verifier to the SDK's verdicts.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence

from inboxfleet.billing.errors import InvalidDelivery

DEFAULT_TOLERANCE_S = 300
MAX_HEADER_CHARS = 4096


def parse_header(header: str | None) -> tuple[int, list[str]]:
    """(timestamp, v1 signatures) of a Stripe-Signature header."""
    if header is None or not header.strip():
        raise InvalidDelivery("missing Stripe-Signature header")
    if len(header) > MAX_HEADER_CHARS:
        raise InvalidDelivery("malformed Stripe-Signature header")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise InvalidDelivery("malformed Stripe-Signature header")
        if key == "t":
            if not value.isascii() or not value.isdigit():
                raise InvalidDelivery("malformed Stripe-Signature header: bad timestamp")
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None:
        raise InvalidDelivery("malformed Stripe-Signature header: no timestamp")
    if not signatures:
        raise InvalidDelivery("malformed Stripe-Signature header: no v1 signature")
    return timestamp, signatures


def expected_signature(payload: bytes, timestamp: int, secret: str) -> str:
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(
    payload: bytes,
    header: str | None,
    secrets: Callable[[], Sequence[str]],
    now: float,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> int:
    """The delivery's timestamp, when some v1 signature matches some secret and the timestamp
    is within tolerance; InvalidDelivery with a short reason otherwise. The secrets are asked
    for only once the header is well formed: junk never costs a Secrets Manager read."""
    timestamp, signatures = parse_header(header)
    keys = secrets()
    matched = any(
        candidate.isascii()
        and hmac.compare_digest(expected_signature(payload, timestamp, secret), candidate)
        for secret in keys
        for candidate in signatures
    )
    if not matched:
        raise InvalidDelivery("no signature matches")
    # Checked after the signature, like Stripe's SDK: an attacker learns nothing from the order.
    if timestamp < now - tolerance_s:
        raise InvalidDelivery("timestamp outside the tolerance zone")
    return timestamp
