"""/v1/domains: the routes. Each parses, calls one operation of `domain_service` as the caller's
tenant, and answers; POSTs go through `idempotency`."""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic and
# the resolver read the route's type hints.

from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from inboxfleet.api.caller import caller
from inboxfleet.api.domain_views import (
    DomainPage,
    DomainRequest,
    DomainView,
    RecordList,
    RecordSet,
)
from inboxfleet.api.errors import WITH_BODY, responses
from inboxfleet.api.posting import IDEMPOTENCY_KEY, answer, once
from inboxfleet.api.routing import Routes
from inboxfleet.api.runtime import deps

DEFAULT_PAGE = 50
MAX_PAGE = 100

routes = Routes()
_C, _N, _P = HTTPStatus.CONFLICT, HTTPStatus.NOT_FOUND, HTTPStatus.PAYMENT_REQUIRED


@routes.get(
    "/v1/domains",
    summary="The tenant's domains, oldest first, a page at a time",
    tags=["domains"],
    responses={200: {"description": "A page of domains"}, **responses()},
)
def get_domains(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> DomainPage:
    from inboxfleet.api.domain_service import list_domains

    return list_domains(caller(), deps(), limit=limit, cursor=cursor)


@routes.post(
    "/v1/domains",
    summary="Add a domain: its own hosted zone, and the name servers to delegate to",
    description="The answer's `delegation.name_servers` are what to set at the registrar. What "
    "the domain serves today (apex and www, the names in `carry_over`) is copied into the zone "
    "first, so delegating keeps the website and tracking links working. The domain is yours "
    "once the parent zone delegates to your zone: until then others' claims are only pending "
    "too.",
    tags=["domains"],
    responses={
        **answer(HTTPStatus.CREATED, DomainView, "The domain, waiting for its delegation"),
        **responses(_P, _C, *WITH_BODY),
    },
)
def post_domain(
    request: Annotated[DomainRequest, Body()],
    idempotency_key: IDEMPOTENCY_KEY = None,
) -> Response[DomainView]:
    from inboxfleet.api.domain_service import add_domain

    tenant_id = caller()
    return once(
        tenant_id,
        "/v1/domains",
        idempotency_key,
        request.model_dump(mode="json"),
        lambda: add_domain(tenant_id, request, deps()),
        status=HTTPStatus.CREATED,
    )


@routes.get(
    "/v1/domains/<domain_id>",
    summary="One domain: delegation, name servers, every record with its verification state",
    tags=["domains"],
    responses={200: {"description": "The domain"}, **responses(_N)},
)
def get_domain(domain_id: UUID) -> DomainView:
    from inboxfleet.api.domain_service import describe_domain

    return describe_domain(caller(), domain_id, deps())


@routes.post(
    "/v1/domains/<domain_id>/verify",
    summary="Re-check the domain now: its delegation and every record of its zone",
    tags=["domains"],
    responses={
        **answer(HTTPStatus.OK, DomainView, "The domain as checked now"),
        **responses(_N, *WITH_BODY),
    },
)
def verify_domain(domain_id: UUID) -> DomainView:
    from inboxfleet.api import domain_service

    # Not idempotency-keyed: a check has no effect to repeat, only a fresher answer.
    return domain_service.verify_domain(caller(), domain_id, deps())


@routes.delete(
    "/v1/domains/<domain_id>",
    summary="Remove a domain with no inboxes or servers: its zone and its claim go",
    tags=["domains"],
    responses={200: {"description": "Removed"}, **responses(_N, _C)},
)
def delete_domain(domain_id: UUID) -> DomainView:
    from inboxfleet.api.domain_service import remove_domain

    return remove_domain(caller(), domain_id, deps())


@routes.get(
    "/v1/domains/<domain_id>/records",
    summary="Every record of the domain's zone, ours marked `managed`",
    tags=["domains"],
    responses={200: {"description": "The records"}, **responses(_N)},
)
def get_records(domain_id: UUID) -> RecordList:
    from inboxfleet.api.domain_service import list_records

    return list_records(caller(), domain_id, deps())


@routes.put(
    "/v1/domains/<domain_id>/records",
    summary="Replace the tenant's own records (ours stay; one where ours go is a 409)",
    tags=["domains"],
    responses={200: {"description": "The records now"}, **responses(_N, _C, *WITH_BODY)},
)
def put_records(domain_id: UUID, records: Annotated[RecordSet, Body()]) -> RecordList:
    from inboxfleet.api.domain_service import replace_records

    return replace_records(caller(), domain_id, records, deps())
