"""Every error the tenant API answers, in one shape: `{"error": {"code", "message", "field"}}`.

Services raise `ApiError`s; the resolver turns them (and request validation failures) into
responses in one place, and each route declares the ones it can answer with `responses()`, so the
published OpenAPI document says what the API really answers.
"""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic
# would otherwise compile each annotation string at import.

from http import HTTPStatus
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class ErrorDetail(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    field: str | None  # always sent: null when the error is about no one field


class ErrorBody(BaseModel):
    model_config = ConfigDict(frozen=True)

    error: ErrorDetail


class ApiError(Exception):
    status: ClassVar[HTTPStatus]
    code: ClassVar[str]

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def body(self) -> ErrorBody:
        return ErrorBody(error=ErrorDetail(code=self.code, message=self.message, field=self.field))


class Unauthenticated(ApiError):
    status = HTTPStatus.UNAUTHORIZED
    code = "unauthenticated"


class Forbidden(ApiError):
    status = HTTPStatus.FORBIDDEN
    code = "forbidden"


class NotFound(ApiError):
    status = HTTPStatus.NOT_FOUND
    code = "not_found"


class InvalidRequest(ApiError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "invalid_request"


class PaymentRequired(ApiError):
    status = HTTPStatus.PAYMENT_REQUIRED
    code = "payment_required"


class Conflict(ApiError):
    """The request cannot apply to the resource as it stands (a status, an address in use)."""

    status = HTTPStatus.CONFLICT
    code = "conflict"


class LimitReached(Conflict):
    """A plan limit: `field` names the limit (`max_inboxes`)."""

    code = "limit_reached"


class RequestInProgress(Conflict):
    """A request with this Idempotency-Key is still being served."""

    code = "request_in_progress"


class UnsupportedMediaType(ApiError):
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    code = "unsupported_media_type"


class Internal(ApiError):
    """A bug of ours, reported as one (logged with its detail, which the client never sees)."""

    status = HTTPStatus.INTERNAL_SERVER_ERROR
    code = "internal_error"


class Unavailable(ApiError):
    """A dependency (the database) cannot be reached now: the same request may pass later."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "unavailable"


class GatewayRefusal(BaseModel):
    """What API Gateway's JWT authorizer answers itself for a missing, expired or forged token,
    before the function runs."""

    model_config = ConfigDict(frozen=True)

    message: str


DESCRIPTIONS = {
    HTTPStatus.UNAUTHORIZED: "No valid token (API Gateway's answer), or no tenant in it",
    HTTPStatus.PAYMENT_REQUIRED: "No active subscription, or the account is suspended for "
    "non-payment",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "The body is larger than API Gateway takes (its answer)",
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: "The body is not JSON",
    HTTPStatus.FORBIDDEN: "The token's tenant does not exist or was deleted",
    HTTPStatus.NOT_FOUND: "No such resource for this tenant",
    HTTPStatus.CONFLICT: "The resource's state, a plan limit or a request in progress forbids it",
    HTTPStatus.UNPROCESSABLE_ENTITY: "The request is malformed (the field says where)",
    HTTPStatus.INTERNAL_SERVER_ERROR: "A bug on our side (logged; the answer says no more)",
    HTTPStatus.SERVICE_UNAVAILABLE: "The database cannot be reached now; try again later",
}


# What a route that takes a body (a POST) can answer besides: too large (API Gateway), not JSON.
WITH_BODY = (HTTPStatus.REQUEST_ENTITY_TOO_LARGE, HTTPStatus.UNSUPPORTED_MEDIA_TYPE)


def responses(*statuses: HTTPStatus) -> dict[int, Any]:
    """The error responses a route declares (each with the one error body); every tenant route
    can answer 401, 403, 422, 500 (a bug of ours) and 503. A 401 may also be API Gateway's own
    body, a 413 is only ever its."""
    every = (
        HTTPStatus.UNAUTHORIZED,
        HTTPStatus.FORBIDDEN,
        HTTPStatus.UNPROCESSABLE_ENTITY,
        HTTPStatus.INTERNAL_SERVER_ERROR,
        HTTPStatus.SERVICE_UNAVAILABLE,
    )
    declared: dict[int, Any] = {}
    for status in sorted({*every, *statuses}):
        model: Any = {
            HTTPStatus.UNAUTHORIZED: ErrorBody | GatewayRefusal,
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE: GatewayRefusal,
        }.get(status, ErrorBody)
        declared[int(status)] = {
            "description": DESCRIPTIONS[status],
            "content": {"application/json": {"model": model}},
        }
    return declared
