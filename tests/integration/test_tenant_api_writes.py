"""The tenant API's writes over real HTTP through the local cloud (start-api, the JWT authorizer,
real PostgreSQL): asking for inboxes (one or a bulk list, all or none), deleting and retrying
them, what the account's standing and plan allow (also under a race for the last slot),
Idempotency-Key replays, every bad input a clear 4xx that writes nothing, and another tenant's
inbox answering exactly like a missing one on every route with an id."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID, uuid4

import httpx
import psycopg
import pytest

from inboxfleet.api.admission import MAX_AWAITING_PAYMENT
from inboxfleet.db import system_session, tenant_session
from inboxfleet.db.repositories import (
    BillingAccounts,
    Domains,
    IdempotencyRecords,
    Inboxes,
    InboxEvents,
    Servers,
    TenantDirectory,
)
from inboxfleet.lifecycles import InboxStatus
from inboxfleet.provisioning.ports import StartRequest
from inboxfleet.provisioning.runtime import using_starter
from local.cloud import LocalCloud
from local.recording_starter import RecordingStarter, UnreachableStarter, record_starts
from local.standing import set_standing
from tests.tenant_api_support import call, error, http_event, waits_for_a_lock, while_held

_I = InboxStatus


@pytest.fixture
def starter(cloud: LocalCloud) -> Iterator[RecordingStarter]:
    """The API's provisioning starter, recording instead of starting the workflow."""
    with record_starts() as recording:
        yield recording


@dataclass(frozen=True)
class Tenant:
    id: UUID
    domain: str
    token: str


def new_tenant(cloud: LocalCloud, standing: str = "entitled", max_inboxes: int = 10) -> Tenant:
    """A tenant with one domain and an account that is `entitled` (to max_inboxes), `unpaid`
    (never subscribed) or `suspended` (its subscription unpaid)."""
    with system_session("test.tenant_api") as s:
        tenant = TenantDirectory(s).create(f"Co {uuid4().hex[:6]}", "ops@co.example")
    domain = f"t{tenant.id.hex[:10]}.example"
    with tenant_session(tenant.id) as s:
        Domains(s).add(domain)
    if standing != "unpaid":
        set_standing(tenant.id, standing, max_inboxes)
    return Tenant(tenant.id, domain, cloud.token(tenant.id))


def rows(tenant: Tenant) -> dict[str, Any]:
    """Everything the API may write for a tenant, to prove a refusal wrote nothing."""
    with tenant_session(tenant.id) as s:
        inboxes = Inboxes(s).list()
        events = InboxEvents(s)
        return {
            "inboxes": [i.model_dump() for i in inboxes],
            "timelines": [[e.id for e in events.timeline(i.id)] for i in inboxes],
            "account": (a.model_dump() if (a := BillingAccounts(s).get()) else None),
        }


def add_inbox(tenant: Tenant, local: str, *statuses: InboxStatus) -> UUID:
    """An inbox moved through `statuses` by the workflow, as the saga would."""
    with tenant_session(tenant.id) as s:
        domain = Domains(s).list()[0]
        inbox = Inboxes(s).add(domain.id, f"{local}@{tenant.domain}")
        for status in statuses:
            moved = Inboxes(s).transition(inbox.id, status, by="workflow", why="test")
            assert moved is not None, status
        return inbox.id


# ---- POST /v1/inboxes ------------------------------------------------------------------------


def test_an_entitled_tenant_asks_for_one_inbox_and_its_workflow_is_started(
    cloud: LocalCloud, starter: RecordingStarter
) -> None:
    tenant = new_tenant(cloud)
    answer = call(cloud, "POST", "/v1/inboxes", tenant, {"address": f"Sales@{tenant.domain}"})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["next_step"] is None
    [inbox] = body["inboxes"]
    assert (inbox["address"], inbox["status"], inbox["attempt"]) == (
        f"sales@{tenant.domain}",
        "queued",
        1,
    )
    inbox_id = UUID(inbox["id"])
    assert starter.started == [StartRequest.for_attempt(tenant.id, inbox_id, 1)]
    with tenant_session(tenant.id) as s:
        stored = Inboxes(s).get(inbox_id)
    assert stored is not None
    assert stored.execution_name == f"{inbox_id}-1"
    seen = call(cloud, "GET", f"/v1/inboxes/{inbox_id}", tenant).json()
    assert [(t["step"], t["detail"]["by"]) for t in seen["timeline"]] == [("request", "tenant")]


def test_a_bulk_request_is_recorded_whole_in_the_order_sent(
    cloud: LocalCloud, starter: RecordingStarter
) -> None:
    tenant = new_tenant(cloud, max_inboxes=100)
    addresses = [f"rep{n:03d}@{tenant.domain}" for n in range(100)]
    answer = call(cloud, "POST", "/v1/inboxes", tenant, {"addresses": addresses})
    assert answer.status_code == 202, answer.text
    inboxes = answer.json()["inboxes"]
    assert [i["address"] for i in inboxes] == addresses
    assert {i["status"] for i in inboxes} == {"queued"}
    assert {s.inbox_id for s in starter.started} == {UUID(i["id"]) for i in inboxes}


