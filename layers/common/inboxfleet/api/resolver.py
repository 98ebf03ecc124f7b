"""The tenant API's resolver: its routers, the error mapping in one place, the generated OpenAPI
document at /v1/openapi.json and, in local mode only, Swagger UI at /v1/docs."""

# No `from __future__ import annotations`: the resolver reads its routes' annotations at run time,
# and a string "Response[str]" cannot be resolved there.

import json
import threading
from collections.abc import Callable
from functools import cache
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from inboxfleet.api.errors import (
    ApiError,
    Forbidden,
    Internal,
    InvalidRequest,
    NotFound,
    Unavailable,
    UnsupportedMediaType,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
    from aws_lambda_powertools.utilities.typing import LambdaContext

TITLE = "inboxfleet tenant API"
VERSION = "1"


def _error(error: ApiError) -> "Response[str]":
    from aws_lambda_powertools.event_handler import Response

    return Response(
        status_code=int(error.status),
        content_type="application/json",
        body=error.body().model_dump_json(),
    )


def _validation_error(errors: list[dict[str, Any]]) -> "Response[str]":
    """Powertools' request validation failure, in the API's one error shape: the first problem,
    its field named (`body.addresses.3`, `query.limit`, `path.inbox_id`)."""
    first = errors[0] if errors else {}
    field = ".".join(str(part) for part in first.get("loc", ())) or None
    if first.get("type") == "json_invalid":
        field = "body"  # its loc ends in a character position, not a field
        first = {**first, "msg": f"the body is not JSON: {first.get('ctx', {}).get('error')}"}
    # pydantic prefixes a validator's own message; the message is the validator's alone.
    message = str(first.get("msg", "the request is invalid")).removeprefix("Value error, ")
    return _error(InvalidRequest(message, field=field))


def _document() -> dict[str, Any]:
    """What the published document says beyond the routes: every operation needs the tenant's
    token (API Gateway's JWT authorizer checks it before the function runs)."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    bearer = HTTPBearer(
        bearerFormat="JWT",
        description="A tenant token from the identity provider (Cognito); API Gateway refuses a "
        'missing, expired or forged one with 401 {"message": "Unauthorized"}.',
    )
    return {
        "title": TITLE,
        "version": VERSION,
        "security_schemes": {"tenantToken": bearer},
        "security": [{"tenantToken": []}],
    }


def _known_caller() -> None:
    """Raises what a route would for its caller: Unauthenticated, or UnknownTenant."""
    from inboxfleet.api.caller import caller
    from inboxfleet.db import tenant_session

    with tenant_session(caller()):
        pass


def _published(schema_json: str) -> dict[str, Any]:
    """The generated document without the schemas nothing refers to: Powertools always adds its
    own 422 body (HTTPValidationError), which every route here replaces with ErrorBody."""
    document: dict[str, Any] = json.loads(schema_json)
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    while True:
        text = json.dumps({k: v for k, v in document.items() if k != "components"}) + json.dumps(
            schemas
        )
        unused = [name for name in schemas if f'"#/components/schemas/{name}"' not in text]
        if not unused:
            return document
        for name in unused:
            del schemas[name]


_idle: list["APIGatewayHttpResolver"] = []
_idle_lock = threading.Lock()


def serve(event: dict[str, Any], context: "LambdaContext") -> dict[str, Any]:
    """Answer one request. A resolver holds the request it serves, so each request has one to
    itself: in Lambda the same one every time; locally, where one process serves concurrent
    requests on threads, an idle one or a new one."""
    from inboxfleet.api.caller import serving
    from inboxfleet.observability import count

    count("TenantApiRequests")  # and every invocation publishes at least this one metric
    with _idle_lock:
        resolver = _idle.pop() if _idle else None
    resolver = resolver or build()
    try:
        with serving(resolver):
            as_json = _as_json(event)
            if as_json is None:
                return resolver.refuse(event, context, _foreign_body_refusal)  # type: ignore[attr-defined, no-any-return]
            return resolver.resolve(as_json, context)
    finally:
        with _idle_lock:
            _idle.append(resolver)


def _as_json(event: dict[str, Any]) -> dict[str, Any] | None:
    """The event with a POST's or PUT's Content-Type spelt as Powertools reads it
    (`application/json`, which it compares case-sensitively; a media type is not), or None for a
    POST or PUT that declares another type, body or none: Powertools would parse forms and
    multipart bodies as if the routes took them (a multipart type without a boundary is a 500),
    and answer other types in a shape of its own."""
    method = str(event.get("requestContext", {}).get("http", {}).get("method", "")).upper()
    headers: dict[str, Any] = event.get("headers") or {}
    declared = [k for k in headers if str(k).lower() == "content-type"]
    if method not in ("POST", "PUT") or not declared:
        return event
    media = str(headers[declared[0]]).split(";")[0].strip().lower()
    if media != "application/json":
        return None
    kept = {k: v for k, v in headers.items() if str(k).lower() != "content-type"}
    return {**event, "headers": {**kept, "content-type": "application/json"}}


def _foreign_body_refusal() -> "Response[str]":
    refused = _refusal() or UnsupportedMediaType(
        "the body must be JSON (Content-Type: application/json)", field="header.content-type"
    )
    return _error(refused)


def _refusal() -> ApiError | None:
    """What the caller gets before anything is said about its request (401, 403, or 503 when
    that cannot be known now): validation runs before the route, and unmatched paths and
    foreign bodies are refused before any, but who is asking is settled first."""
    from inboxfleet.db.errors import DatabaseUnavailable, UnknownTenant

    try:
        _known_caller()
    except ApiError as refused:
        return refused
    except UnknownTenant:
        return _FORBIDDEN
    except DatabaseUnavailable as down:
        return _unavailable(down)
    return None


_FORBIDDEN = Forbidden("the token's tenant does not exist or was deleted")


def _unavailable(error: Exception) -> ApiError:
    from inboxfleet.observability import logger

    logger.warning("the database cannot be reached", extra={"error": str(error)})
    return Unavailable("the service cannot reach its database now; try again later")


@cache
def openapi_document() -> dict[str, Any]:
    """The published OpenAPI document (what GET /v1/openapi.json answers)."""
    return _published(build().get_openapi_json_schema(**_document()))


@cache
def _resolver_class() -> type["APIGatewayHttpResolver"]:
    """Powertools' HTTP API resolver, with the request it serves kept on the instance (Powertools
    keeps it on a class shared by every resolver, so concurrent requests in one process would
    read each other's event — the caller above all) and a body that is not UTF-8 JSON refused as
    malformed JSON (a 422 on `body`), whatever makes it so."""
    from functools import cached_property

    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

    class Event(APIGatewayProxyEventV2):
        @cached_property
        def decoded_body(self) -> str | None:
            import base64
            import binascii

            body = self.body
            if not (self.is_base64_encoded and body):
                return body
            try:
                return base64.b64decode(body.encode(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise json.JSONDecodeError("the body is not UTF-8 text", "", 0) from None

    class Resolver(APIGatewayHttpResolver):
        @property  # type: ignore[override]
        def current_event(self) -> Event:
            return self._serving_event

        @current_event.setter
        def current_event(self, event: Event) -> None:
            self._serving_event = event

        @property
        def lambda_context(self) -> "LambdaContext":
            return self._serving_context

        @lambda_context.setter
        def lambda_context(self, context: "LambdaContext") -> None:
            self._serving_context = context

        def _to_proxy_event(self, event: dict[str, Any]) -> Event:
            return Event(event, self._json_body_deserializer)

        def resolve(self, event: Any, context: "LambdaContext") -> dict[str, Any]:
            self.current_event = self._to_proxy_event(event)
            self.lambda_context = context
            return super().resolve(event, context)

        def refuse(
            self, event: Any, context: "LambdaContext", answer: "Callable[[], Response[str]]"
        ) -> dict[str, Any]:
            """Answer `event` without routing it: refused before any route sees it."""
            from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder

            self.current_event = self._to_proxy_event(event)
            self.lambda_context = context
            return ResponseBuilder[Event](answer()).build(self.current_event)

    return Resolver


def _json_body(text: str) -> Any:
    """The body's JSON; anything the parser cannot take (nesting deeper than it recurses, an
    integer of more digits than Python converts) is malformed JSON, not a server error."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except (RecursionError, ValueError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else "a number too long"
        raise json.JSONDecodeError(f"the body holds {reason}", "", 0) from None


