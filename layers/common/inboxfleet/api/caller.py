"""The request being served, and its calling tenant.

Powertools keeps the current event on the resolver, so a resolver serves one request at a time.
In Lambda that is always so; locally one process serves concurrent requests on threads, each
with a resolver of its own (see `resolver.serve`). Routes find theirs here, per thread."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import TYPE_CHECKING, cast
from uuid import UUID

from inboxfleet.api.identity import tenant_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
    from aws_lambda_powertools.utilities.typing import LambdaContext

_serving: ContextVar[ApiGatewayResolver] = ContextVar("inboxfleet_api_serving")


@contextmanager
def serving(resolver: ApiGatewayResolver) -> Iterator[None]:
    token = _serving.set(resolver)
    try:
        yield
    finally:
        _serving.reset(token)


def current_event() -> APIGatewayProxyEventV2:
    # The HTTP API resolver's events are payload 2.0 ones.
    return cast("APIGatewayProxyEventV2", _serving.get().current_event)


def lambda_context() -> LambdaContext:
    return _serving.get().lambda_context


@cache
def _claim() -> str:
    from inboxfleet.settings import api_settings_from_env

    return api_settings_from_env().tenant_claim


def caller() -> UUID:
    authorizer = current_event().request_context.authorizer
    return tenant_of(authorizer.jwt_claim if authorizer else None, _claim())
