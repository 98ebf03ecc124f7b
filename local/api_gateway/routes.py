"""The routes of the local HTTP API: `Route` and `JwtAuthorizerConfig` as the template declares
them, `routes_from_template` reading them (with `RouteError` for what cannot be served locally),
and `RouteTable`, API Gateway's choice of the route a request goes to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
ANY = "ANY"
DEFAULT_ROUTE = "$default"
IMPLICIT_API = "ServerlessHttpApi"  # the API SAM creates for events that name no ApiId
HEADER_SOURCE = "$request.header."
ROUTE_KEYS = ("Path", "Method", "PayloadFormatVersion")  # an HttpApi event's route properties


class RouteError(Exception):
    """The template (or the routes given) asks for something this local HTTP API cannot serve."""


# ---- routes and authorizers ----------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One route: `method path` (API Gateway syntax: `/v1/inboxes/{id}`, greedy `/{proxy+}`,
    or the `$default` catch-all) to a function. `authorizer` None is `Authorizer: NONE`."""

    method: str
    path: str
    function: str
    authorizer: str | None = None
    payload_format_version: str = "2.0"
    authorization_scopes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.payload_format_version != "2.0":
            raise RouteError(
                f"{self.route_key} -> {self.function}: payload format "
                f"{self.payload_format_version} is not served locally (only 2.0)"
            )
        if self.method != ANY and self.method not in METHODS:
            raise RouteError(f"{self.route_key}: unknown method {self.method!r}")
        if self.path != DEFAULT_ROUTE:
            _segments(self.path)  # raises on a path API Gateway would refuse

    @property
    def route_key(self) -> str:
        """`POST /webhooks/stripe`, or `$default`: the event's routeKey."""
        return DEFAULT_ROUTE if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"


@dataclass(frozen=True)
class JwtAuthorizerConfig:
    """A JWT authorizer: tokens from `identity_source` must be signed by `issuer` (its `iss`
    exactly) for one of `audiences`."""

    name: str
    issuer: str
    audiences: tuple[str, ...]
    identity_source: str = "$request.header.Authorization"

    def __post_init__(self) -> None:
        if not self.identity_source.startswith(HEADER_SOURCE) or not self.header:
            raise RouteError(
                f"authorizer {self.name}: identity source {self.identity_source!r} is not "
                f"served locally (only {HEADER_SOURCE}<Name>)"
            )
        if not self.audiences:
            raise RouteError(f"authorizer {self.name}: no audience")

    @property
    def header(self) -> str:
        """The request header holding the token (lower case)."""
        return self.identity_source.removeprefix(HEADER_SOURCE).lower()


_Segment = tuple[str, str]  # ("literal", text) | ("param", name) | ("greedy", name)
_PARAM = re.compile(r"\{([A-Za-z0-9_.-]+)(\+?)\}")


def _segments(path: str) -> tuple[_Segment, ...]:
    if not path.startswith("/"):
        raise RouteError(f"route path {path!r} must start with / (or be $default)")
    parts = path[1:].split("/")
    segments: list[_Segment] = []
    for index, part in enumerate(parts):
        param = _PARAM.fullmatch(part)
        if param is None:
            if "{" in part or "}" in part:
                raise RouteError(f"route path {path!r}: a variable must be a whole segment")
            segments.append(("literal", part))
        elif param.group(2):
            if index != len(parts) - 1:
                raise RouteError(f"route path {path!r}: a greedy variable must come last")
            segments.append(("greedy", param.group(1)))
        else:
            segments.append(("param", param.group(1)))
    return tuple(segments)


