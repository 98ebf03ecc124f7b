"""Stripe's error answers: `{"error": {"type", "message", "code"?, "param"?, "doc_url"?}}`.

Messages are Stripe's own wording where it could be confirmed from Stripe's answers quoted in
public code and issues; where a message is a plausible stand-in, its use says "unverified".
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

DOCS = "https://stripe.com/docs/error-codes/"


class StripeError(Exception):
    """An error answer. `saved`: whether an Idempotency-Key keeps it for replay. Stripe saves a
    result only once the endpoint began executing, so parameter validation failures are not
    saved and a corrected retry with the same key may still succeed."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        saved: bool = True,
        should_retry: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.saved = saved
        self.should_retry = should_retry

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = DOCS + self.code.replace("_", "-")
        error["message"] = self.message
        if self.param is not None:
            error["param"] = self.param
        error["type"] = self.type
        return {"error": error}


def missing_param(name: str) -> StripeError:
    return StripeError(
        HTTPStatus.BAD_REQUEST,
        f"Missing required param: {name}.",
        code="parameter_missing",
        param=name,
        saved=False,
    )


def unknown_param(name: str) -> StripeError:
    return StripeError(
        HTTPStatus.BAD_REQUEST,
        f"Received unknown parameter: {name}",
        code="parameter_unknown",
        param=name,
        saved=False,
    )


def invalid_param(name: str, message: str, code: str | None = None) -> StripeError:
    return StripeError(HTTPStatus.BAD_REQUEST, message, code=code, param=name, saved=False)


def invalid_integer(name: str, value: object) -> StripeError:
    return invalid_param(name, f"Invalid integer: {value}", "parameter_invalid_integer")


def no_such(kind: str, object_id: str, *, param: str = "id") -> StripeError:
    """An unknown id: 404 when it is the URL's object, 400 when a parameter names it."""
    status = HTTPStatus.NOT_FOUND if param == "id" else HTTPStatus.BAD_REQUEST
    return StripeError(
        status, f"No such {kind}: '{object_id}'", code="resource_missing", param=param
    )


def unrecognized_url(method: str, path: str) -> StripeError:
    return StripeError(
        HTTPStatus.NOT_FOUND,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or "
        "we can help at https://support.stripe.com/.",
        saved=False,
    )


def no_api_key() -> StripeError:
    return StripeError(
        HTTPStatus.UNAUTHORIZED,
        "You did not provide an API key. You need to provide your API key in the Authorization "
        "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
        "https://stripe.com/docs/api#authentication for details, or we can help at "
        "https://support.stripe.com/.",
        saved=False,
    )


def invalid_api_key(presented: str) -> StripeError:
    return StripeError(
        HTTPStatus.UNAUTHORIZED,
        f"Invalid API Key provided: {masked(presented)}",
        saved=False,
    )


def masked(key: str) -> str:
    """Like Stripe: the key's prefix and last four characters, the rest starred."""
    if len(key) <= 12:
        return "*" * len(key)
    prefix = key[: key.index("_", 3) + 1] if key.count("_") >= 2 else key[:3]
    return prefix + "*" * (len(key) - len(prefix) - 4) + key[-4:]


def idempotency_mismatch(key: str) -> StripeError:
    return StripeError(
        HTTPStatus.BAD_REQUEST,
        "Keys for idempotent requests can only be used with the same parameters they were "
        f"first used with. Try using a key other than '{key}' if you meant to execute a "
        "different request.",
        type="idempotency_error",
        saved=False,
    )
