"""The local HTTP API's reading of the template (routes, authorizers, what it refuses), its route
selection, and the claim and response mappings: no server, no token."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from local.api_gateway import (
    JwtAuthorizerConfig,
    LocalHttpApi,
    Request,
    Route,
    RouteError,
    claim_text,
    response_from_result,
    routes_from_template,
)
from local.template import load_template
from tests.api_support import http_function

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_local"
AUDIENCES = ["client-a", "client-b"]
PARAMETERS: dict[str, Any] = {"JwtIssuer": ISSUER, "JwtAudience": AUDIENCES, "Issuer": ISSUER}


def resolve(value: Any) -> Any:
    """A stand-in for the stack's resolver: parameter Refs to their values, resources refused
    (as a real resolver does before they are deployed), anything else as it is."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        name = value["Ref"]
        if name not in PARAMETERS:
            raise AssertionError(f"resolved a Ref to {name}: only parameters may be resolved")
        return PARAMETERS[name]
    return value


def test_the_real_template_routes_the_stripe_webhook_without_a_token() -> None:
    routes, authorizers = routes_from_template(load_template(), resolve)

    stripe = [r for r in routes if r.route_key == "POST /webhooks/stripe"]
    assert stripe == [Route("POST", "/webhooks/stripe", "StripeWebhookFunction", authorizer=None)]
    assert authorizers == {
        "TenantJwt": JwtAuthorizerConfig(
            name="TenantJwt",
            issuer=ISSUER,
            audiences=("client-a", "client-b"),
            identity_source="$request.header.Authorization",
        )
    }
    # Open without a token: Stripe's deliveries (signed), the published OpenAPI document and the
    # (local-only) Swagger UI. Every other route needs a tenant token (the default authorizer).
    open_routes = {r.route_key for r in routes if r.authorizer is None}
    assert open_routes == {"POST /webhooks/stripe", "GET /v1/openapi.json", "GET /v1/docs"}
    assert all(r.authorizer == "TenantJwt" for r in routes if r.route_key not in open_routes)
    assert "GET /v1/inboxes/{inbox_id}" in {r.route_key for r in routes}


def api(**auth: Any) -> dict[str, Any]:
    return {"Type": "AWS::Serverless::HttpApi", "Properties": {"Auth": auth}}


JWT_AUTH: dict[str, Any] = {
    "DefaultAuthorizer": "Tenant",
    "Authorizers": {
        "Tenant": {
            "JwtConfiguration": {"issuer": {"Ref": "Issuer"}, "audience": "only-client"},
            "AuthorizationScopes": ["default/scope"],
        }
    },
}


def template(**functions: dict[str, Any]) -> dict[str, Any]:
    return {"Resources": {"Api": api(**JWT_AUTH), **functions}}


def test_default_authorizer_none_scopes_and_default_route() -> None:
    fn = http_function(
        "app.lambda_handler",
        Protected={"ApiId": {"Ref": "Api"}, "Path": "/v1/things/{id}", "Method": "get"},
        Open={
            "ApiId": {"Ref": "Api"},
            "Path": "/open",
            "Method": "POST",
            "Auth": {"Authorizer": "NONE"},
        },
        Scoped={
            "ApiId": {"Ref": "Api"},
            "Path": "/scoped",
            "Method": "GET",
            "Auth": {"AuthorizationScopes": ["inboxes/read"]},
        },
        CatchAll={"ApiId": {"Ref": "Api"}, "Auth": {"Authorizer": "NONE"}},
    )
    routes, authorizers = routes_from_template(template(Fn=fn), resolve)

    by_key = {r.route_key: r for r in routes}
    assert by_key["GET /v1/things/{id}"].authorizer == "Tenant"
    # The authorizer's scopes apply unless the route names its own.
    assert by_key["GET /v1/things/{id}"].authorization_scopes == ("default/scope",)
    assert by_key["GET /scoped"].authorization_scopes == ("inboxes/read",)
    assert by_key["POST /open"].authorizer is None
    assert by_key["$default"] == Route("ANY", "$default", "Fn", authorizer=None)
    assert authorizers["Tenant"].issuer == ISSUER
    assert authorizers["Tenant"].audiences == ("only-client",)


def test_events_without_api_id_use_the_implicit_api_and_globals_auth() -> None:
    fn = http_function("app.lambda_handler", Get={"Path": "/x", "Method": "GET"})
    routes, authorizers = routes_from_template(
        {"Globals": {"HttpApi": {"Auth": JWT_AUTH}}, "Resources": {"Fn": fn}}, resolve
    )
    assert [(r.route_key, r.authorizer) for r in routes] == [("GET /x", "Tenant")]
    assert set(authorizers) == {"Tenant"}