def test_without_a_subscription_requests_wait_for_payment_with_a_checkout_hint(
    cloud: LocalCloud, starter: RecordingStarter
) -> None:
    tenant = new_tenant(cloud, "unpaid")
    answer = call(cloud, "POST", "/v1/inboxes", tenant, {"addresses": [f"a@{tenant.domain}"]})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert [i["status"] for i in body["inboxes"]] == ["awaiting_payment"]
    assert body["next_step"]["code"] == "checkout"
    assert body["next_step"]["path"] == "/v1/billing/checkout"
    assert starter.started == []


def test_waiting_requests_are_bounded(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud, "unpaid")
    for batch in range(MAX_AWAITING_PAYMENT // 100):
        wanted = [f"w{batch}x{n}@{tenant.domain}" for n in range(100)]
        assert call(cloud, "POST", "/v1/inboxes", tenant, {"addresses": wanted}).status_code == 202
    before = rows(tenant)
    answer = call(cloud, "POST", "/v1/inboxes", tenant, {"address": f"one-more@{tenant.domain}"})
    assert answer.status_code == 409
    assert (error(answer)["code"], error(answer)["field"]) == (
        "limit_reached",
        "max_awaiting_payment",
    )
    assert rows(tenant) == before


def test_a_suspended_account_gets_402_and_nothing_is_written(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud, "suspended")
    before = rows(tenant)
    answer = call(cloud, "POST", "/v1/inboxes", tenant, {"address": f"a@{tenant.domain}"})
    assert answer.status_code == 402
    assert error(answer)["code"] == "payment_required"
    assert "suspended" in error(answer)["message"]
    assert rows(tenant) == before


def test_a_plan_limit_is_a_409_naming_the_limit_and_nothing_is_written(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud, max_inboxes=2)
    add_inbox(tenant, "first", _I.QUEUED, _I.PROVISIONING, _I.ACTIVE)
    add_inbox(tenant, "gone", _I.QUEUED, _I.PROVISIONING, _I.FAILED)  # not counted
    before = rows(tenant)
    wanted = {"addresses": [f"b@{tenant.domain}", f"c@{tenant.domain}"]}
    answer = call(cloud, "POST", "/v1/inboxes", tenant, wanted)
    assert answer.status_code == 409
    detail = error(answer)
    assert (detail["code"], detail["field"]) == ("limit_reached", "max_inboxes")
    assert "allows 2 inboxes; 1 in use, 2 requested" in detail["message"]
    assert rows(tenant) == before
    assert call(cloud, "POST", "/v1/inboxes", tenant, {"address": f"b@{tenant.domain}"}).is_success


def test_twenty_parallel_requests_for_the_last_slot_one_wins(
    cloud: LocalCloud, starter: RecordingStarter
) -> None:
    tenant = new_tenant(cloud, max_inboxes=3)
    add_inbox(tenant, "one", _I.QUEUED)
    add_inbox(tenant, "two", _I.QUEUED, _I.PROVISIONING, _I.ACTIVE)
    go = threading.Barrier(20)

    def ask(n: int) -> int:
        go.wait(timeout=30)
        body = {"address": f"racer{n}@{tenant.domain}"}
        return call(cloud, "POST", "/v1/inboxes", tenant, body).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = sorted(pool.map(ask, range(20)))
    assert statuses == [202] + [409] * 19
    with tenant_session(tenant.id) as s:
        racers = [i for i in Inboxes(s).list() if i.address.startswith("racer")]
    assert len(racers) == 1
    assert [r.inbox_id for r in starter.started] == [racers[0].id]


def test_billing_waits_on_the_account_row_while_a_request_holds_it(cloud: LocalCloud) -> None:
    """Billing's release of waiting inboxes and the API's requests count against one plan: a
    request holds the account row from before it counts until it commits, and billing comes to
    wait on that row (its lock, and its entitlement's update of the row) before it counts."""
    from inboxfleet.billing.ledger import converge_tenant
    from inboxfleet.billing.runtime import billing_deps

    tenant = new_tenant(cloud)
    held = threading.Event()
    release = threading.Event()

    def api_holding_the_lock() -> None:
        with tenant_session(tenant.id) as s:
            BillingAccounts(s).lock()
            held.set()
            release.wait(timeout=60)

    holder = threading.Thread(target=api_holding_the_lock)
    holder.start()
    assert held.wait(timeout=30)
    billing = threading.Thread(target=converge_tenant, args=(tenant.id, billing_deps()))
    billing.start()
    try:
        assert waits_for_a_lock(cloud.database_url, "billing_accounts"), "billing did not wait"
        assert billing.is_alive()
    finally:
        release.set()
        holder.join(timeout=30)
        billing.join(timeout=30)
    assert not billing.is_alive()


def test_the_domain_must_be_the_tenants_own(cloud: LocalCloud) -> None:
    tenant, other = new_tenant(cloud), new_tenant(cloud)
    before = rows(tenant)
    for foreign in (other.domain, "never-added.example"):
        wanted = {"addresses": [f"ok@{tenant.domain}", f"x@{foreign}"]}
        answer = call(cloud, "POST", "/v1/inboxes", tenant, wanted)
        assert answer.status_code == 422, answer.text
        assert error(answer)["field"] == "body.addresses.1"
        assert foreign in error(answer)["message"]
    assert rows(tenant) == before


def test_an_address_in_use_is_a_409_and_a_deleted_one_can_be_asked_for_again(
    cloud: LocalCloud,
) -> None:
    tenant = new_tenant(cloud)
    inbox_id = add_inbox(tenant, "again", _I.QUEUED, _I.PROVISIONING, _I.ACTIVE)
    before = rows(tenant)
    body = {"addresses": [f"new@{tenant.domain}", f"AGAIN@{tenant.domain}"]}
    answer = call(cloud, "POST", "/v1/inboxes", tenant, body)
    assert answer.status_code == 409
    assert (error(answer)["code"], error(answer)["field"]) == ("conflict", "body.addresses.1")
    assert str(inbox_id) in error(answer)["message"]
    assert rows(tenant) == before
    with tenant_session(tenant.id) as s:
        for status in (_I.DELETING, _I.DELETED):
            assert Inboxes(s).transition(inbox_id, status, by="workflow", why="test")
    again = call(cloud, "POST", "/v1/inboxes", tenant, {"address": f"again@{tenant.domain}"})
    assert again.status_code == 202, again.text
    assert again.json()["inboxes"][0]["id"] != str(inbox_id)


BAD_BODIES: list[tuple[str, Any, str | None]] = [
    ("wrong type", {"address": 42}, "body.address"),
    ("list for one", {"address": ["a@x.example"]}, "body.address"),
    ("unknown field", {"address": "a@{d}", "plan": "free"}, "body.plan"),
    ("both forms", {"address": "a@{d}", "addresses": ["b@{d}"]}, "body"),
    ("neither form", {}, "body"),
    ("a null address", {"address": None}, "body"),
    ("a null list beside an address", {"address": "a@{d}", "addresses": None}, "body"),
    ("empty list", {"addresses": []}, "body.addresses"),
    ("101 addresses", {"addresses": [f"n{n}@{{d}}" for n in range(101)]}, "body.addresses"),
    ("twice in one list", {"addresses": ["a@{d}", "b@{d}", "A@{d}"]}, "body.addresses.2"),
    ("control character", {"addresses": ["ok@{d}", "a\u0000b@{d}"]}, "body.addresses.1"),
    ("newline", {"address": "a\nb@{d}"}, "body.address"),
    ("shell", {"address": "a;reboot@{d}"}, "body.address"),
    ("shell substitution", {"address": "$(id)@{d}"}, "body.address"),
    ("quote", {"address": "o'brien@{d}"}, "body.address"),
    ("plus (an alias)", {"address": "a+b@{d}"}, "body.address"),
    ("no local part", {"address": "@{d}"}, "body.address"),
    ("DNS wildcard", {"address": "a@*.{d}"}, "body.address"),
    ("empty label", {"address": "a@x..{d}"}, "body.address"),
    ("zero-width space", {"address": "a@{d}\u200b"}, "body.address"),
    ("not an object", ["a@{d}"], None),
]


@pytest.mark.parametrize(("case", "body", "field"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_bodies_are_422_naming_the_field_and_write_nothing(
    cloud: LocalCloud, case: str, body: Any, field: str | None
) -> None:
    tenant = new_tenant(cloud)
    filled = json.loads(json.dumps(body).replace("{d}", tenant.domain))
    before = rows(tenant)
    answer = call(cloud, "POST", "/v1/inboxes", tenant, filled)
    assert answer.status_code == 422, answer.text
    detail = error(answer)
    if field is not None:
        assert detail["field"] == field, detail
    assert rows(tenant) == before


@pytest.mark.parametrize(
    "raw",
    [
        b'{"address": "a@x.example"',
        b"not json",
        b"\xff\xfe",
        b"",
        b"null",
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the parser recurses
        b'{"address": ' + b"1" * 5_000 + b"}",  # more digits than Python converts
    ],
    ids=["truncated", "not json", "not utf-8", "empty", "null", "deep", "long number"],
)
def test_malformed_json_is_a_422(cloud: LocalCloud, raw: bytes) -> None:
    tenant = new_tenant(cloud)
    before = rows(tenant)
    answer = call(cloud, "POST", "/v1/inboxes", tenant, raw=raw)
    assert answer.status_code == 422, answer.text
    assert (error(answer)["code"], error(answer)["field"]) == ("invalid_request", "body")
    assert rows(tenant) == before


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("text/plain", b"a@x.example"),
        ("application/xml", b"<address>a@x.example</address>"),
        ("application/x-www-form-urlencoded", b"address=a%40{d}"),
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="address"\r\n\r\na@{d}\r\n--b--\r\n',
        ),
        ("text/plain", b""),  # no body: Powertools would still answer in a shape of its own
        ("multipart/form-data", b""),  # no boundary: Powertools would fail with a 500
    ],
    ids=["text", "xml", "form", "multipart", "empty text", "empty multipart"],
)
def test_a_body_that_is_not_json_is_a_415_and_writes_nothing(
    cloud: LocalCloud, content_type: str, raw: bytes
) -> None:
    tenant = new_tenant(cloud)
    before = rows(tenant)
    headers = {"authorization": f"Bearer {tenant.token}", "content-type": content_type}
    body = raw.replace(b"{d}", tenant.domain.encode())
    for path in ("/v1/inboxes", f"/v1/inboxes/{uuid4()}/retry"):
        answer = httpx.post(f"{cloud.api_url}{path}", headers=headers, content=body, timeout=30)
        assert answer.status_code == 415, answer.text
        assert (error(answer)["code"], error(answer)["field"]) == (
            "unsupported_media_type",
            "header.content-type",
        )
    assert rows(tenant) == before
    # A media type is case-insensitive: JSON spelt in capitals is JSON.
    capitals = httpx.post(
        f"{cloud.api_url}/v1/inboxes",
        headers={**headers, "content-type": "APPLICATION/JSON; charset=UTF-8"},
        content=json.dumps({"address": f"caps@{tenant.domain}"}).encode(),
        timeout=30,
    )
    assert capitals.status_code == 202, capitals.text
    # Who is asking is settled first.
    stranger = cloud.token(uuid4())
    refused = httpx.post(
        f"{cloud.api_url}/v1/inboxes",
        headers={"authorization": f"Bearer {stranger}", "content-type": content_type},
        content=body,
        timeout=30,
    )
    assert refused.status_code == 403


