"""The calling tenant of the request a route is serving."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, cast
from uuid import UUID

from inboxfleet.api.identity import tenant_of

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver, Router
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2


@cache
def _claim() -> str:
    from inboxfleet.settings import api_settings_from_env

    return api_settings_from_env().tenant_claim


def caller(router: Router | ApiGatewayResolver) -> UUID:
    # The HTTP API resolver's events are payload 2.0 ones.
    event = cast("APIGatewayProxyEventV2", router.current_event)
    authorizer = event.request_context.authorizer
    return tenant_of(authorizer.jwt_claim if authorizer else None, _claim())
