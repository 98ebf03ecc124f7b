"""The tenant API over real HTTP through the local cloud (start-api, the JWT authorizer, real
PostgreSQL): the published OpenAPI document, identity from the verified claims, one inbox with
its timeline, and the one error shape — another tenant's id answers exactly like a missing one."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any, cast
from uuid import UUID, uuid4

import httpx
import pytest

from inboxfleet.db import system_session, tenant_session
from inboxfleet.db.repositories import Domains, Inboxes, TenantDirectory
from inboxfleet.lifecycles import InboxStatus
from local.cloud import AUDIENCE, LocalCloud
from local.samples import SAMPLE_ADDRESS, SAMPLE_INBOX_ID, SAMPLE_TENANT_ID, seed_sample
from tests.tenant_api_support import error, http_event

INBOX_ROUTE = "/v1/inboxes/{inbox_id}"


@pytest.fixture(scope="module")
def cloud(pg_server: str) -> Iterator[LocalCloud]:
    with LocalCloud(
        postgres_url=pg_server, time_scale=0.001, event_sources=False, provisioning=False
    ) as running:
        seed_sample()
        yield running


@pytest.fixture(scope="module")
def other_inbox(cloud: LocalCloud) -> UUID:
    """An inbox of another tenant, to probe with the sample tenant's token."""
    with system_session("test.tenant_api") as s:
        tenant = TenantDirectory(s).create("Other Co", "ops@other.example")
    with tenant_session(tenant.id) as s:
        domain = Domains(s).add("other-co.example")
        return Inboxes(s).add(domain.id, "hello@other-co.example").id


def get(cloud: LocalCloud, path: str, token: str | None = None) -> httpx.Response:
    headers = {} if token is None else {"authorization": f"Bearer {token}"}
    return httpx.get(f"{cloud.api_url}{path}", headers=headers, timeout=30)