def test_a_10_mb_body_is_refused_before_the_function(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud)
    before = rows(tenant)
    huge = json.dumps({"address": "a" * (10 * 1024 * 1024) + f"@{tenant.domain}"}).encode()
    answer = call(cloud, "POST", "/v1/inboxes", tenant, raw=huge)
    assert answer.status_code == 413
    assert rows(tenant) == before


# ---- DELETE /v1/inboxes/{id} and POST /v1/inboxes/{id}/retry ---------------------------------


def test_deleting_marks_the_inbox_deleting_and_a_repeat_answers_the_same(
    cloud: LocalCloud,
) -> None:
    tenant = new_tenant(cloud)
    inbox_id = add_inbox(tenant, "bye", _I.QUEUED, _I.PROVISIONING, _I.ACTIVE)
    first = call(cloud, "DELETE", f"/v1/inboxes/{inbox_id}", tenant)
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "deleting"
    again = call(cloud, "DELETE", f"/v1/inboxes/{inbox_id}", tenant)
    assert (again.status_code, again.json()) == (202, first.json())
    timeline = call(cloud, "GET", f"/v1/inboxes/{inbox_id}", tenant).json()["timeline"]
    assert [(t["detail"]["to"], t["detail"]["by"]) for t in timeline][-1] == ("deleting", "tenant")


