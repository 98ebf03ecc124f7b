"""/v1/servers: the tenant's mail servers, where they run and how many inboxes each holds."""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic and
# the resolver read them at run time.

from datetime import datetime
from ipaddress import IPv4Address, IPv6Address
from typing import Annotated
from uuid import UUID

from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, ConfigDict

from inboxfleet.api.caller import caller
from inboxfleet.api.errors import responses
from inboxfleet.api.routing import Routes
from inboxfleet.api.runtime import ApiDeps, deps
from inboxfleet.lifecycles import ServerStatus

DEFAULT_PAGE = 50
MAX_PAGE = 100

routes = Routes()


class ServerView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    ip: IPv4Address | IPv6Address | None  # None until Hostwinds has given it one
    location: str
    status: ServerStatus
    domain: str
    inboxes: int  # not deleted
    created_at: datetime


class ServerPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    servers: list[ServerView]
    next_cursor: str | None  # None: this is the last page


def list_servers(tenant_id: UUID, deps: ApiDeps, *, limit: int, cursor: str | None) -> ServerPage:
    from inboxfleet.api.cursor import decode_cursor, split_page
    from inboxfleet.db import tenant_session
    from inboxfleet.db.repositories import Servers

    with tenant_session(tenant_id, database=deps.database) as s:
        # Inside the session: an unknown tenant is a 403 before its cursor is looked at.
        after = decode_cursor(cursor) if cursor else None
        rows = Servers(s).page(limit=limit + 1, after=after)
    page, next_cursor = split_page(rows, limit)
    return ServerPage(
        servers=[ServerView.model_validate(row.model_dump()) for row in page],
        next_cursor=next_cursor,
    )


@routes.get(
    "/v1/servers",
    summary="The tenant's mail servers, oldest first, a page at a time",
    tags=["servers"],
    responses={200: {"description": "A page of servers"}, **responses()},
)
def get_servers(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> ServerPage:
    return list_servers(caller(), deps(), limit=limit, cursor=cursor)
