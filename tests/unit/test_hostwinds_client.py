"""The client's wire behaviour and retry policy, against httpx mock transports."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs
from uuid import uuid4

import httpx
import pytest

from inboxfleet.hostwinds.client import HostwindsClient
from inboxfleet.hostwinds.errors import (
    CreateOutcomeUnknown,
    HostwindsProtocolError,
    HostwindsUnavailable,
    UnknownLocation,
)
from inboxfleet.retry import Backoff
from local.template import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "contracts" / "hostwinds"
KEY = "hwkey-unit-test"

Handler = Callable[[httpx.Request], httpx.Response]


def client_with(handler: Handler, slept: list[float] | None = None) -> HostwindsClient:
    return HostwindsClient(
        lambda: KEY,
        url="https://hostwinds.invalid/cloud/api.php",
        transport=httpx.MockTransport(handler),
        backoff=Backoff(attempts=3, base_s=0.5),
        sleep=(slept if slept is not None else []).append,
    )


def form(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode())


def answer(name: str) -> httpx.Response:
    return httpx.Response(200, content=(FIXTURES / name).read_bytes())


def test_add_instance_posts_the_form_hostwinds_expects() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer("add_instance.success.json")

    client_with(handler).add_instance(
        name="ifl-dev-x", location_id=2, template="img", rid=1001, ssh_key_names=["a", "b"]
    )
    (request,) = seen
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form(request) == {
        "action": ["add_instance"],
        "API": [KEY],
        "srvrname": ["ifl-dev-x"],
        "location_id": ["2"],
        "template": ["img"],
        "rid": ["1001"],
        "qty": ["1"],
        "billingcycle": ["monthly"],
        "keys[]": ["a", "b"],
    }
    assert KEY not in str(request.url)


def test_reads_are_retried_with_backoff_then_succeed() -> None:
    calls: list[int] = []
    slept: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            return httpx.Response(502, content=b"<html>Bad Gateway</html>")
        return answer("get_instance.success.json")

    instance = client_with(handler, slept).get_instance(7310042)
    assert instance.serviceid == 7310042
    assert len(calls) == 3
    assert len(slept) == 2


def test_reads_give_up_after_the_last_attempt() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(HostwindsUnavailable, match="get_instance: no answer"):
        client_with(handler).get_instance(1)
    assert len(calls) == 3


def test_add_instance_is_never_retried_and_a_lost_answer_is_maybe_created() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.RemoteProtocolError("dropped", request=request)

    with pytest.raises(CreateOutcomeUnknown, match="look the name up"):
        client_with(handler).add_instance(
            name="n", location_id=1, template="t", rid=1, ssh_key_names=["k"]
        )
    assert calls == [1]


def test_add_instance_that_never_connected_is_plainly_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(HostwindsUnavailable) as info:
        client_with(handler).add_instance(
            name="n", location_id=1, template="t", rid=1, ssh_key_names=["k"]
        )
    assert not isinstance(info.value, CreateOutcomeUnknown)


def test_listing_walks_pages_until_a_short_one() -> None:
    pages: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        fields = form(request)
        page, limit = int(fields["page"][0]), int(fields["limit"][0])
        pages.append(page)
        count = limit if page < 3 else 1
        start = (page - 1) * limit
        items = [
            {"serviceid": start + i, "srvrname": f"s{start + i}", "status": "ACTIVE"}
            for i in range(count)
        ]
        return httpx.Response(200, json={"success": items})

    names = [i.srvrname for i in client_with(handler).iter_instances(page_size=2)]
    assert pages == [1, 2, 3]
    assert names == ["s0", "s1", "s2", "s3", "s4"]


def test_an_api_that_ignores_paging_ends_in_an_error_not_a_loop() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        items = [{"serviceid": i, "srvrname": f"s{i}", "status": "ACTIVE"} for i in range(2)]
        return httpx.Response(200, json={"success": items})

    with pytest.raises(HostwindsProtocolError, match="does not page"):
        list(client_with(handler).iter_instances(page_size=2))
    assert len(calls) == 2


def test_an_unknown_shape_is_a_protocol_error_without_the_payload() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"success": {"password": "hwroot-leak", "status": 5}})

    with pytest.raises(HostwindsProtocolError, match="unexpected Instance shape") as info:
        client_with(handler).get_instance(1)
    assert "hwroot-leak" not in str(info.value)


def test_unknown_location_lists_the_known_ones() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return answer("get_locations.success.json")

    client = client_with(handler)
    assert client.location_id("amsterdam") == 3
    with pytest.raises(UnknownLocation, match="known: amsterdam, dallas, seattle"):
        client.location_id("atlantis")


def test_every_catalogue_location_is_one_the_client_resolves() -> None:
    # reserve -> create: placement picks from the plan's locations, create_server resolves the
    # slug through get_locations (the contract fixture Hostwinds answers with).
    from inboxfleet.billing.plans import default_catalogue
    from inboxfleet.hostwinds.commands import parse_command

    client = client_with(lambda request: answer("get_locations.success.json"))
    locations = {loc for p in default_catalogue().plans.values() for loc in p.allowed_locations}
    assert locations
    for location in sorted(locations):
        assert client.location_id(location) in {1, 2, 3}
        command = {"action": "create_server", "server_id": str(uuid4()), "location": location}
        assert parse_command(command).location == location  # type: ignore[union-attr]