def test_deleting_starts_the_teardown_and_a_repeat_while_it_runs_starts_nothing(
    cloud: LocalCloud,
) -> None:
    tenant = new_tenant(cloud)
    inbox_id = add_inbox(tenant, "gone", _I.QUEUED, _I.PROVISIONING, _I.ACTIVE)
    recording = RecordingStarter()
    with using_starter(recording, "deprovision"):
        for _ in range(2):
            assert call(cloud, "DELETE", f"/v1/inboxes/{inbox_id}", tenant).status_code == 202
    # The repeat finds the run under way and starts nothing.
    assert recording.asked == [StartRequest(tenant.id, inbox_id, f"{inbox_id}-delete")]


def test_a_teardown_that_cannot_be_started_leaves_the_inbox_deleting_for_reconcile(
    cloud: LocalCloud,
) -> None:
    tenant = new_tenant(cloud)
    inbox_id = add_inbox(tenant, "later", _I.QUEUED, _I.PROVISIONING, _I.ACTIVE)
    with using_starter(UnreachableStarter(), "deprovision"):
        answer = call(cloud, "DELETE", f"/v1/inboxes/{inbox_id}", tenant)
    assert (answer.status_code, answer.json()["status"]) == (202, "deleting")
    with tenant_session(tenant.id) as s:
        kept = Inboxes(s).get(inbox_id)
    assert kept is not None
    assert kept.status == _I.DELETING


def test_an_inbox_being_provisioned_cannot_be_deleted_yet(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud)
    inbox_id = add_inbox(tenant, "busy", _I.QUEUED, _I.PROVISIONING)
    before = rows(tenant)
    answer = call(cloud, "DELETE", f"/v1/inboxes/{inbox_id}", tenant)
    assert answer.status_code == 409
    assert (error(answer)["code"], error(answer)["field"]) == ("conflict", "path.inbox_id")
    assert rows(tenant) == before


