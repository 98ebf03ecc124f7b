"""/v1/inboxes: what a tenant sees of its inboxes."""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic and
# the resolver read the route's type hints.

from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, ConfigDict

from inboxfleet.api.caller import caller
from inboxfleet.api.cursor import decode_cursor, encode_cursor
from inboxfleet.api.errors import InvalidRequest, NotFound, responses
from inboxfleet.lifecycles import InboxStatus
from inboxfleet.names import SENDING_DOMAIN_MAX_LENGTH, customer_domain

DEFAULT_PAGE = 50
MAX_PAGE = 100

router = Router()  # type: ignore[no-untyped-call]


class TimelineStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    step: str
    outcome: str
    detail: dict[str, Any]
    occurred_at: datetime


class InboxSummary(BaseModel):
    """An inbox as its tenant sees it: where it stands and why it failed."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    address: str
    status: InboxStatus
    attempt: int
    failure_reason: str | None
    suspension_reason: str | None
    created_at: datetime
    updated_at: datetime


class InboxView(InboxSummary):
    """One inbox, with what happened to it."""

    timeline: list[TimelineStep]


class InboxPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    inboxes: list[InboxSummary]
    next_cursor: str | None  # None: this is the last page


def list_inboxes(
    tenant_id: UUID, *, limit: int, cursor: str | None, status: str | None, domain: str | None
) -> InboxPage:
    from inboxfleet.db import tenant_session
    from inboxfleet.db.repositories import Inboxes

    with tenant_session(tenant_id) as s:
        # Inside the session: an unknown tenant is a 403 before its cursor is looked at.
        after = decode_cursor(cursor) if cursor else None
        # One more than asked: whether a next page exists, without a count.
        rows = Inboxes(s).page(
            limit=limit + 1,
            after=after,
            status=InboxStatus(status) if status else None,
            domain=domain,
        )
    page, more = rows[:limit], len(rows) > limit
    return InboxPage(
        inboxes=[InboxSummary.model_validate(row.model_dump()) for row in page],
        next_cursor=encode_cursor(page[-1].created_at, page[-1].id) if more else None,
    )


def describe_inbox(tenant_id: UUID, inbox_id: UUID) -> InboxView:
    """Another tenant's inbox is missing here, exactly like one that does not exist."""
    from inboxfleet.db import tenant_session
    from inboxfleet.db.repositories import Inboxes, InboxEvents

    with tenant_session(tenant_id) as s:
        inbox = Inboxes(s).get(inbox_id)
        if inbox is None:
            raise NotFound(f"no inbox {inbox_id}", field="path.inbox_id")
        timeline = InboxEvents(s).timeline(inbox_id)
    # Only the view's fields are taken (pydantic ignores the rest): no ciphertext, no server.
    timeline_rows = [entry.model_dump() for entry in timeline]
    return InboxView.model_validate({**inbox.model_dump(), "timeline": timeline_rows})


@router.get(
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
    return list_inboxes(
        caller(router),
        limit=limit,
        cursor=cursor,
        status=status.value if status else None,
        domain=_domain(domain) if domain else None,
    )


def _domain(value: str) -> str:
    try:
        return customer_domain(value)
    except ValueError as exc:
        raise InvalidRequest(str(exc), field="query.domain") from None


@router.get(
    "/v1/inboxes/<inbox_id>",
    summary="One inbox: its status, failure reason and step timeline",
    tags=["inboxes"],
    responses={200: {"description": "The inbox"}, **responses(HTTPStatus.NOT_FOUND)},
)
def get_inbox(inbox_id: UUID) -> InboxView:
    return describe_inbox(caller(router), inbox_id)
