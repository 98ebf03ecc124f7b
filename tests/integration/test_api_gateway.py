"""The local HTTP API over real HTTP, with a real local issuer: the payload 2.0 event a function
gets, the JWT authorizer refusing every bad token before any function runs, and API Gateway's
mapping of the function's answer. The functions are tests/fixtures/echo_function's handlers,
found through a template of the test's own as SAM finds them."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest

from inboxfleet.billing.webhook import WebhookDeps, receive
from local.api_gateway import (
    Invoke,
    LocalHttpApi,
    Route,
    in_process_invoker,
    routes_from_template,
)
from local.fake_clock import FakeClock
from local.jwt_issuer import LocalIssuer
from tests.api_support import http_function
from tests.fixtures.echo_function.app import PNG_BYTES
from tests.stripe_support import WEBHOOK_SECRET, sign

AUDIENCE = "inboxfleet-test"
TENANT = "0b7c1f0e-4d1e-4c55-9a53-3b8f2f6a2c11"
ECHO = "app.lambda_handler"
API: dict[str, Any] = {"ApiId": {"Ref": "Api"}}


def _function(handler: str, **events: dict[str, Any]) -> dict[str, Any]:
    return http_function(handler, API, **events)


NONE: dict[str, Any] = {"Auth": {"Authorizer": "NONE"}}
TEMPLATE: dict[str, Any] = {
    "Parameters": {"Issuer": {"Type": "String"}, "Audience": {"Type": "CommaDelimitedList"}},
    "Resources": {
        "Api": {
            "Type": "AWS::Serverless::HttpApi",
            "Properties": {
                "Auth": {
                    "DefaultAuthorizer": "Tenant",
                    "Authorizers": {
                        "Tenant": {
                            "IdentitySource": "$request.header.Authorization",
                            "JwtConfiguration": {
                                "issuer": {"Ref": "Issuer"},
                                "audience": {"Ref": "Audience"},
                            },
                        }
                    },
                }
            },
        },
        "EchoFunction": _function(
            ECHO,
            Inbox={"Path": "/v1/inboxes/{id}", "Method": "GET"},
            Mine={"Path": "/v1/inboxes/mine", "Method": "GET"},
            Files={"Path": "/files/{proxy+}", "Method": "ANY"},
            Scoped={
                "Path": "/scoped",
                "Method": "GET",
                "Auth": {"AuthorizationScopes": ["inboxes/read"]},
            },
            Webhook={"Path": "/webhooks/echo", "Method": "POST", **NONE},
        ),
        "StripeWebhookFunction": _function(
            "app.lambda_handler", Stripe={"Path": "/webhooks/stripe", "Method": "POST", **NONE}
        ),
        "RaisingFunction": _function(
            "app.raising",
            Boom={"Path": "/boom", "Method": "GET", **NONE},
            Guarded={"Path": "/guarded-boom", "Method": "GET"},
        ),
        "ShapesFunction": _function(
            "app.shaped", Shapes={"Path": "/shapes/{shape}", "Method": "GET", **NONE}
        ),
        "UnserializableFunction": _function(
            "app.unserializable", Odd={"Path": "/odd", "Method": "GET", **NONE}
        ),
    },
}


@dataclass
class Counting:
    """The invoke LocalHttpApi is given: the in-process handlers, every call counted."""

    invoke: Invoke
    calls: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, logical_id: str, event: dict[str, Any]) -> Any:
        with self.lock:
            self.calls.append(logical_id)
        if logical_id == "StripeWebhookFunction":  # the real webhook code, no AWS behind it
            return receive(event, stripe_deps())
        return self.invoke(logical_id, event)


class _NoQueue:
    def send(self, body: str, **kw: Any) -> None:
        raise AssertionError("nothing reaches the queue in these tests")


def stripe_deps() -> WebhookDeps:
    return WebhookDeps(secrets=lambda: [WEBHOOK_SECRET], queue=_NoQueue(), now=time.time)


@dataclass
class World:
    issuer: LocalIssuer
    api: LocalHttpApi
    counter: Counting
    http: httpx.Client

    def token(self, claims: dict[str, Any] | None = None, **kw: Any) -> str:
        kw.setdefault("audience", AUDIENCE)
        return self.issuer.mint({"custom:tenant_id": TENANT, **(claims or {})}, **kw)

    def get(self, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = kw.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.get(path, headers=headers, **kw)


def resolver(issuer_url: str) -> Any:
    values = {"Issuer": issuer_url, "Audience": ["other-client", AUDIENCE]}

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"Ref"}:
            return values[value["Ref"]]
        return value

    return resolve


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as started:
        yield started


@pytest.fixture(scope="module")
def module_world(issuer: LocalIssuer) -> Iterator[World]:
    routes, authorizers = routes_from_template(TEMPLATE, resolver(issuer.root_url))
    counter = Counting(in_process_invoker(TEMPLATE))
    with (
        LocalHttpApi(routes, authorizers, counter) as api,
        httpx.Client(base_url=api.root_url, timeout=10) as http,
    ):
        yield World(issuer, api, counter, http)


@pytest.fixture
def world(module_world: World) -> World:
    module_world.counter.calls.clear()
    return module_world


def echoed(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    event: dict[str, Any] = response.json()["event"]
    return event


# ---- the event ---------------------------------------------------------------------------


def test_a_jwt_route_gets_a_faithful_2_0_event(world: World) -> None:
    before_ms = int(time.time() * 1000)
    response = world.http.get(
        "/v1/inboxes/in%20box?x=1&x=2&empty=&name=%C3%A9t%C3%A9",
        headers=[
            ("Authorization", f"Bearer {world.token()}"),
            ("X-Multi", "one"),
            ("X-Multi", "two"),
            ("Cookie", "a=1; b=2"),
            ("User-Agent", "inbox-tests/1.0"),
            ("X-Forwarded-For", "203.0.113.9"),
        ],
    )
    event = echoed(response)

    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /v1/inboxes/{id}"
    assert event["rawPath"] == "/v1/inboxes/in box"  # HTTP APIs hand the path over decoded
    assert event["rawQueryString"] == "x=1&x=2&empty=&name=%C3%A9t%C3%A9"
    assert event["queryStringParameters"] == {"x": "1,2", "empty": "", "name": "été"}
    assert event["pathParameters"] == {"id": "in box"}
    assert event["cookies"] == ["a=1", "b=2"]
    headers = event["headers"]
    assert "cookie" not in headers
    assert all(name == name.lower() for name in headers)
    assert headers["x-multi"] == "one,two"
    assert headers["user-agent"] == "inbox-tests/1.0"
    # The client's X-Forwarded-For is kept, the real peer appended; sourceIp is the peer only.
    assert headers["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert event["isBase64Encoded"] is False
    assert "body" not in event
    assert "stageVariables" not in event

    context = event["requestContext"]
    assert context["http"] == {
        "method": "GET",
        "path": "/v1/inboxes/in box",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "inbox-tests/1.0",
    }
    assert context["routeKey"] == "GET /v1/inboxes/{id}"
    assert context["stage"] == "$default"
    assert context["apiId"] == world.api.api_id
    assert context["domainName"] == f"{world.api.api_id}.execute-api.us-east-1.amazonaws.com"
    assert context["domainPrefix"] == world.api.api_id
    assert re.fullmatch(r"\d{12}", context["accountId"])
    assert context["requestId"] == response.headers["apigw-requestid"]
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", context["time"])
    assert before_ms <= context["timeEpoch"] <= int(time.time() * 1000)

    claims = context["authorizer"]["jwt"]["claims"]
    assert claims["custom:tenant_id"] == TENANT
    assert claims["iss"] == world.issuer.root_url
    assert claims["aud"] == AUDIENCE
    assert claims["exp"].isdigit()  # every claim is a string
    assert context["authorizer"]["jwt"]["scopes"] is None  # the route names no scopes
    assert world.counter.calls == ["EchoFunction"]


def test_claims_of_every_type_arrive_as_strings(world: World) -> None:
    token = world.token(
        {"cognito:groups": ["admin", "ops"], "email_verified": True, "n": 5, "gone": None}
    )
    context = echoed(world.get("/v1/inboxes/x", token))["requestContext"]
    claims = context["authorizer"]["jwt"]["claims"]
    assert claims["cognito:groups"] == "[admin ops]"
    assert claims["email_verified"] == "true"
    assert claims["n"] == "5"
    assert "gone" not in claims


def test_greedy_and_exact_routes(world: World) -> None:
    token = world.token()
    greedy = echoed(world.http.post("/files/a/b/c.txt", headers={"Authorization": token}))
    assert greedy["routeKey"] == "ANY /files/{proxy+}"
    assert greedy["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert greedy["requestContext"]["http"]["method"] == "POST"

    exact = echoed(world.get("/v1/inboxes/mine", token))
    assert exact["routeKey"] == "GET /v1/inboxes/mine"
    assert "pathParameters" not in exact


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "text/plain", "application/xml"]
)
def test_a_text_body_arrives_exactly_as_sent(world: World, content_type: str) -> None:
    body = '{"note": "héllo \\u00e9",\r\n  "tabs":\t[1,  2]}\n'.encode()
    event = echoed(
        world.http.post("/webhooks/echo", content=body, headers={"Content-Type": content_type})
    )
    assert event["isBase64Encoded"] is False
    assert event["body"].encode() == body
    assert "authorizer" not in event["requestContext"]  # a NONE route: no authorizer ran


@pytest.mark.parametrize(
    "content_type",
    ["application/octet-stream", "image/png", "application/x-www-form-urlencoded", None],
)
def test_a_binary_body_arrives_base64_encoded(world: World, content_type: str | None) -> None:
    body = bytes(range(256))
    headers = {"Content-Type": content_type} if content_type else {}
    event = echoed(world.http.post("/webhooks/echo", content=body, headers=headers))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_the_stripe_webhook_verifies_its_signature_over_the_bytes_sent(world: World) -> None:
    # Not a Stripe event, so the real webhook code stops right after the signature check:
    # "not a Stripe event" proves the signature matched the bytes it was given.
    body = '{"object":"not-an-event", "text": "naïve  \\"quoted\\""}'
    headers = {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": sign(body)}
    answer = world.http.post("/webhooks/stripe", content=body.encode(), headers=headers)
    assert (answer.status_code, answer.json()) == (400, {"error": "body is not a Stripe event"})

    tampered = world.http.post(
        "/webhooks/stripe", content=body.replace("naïve", "naive").encode(), headers=headers
    )
    assert (tampered.status_code, tampered.json()) == (400, {"error": "no signature matches"})
    assert world.counter.calls == ["StripeWebhookFunction", "StripeWebhookFunction"]


def test_a_none_route_never_authorizes_even_with_a_token(world: World) -> None:
    event = echoed(world.http.post("/webhooks/echo", headers={"Authorization": world.token()}))
    assert "authorizer" not in event["requestContext"]


# ---- the JWT authorizer -------------------------------------------------------------------


@pytest.fixture(scope="module")
def other_issuer() -> Iterator[LocalIssuer]:
    """Another issuer, with a key of its own."""
    with LocalIssuer() as started:
        yield started


def _claims(world: World, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": world.issuer.root_url, "aud": AUDIENCE, "iat": now, "exp": now + 600}
    return {**claims, "custom:tenant_id": TENANT, **overrides}


def _segment(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def _bad_authorizations(world: World, other: LocalIssuer) -> dict[str, str | None]:
    """Authorization header values (None: no header) API Gateway refuses."""
    kid = world.issuer.kid
    unsigned = _segment({"alg": "none", "typ": "JWT", "kid": kid}) + "." + _segment(_claims(world))
    return {
        "missing": None,
        "bearer-alone": "Bearer",
        "malformed": "not-a-jwt",
        "garbage-segments": "Bearer a.b.c",
        "expired": world.token(expires_in_s=-1),
        "wrong-audience": world.token(audience="someone-else"),
        "wrong-issuer": world.token({"iss": "https://evil.example"}),
        "forged": other.forge_as(world.issuer, {"custom:tenant_id": TENANT}, audience=AUDIENCE),
        "alg-none": unsigned + ".",
        "hs256": jwt.encode(
            _claims(world), "a-shared-secret-long-enough-for-hs256!!", headers={"kid": kid}
        ),
        "other-issuer": other.mint({"custom:tenant_id": TENANT}, audience=AUDIENCE),
        "not-yet-valid": world.token({"nbf": int(time.time()) + 600}),
        "issued-in-the-future": world.token({"iat": int(time.time()) + 600}),
        "no-expiry": world.issuer.mint({"exp": None}, audience=AUDIENCE),
    }


# Why each is refused, as the www-authenticate header says (the audience wording is the one
# AWS documents; the others are this API's, in the same style).
REFUSALS = {
    "missing": "the token is missing",
    "bearer-alone": "the token is malformed",
    "malformed": "the token is malformed",
    "garbage-segments": "the token is malformed",
    "expired": "the token has expired",
    "wrong-audience": "the token does not have a valid audience",
    "wrong-issuer": "the token does not have a valid issuer",
    "forged": "the token's signature is invalid",
    "alg-none": "the signing method is invalid",
    "hs256": "the signing method is invalid",
    "other-issuer": "the token's key (kid) is not the issuer's",  # its kid is checked first
    "not-yet-valid": "the token is not valid yet",
    "issued-in-the-future": "the token was issued in the future",
    "no-expiry": "the token has no valid expiry (exp)",
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_bad_token_is_refused_before_the_function_runs(
    world: World, other_issuer: LocalIssuer, case: str
) -> None:
    authorization = _bad_authorizations(world, other_issuer)[case]
    headers = {} if authorization is None else {"Authorization": authorization}
    for path in ("/v1/inboxes/abc", "/guarded-boom"):
        answer = world.http.get(path, headers=headers)
        assert (answer.status_code, answer.json()) == (401, {"message": "Unauthorized"})
        assert answer.headers["www-authenticate"] == (
            f'Bearer scope="" error="invalid_token" error_description="{REFUSALS[case]}"'
        )
    assert world.counter.calls == []


def test_nothing_from_a_refused_token_is_echoed_into_the_answer(world: World) -> None:
    """The token's header is the caller's text: a CR/LF in its `alg` must not become a header
    of the 401 (nor any of its other text end up in the challenge)."""
    header = {"alg": 'RS256\r\nX-Injected: yes\r\n"', "typ": "JWT", "kid": world.issuer.kid}
    token = _segment(header) + "." + _segment(_claims(world)) + ".c2ln"
    answer = world.http.get("/v1/inboxes/abc", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401
    assert "x-injected" not in answer.headers
    assert answer.headers["www-authenticate"] == (
        'Bearer scope="" error="invalid_token" error_description="the signing method is invalid"'
    )
    assert world.counter.calls == []


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(lambda w: w.token(), id="without-bearer"),
        pytest.param(lambda w: f"Bearer {w.token()}", id="bearer"),
        pytest.param(lambda w: f"Bearer {w.token(audience=['x', AUDIENCE])}", id="aud-list"),
        pytest.param(
            lambda w: w.issuer.mint(
                {"client_id": AUDIENCE, "custom:tenant_id": TENANT}, audience=None
            ),
            id="client-id-without-aud",
        ),
    ],
)
def test_good_tokens_reach_the_function(world: World, authorization: Any) -> None:
    answer = world.http.get("/v1/inboxes/abc", headers={"Authorization": authorization(world)})
    claims = echoed(answer)["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["custom:tenant_id"] == TENANT
    assert world.counter.calls == ["EchoFunction"]


def test_route_scopes(world: World) -> None:
    granted = world.get("/scoped", world.token({"scope": "openid inboxes/read"}))
    assert echoed(granted)["requestContext"]["authorizer"]["jwt"]["scopes"] == [
        "openid",
        "inboxes/read",
    ]
    refused = world.get("/scoped", world.token({"scope": "openid"}))
    assert (refused.status_code, refused.json()) == (403, {"message": "Forbidden"})
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert world.counter.calls == ["EchoFunction"]


def test_keys_are_fetched_over_http_once_and_cached(issuer: LocalIssuer) -> None:
    routes, authorizers = routes_from_template(TEMPLATE, resolver(issuer.root_url))
    counter = Counting(in_process_invoker(TEMPLATE))
    before = issuer.jwks_served
    with LocalHttpApi(routes, authorizers, counter) as api, httpx.Client() as http:
        for _ in range(3):
            token = issuer.mint({}, audience=AUDIENCE)
            answer = http.get(f"{api.root_url}/v1/inboxes/a", headers={"Authorization": token})
            assert answer.status_code == 200
    assert issuer.jwks_served == before + 1


def test_keys_from_a_callable_source(issuer: LocalIssuer) -> None:
    routes, authorizers = routes_from_template(TEMPLATE, resolver(issuer.root_url))
    before = issuer.jwks_served
    api = LocalHttpApi(
        routes, authorizers, Counting(in_process_invoker(TEMPLATE)), jwks={"Tenant": issuer.jwks}
    )
    with api, httpx.Client() as http:
        token = issuer.mint({}, audience=AUDIENCE)
        answer = http.get(f"{api.root_url}/v1/inboxes/a", headers={"Authorization": token})
    assert answer.status_code == 200
    assert issuer.jwks_served == before  # no HTTP fetch


def test_an_unreachable_issuer_refuses_tokens(issuer: LocalIssuer) -> None:
    routes, authorizers = routes_from_template(TEMPLATE, resolver(issuer.root_url))
    counter = Counting(in_process_invoker(TEMPLATE))
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    with LocalHttpApi(routes, authorizers, counter, jwks={"Tenant": "http://127.0.0.1:9"}) as api:
        answer = httpx.get(
            f"{api.root_url}/v1/inboxes/a",
            headers={"Authorization": issuer.mint({}, audience=AUDIENCE)},
        )
    assert answer.status_code == 401
    assert counter.calls == []


def test_token_times_are_checked_against_the_apis_clock(issuer: LocalIssuer) -> None:
    routes, authorizers = routes_from_template(TEMPLATE, resolver(issuer.root_url))
    counter = Counting(in_process_invoker(TEMPLATE))
    token = issuer.mint({}, audience=AUDIENCE, expires_in_s=60)
    clock = FakeClock(time.time())  # after minting: the token's iat is not in its future
    started = clock.now
    with LocalHttpApi(routes, authorizers, counter, clock=clock) as api:
        url, headers = f"{api.root_url}/v1/inboxes/a", {"Authorization": token}
        fresh = httpx.get(url, headers=headers)
        clock.advance(60)  # exp (iat + 60, iat <= started) has passed
        stale = httpx.get(url, headers=headers)
    assert fresh.status_code == 200
    assert echoed(fresh)["requestContext"]["timeEpoch"] == int(started * 1000)
    assert stale.status_code == 401
    assert "the token has expired" in stale.headers["www-authenticate"]
    assert counter.calls == ["EchoFunction"]


# ---- routing and responses ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nowhere"), ("DELETE", "/v1/inboxes/abc"), ("GET", "/webhooks/stripe"), ("GET", "/")],
)
def test_no_route_is_404(world: World, method: str, path: str) -> None:
    answer = world.http.request(method, path, headers={"Authorization": world.token()})
    assert (answer.status_code, answer.json()) == (404, {"message": "Not Found"})
    assert world.counter.calls == []


@pytest.mark.parametrize("path", ["/boom", "/odd"])
def test_a_function_error_is_500(world: World, path: str) -> None:
    answer = world.http.get(path)
    assert (answer.status_code, answer.json()) == (500, {"message": "Internal Server Error"})
    assert len(world.counter.calls) == 1


def test_a_full_response_maps_status_headers_cookies_body(world: World) -> None:
    answer = world.http.get("/shapes/full")
    assert answer.status_code == 201
    assert answer.headers["content-type"] == "text/plain"
    assert answer.headers["x-custom"] == "yes"
    assert answer.headers["x-number"] == "7"
    assert answer.headers.get_list("set-cookie") == ["session=abc; Path=/; HttpOnly", "theme=dark"]
    assert answer.text == "created"


@pytest.mark.parametrize(
    ("shape", "expected"),
    [("bare", {"hello": "world", "count": 2}), ("list", [1, "two", None]), ("string", "plain")],
)
def test_any_other_json_answer_is_a_json_200(world: World, shape: str, expected: Any) -> None:
    answer = world.http.get(f"/shapes/{shape}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == expected


def test_a_base64_body_is_decoded(world: World) -> None:
    answer = world.http.get("/shapes/binary")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/png"
    assert answer.content == PNG_BYTES


def test_no_body_and_1_0_fields(world: World) -> None:
    empty = world.http.get("/shapes/empty")
    assert (empty.status_code, empty.content) == (204, b"")
    multi = world.http.get("/shapes/multi")
    assert (multi.status_code, multi.text) == (200, "ok")
    assert "x-multi" not in multi.headers  # multiValueHeaders is 1.0's: ignored


@pytest.mark.parametrize("shape", ["body_object", "bad_status", "bad_base64"])
def test_a_malformed_response_is_500(world: World, shape: str) -> None:
    answer = world.http.get(f"/shapes/{shape}")
    assert (answer.status_code, answer.json()) == (500, {"message": "Internal Server Error"})


def test_a_body_over_the_limit_is_refused() -> None:
    echo = Counting(in_process_invoker(TEMPLATE))
    routes = [Route("POST", "/up", "EchoFunction")]
    with LocalHttpApi(routes, {}, echo, max_body_bytes=1024) as api:
        small = httpx.post(f"{api.root_url}/up", content=b"x" * 1024)
        large = httpx.post(f"{api.root_url}/up", content=b"x" * 1025)
    assert small.status_code == 200
    assert (large.status_code, large.json()) == (413, {"message": "Request Entity Too Large"})
    assert echo.calls == ["EchoFunction"]


def test_an_event_over_lambdas_payload_limit_is_refused(world: World) -> None:
    # 5 MB is under API Gateway's 10 MB, but base64-encoded in the event it passes Lambda's 6 MB.
    answer = world.http.post(
        "/webhooks/echo",
        content=b"\x00" * (5 * 1024 * 1024),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert (answer.status_code, answer.json()) == (413, {"message": "Request Entity Too Large"})
    assert world.counter.calls == []


# ---- the issuer ---------------------------------------------------------------------------


def test_the_issuer_publishes_discovery_and_keys(issuer: LocalIssuer) -> None:
    discovery = httpx.get(f"{issuer.root_url}/.well-known/openid-configuration").json()
    assert discovery["issuer"] == issuer.root_url
    keys = httpx.get(discovery["jwks_uri"]).json()
    assert keys == issuer.jwks()
    (key,) = keys["keys"]
    assert (key["kid"], key["kty"], key["alg"]) == (issuer.kid, "RSA", "RS256")

    token = issuer.mint({"custom:tenant_id": TENANT}, audience=AUDIENCE, subject="user-1")
    assert jwt.get_unverified_header(token)["kid"] == issuer.kid
    claims = jwt.decode(
        token,
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience=AUDIENCE,
        issuer=issuer.root_url,
    )
    assert claims["sub"] == "user-1"
    assert claims["custom:tenant_id"] == TENANT
    assert claims["exp"] - claims["iat"] == 3600