def test_a_failed_inbox_is_retried_as_a_new_attempt(
    cloud: LocalCloud, starter: RecordingStarter
) -> None:
    tenant = new_tenant(cloud)
    inbox_id = add_inbox(tenant, "flaky", _I.QUEUED, _I.PROVISIONING, _I.FAILED)
    answer = call(cloud, "POST", f"/v1/inboxes/{inbox_id}/retry", tenant)
    assert answer.status_code == 202, answer.text
    assert (answer.json()["status"], answer.json()["attempt"]) == ("queued", 2)
    assert starter.started == [StartRequest.for_attempt(tenant.id, inbox_id, 2)]
    # Only a failed inbox: this one is queued now.
    again = call(cloud, "POST", f"/v1/inboxes/{inbox_id}/retry", tenant)
    assert again.status_code == 409
    assert "queued" in error(again)["message"]


def _undone(
    tenant: Tenant, inbox_id: UUID, execution: str, outcome: str, *, server_left: bool = True
) -> None:
    """How the undoing of that run ended, on the timeline as compensation writes it."""
    detail: dict[str, Any] = {"execution": execution}
    if outcome == "failed":
        detail |= {"left_for_reconcile": True, "server_left": server_left}
    with tenant_session(tenant.id) as s:
        InboxEvents(s).append(inbox_id, "compensate", outcome, detail)


def test_a_retry_waits_until_the_failed_runs_own_undoing_has_finished(
    cloud: LocalCloud, starter: RecordingStarter
) -> None:
    tenant = new_tenant(cloud)
    inbox_id = add_inbox(tenant, "halfundone", _I.QUEUED, _I.PROVISIONING, _I.FAILED)
    run = f"{inbox_id}-1"
    _undone(tenant, inbox_id, run, "failed")
    before = rows(tenant)
    refused = call(cloud, "POST", f"/v1/inboxes/{inbox_id}/retry", tenant)
    assert (refused.status_code, error(refused)["field"]) == (409, "path.inbox_id")
    assert "did not finish" in error(refused)["message"]
    assert rows(tenant) == before
    assert starter.started == []

    _undone(tenant, inbox_id, run, "succeeded")  # the compensation entry finished it
    _undone(tenant, inbox_id, f"{inbox_id}-0", "failed")  # an older run's: not this one's
    answer = call(cloud, "POST", f"/v1/inboxes/{inbox_id}/retry", tenant)
    assert answer.status_code == 202, answer.text


def test_a_mailbox_left_on_a_shared_server_does_not_hold_a_retry(
    cloud: LocalCloud, starter: RecordingStarter
) -> None:
    """An undoing that could not remove the mailbox leaves nothing a retry would order beside
    (the retry sets the same mailbox up again on the same server)."""
    tenant = new_tenant(cloud)
    inbox_id = add_inbox(tenant, "mailboxleft", _I.QUEUED, _I.PROVISIONING, _I.FAILED)
    _undone(tenant, inbox_id, f"{inbox_id}-1", "failed", server_left=False)
    answer = call(cloud, "POST", f"/v1/inboxes/{inbox_id}/retry", tenant)
    assert answer.status_code == 202, answer.text
    assert starter.started == [StartRequest.for_attempt(tenant.id, inbox_id, 2)]


def test_a_retry_counts_against_the_plan_and_the_standing(cloud: LocalCloud) -> None:
    full = new_tenant(cloud, max_inboxes=1)
    failed = add_inbox(full, "f", _I.QUEUED, _I.PROVISIONING, _I.FAILED)
    add_inbox(full, "a", _I.QUEUED, _I.PROVISIONING, _I.ACTIVE)
    answer = call(cloud, "POST", f"/v1/inboxes/{failed}/retry", full)
    assert (answer.status_code, error(answer)["field"]) == (409, "max_inboxes")
    new_standing = new_tenant(cloud, "suspended")
    failed_there = add_inbox(new_standing, "f", _I.QUEUED, _I.PROVISIONING, _I.FAILED)
    before = rows(new_standing)
    refused = call(cloud, "POST", f"/v1/inboxes/{failed_there}/retry", new_standing)
    assert refused.status_code == 402
    assert rows(new_standing) == before


# ---- Another tenant's inbox, on every route with an id --------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("DELETE", ""), ("POST", "/retry")],
    ids=["get", "delete", "retry"],
)
def test_another_tenants_inbox_is_a_404_like_a_missing_one_and_nothing_changes(
    cloud: LocalCloud, method: str, suffix: str
) -> None:
    mine, theirs = new_tenant(cloud), new_tenant(cloud)
    target = add_inbox(theirs, "target", _I.QUEUED, _I.PROVISIONING, _I.FAILED)
    before = rows(theirs), rows(mine)
    probe = call(cloud, method, f"/v1/inboxes/{target}{suffix}", mine)
    missing_id = uuid4()
    missing = call(cloud, method, f"/v1/inboxes/{missing_id}{suffix}", mine)
    assert probe.status_code == missing.status_code == 404
    assert error(probe)["message"].replace(str(target), "X") == error(missing)["message"].replace(
        str(missing_id), "X"
    )
    assert error(probe)["field"] == "path.inbox_id"
    assert (rows(theirs), rows(mine)) == before


