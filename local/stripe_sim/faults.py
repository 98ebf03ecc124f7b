"""Injected error replies (a rate limit, an outage): consumed one request at a time.

A fault answers before the request is executed, so nothing is created and nothing is kept
under the request's Idempotency-Key: a retry with the same key runs for real, which is what
a transient 429/5xx in front of the API looks like to a client.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

from local.fault_book import FaultBook
from local.stripe_sim.errors import StripeError


@dataclass(frozen=True, kw_only=True)
class ErrorFault:
    status: int
    path: str | None = None  # None: any path; else an exact path such as "/v1/customers"
    method: str | None = None  # None: any method
    should_retry: bool | None = None  # sets the Stripe-Should-Retry header when given
    # A 4xx's invalid_request_error names the parameter it refuses (and a code) when given: a
    # refusal the simulator does not model itself, e.g. Stripe finding a URL invalid.
    param: str | None = None
    code: str | None = None

    def __post_init__(self) -> None:
        if not 400 <= self.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if (self.param or self.code) and not 400 <= self.status <= 499:
            raise ValueError("only a 4xx names a parameter or a code")

    def matches(self, method: str, path: str) -> bool:
        return (self.path is None or self.path == path) and (
            self.method is None or self.method == method
        )

    def error(self) -> StripeError:
        if self.status == HTTPStatus.TOO_MANY_REQUESTS:
            return StripeError(
                self.status,
                "Request rate limit exceeded. You can learn more about rate limits here "
                "https://stripe.com/docs/rate-limits.",
                code="rate_limit",
                should_retry=self.should_retry,
            )
        if self.status >= 500:
            return StripeError(
                self.status,
                "An unknown error occurred",
                type="api_error",
                should_retry=self.should_retry,
            )
        if self.param is not None:
            # Wording unverified: Stripe's messages for a refused parameter vary by check.
            message = f"Invalid {self.param}: the value was refused."
        else:
            message = HTTPStatus(self.status).phrase
        return StripeError(
            self.status,
            message,
            code=self.code,
            param=self.param,
            should_retry=self.should_retry,
        )


class FaultQueue(FaultBook[ErrorFault]):
    def take_for(self, method: str, path: str) -> ErrorFault | None:
        return self.take(lambda fault: fault.matches(method, path))