def routes_from_template(
    template: Mapping[str, Any], resolve: Callable[[Any], Any], *, api: str | None = None
) -> tuple[list[Route], dict[str, JwtAuthorizerConfig]]:
    """The routes of every `AWS::Serverless::Function` event of Type `HttpApi` on one HTTP API,
    and that API's JWT authorizers by name.

    Template values may be intrinsics (`{"Ref": "JwtIssuer"}`): they go through `resolve`.
    `api` is the API's logical id; needed only when the template has several. A route's
    authorizer is its event's `Auth.Authorizer` (`NONE`: none), else the API's
    `DefaultAuthorizer`. Raises RouteError for what cannot be served locally.
    """

    def value(raw: Any) -> Any:
        return None if raw is None else resolve(raw)

    resources: Mapping[str, Any] = template.get("Resources") or {}
    events = list(_http_api_events(resources))
    declared = [
        logical_id
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::Serverless::HttpApi"
    ]
    candidates = sorted({*declared, *(api_id for api_id, _, _, _ in events)})
    if api is None:
        if not candidates:
            return [], {}
        if len(candidates) > 1:
            raise RouteError(f"the template has several HTTP APIs ({candidates}): name one")
        api = candidates[0]
    elif api not in candidates:
        raise RouteError(f"no HTTP API {api!r} in the template (have: {candidates})")

    globals_ = (template.get("Globals") or {}).get("HttpApi") or {}
    own = (resources.get(api) or {}).get("Properties") or {}
    props = _merged(globals_, own)
    for unsupported in ("DefinitionBody", "DefinitionUri"):
        if unsupported in props:
            raise RouteError(f"{api}: routes from an OpenAPI {unsupported} are not served locally")
    auth = props.get("Auth") or {}
    authorizers, refused = _authorizers(api, auth, value)
    default = _text(value(auth.get("DefaultAuthorizer")), f"{api} DefaultAuthorizer", None)

    routes = []
    for api_id, function, event_name, event in events:
        if api_id != api:
            continue
        where = f"{function}.Events.{event_name}"
        route_auth = event.get("Auth") or {}
        name = _text(value(route_auth.get("Authorizer", default)), f"{where} Authorizer", None)
        if name == "NONE":
            name = None
        if name is not None and name not in authorizers:
            reason = refused.get(name, "no such authorizer on the API")
            raise RouteError(f"{where}: authorizer {name!r}: {reason}")
        scopes = route_auth.get("AuthorizationScopes")
        if scopes is None and name is not None:
            scopes = (auth.get("Authorizers") or {}).get(name, {}).get("AuthorizationScopes")
        resolved = {key: value(event.get(key)) for key in ROUTE_KEYS}
        routes.append(
            _route(where, function, resolved, name, _texts(value(scopes), f"{where} scopes"))
        )
    _check_unique(routes)
    return routes, authorizers


def _http_api_events(
    resources: Mapping[str, Any],
) -> Iterable[tuple[str, str, str, Mapping[str, Any]]]:
    """(API logical id, function logical id, event name, event properties) of every HttpApi
    event. ApiId is read as written (`!Ref` names the API), never resolved: resolving a
    resource's Ref needs it deployed, and the route only needs to know which API it is on."""
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event_name, event in ((resource.get("Properties") or {}).get("Events") or {}).items():
            if event.get("Type") != "HttpApi":
                continue
            props = event.get("Properties") or {}
            api_id = props.get("ApiId", IMPLICIT_API)
            if isinstance(api_id, dict) and set(api_id) == {"Ref"}:
                api_id = api_id["Ref"]
            if not isinstance(api_id, str):
                raise RouteError(
                    f"{logical_id}.Events.{event_name}: ApiId must be !Ref of an HttpApi"
                )
            yield api_id, logical_id, event_name, props


def _authorizers(
    api: str, auth: Mapping[str, Any], resolve: Callable[[Any], Any]
) -> tuple[dict[str, JwtAuthorizerConfig], dict[str, str]]:
    """The API's JWT authorizers, and why each other one cannot be served (reported only if a
    route uses it)."""
    served: dict[str, JwtAuthorizerConfig] = {}
    refused = {"AWS_IAM": "IAM authorization is not served locally (only JWT authorizers)"}
    for name, spec in (auth.get("Authorizers") or {}).items():
        if "JwtConfiguration" not in spec:
            refused[name] = "not a JWT authorizer (only JWT authorizers are served locally)"
            continue
        where = f"{api} authorizer {name}"
        jwt_config = spec["JwtConfiguration"] or {}
        issuer = _text(resolve(jwt_config.get("issuer")), f"{where} issuer")
        source = resolve(spec.get("IdentitySource", "$request.header.Authorization"))
        served[name] = JwtAuthorizerConfig(
            name=name,
            issuer=issuer,
            audiences=_texts(resolve(jwt_config.get("audience")), f"{where} audience"),
            identity_source=_text(source, f"{where} IdentitySource"),
        )
    return served, refused