@pytest.mark.parametrize(
    ("method", "suffix"), [("DELETE", ""), ("POST", "/retry")], ids=["delete", "retry"]
)
def test_a_malformed_id_is_a_422_on_every_write(
    cloud: LocalCloud, method: str, suffix: str
) -> None:
    tenant = new_tenant(cloud)
    answer = call(cloud, method, f"/v1/inboxes/1;DROP TABLE inboxes{suffix}", tenant)
    assert answer.status_code == 422
    assert error(answer)["field"] == "path.inbox_id"


# ---- Idempotency-Key -------------------------------------------------------------------------


def test_a_repeated_key_replays_the_first_answer_and_writes_once(
    cloud: LocalCloud, starter: RecordingStarter
) -> None:
    tenant = new_tenant(cloud)
    body = {"addresses": [f"once@{tenant.domain}", f"twice@{tenant.domain}"]}
    first = call(cloud, "POST", "/v1/inboxes", tenant, body, key="k-1")
    # The same request again, with the addresses spelt another way: the same request.
    same = {"addresses": [f"ONCE@{tenant.domain}", f"twice@{tenant.domain.upper()}"]}
    second = call(cloud, "POST", "/v1/inboxes", tenant, same, key="k-1")
    assert first.status_code == second.status_code == 202
    assert second.json() == first.json()
    with tenant_session(tenant.id) as s:
        assert len(Inboxes(s).list()) == 2
    assert len(starter.started) == 2
    # Without the key, the same body is a new request (and a conflict now).
    assert call(cloud, "POST", "/v1/inboxes", tenant, body).status_code == 409


def test_a_key_reused_with_another_body_is_a_422(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud)
    assert call(
        cloud, "POST", "/v1/inboxes", tenant, {"address": f"a@{tenant.domain}"}, key="k-2"
    ).is_success
    before = rows(tenant)
    other = call(cloud, "POST", "/v1/inboxes", tenant, {"address": f"b@{tenant.domain}"}, key="k-2")
    assert other.status_code == 422
    assert (error(other)["code"], error(other)["field"]) == (
        "idempotency_key_reused",
        "header.idempotency-key",
    )
    assert rows(tenant) == before


def test_one_key_on_two_paths_names_two_requests(
    cloud: LocalCloud, starter: RecordingStarter
) -> None:
    tenant = new_tenant(cloud)
    a = add_inbox(tenant, "a", _I.QUEUED, _I.PROVISIONING, _I.FAILED)
    b = add_inbox(tenant, "b", _I.QUEUED, _I.PROVISIONING, _I.FAILED)
    first = call(cloud, "POST", f"/v1/inboxes/{a}/retry", tenant, key="shared")
    second = call(cloud, "POST", f"/v1/inboxes/{b}/retry", tenant, key="shared")
    assert (first.status_code, second.status_code) == (202, 202)
    assert (first.json()["id"], second.json()["id"]) == (str(a), str(b))
    assert {r.inbox_id for r in starter.started} == {a, b}
    # The same key on the same path replays, though the inbox is no longer failed.
    assert call(cloud, "POST", f"/v1/inboxes/{a}/retry", tenant, key="shared").json() == (
        first.json()
    )


def test_a_key_is_the_tenants_own(cloud: LocalCloud) -> None:
    one, two = new_tenant(cloud), new_tenant(cloud)
    body_one = {"address": f"a@{one.domain}"}
    body_two = {"address": f"a@{two.domain}"}
    assert call(cloud, "POST", "/v1/inboxes", one, body_one, key="same").status_code == 202
    answer = call(cloud, "POST", "/v1/inboxes", two, body_two, key="same")
    assert answer.status_code == 202
    assert answer.json()["inboxes"][0]["address"] == f"a@{two.domain}"


def test_an_error_is_not_recorded_so_the_request_can_be_sent_again(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud, max_inboxes=1)
    occupied = add_inbox(tenant, "old", _I.QUEUED)
    body = {"address": f"new@{tenant.domain}"}
    assert call(cloud, "POST", "/v1/inboxes", tenant, body, key="k-3").status_code == 409
    with tenant_session(tenant.id) as s:
        assert Inboxes(s).transition(occupied, _I.DELETING, by="tenant", why="test")
    assert call(cloud, "POST", "/v1/inboxes", tenant, body, key="k-3").status_code == 202


def test_a_request_still_being_served_answers_409(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud)
    entered, leave = threading.Event(), threading.Event()

    class SlowStarter(RecordingStarter):
        def start(self, request: StartRequest) -> None:
            entered.set()
            leave.wait(timeout=60)
            super().start(request)

    body = {"address": f"slow@{tenant.domain}"}
    try:
        with record_starts(SlowStarter()), ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(call, cloud, "POST", "/v1/inboxes", tenant, body, key="k-4")
            assert entered.wait(timeout=30)
            during = call(cloud, "POST", "/v1/inboxes", tenant, body, key="k-4")
            leave.set()
            assert first.result(timeout=60).status_code == 202
    finally:
        leave.set()
    assert during.status_code == 409
    assert (error(during)["code"], error(during)["field"]) == (
        "request_in_progress",
        "header.idempotency-key",
    )
    replay = call(cloud, "POST", "/v1/inboxes", tenant, body, key="k-4")
    assert replay.json() == first.result().json()


