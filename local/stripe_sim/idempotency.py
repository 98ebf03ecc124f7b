"""Idempotency-Key handling as Stripe's v1 API does it.

Stripe saves the status and body of the first request made with a key once the endpoint began
executing, 500s included, and answers a retry with the same key from that record (header
`Idempotent-Replayed: true`). The same key with other parameters (or another endpoint) is
refused with a 400 `idempotency_error`. Keys may be pruned after 24 hours. Requests refused
before execution (authentication, parameter validation) leave no record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from local.stripe_sim import errors
from local.stripe_sim.forms import Params

KEY_LIFETIME_S = 24 * 3600


@dataclass(frozen=True)
class SavedReply:
    method: str
    path: str
    params: Params
    status: int
    body: bytes
    should_retry: bool | None
    saved_at: float


class IdempotencyKeys:
    """Not locked itself: the simulator serializes POSTs around lookup-execute-save."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._saved: dict[str, SavedReply] = {}

    def lookup(self, key: str, method: str, path: str, params: Params) -> SavedReply | None:
        """The saved reply to replay, None for a fresh key; a mismatching request raises."""
        saved = self._saved.get(key)
        if saved is not None and self._clock() - saved.saved_at > KEY_LIFETIME_S:
            del self._saved[key]
            saved = None
        if saved is None:
            return None
        # Parameters compare as decoded values: field order on the wire does not matter.
        if (saved.method, saved.path, saved.params) != (method, path, params):
            raise errors.idempotency_mismatch(key)
        return saved

    def save(
        self,
        key: str,
        *,
        method: str,
        path: str,
        params: Params,
        status: int,
        body: bytes,
        should_retry: bool | None,
    ) -> None:
        self._saved[key] = SavedReply(
            method, path, params, status, body, should_retry, self._clock()
        )