def build() -> "APIGatewayHttpResolver":
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

    from inboxfleet.api import billing, credentials, domains, inboxes, servers
    from inboxfleet.db.errors import DatabaseUnavailable, UnknownTenant
    from inboxfleet.observability import logger
    from inboxfleet.settings import environment_name

    resolver = _resolver_class()(enable_validation=True, json_body_deserializer=_json_body)
    for resource in (inboxes, credentials, domains, servers, billing):
        resolver.include_router(resource.routes.router())

    def api_error(error: ApiError) -> Response[str]:
        return _error(error)

    def unknown_tenant(error: UnknownTenant) -> Response[str]:
        return _error(_FORBIDDEN)

    def invalid(error: RequestValidationError) -> Response[str]:
        errors = list(error.errors())
        if any(tuple(e.get("loc", ()))[:1] == ("response",) for e in errors):
            # Powertools reports an answer that broke its own declared model this way too: a
            # bug of ours, never "your request is invalid".
            # Locations and messages only: an error's `input` is the answer, which may hold a
            # secret (a password in credentials).
            shown = [{"loc": e.get("loc"), "type": e.get("type")} for e in errors]
            logger.error("an answer did not match its declared model", extra={"errors": shown})
            return _error(Internal("the service could not answer; this is a bug on our side"))
        refused = _refusal()
        return _error(refused) if refused else _validation_error(errors)

    def unavailable(error: DatabaseUnavailable) -> Response[str]:
        return _error(_unavailable(error))

    def not_found(error: Exception) -> Response[str]:
        # No token reaches an unrouted path through API Gateway; locally one may.
        return _error(_refusal() or NotFound("no such route", field=None))

    resolver.exception_handler(ApiError)(api_error)
    resolver.exception_handler(UnknownTenant)(unknown_tenant)
    resolver.exception_handler(RequestValidationError)(invalid)
    resolver.exception_handler(DatabaseUnavailable)(unavailable)
    resolver.not_found(not_found)

    def openapi() -> Response[str]:
        # Served with no token and no database: generated from the routes alone.
        return Response(
            status_code=int(HTTPStatus.OK),
            content_type="application/json",
            body=json.dumps(openapi_document()),
        )

    resolver.get("/v1/openapi.json", include_in_schema=False)(openapi)

    if environment_name() == "local":

        def swagger_ui() -> Response[str]:
            return Response(status_code=int(HTTPStatus.OK), content_type="text/html", body=_page())

        resolver.get("/v1/docs", include_in_schema=False)(swagger_ui)
    return resolver


def _page() -> str:
    """Swagger UI over the published document itself (Powertools' own page would show, and at
    ?format=json serve, the unpublished one), its script and style inlined: no CDN."""
    from pathlib import Path

    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    assets = Path(generate_swagger_html.__code__.co_filename).parent
    spec = json.dumps(openapi_document()).replace("</", "<\\/")  # stays inside its <script>
    return generate_swagger_html(
        spec,
        (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        "",
        None,
    )