def _route(
    where: str,
    function: str,
    event: Mapping[str, Any],  # ROUTE_KEYS, resolved
    authorizer: str | None,
    scopes: tuple[str, ...],
) -> Route:
    path = event.get("Path")
    method = event.get("Method")
    if path is None and method is None:
        path, method = DEFAULT_ROUTE, ANY  # SAM: neither given is the API's default route
    elif path is None:
        raise RouteError(f"{where}: Method without Path")
    version = event.get("PayloadFormatVersion") or "2.0"  # SAM's default for HttpApi events
    return Route(
        method=_text(method if method is not None else ANY, f"{where} Method").upper(),
        path=_text(path, f"{where} Path"),
        function=function,
        authorizer=authorizer,
        payload_format_version=_text(version, f"{where} PayloadFormatVersion"),
        authorization_scopes=scopes,
    )


def _check_unique(routes: Sequence[Route]) -> None:
    seen: dict[str, str] = {}
    for route in routes:
        if route.route_key in seen:
            raise RouteError(
                f"route {route.route_key} is declared twice "
                f"({seen[route.route_key]} and {route.function})"
            )
        seen[route.route_key] = route.function


_UNSET: Any = object()


def _text(value: Any, what: str, default: Any = _UNSET) -> Any:
    if value is None and default is not _UNSET:
        return default
    if not isinstance(value, str) or not value:
        raise RouteError(f"{what} must be a non-empty string, got {value!r}")
    return value


def _texts(value: Any, what: str) -> tuple[str, ...]:
    """A list (or one string) of strings: CommaDelimitedList parameters resolve to lists."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
        raise RouteError(f"{what} must be a string or a list of strings, got {value!r}")
    return tuple(items)


def _merged(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals: maps merge key by key, anything else the resource's value wins."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


# ---- route selection -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Compiled:
    route: Route
    segments: tuple[_Segment, ...]
    rank: tuple[Any, ...]

    @classmethod
    def of(cls, route: Route) -> _Compiled:
        if route.path == DEFAULT_ROUTE:
            return cls(route, (), (3,))
        segments = _segments(route.path)
        kinds = [kind for kind, _ in segments]
        kind = 2 if "greedy" in kinds else 1 if "param" in kinds else 0
        # API Gateway's order: exact path, then path variables, then greedy, then $default;
        # within a kind the route with more literal segments (and literals earlier) is the more
        # specific one, and a named method beats ANY.
        literal_positions = tuple(0 if k == "literal" else 1 for k in kinds)
        return cls(
            route, segments, (kind, -kinds.count("literal"), literal_positions, route.method == ANY)
        )

    def match(self, method: str, parts: Sequence[str]) -> dict[str, str] | None:
        if self.route.method not in (ANY, method):
            return None
        return {} if self.route.path == DEFAULT_ROUTE else _bind(self.segments, parts)


def _bind(segments: Sequence[_Segment], parts: Sequence[str]) -> dict[str, str] | None:
    """The path parameters when `parts` (the request path's segments) fit the route's."""
    params: dict[str, str] = {}
    for index, (kind, text) in enumerate(segments):
        if kind == "greedy":  # one segment or more, whatever they hold
            rest = "/".join(parts[index:])
            if not rest:
                return None
            params[text] = rest
            return params
        part = parts[index] if index < len(parts) else None
        if part is None or (part != text if kind == "literal" else not part):
            return None
        if kind == "param":
            params[text] = part
    return params if len(parts) == len(segments) else None


class RouteTable:
    """The routes, most specific first, as API Gateway tries them."""

    def __init__(self, routes: Iterable[Route]) -> None:
        routes = list(routes)
        _check_unique(routes)
        self._routes = sorted((_Compiled.of(r) for r in routes), key=lambda c: c.rank)

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The most specific route for `method path` (a route with another method is no
        match: API Gateway answers 404, not 405)."""
        parts = path[1:].split("/")
        for compiled in self._routes:
            params = compiled.match(method, parts)
            if params is not None:
                return compiled.route, params
        return None
