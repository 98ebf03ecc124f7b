"""/v1/inboxes: the routes. Each parses, calls one operation of `inbox_service` as the caller's
tenant, and answers; POSTs go through `idempotency`."""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic and
# the resolver read the route's type hints.

from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from inboxfleet.api.caller import caller
from inboxfleet.api.errors import WITH_BODY, responses
from inboxfleet.api.inbox_views import (
    InboxesAccepted,
    InboxPage,
    InboxRequest,
    InboxSummary,
    InboxView,
)
from inboxfleet.api.posting import IDEMPOTENCY_KEY, answer, json_response, once
from inboxfleet.api.routing import Routes
from inboxfleet.api.runtime import deps
from inboxfleet.lifecycles import InboxStatus
from inboxfleet.names import SENDING_DOMAIN_MAX_LENGTH

DEFAULT_PAGE = 50
MAX_PAGE = 100

routes = Routes()
_ACCEPTED = HTTPStatus.ACCEPTED
_C, _P, _N = HTTPStatus.CONFLICT, HTTPStatus.PAYMENT_REQUIRED, HTTPStatus.NOT_FOUND


@routes.get(
    "/v1/inboxes",
    summary="The tenant's inboxes, oldest first, a page at a time",
    tags=["inboxes"],
    responses={200: {"description": "A page of inboxes"}, **responses()},
)
def get_inboxes(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    status: Annotated[InboxStatus | None, Query()] = None,
    domain: Annotated[str | None, Query(min_length=1, max_length=SENDING_DOMAIN_MAX_LENGTH)] = None,
) -> InboxPage:
    from inboxfleet.api.inbox_service import list_inboxes

    return list_inboxes(
        caller(),
        deps(),
        limit=limit,
        cursor=cursor,
        status=status,
        domain=domain,
    )


@routes.post(
    "/v1/inboxes",
    summary="Ask for one inbox, or up to 100 at once (all or none)",
    description="Without an active subscription the inboxes wait as `awaiting_payment` and "
    "`next_step` says how to check out.",
    tags=["inboxes"],
    responses={
        **answer(
            _ACCEPTED, InboxesAccepted, "Recorded; provisioning starts (or waits for payment)"
        ),
        **responses(_P, _C, *WITH_BODY),
    },
)
def post_inboxes(
    request: Annotated[InboxRequest, Body()],
    idempotency_key: IDEMPOTENCY_KEY = None,
) -> Response[InboxesAccepted]:
    from inboxfleet.api.inbox_service import request_inboxes

    tenant_id = caller()
    return once(
        tenant_id,
        "/v1/inboxes",
        idempotency_key,
        request.model_dump(mode="json", exclude_none=True),
        lambda: request_inboxes(tenant_id, request.wanted(), deps()),
    )


@routes.get(
    "/v1/inboxes/<inbox_id>",
    summary="One inbox: its status, failure reason and step timeline",
    tags=["inboxes"],
    responses={200: {"description": "The inbox"}, **responses(_N)},
)
def get_inbox(inbox_id: UUID) -> InboxView:
    from inboxfleet.api.inbox_service import describe_inbox

    return describe_inbox(caller(), inbox_id, deps())


@routes.delete(
    "/v1/inboxes/<inbox_id>",
    summary="Delete an inbox: it is marked `deleting`, and its mailbox and (if last) its server go",
    tags=["inboxes"],
    responses={**answer(_ACCEPTED, InboxSummary, "Marked for deletion"), **responses(_N, _C)},
)
def delete_inbox(inbox_id: UUID) -> Response[InboxSummary]:
    from inboxfleet.api import inbox_service

    summary = inbox_service.delete_inbox(caller(), inbox_id, deps())
    return json_response(int(_ACCEPTED), summary.model_dump(mode="json"))


@routes.post(
    "/v1/inboxes/<inbox_id>/retry",
    summary="Give a failed inbox a new attempt",
    tags=["inboxes"],
    responses={
        **answer(_ACCEPTED, InboxSummary, "Queued again"),
        **responses(_N, _P, _C, *WITH_BODY),
    },
)
def retry_inbox(inbox_id: UUID, idempotency_key: IDEMPOTENCY_KEY = None) -> Response[InboxSummary]:
    from inboxfleet.api.inbox_service import retry_inbox

    tenant_id = caller()
    return once(
        tenant_id,
        f"/v1/inboxes/{inbox_id}/retry",
        idempotency_key,
        {},
        lambda: retry_inbox(tenant_id, inbox_id, deps()),
    )
