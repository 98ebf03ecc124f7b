"""What every POST route shares: the Idempotency-Key header, serving a POST once per key, and
the JSON response a route declares beside its model."""

# Annotations are evaluated at definition (no `from __future__ import annotations`): the
# resolver reads the header's type hints.

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header
from pydantic import BaseModel

from inboxfleet.api.caller import lambda_context
from inboxfleet.api.runtime import deps

# Printable ASCII without spaces: what a client library generates (a uuid, usually).
IDEMPOTENCY_KEY = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=255,
        pattern=r"^[!-~]+$",
        description="Any unique string (a uuid): the same key and body answer the same again.",
    ),
]


# An answer no cache (browser, proxy, CDN) may keep: a password, a sign-in link.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def declared_headers(headers: Mapping[str, str]) -> dict[str, Any]:
    """Response headers as the OpenAPI document declares them (each with its value)."""
    return {
        name: {"description": value, "schema": {"type": "string"}}
        for name, value in headers.items()
    }


def answer(
    status: int,
    model: type[BaseModel],
    description: str,
    *,
    headers: Mapping[str, str] | None = None,
) -> dict[int, Any]:
    """A route's success response for the OpenAPI document."""
    declared: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"model": model}},
    }
    if headers:
        declared["headers"] = declared_headers(headers)
    return {int(status): declared}


def json_response(
    status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> Response[Any]:
    # The body stays a dict: the resolver validates it against the route's declared answer.
    return Response(
        status_code=status, content_type="application/json", body=body, headers=dict(headers or {})
    )


def once(
    tenant_id: UUID,
    path: str,
    idempotency_key: str | None,
    payload: dict[str, Any],
    operation: Callable[[], BaseModel],
    *,
    status: int = HTTPStatus.ACCEPTED,
    headers: Mapping[str, str] | None = None,
) -> Response[Any]:
    """Serve a POST once per Idempotency-Key: a repeat gets the first answer. `path` is the
    route's with its validated ids (one inbox spelt in capitals or without hyphens is one
    request, not two). A route whose body or answer holds a secret takes no Idempotency-Key:
    what is stored here is the answer."""
    from inboxfleet.api.idempotency import Answer, Request, idempotently

    request = Request(
        tenant_id=tenant_id, method="POST", path=path, key=idempotency_key, payload=payload
    )
    answered = idempotently(
        request,
        lambda: Answer(status=int(status), body=operation().model_dump(mode="json")),
        context=lambda_context(),
        database=deps().database,
    )
    return json_response(answered.status, answered.body, headers)
