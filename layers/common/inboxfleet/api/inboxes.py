"""/v1/inboxes: what a tenant sees of its inboxes."""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic and
# the resolver read the route's type hints.

from datetime import datetime
from http import HTTPStatus
from typing import Any
from uuid import UUID

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict

from inboxfleet.api.caller import caller
from inboxfleet.api.errors import NotFound, responses

router = Router()  # type: ignore[no-untyped-call]


class TimelineStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    step: str
    outcome: str
    detail: dict[str, Any]
    occurred_at: datetime


class InboxView(BaseModel):
    """An inbox as its tenant sees it: where it stands, why it failed, what happened to it."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    address: str
    status: str
    attempt: int
    failure_reason: str | None
    suspension_reason: str | None
    created_at: datetime
    updated_at: datetime
    timeline: list[TimelineStep]


def describe_inbox(tenant_id: UUID, inbox_id: UUID) -> InboxView:
    """Another tenant's inbox is missing here, exactly like one that does not exist."""
    from inboxfleet.db import tenant_session
    from inboxfleet.db.repositories import Inboxes, InboxEvents

    with tenant_session(tenant_id) as s:
        inbox = Inboxes(s).get(inbox_id)
        if inbox is None:
            raise NotFound(f"no inbox {inbox_id}", field="inbox_id")
        timeline = InboxEvents(s).timeline(inbox_id)
    # Only the view's fields are taken (pydantic ignores the rest): no ciphertext, no server.
    timeline_rows = [entry.model_dump() for entry in timeline]
    return InboxView.model_validate({**inbox.model_dump(), "timeline": timeline_rows})


@router.get(
    "/v1/inboxes/<inbox_id>",
    summary="One inbox: its status, failure reason and step timeline",
    tags=["inboxes"],
    responses={200: {"description": "The inbox"}, **responses(HTTPStatus.NOT_FOUND)},
)
def get_inbox(inbox_id: UUID) -> InboxView:
    return describe_inbox(caller(router), inbox_id)