def _event(t: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = t["Resources"]["Fn"]["Properties"]["Events"]["E"]["Properties"]
    return props


def _auth(t: dict[str, Any]) -> dict[str, Any]:
    auth: dict[str, Any] = t["Resources"]["Api"]["Properties"]["Auth"]
    return auth


def _lambda_authorizer(t: dict[str, Any]) -> None:
    _auth(t)["Authorizers"]["Lambda"] = {"FunctionArn": {"Fn::GetAtt": ["AuthFn", "Arn"]}}
    _auth(t)["DefaultAuthorizer"] = "Lambda"


def _duplicate(t: dict[str, Any]) -> None:
    t["Resources"]["Fn"]["Properties"]["Events"]["Twice"] = {
        "Type": "HttpApi",
        "Properties": {"ApiId": {"Ref": "Api"}, "Path": "/x", "Method": "GET"},
    }


REFUSALS: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "payload-1.0": (lambda t: _event(t).update(PayloadFormatVersion="1.0"), "payload format 1.0"),
    "unknown-authorizer": (lambda t: _event(t).update(Auth={"Authorizer": "Nope"}), "'Nope'"),
    "lambda-authorizer": (_lambda_authorizer, "not a JWT authorizer"),
    "iam": (lambda t: _auth(t).update(DefaultAuthorizer="AWS_IAM"), "IAM authorization"),
    "openapi": (lambda t: t["Resources"]["Api"]["Properties"].update(DefinitionBody={}), "OpenAPI"),
    "greedy-middle": (lambda t: _event(t).update(Path="/{proxy+}/x"), "greedy variable"),
    "query-identity": (
        lambda t: _auth(t)["Authorizers"]["Tenant"].update(IdentitySource="$request.querystring.t"),
        "identity source",
    ),
    "two-apis": (lambda t: t["Resources"].update(Other=api()), "several HTTP APIs"),
    "duplicate": (_duplicate, "declared twice"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_what_cannot_be_served_is_refused_clearly(case: str) -> None:
    change, complaint = REFUSALS[case]
    event = {"ApiId": {"Ref": "Api"}, "Path": "/x", "Method": "GET"}
    t = copy.deepcopy(template(Fn=http_function("app.lambda_handler", E=event)))
    change(t)
    with pytest.raises(RouteError, match=re.escape(complaint)):
        routes_from_template(t, resolve)


def test_one_api_of_several_when_named() -> None:
    t = template(Fn=http_function("app.lambda_handler", E={"ApiId": {"Ref": "Api"}, "Path": "/x"}))
    t["Resources"]["Other"] = api()
    routes, _ = routes_from_template(t, resolve, api="Api")
    assert [r.route_key for r in routes] == ["ANY /x"]  # no Method: every method
    assert routes_from_template(t, resolve, api="Other") == ([], {})


# ---- route selection (no HTTP: LocalHttpApi.handle) -------------------------------------------


def route_key_for(api: LocalHttpApi, method: str, target: str) -> tuple[int, Any]:
    reply = api.handle(Request(method, target, "HTTP/1.1", [], b"", "127.0.0.1", 1))
    body = json.loads(reply.body)
    return reply.status, body.get("routeKey", body.get("message"))


def test_exact_beats_parameter_beats_greedy_beats_default() -> None:
    routes = [
        Route("ANY", "$default", "Fn"),
        Route("GET", "/a/b", "Fn"),
        Route("GET", "/a/{x}", "Fn"),
        Route("ANY", "/a/{x}", "Fn"),
        Route("ANY", "/a/{proxy+}", "Fn"),
        Route("GET", "/{proxy+}", "Fn"),
        Route("GET", "/", "Fn"),
    ]

    def invoke(logical_id: str, event: dict[str, Any]) -> Any:
        return {"routeKey": event["routeKey"]}

    api = LocalHttpApi(routes, {}, invoke)
    assert route_key_for(api, "GET", "/a/b") == (200, "GET /a/b")
    assert route_key_for(api, "GET", "/a/c") == (200, "GET /a/{x}")  # GET beats ANY
    assert route_key_for(api, "POST", "/a/c") == (200, "ANY /a/{x}")
    assert route_key_for(api, "GET", "/a/c/d") == (200, "ANY /a/{proxy+}")
    assert route_key_for(api, "GET", "/z/y") == (200, "GET /{proxy+}")
    assert route_key_for(api, "GET", "/") == (200, "GET /")
    assert route_key_for(api, "DELETE", "/z") == (200, "$default")


def test_a_method_the_path_does_not_route_is_not_found() -> None:
    api = LocalHttpApi([Route("GET", "/only/{id}", "Fn")], {}, lambda _f, _e: {})
    assert route_key_for(api, "POST", "/only/1") == (404, "Not Found")
    assert route_key_for(api, "GET", "/only/") == (404, "Not Found")  # a variable is never empty
    assert route_key_for(api, "GET", "/only/1/2") == (404, "Not Found")


def test_a_route_naming_a_missing_authorizer_is_refused() -> None:
    with pytest.raises(RouteError, match="no authorizer 'Gone'"):
        LocalHttpApi([Route("GET", "/x", "Fn", authorizer="Gone")], {}, lambda _f, _e: {})


# ---- claims and responses -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("tenant-1", "tenant-1"),
        (1_700_000_000, "1700000000"),
        (1.5, "1.5"),
        (True, "true"),
        (["admin", "ops"], "[admin ops]"),
        ([1, "x"], "[1 x]"),
        ({"a": 1}, '{"a":1}'),
        (None, None),
    ],
)
def test_claims_are_passed_as_api_gateway_renders_them(value: Any, text: str | None) -> None:
    assert claim_text(value) == text


def test_a_response_without_status_code_is_a_json_200() -> None:
    reply = response_from_result({"statusCode_": 1, "a": [1, 2]})
    assert reply.status == 200
    assert reply.headers == [("content-type", "application/json")]
    assert json.loads(reply.body) == {"statusCode_": 1, "a": [1, 2]}


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": True},
        {"statusCode": 99},
        {"statusCode": 200, "body": 5},
        {"statusCode": 200, "headers": {"x": "a\r\nb: c"}},
        {"statusCode": 200, "headers": {"x": ["a"]}},
        {"statusCode": 200, "cookies": "a=1"},
    ],
)
def test_malformed_responses_are_refused(result: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies; LocalHttpApi answers 500
        response_from_result(result)
