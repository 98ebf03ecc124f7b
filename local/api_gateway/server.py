"""The local HTTP API's server: `LocalHttpApi` serving the routes on loopback (route,
authorize, invoke, map, within API Gateway's limits: 10 MB request bodies, 6 MB events), its HTTP
handler, and `in_process_invoker`, which runs a function's handler in this process.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from local.account import ACCOUNT_ID, REGION
from local.api_gateway.authorizer import (
    JWKS_TTL_S,
    Authorizer,
    Denied,
    JwksSource,
    KeySet,
    authorize_scopes,
    claim_text,
)
from local.api_gateway.events import Reply, Request, joined_headers, response_from_result, v2_event
from local.api_gateway.routes import JwtAuthorizerConfig, Route, RouteError, RouteTable
from local.loopback import HttpSimulator, LoopbackHTTPServer, QuietHandler

log = logging.getLogger("local.api_gateway")

Invoke = Callable[[str, dict[str, Any]], Any]

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
DRAIN_LIMIT_BYTES = 4 * MAX_BODY_BYTES  # a refused body up to this size is read to its end
MAX_EVENT_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload limit


# ---- the server ----------------------------------------------------------------------------


def _message(status: int, text: str, *extra: tuple[str, str], close: bool = False) -> Reply:
    """API Gateway's own answers: `{"message": "..."}`."""
    body = json.dumps({"message": text}, separators=(",", ":")).encode()
    return Reply(status, [("content-type", "application/json"), *extra], body, close)


class _Handler(QuietHandler):
    """Reads the request (its body bounded by the API's limit, not QuietHandler's) and sends
    the API's reply."""

    server: LoopbackHTTPServer[LocalHttpApi]

    def _serve(self) -> None:
        api = self.server.owner
        body = self._read(api)
        if isinstance(body, Reply):
            self._send(body)
            return
        request = Request(
            method=self.command,
            target=self.path,
            protocol=self.request_version,
            headers=list(self.headers.items()),
            body=body,
            source_ip=str(self.client_address[0]),
            server_port=int(self.server.server_address[1]),
        )
        self._send(api.handle(request))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _read(self, api: LocalHttpApi) -> bytes | Reply:
        """The body, or the answer when the request must be refused before routing."""
        if "Transfer-Encoding" in self.headers:
            # Chunked uploads are not read by http.server: refuse rather than misread them.
            return _message(HTTPStatus.LENGTH_REQUIRED, "Length Required", close=True)
        length = self.headers.get("Content-Length", "0")
        if not length.isascii() or not length.isdigit():
            return _message(HTTPStatus.BAD_REQUEST, "Bad Request", close=True)
        size = int(length)
        if size > api.max_body_bytes:
            self._discard(size)
            return _message(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request Entity Too Large", close=True
            )
        return self.rfile.read(size)

    def _discard(self, size: int) -> None:
        """Read and drop a refused body, so the client reads the answer instead of a reset
        connection (closing with unread data resets it); one far over any limit is not read."""
        if size > DRAIN_LIMIT_BYTES:
            return
        while size > 0:
            chunk = self.rfile.read(min(size, 1 << 16))
            if not chunk:
                return
            size -= len(chunk)

    def _send(self, reply: Reply) -> None:
        if reply.close:
            self.close_connection = True
        # No Server header (API Gateway sends none); the Date header as every server does.
        self.send_response_only(reply.status)
        self.send_header("Date", self.date_time_string())
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if reply.close:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)


