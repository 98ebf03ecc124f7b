"""The tenant API's resolver: its routers, the error mapping in one place, the generated OpenAPI
document at /v1/openapi.json and, in local mode only, Swagger UI at /v1/docs."""

# No `from __future__ import annotations`: the resolver reads its routes' annotations at run time,
# and a string "Response[str]" cannot be resolved there.

import json
import threading
from functools import cache
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from inboxfleet.api.errors import ApiError, Forbidden, InvalidRequest, NotFound, Unavailable

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

    with _idle_lock:
        resolver = _idle.pop() if _idle else None
    resolver = resolver or build()
    try:
        with serving(resolver):
            return resolver.resolve(event, context)
    finally:
        with _idle_lock:
            _idle.append(resolver)


@cache
def openapi_document() -> dict[str, Any]:
    """The published OpenAPI document (what GET /v1/openapi.json answers)."""
    return _published(build().get_openapi_json_schema(**_document()))


def build() -> "APIGatewayHttpResolver":
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
    from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

    from inboxfleet.api import inboxes
    from inboxfleet.db.errors import DatabaseUnavailable, UnknownTenant
    from inboxfleet.observability import logger
    from inboxfleet.settings import environment_name

    resolver = APIGatewayHttpResolver(enable_validation=True)
    resolver.include_router(inboxes.routes.router())

    def api_error(error: ApiError) -> Response[str]:
        return _error(error)

    def unknown_tenant(error: UnknownTenant) -> Response[str]:
        return _error(Forbidden("the token's tenant does not exist or was deleted"))

    def refusal() -> Response[str] | None:
        """The 401/403 the caller gets before anything is said about its request: validation
        runs before the route, but who is asking is settled first."""
        try:
            _known_caller()
        except ApiError as refused:
            return _error(refused)
        except UnknownTenant:
            return unknown_tenant(UnknownTenant(None))
        except DatabaseUnavailable as down:
            return unavailable(down)
        return None

    def invalid(error: RequestValidationError) -> Response[str]:
        return refusal() or _validation_error(list(error.errors()))

    def undecodable(error: UnicodeDecodeError) -> Response[str]:
        # API Gateway base64-encodes a body that is not text; decoded, it is not UTF-8 JSON.
        return refusal() or _error(InvalidRequest("the body is not UTF-8 JSON", field="body"))

    def unavailable(error: DatabaseUnavailable) -> Response[str]:
        logger.warning("the database cannot be reached", extra={"error": str(error)})
        return _error(Unavailable("the service cannot reach its database now; try again later"))

    def not_found(error: Exception) -> Response[str]:
        return _error(NotFound("no such route", field=None))

    resolver.exception_handler(ApiError)(api_error)
    resolver.exception_handler(UnknownTenant)(unknown_tenant)
    resolver.exception_handler(RequestValidationError)(invalid)
    resolver.exception_handler(UnicodeDecodeError)(undecodable)
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
