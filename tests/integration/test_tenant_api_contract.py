"""The tenant API keeps the contract it publishes: schemathesis reads `/v1/openapi.json` over
HTTP from the local cloud (start-api, the JWT authorizer, real PostgreSQL with the sample tenant)
and sends every operation the document lists valid and invalid requests with the sample tenant's
token. No answer may be a 5xx, an undocumented status code or content type, or a body its
schema does not describe; invalid input must be refused; and an operation that answers 2xx must
refuse the same request without a valid token.

The run is bounded (a fixed number of examples per operation) and deterministic (derandomized,
no example database), so a failure here reproduces on every run. The operations come from the
served document, so a new route is covered as soon as it is published.

schemathesis' lazy pytest loader (`schemathesis.pytest.from_fixture`) cannot run on pytest 9.2
(it rewrites `Node._nodeid`, which pytest 9.2 no longer has), so each operation is a Hypothesis
test of its own over schemathesis' case strategies, reported as a subtest."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from typing import Any, TypeAlias
from uuid import UUID

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from local.cloud import LocalCloud
from local.samples import SAMPLE_DOMAIN, SAMPLE_INBOX_ID, SAMPLE_TENANT_ID, seed_sample
from local.standing import set_standing
from tests.factories import active_inbox, failed_inbox

Operation: TypeAlias = schemathesis.APIOperation[Any, Any, Any, Any]
Case: TypeAlias = schemathesis.Case[Operation]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]
BOUNDED = settings(
    max_examples=40,  # per operation, valid and invalid requests together
    derandomize=True,  # the same cases on every run
    database=None,  # no .hypothesis folder, no replay of an earlier run's failures
    deadline=None,  # a request through the local cloud is not a unit of CPU time
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# The token is sent with every request (and taken away by ignored_auth's probes): generating the
# security scheme's header too would make "no Authorization header" a negative case that the
# token sent on top of it turns valid again.
CONFIG = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
# What names a seeded row: generated ids almost never exist and generated addresses are on no
# domain of the tenant, so without these the operations on one inbox would only ever answer 404
# and a request for new inboxes only ever 422.
SEEDED_PATH_PARAMETERS = {"inbox_id": str(SAMPLE_INBOX_ID)}
# A retry is accepted only for a failed inbox: the retry operation addresses this one.
FAILED_INBOX_ID = UUID("7d0c5a52-3c1e-4f7a-9a53-2f4b1c0de1fa")
SEEDED_FOR_RETRY = {"inbox_id": str(FAILED_INBOX_ID)}
# Credentials are given, and a password set, for an active inbox: those operations address this one.
ACTIVE_INBOX_ID = UUID("7d0c5a52-3c1e-4f7a-9a53-2f4b1c0de1ac")
SEEDED_FOR_LOGIN = {"inbox_id": str(ACTIVE_INBOX_ID)}
# The domain operations address a domain with its hosted zone, added through the API.
SEEDED_DOMAIN = "contract-seed.example"
SEEDED_FOR_DOMAIN: dict[str, str] = {}
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}", re.IGNORECASE)


@pytest.fixture(scope="module")
def cloud(pg_server: str) -> Iterator[LocalCloud]:
    with LocalCloud(
        postgres_url=pg_server, time_scale=0.001, event_sources=False, provisioning=False
    ) as running:
        sample = seed_sample()
        # Entitled, with a failed inbox: requests are queued and a retry can be accepted.
        set_standing(SAMPLE_TENANT_ID, "entitled", max_inboxes=10_000)
        failed_inbox(
            SAMPLE_TENANT_ID, sample.inbox.domain_id, f"failed@{SAMPLE_DOMAIN}", FAILED_INBOX_ID
        )
        active_inbox(
            SAMPLE_TENANT_ID,
            sample.inbox.domain_id,
            f"active@{SAMPLE_DOMAIN}",
            password="Sample#Pw-2026",
            key_id=running.env["INBOX_SECRETS_KEY_ID"],
            inbox_id=ACTIVE_INBOX_ID,
        )
        added = httpx.post(
            f"{running.api_url}/v1/domains",
            json={"name": SEEDED_DOMAIN},
            headers={"authorization": f"Bearer {running.token(SAMPLE_TENANT_ID)}"},
            timeout=30,
        )
        assert added.status_code == 201, added.text
        SEEDED_FOR_DOMAIN["domain_id"] = added.json()["id"]
        yield running


def on_the_seeded_domain(address: str) -> str:
    """A well-formed address on the sample tenant's domain, one for each generated address."""
    return f"c{zlib.crc32(address.encode(errors='surrogatepass')):08x}@{SAMPLE_DOMAIN}"


def with_seeded_rows(case: Case) -> Case:
    """The case addressing the seeded rows: each well-formed id of a seeded path parameter is
    the seeded row's, each address of a JSON body one on the sample tenant's domain.

    Only values of the right shape (a canonical UUID, a string) are replaced, so a negative case
    stays invalid; schemathesis re-validates a case whose parts a hook changed before sending it."""
    path = case.operation.path
    ids = (
        SEEDED_FOR_RETRY
        if path.endswith("/retry")
        else SEEDED_FOR_LOGIN
        if path.endswith(("/credentials", "/password"))
        else SEEDED_FOR_DOMAIN
        if path.startswith("/v1/domains/")
        else SEEDED_PATH_PARAMETERS
    )
    for name, value in ids.items():
        current = case.path_parameters.get(name)
        if isinstance(current, str) and CANONICAL_UUID.fullmatch(current):
            case.path_parameters[name] = value
    body = case.body
    if isinstance(body, dict):
        address = body.get("address")
        if isinstance(address, str):
            body["address"] = on_the_seeded_domain(address)
        addresses = body.get("addresses")
        if isinstance(addresses, list):
            seeded: list[Any] = [on_the_seeded_domain(a) for a in addresses if isinstance(a, str)]
            if len(seeded) == len(addresses):
                body["addresses"] = seeded
    return case


def flatmap_case(context: schemathesis.HookContext, case: Case) -> st.SearchStrategy[Case]:
    """About half the generated cases address the seeded rows (200s, 202s), the rest what was
    generated (404s, 422s)."""
    return st.booleans().map(lambda seeded: with_seeded_rows(case) if seeded else case)


@pytest.fixture(scope="module")
def operations(cloud: LocalCloud) -> list[Operation]:
    """Every operation of the served document, the ones that delete last (they may delete the
    seeded rows the others read)."""
    schema = schemathesis.openapi.from_url(
        f"{cloud.api_url}/v1/openapi.json", config=CONFIG, timeout=30
    )
    schema.hook(flatmap_case)
    loaded = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            raise result.err()  # a part of the document schemathesis cannot read
        loaded.append(result.ok())
    return sorted(loaded, key=lambda operation: operation.method.upper() == "DELETE")


def assert_keeps_the_contract(operation: Operation, token: str) -> None:
    cases = st.one_of(
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    )

    @BOUNDED
    @given(case=cases)
    def each(case: Case) -> None:
        case.call_and_validate(
            headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, timeout=30
        )

    each()


def test_every_published_operation_keeps_the_contract(
    cloud: LocalCloud, operations: list[Operation], subtests: pytest.Subtests
) -> None:
    assert {(o.method.upper(), o.path) for o in operations} >= {
        ("GET", "/v1/inboxes"),
        ("GET", "/v1/inboxes/{inbox_id}"),
    }
    token = cloud.token(SAMPLE_TENANT_ID)
    for operation in operations:
        with subtests.test(msg=operation.label):
            assert_keeps_the_contract(operation, token)