class LocalHttpApi(HttpSimulator):
    """An API Gateway HTTP API (stage `$default`) serving `routes` on 127.0.0.1.

    `authorizers` are the JWT authorizers the routes name; `jwks` gives an authorizer its
    keys (a callable returning the JWKS, or an issuer URL to discover them from), by default
    the discovery document of the authorizer's own issuer, as API Gateway finds them. Token
    times are checked against `clock` (which also stamps the events' `time`/`timeEpoch`) with
    `leeway_s` of tolerance; 0 by default: issuer and API share this machine's clock.
    `start()` (or `with`) serves on 127.0.0.1 at `port` (0: a free one); `root_url` is
    `http://127.0.0.1:<port>`; `close()` stops it and joins every thread.
    """

    kind = "local HTTP API"
    handler = _Handler

    def __init__(
        self,
        routes: Iterable[Route],
        authorizers: Mapping[str, JwtAuthorizerConfig],
        invoke: Invoke,
        *,
        jwks: Mapping[str, JwksSource] | None = None,
        port: int = 0,
        api_id: str = "localapi01",
        account_id: str = ACCOUNT_ID,
        region: str = REGION,
        clock: Callable[[], float] = time.time,
        leeway_s: float = 0.0,
        jwks_ttl_s: float = JWKS_TTL_S,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        super().__init__(port)
        routes = list(routes)
        self._table = RouteTable(routes)
        jwks = dict(jwks or {})
        for route in routes:
            if route.authorizer is not None and route.authorizer not in authorizers:
                raise RouteError(f"{route.route_key}: no authorizer {route.authorizer!r}")
        unknown = set(jwks) - set(authorizers)
        if unknown:
            raise RouteError(f"key sources for unknown authorizers: {sorted(unknown)}")
        self._authorizers = {
            name: Authorizer(
                config, KeySet(jwks.get(name, config.issuer), jwks_ttl_s), clock, leeway_s
            )
            for name, config in authorizers.items()
        }
        self._invoke = invoke
        self._clock = clock
        self.api_id = api_id
        self.account_id = account_id
        self.domain_name = f"{api_id}.execute-api.{region}.amazonaws.com"
        self.max_body_bytes = max_body_bytes

    def handle(self, request: Request) -> Reply:
        """Route, authorize, invoke, map: one request's answer."""
        request_id = base64.b64encode(secrets.token_bytes(11)).decode("ascii")
        reply = self._handle(request, request_id)
        reply.headers.append(("apigw-requestid", request_id))
        return reply

    def _handle(self, request: Request, request_id: str) -> Reply:
        if not request.target.startswith("/"):
            return _message(HTTPStatus.BAD_REQUEST, "Bad Request", close=True)
        raw_path, _, raw_query = request.target.partition("?")
        raw_query = raw_query.partition("#")[0]
        # HTTP APIs route on, and hand over, the percent-decoded path.
        path = unquote(raw_path, errors="replace")
        found = self._table.find(request.method, path)
        if found is None:
            return _message(HTTPStatus.NOT_FOUND, "Not Found")
        route, path_parameters = found
        headers, cookies = joined_headers(request)
        authorizer = self._authorize(route, headers)
        if isinstance(authorizer, Reply):
            return authorizer

        event = v2_event(
            request,
            route_key=route.route_key,
            path=path,
            raw_query=raw_query,
            path_parameters=path_parameters,
            headers=headers,
            cookies=cookies,
            authorizer=authorizer,
            request_id=request_id,
            now=self._clock(),
            api_id=self.api_id,
            account_id=self.account_id,
            domain_name=self.domain_name,
        )
        if len(json.dumps(event).encode()) > MAX_EVENT_BYTES:
            return _message(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request Entity Too Large")
        return self._call(route, event)

    def _authorize(self, route: Route, headers: Mapping[str, str]) -> dict[str, Any] | Reply | None:
        """The event's `requestContext.authorizer` (None on a route without one), or the
        refusal. The claims come from the verified token only, never from anything else the
        client sent."""
        if route.authorizer is None:
            return None
        try:
            claims = self._authorizers[route.authorizer].verify(headers)
            scopes = authorize_scopes(route, claims)
        except Denied as denied:
            text = "Forbidden" if denied.status == HTTPStatus.FORBIDDEN else "Unauthorized"
            return _message(denied.status, text, ("www-authenticate", denied.challenge))
        rendered = {name: claim_text(value) for name, value in claims.items()}
        return {
            "jwt": {
                "claims": {name: text for name, text in rendered.items() if text is not None},
                "scopes": scopes,
            }
        }

    def _call(self, route: Route, event: dict[str, Any]) -> Reply:
        try:
            result = self._invoke(route.function, event)
            # The answer travels as JSON, as Lambda's: what cannot be serialized is an error.
            result = json.loads(json.dumps(result))
        except Exception:
            log.exception("%s: %s failed", route.route_key, route.function)
            return _message(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error")
        try:
            return response_from_result(result)
        except ValueError as exc:
            log.error(
                "%s: %s returned a malformed response: %s", route.route_key, route.function, exc
            )
            return _message(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error")


# ---- running handlers in process -----------------------------------------------------------


def in_process_invoker(template: Mapping[str, Any], root: Path | None = None) -> Invoke:
    """`invoke` for LocalHttpApi that runs each function's handler in this process (found as SAM
    finds it: CodeUri + Handler under `root`, the repository by default), with the event passed
    as JSON would carry it, and a Lambda-like context."""
    from local.invoke import LocalContext, handler
    from local.template import REPO_ROOT

    def invoke(logical_id: str, event: dict[str, Any]) -> Any:
        function = handler(logical_id, template, root or REPO_ROOT)
        return function(json.loads(json.dumps(event)), LocalContext(function_name=logical_id))

    return invoke