@pytest.mark.parametrize(
    "key", ["", "has space", "é", "x" * 256], ids=["empty", "space", "non-ascii", "long"]
)
def test_a_malformed_key_is_a_422(cloud: LocalCloud, key: str) -> None:
    tenant = new_tenant(cloud)
    before = rows(tenant)
    headers = {
        b"authorization": f"Bearer {tenant.token}".encode(),
        b"idempotency-key": key.encode(),
    }
    answer = httpx.post(
        f"{cloud.api_url}/v1/inboxes",
        headers=headers,
        json={"address": f"a@{tenant.domain}"},
        timeout=30,
    )
    assert answer.status_code == 422, answer.text
    assert error(answer)["field"] == "header.idempotency-key"
    assert rows(tenant) == before


def test_the_stored_record_holds_hashes_and_the_answer_only(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud)
    body = {"address": f"stored@{tenant.domain}"}
    answer = call(cloud, "POST", "/v1/inboxes", tenant, body, key="k-5")
    with psycopg.connect(cloud.database_url) as conn:
        [(key, status, payload_hash, response)] = conn.execute(
            "SELECT key, status, payload_hash, response_data FROM idempotency_records "
            "WHERE tenant_id = %s",
            (tenant.id,),
        ).fetchall()
    assert status == "COMPLETED"
    assert str(tenant.id) not in key
    assert len(payload_hash) == 64  # sha256, not the body
    assert json.loads(response)["body"] == answer.json()
    with tenant_session(tenant.id) as s:
        assert IdempotencyRecords(s).get(key) is not None


def test_a_deleted_tenant_is_403_on_every_route_and_nothing_is_written(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud)
    inbox_id = add_inbox(tenant, "kept", _I.QUEUED, _I.PROVISIONING, _I.FAILED)
    before = rows(tenant)
    with psycopg.connect(cloud.database_url, autocommit=True) as owner:
        owner.execute("UPDATE tenants SET deleted = now() WHERE id = %s", (tenant.id,))
    try:
        for method, path, body in [
            ("GET", "/v1/inboxes", None),
            ("GET", "/v1/inboxes?domain=a..b", None),  # 403 before 422
            ("GET", f"/v1/inboxes/{inbox_id}", None),
            ("POST", "/v1/inboxes", {"address": f"new@{tenant.domain}"}),
            ("DELETE", f"/v1/inboxes/{inbox_id}", None),
            ("POST", f"/v1/inboxes/{inbox_id}/retry", None),
            ("POST", "/v1/inboxes", {"address": "not an address"}),  # 403 before 422
        ]:
            answer = call(cloud, method, path, tenant, body, key="k-deleted")
            assert answer.status_code == 403, (method, path, answer.text)
            assert error(answer)["code"] == "forbidden"
    finally:
        with psycopg.connect(cloud.database_url, autocommit=True) as owner:
            owner.execute("UPDATE tenants SET deleted = NULL WHERE id = %s", (tenant.id,))
    assert rows(tenant) == before


def test_a_retry_racing_a_delete_is_a_409_naming_the_new_status(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud)
    inbox_id = add_inbox(tenant, "racing", _I.QUEUED, _I.PROVISIONING, _I.FAILED)

    def delete(s: Any) -> None:
        assert Inboxes(s).transition(inbox_id, _I.DELETING, by="tenant", why="test")

    answer = while_held(
        tenant.id,
        delete,
        lambda: call(cloud, "POST", f"/v1/inboxes/{inbox_id}/retry", tenant),
        cloud.database_url,
    )
    assert answer.status_code == 409, answer.text
    assert "this one is deleting" in error(answer)["message"]


def test_a_delete_racing_a_suspension_deletes_the_suspended_inbox(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud)
    inbox_id = add_inbox(tenant, "racing", _I.QUEUED, _I.PROVISIONING, _I.ACTIVE)

    def suspend(s: Any) -> None:
        assert Inboxes(s).transition(inbox_id, _I.SUSPENDED, by="billing", why="test")

    answer = while_held(
        tenant.id,
        suspend,
        lambda: call(cloud, "DELETE", f"/v1/inboxes/{inbox_id}", tenant),
        cloud.database_url,
    )
    # It was active when read and suspended when written: either way it may be deleted, and
    # deleting takes it from the status it has when written.
    assert (answer.status_code, answer.json()["status"]) == (202, "deleting"), answer.text


def test_an_unknown_tenant_is_a_403_before_its_request_is_judged(cloud: LocalCloud) -> None:
    stranger = Tenant(uuid4(), "nowhere.example", cloud.token(uuid4()))
    twice = {"addresses": ["a@nowhere.example", "a@nowhere.example"]}
    assert call(cloud, "POST", "/v1/inboxes", stranger, twice).status_code == 403