def test_the_openapi_document_is_served_without_a_token_and_tells_the_truth(
    cloud: LocalCloud,
) -> None:
    answer = get(cloud, "/v1/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    operation = document["paths"][INBOX_ROUTE]["get"]
    assert set(operation["responses"]) == {"200", "401", "403", "404", "422", "500", "503"}
    for status in ("403", "404", "422", "500", "503"):
        schema = operation["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorBody"}, status
    # A 401 is ours (no tenant claim) or API Gateway's own (no valid token).
    unauthorized = operation["responses"]["401"]["content"]["application/json"]["schema"]
    assert {ref["$ref"] for ref in unauthorized["anyOf"]} == {
        "#/components/schemas/ErrorBody",
        "#/components/schemas/GatewayRefusal",
    }
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert "/v1/openapi.json" not in document["paths"]
    # Every operation needs the tenant's bearer token (checked by API Gateway).
    scheme = document["components"]["securitySchemes"]["tenantToken"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    assert document["security"] == [{"tenantToken": []}]


def test_swagger_ui_is_served_in_local_mode(cloud: LocalCloud) -> None:
    answer = get(cloud, "/v1/docs")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "swagger" in answer.text.lower()
    # The page shows the published document, nothing more, whatever is asked of it.
    assert '"/v1/inboxes/{inbox_id}/retry"' in answer.text
    assert "HTTPValidationError" not in answer.text
    as_json = get(cloud, "/v1/docs?format=json")
    assert as_json.headers["content-type"].startswith("text/html")
    assert "HTTPValidationError" not in as_json.text


def test_a_tenant_reads_its_inbox_with_its_timeline(cloud: LocalCloud) -> None:
    answer = get(cloud, f"/v1/inboxes/{SAMPLE_INBOX_ID}", cloud.token(SAMPLE_TENANT_ID))
    assert answer.status_code == 200, answer.text
    inbox = answer.json()
    assert (inbox["id"], inbox["address"], inbox["status"]) == (
        str(SAMPLE_INBOX_ID),
        SAMPLE_ADDRESS,
        "awaiting_payment",
    )
    assert [step["step"] for step in inbox["timeline"]] == ["request"]
    assert "password_ciphertext" not in inbox
    assert "server_id" not in inbox


def test_another_tenants_inbox_is_a_404_exactly_like_a_missing_one(
    cloud: LocalCloud, other_inbox: UUID
) -> None:
    token = cloud.token(SAMPLE_TENANT_ID)
    theirs, missing = (
        get(cloud, f"/v1/inboxes/{other_inbox}", token),
        get(cloud, f"/v1/inboxes/{uuid4()}", token),
    )
    assert theirs.status_code == missing.status_code == 404
    assert {k: v for k, v in error(theirs).items() if k != "message"} == {
        "code": "not_found",
        "field": "path.inbox_id",
    }
    assert (
        error(theirs)["message"].replace(str(other_inbox), "X")
        == error(missing)["message"].rsplit(" ", 1)[0] + " X"
    )


def test_a_malformed_id_is_a_422_naming_the_field(cloud: LocalCloud) -> None:
    answer = get(cloud, "/v1/inboxes/not-a-uuid", cloud.token(SAMPLE_TENANT_ID))
    assert answer.status_code == 422
    assert error(answer)["code"] == "invalid_request"
    assert error(answer)["field"] == "path.inbox_id"


def test_a_token_without_a_tenant_is_a_401_and_an_unknown_tenant_a_403(
    cloud: LocalCloud,
) -> None:
    no_tenant = cloud.issuer.mint({}, audience=AUDIENCE)
    answer = get(cloud, f"/v1/inboxes/{SAMPLE_INBOX_ID}", no_tenant)
    assert answer.status_code == 401
    assert error(answer)["code"] == "unauthenticated"
    not_a_tenant = cloud.issuer.mint({"custom:tenant_id": "acme"}, audience=AUDIENCE)
    assert get(cloud, f"/v1/inboxes/{SAMPLE_INBOX_ID}", not_a_tenant).status_code == 401
    unknown = get(cloud, f"/v1/inboxes/{SAMPLE_INBOX_ID}", cloud.token(uuid4()))
    assert unknown.status_code == 403
    assert error(unknown)["code"] == "forbidden"


def test_without_a_token_api_gateway_answers_before_the_function(cloud: LocalCloud) -> None:
    answer = get(cloud, f"/v1/inboxes/{SAMPLE_INBOX_ID}")
    assert (answer.status_code, answer.json()) == (401, {"message": "Unauthorized"})


# ---- GET /v1/inboxes ------------------------------------------------------------------------


@pytest.fixture
def lister(cloud: LocalCloud) -> tuple[UUID, list[UUID]]:
    """A tenant of its own with five inboxes on two domains (oldest first), one of them queued."""
    with system_session("test.tenant_api") as s:
        tenant = TenantDirectory(s).create("Lister Co", "ops@lister.example")
    with tenant_session(tenant.id) as s:
        first = Domains(s).add(f"l{tenant.id.hex[:8]}-one.example")
        second = Domains(s).add(f"l{tenant.id.hex[:8]}-two.example")
        ids = [
            Inboxes(s).add(domain.id, f"u{n}@{domain.name}").id
            for n, domain in enumerate([first, first, second, first, second])
        ]
        Inboxes(s).transition(ids[2], InboxStatus.QUEUED, by="tenant", why="test")
    return tenant.id, ids


def listed(cloud: LocalCloud, tenant: UUID, query: str = "") -> dict[str, Any]:
    answer = get(cloud, f"/v1/inboxes{query}", cloud.token(tenant))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_pages_list_every_inbox_once_in_order_and_end_with_no_cursor(
    cloud: LocalCloud, lister: tuple[UUID, list[UUID]]
) -> None:
    tenant, ids = lister
    seen: list[str] = []
    page = listed(cloud, tenant, "?limit=2")
    pages = 1
    while True:
        seen.extend(i["id"] for i in page["inboxes"])
        if page["next_cursor"] is None:
            break
        if pages == 1:  # an inbox created while paging comes last, never twice
            with tenant_session(tenant) as s:
                domain = Domains(s).list()[0]
                ids.append(Inboxes(s).add(domain.id, f"late@{domain.name}").id)
        page = listed(cloud, tenant, f"?limit=2&cursor={page['next_cursor']}")
        pages += 1
    assert seen == [str(i) for i in ids]
    assert len(set(seen)) == len(seen)


def test_inboxes_filter_by_status_and_domain(
    cloud: LocalCloud, lister: tuple[UUID, list[UUID]]
) -> None:
    tenant, ids = lister
    queued = listed(cloud, tenant, "?status=queued")["inboxes"]
    assert [i["id"] for i in queued] == [str(ids[2])]
    domain = f"l{tenant.hex[:8]}-two.example"
    on_two = listed(cloud, tenant, f"?domain={domain.upper()}")["inboxes"]
    assert [i["id"] for i in on_two] == [str(ids[2]), str(ids[4])]
    assert listed(cloud, SAMPLE_TENANT_ID, f"?domain={domain}")["inboxes"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?limit=0", "query.limit"),
        ("?limit=10000", "query.limit"),
        ("?limit=ten", "query.limit"),
        ("?status=sleeping", "query.status"),
        ("?cursor=not-a-cursor", "query.cursor"),
        ("?cursor=W10", "query.cursor"),
        ("?domain=bad%0Adomain.example", "query.domain"),
    ],
)
def test_bad_list_queries_are_422_naming_the_field(
    cloud: LocalCloud, query: str, field: str
) -> None:
    answer = get(cloud, f"/v1/inboxes{query}", cloud.token(SAMPLE_TENANT_ID))
    assert answer.status_code == 422, answer.text
    assert error(answer)["field"] == field


# ---- who is asked first, and odd input (review of the first slice) -------------------------


@pytest.mark.parametrize(
    "payload", ['["2024-01-01T00:00:00+00:00", 5]', '["2024-01-01T00:00:00+00:00", [1]]', "{}"]
)
def test_a_cursor_holding_anything_but_a_time_and_an_id_is_a_422(
    cloud: LocalCloud, payload: str
) -> None:
    cursor = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    answer = get(cloud, f"/v1/inboxes?cursor={cursor}", cloud.token(SAMPLE_TENANT_ID))
    assert answer.status_code == 422, answer.text
    assert error(answer)["field"] == "query.cursor"


@pytest.mark.parametrize(
    "path", ["/v1/inboxes?status=nope", "/v1/inboxes/x", "/v1/inboxes?limit=0"]
)
def test_who_is_asking_is_settled_before_what_is_asked(cloud: LocalCloud, path: str) -> None:
    no_tenant = cloud.issuer.mint({}, audience=AUDIENCE)
    assert get(cloud, path, no_tenant).status_code == 401
    assert get(cloud, path, cloud.token(uuid4())).status_code == 403


def test_a_bad_cursor_of_an_unknown_tenant_is_a_403(cloud: LocalCloud) -> None:
    assert get(cloud, "/v1/inboxes?cursor=x", cloud.token(uuid4())).status_code == 403


@pytest.mark.parametrize("path", ["/v1/inboxes/%00", "/v1/inboxes/%0A"])
def test_a_path_no_route_matches_answers_in_the_one_error_shape(
    cloud: LocalCloud, path: str
) -> None:
    answer = get(cloud, path, cloud.token(SAMPLE_TENANT_ID))
    assert answer.status_code in (404, 422), answer.text
    assert error(answer)["code"] in ("not_found", "invalid_request")


def test_the_missing_and_the_malformed_id_name_the_same_field(cloud: LocalCloud) -> None:
    token = cloud.token(SAMPLE_TENANT_ID)
    missing = error(get(cloud, f"/v1/inboxes/{uuid4()}", token))
    malformed = error(get(cloud, "/v1/inboxes/nope", token))
    assert missing["field"] == malformed["field"] == "path.inbox_id"


@pytest.mark.parametrize("query", ["?domain=", "?cursor=", "?status="])
def test_an_empty_filter_is_a_422_like_any_bad_one(cloud: LocalCloud, query: str) -> None:
    answer = get(cloud, f"/v1/inboxes{query}", cloud.token(SAMPLE_TENANT_ID))
    assert answer.status_code == 422, answer.text


def test_the_published_schemas_say_what_is_always_sent(cloud: LocalCloud) -> None:
    schemas = get(cloud, "/v1/openapi.json").json()["components"]["schemas"]
    assert set(schemas["ErrorDetail"]["required"]) == {"code", "message", "field"}
    status = schemas["InboxSummary"]["properties"]["status"]
    assert status == {"$ref": "#/components/schemas/InboxStatus"}


def test_an_unreachable_database_is_a_503_in_the_one_error_shape(cloud: LocalCloud) -> None:
    """The handler in process with a database that refuses connections (nothing listens on
    port 1): a clear 503 the client may retry, never a 500 or a traceback."""
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from inboxfleet.api.resolver import serve
    from inboxfleet.db.connection import Database, use_database
    from inboxfleet.settings import DatabaseSettings
    from local.invoke import LocalContext

    event = http_event("GET", "/v1/inboxes", SAMPLE_TENANT_ID)
    url = "postgresql://app@127.0.0.1:1/inboxfleet"
    down = Database(lambda force: url, "postgres", DatabaseSettings(DATABASE_CONNECT_TIMEOUT_S=2))
    previous = use_database(down)
    try:
        context = LocalContext("TenantApiFunction", remaining_ms=10_000)
        answer = serve(event, cast("LambdaContext", context))
    finally:
        use_database(previous)
    assert answer["statusCode"] == 503
    assert json.loads(answer["body"])["error"]["code"] == "unavailable"