def test_one_inbox_spelt_two_ways_is_one_request(
    cloud: LocalCloud, starter: RecordingStarter
) -> None:
    tenant = new_tenant(cloud)
    inbox_id = add_inbox(tenant, "spelt", _I.QUEUED, _I.PROVISIONING, _I.FAILED)
    upper = str(inbox_id).upper()
    first = call(cloud, "POST", f"/v1/inboxes/{upper}/retry", tenant, key="k-6")
    second = call(cloud, "POST", f"/v1/inboxes/{inbox_id.hex}/retry", tenant, key="k-6")
    assert (first.status_code, second.status_code) == (202, 202)
    assert second.json() == first.json()
    assert len(starter.started) == 1


def test_a_request_stuck_behind_a_lock_answers_503_and_writes_nothing(cloud: LocalCloud) -> None:
    """The handler in process with a short statement timeout (the template gives the function
    4 s, inside its Timeout): the account row held elsewhere past it is a 503 to retry."""
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from inboxfleet.api.resolver import serve
    from inboxfleet.db.connection import Database, use_database
    from inboxfleet.settings import DatabaseSettings
    from local.invoke import LocalContext

    tenant = new_tenant(cloud)
    before = rows(tenant)
    impatient = Database.from_settings(
        DatabaseSettings(DATABASE_URL=cloud.database_url, DATABASE_STATEMENT_TIMEOUT_MS=200)
    )
    held, release = threading.Event(), threading.Event()

    def hold_the_account() -> None:
        with tenant_session(tenant.id) as s:
            BillingAccounts(s).lock()
            held.set()
            assert release.wait(timeout=60)

    holder = threading.Thread(target=hold_the_account)
    holder.start()
    previous = use_database(impatient)
    try:
        assert held.wait(timeout=30)
        event = http_event("POST", "/v1/inboxes", tenant.id, body={"address": f"a@{tenant.domain}"})
        context = LocalContext("TenantApiFunction", remaining_ms=10_000)
        answer = serve(event, cast("LambdaContext", context))
    finally:
        use_database(previous)
        release.set()
        holder.join(timeout=30)
        impatient.close()
    assert answer["statusCode"] == 503
    assert json.loads(answer["body"])["error"]["code"] == "unavailable"
    assert rows(tenant) == before


# ---- GET /v1/servers and GET /v1/billing (issue 13, first part) -------------------------------


def test_servers_are_paged_with_their_domain_and_live_inbox_count(cloud: LocalCloud) -> None:
    tenant, other = new_tenant(cloud), new_tenant(cloud)
    with tenant_session(tenant.id) as s:
        domain = Domains(s).list()[0]
        # One live server per domain: the other two serve domains of their own.
        others = [Domains(s).add(f"other{n}-{tenant.domain}") for n in (1, 2)]
        servers = [Servers(s).add(d.id, "dallas", "local") for d in (domain, *others)]
        inboxes = Inboxes(s)
        gone = [_I.QUEUED, _I.PROVISIONING, _I.ACTIVE, _I.DELETING, _I.DELETED]
        for n, steps in enumerate(([_I.QUEUED], [_I.QUEUED], gone)):
            inbox = inboxes.add(domain.id, f"s{n}@{tenant.domain}", server_id=servers[0].id)
            for step in steps:
                assert inboxes.transition(inbox.id, step, by="workflow", why="test")
    with tenant_session(other.id) as s:
        Servers(s).add(Domains(s).list()[0].id, "dallas", "local")
    first = call(cloud, "GET", "/v1/servers?limit=2", tenant)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [v["id"] for v in page["servers"]] == [str(s.id) for s in servers[:2]]
    assert page["servers"][0] == {
        "id": str(servers[0].id),
        "ip": None,
        "location": "dallas",
        "status": "creating",
        "domain": tenant.domain,
        "inboxes": 2,  # the deleted one is not held
        "created_at": page["servers"][0]["created_at"],
    }
    rest = call(cloud, "GET", f"/v1/servers?cursor={page['next_cursor']}", tenant).json()
    assert [v["id"] for v in rest["servers"]] == [str(servers[2].id)]
    assert rest["next_cursor"] is None
    bad = call(cloud, "GET", "/v1/servers?cursor=bm9wZQ", tenant)
    assert (bad.status_code, error(bad)["field"]) == (422, "query.cursor")


@pytest.mark.parametrize("standing", ["entitled", "suspended", "unpaid"])
def test_billing_shows_the_plan_limits_usage_and_standing(cloud: LocalCloud, standing: str) -> None:
    tenant = new_tenant(cloud, standing, max_inboxes=7)
    add_inbox(tenant, "used", _I.QUEUED, _I.PROVISIONING, _I.ACTIVE)
    add_inbox(tenant, "waiting")
    answer = call(cloud, "GET", "/v1/billing", tenant)
    assert answer.status_code == 200, answer.text
    billing = answer.json()
    assert billing["usage"] == {"inboxes_in_use": 1, "inboxes_awaiting_payment": 1, "domains": 1}
    expected = {
        "entitled": ("starter", "active", "ok", 7),
        "suspended": ("starter", "unpaid", "suspended", 0),
        "unpaid": (None, None, "ok", 0),
    }[standing]
    assert (
        billing["plan"],
        billing["subscription_status"],
        billing["payment_state"],
        billing["limits"]["max_inboxes"],
    ) == expected
