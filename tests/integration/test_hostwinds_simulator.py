"""The Hostwinds simulator over real HTTP on loopback, checked against the contract fixtures.

Only httpx and the simulator are used here (never the client in inboxfleet.hostwinds): the
simulator must speak the shapes in tests/contracts/hostwinds/ on its own, so client and simulator
cannot drift into a private dialect. Time is a fake clock; nothing sleeps for timing.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.fake_clock import FakeClock
from local.hostwinds_sim import (
    DOCUMENTATION_RANGES,
    BodyDefect,
    DroppedConnection,
    ErrorReply,
    HostwindsSimulator,
    HttpErrorPage,
    LostReply,
    MalformedBody,
    NeverActive,
    SlowReply,
)

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "hostwinds"
REPO_ROOT = Path(__file__).resolve().parents[2]
API_KEY = "hwkey-test-5f1c9a"
DELAY_S = 60.0
DEBIAN = "0b6d4f2e-debian-12"
NULLABLE = {"main_ip", "rdns"}  # null until the instance has an IP / a PTR name


def fixture(name: str) -> Any:
    return json.loads((CONTRACTS / name).read_text())


def public_key(seed: int = 7) -> str:
    """A well-formed OpenSSH ed25519 public key line (random-looking bytes, never used)."""
    kind = b"ssh-ed25519"
    blob = len(kind).to_bytes(4, "big") + kind + (32).to_bytes(4, "big") + bytes([seed]) * 32
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} platform@inboxfleet"


# ---- the shape checker ------------------------------------------------------------------


def shape_errors(actual: Any, expected: Any, path: str = "$") -> list[str]:
    """Differences in shape: same keys, same JSON types, lists element-wise against the
    fixture's first element; `main_ip`/`rdns` may be null or a string."""
    key = path.rsplit(".", 1)[-1]
    if key in NULLABLE:
        return [] if actual is None or isinstance(actual, str) else [f"{path}: not null/str"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {type(actual).__name__}"]
        if set(actual) != set(expected):
            return [f"{path}: keys {sorted(actual)} != {sorted(expected)}"]
        return [e for k in expected for e in shape_errors(actual[k], expected[k], f"{path}.{k}")]
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {type(actual).__name__}"]
        if not expected:
            return []
        return [
            e
            for i, item in enumerate(actual)
            for e in shape_errors(item, expected[0], f"{path}[{i}]")
        ]
    # bool is an int in Python but not in JSON: compare exact types.
    if type(actual) is not type(expected):
        return [f"{path}: {type(actual).__name__} != {type(expected).__name__}"]
    return []


def assert_shape(actual: Any, fixture_name: str) -> None:
    errors = shape_errors(actual, fixture(fixture_name))
    assert not errors, errors


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["success"].pop("configkey"),
        lambda d: d["success"].update(extra=1),
        lambda d: d["success"].update(serviceid="7310042"),
        lambda d: d["success"].update(location_id=True),
        lambda d: d["success"].update(main_ip=10),
        lambda d: d.update(success=[d["success"]]),
    ],
    ids=["missing-key", "extra-key", "id-as-string", "bool-for-int", "ip-as-int", "list"],
)
def test_shape_checker_catches_drift(mutate: Callable[[dict[str, Any]], object]) -> None:
    good = fixture("get_instance.success.json")
    assert shape_errors(good, fixture("get_instance.success.json")) == []
    mutate(good)
    assert shape_errors(good, fixture("get_instance.success.json"))


def test_shape_checker_checks_every_list_element() -> None:
    listing = fixture("get_instances.success.json")
    listing["success"][1]["rid"] = "1001"
    assert shape_errors(listing, fixture("get_instances.success.json")) == [
        "$.success[1].rid: str != int"
    ]


# ---- harness ----------------------------------------------------------------------------


@dataclass
class Api:
    """A plain form-posting client: what any Hostwinds client puts on the wire."""

    sim: HostwindsSimulator
    http: httpx.Client
    clock: FakeClock
    key: str = API_KEY
    created: int = field(default=0)

    def post(self, action: str | None, **fields: str | list[str]) -> httpx.Response:
        data: dict[str, str | list[str]] = {"API": self.key, **fields}
        if action is not None:
            data["action"] = action
        return self.http.post(self.sim.url, data=data)

    def call(self, action: str | None, **fields: str | list[str]) -> Any:
        response = self.post(action, **fields)
        assert response.status_code == 200
        return response.json()

    def create(self, name: str | None = None, *, location_id: int = 1, **overrides: Any) -> Any:
        return self.call("add_instance", **self.create_form(name, location_id, **overrides))

    def create_form(
        self, name: str | None = None, location_id: int = 1, **overrides: Any
    ) -> dict[str, Any]:
        """add_instance fields that succeed, unless `overrides` change (None: omit) some."""
        self.created += 1
        fields: dict[str, Any] = {
            "template": DEBIAN,
            "rid": "1001",
            "location_id": str(location_id),
            "srvrname": name or f"ifl-test-{self.created}",
            "qty": "1",
            "billingcycle": "monthly",
            "keys[]": ["platform"],
        }
        fields.update(overrides)
        return {k: v for k, v in fields.items() if v is not None}

    def listing(self, *, limit: int = 1000) -> list[dict[str, Any]]:
        """Every instance, page by page, until a short page."""
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            batch = self.call("get_instances", page=str(page), limit=str(limit))["success"]
            found += batch
            if len(batch) < limit:
                return found
            page += 1

    def by_name(self, name: str) -> list[dict[str, Any]]:
        return [i for i in self.listing() if i["srvrname"] == name]

    def launch(self, name: str, *, location_id: int = 1) -> dict[str, Any]:
        """Create one instance and return it as listed (found by its name)."""
        assert self.create(name, location_id=location_id) == fixture("add_instance.success.json")
        (instance,) = self.by_name(name)
        return instance

    def get(self, serviceid: int) -> Any:
        return self.call("get_instance", serviceid=str(serviceid))

    def activate(self) -> None:
        self.clock.advance(DELAY_S)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client


@contextmanager
def running(clock: FakeClock, http: httpx.Client, **options: Any) -> Iterator[Api]:
    with HostwindsSimulator(
        api_keys={API_KEY}, activation_delay_s=DELAY_S, clock=clock, **options
    ) as sim:
        api = Api(sim, http, clock)
        assert api.call("add_ssh_key", name="platform", public_key=public_key()) == {
            "result": "success",
            "message": "SSH key added.",
        }
        yield api


@pytest.fixture
def api(clock: FakeClock, http: httpx.Client) -> Iterator[Api]:
    with running(clock, http) as started:
        yield started


def is_error(answer: Any, *words: str) -> bool:
    return (
        isinstance(answer, dict)
        and set(answer) == {"result", "message"}
        and answer["result"] == "error"
        and all(w.lower() in answer["message"].lower() for w in words)
    )


# ---- contract shapes --------------------------------------------------------------------


@pytest.mark.parametrize("action", ["get_locations", "get_public_images", "get_price_list"])
def test_catalogue_answers_are_the_fixtures(api: Api, action: str) -> None:
    answer = api.call(action)
    assert_shape(answer, f"{action}.success.json")
    assert answer == fixture(f"{action}.success.json")


def test_every_instance_action_answers_in_the_fixture_shapes(api: Api) -> None:
    assert_shape(api.create("shape"), "add_instance.success.json")
    (pending,) = api.by_name("shape")
    assert_shape(api.get(pending["serviceid"]), "get_instance.success.json")
    api.activate()
    sid = pending["serviceid"]
    active = api.get(sid)
    assert_shape(active, "get_instance.success.json")
    assert_shape(api.call("get_instances"), "get_instances.success.json")
    ip = active["success"]["main_ip"]
    rdns = api.call("set_rdns", serviceid=str(sid), ip=ip, rdns="mail.acme.example")
    assert rdns == fixture("set_rdns.success.json")
    for action in ("shutdown", "boot", "reboot"):
        assert_shape(api.call(action, serviceid=str(sid)), "message.success.json")
    assert api.call("terminate", serviceid=str(sid)) == fixture("terminate.success.json")
    assert_shape(api.call("terminate", serviceid=str(sid)), "error.invalid_serviceid.json")


def test_instance_fields_are_fresh_and_typed(api: Api) -> None:
    first, second = api.launch("a"), api.launch("b")
    assert first["status"] == "PENDING"
    assert first["main_ip"] is None
    assert first["rdns"] is None
    assert (first["location_id"], first["rid"], first["template"]) == (1, 1001, DEBIAN)
    assert second["serviceid"] == first["serviceid"] + 1 == 7_300_001
    for instance in (first, second):
        assert instance["password"].startswith("hwroot-")
        assert len(instance["password"]) == len("hwroot-") + 16
        assert instance["configkey"].startswith("hwcfg-")
        int(instance["configkey"].removeprefix("hwcfg-"), 16)
    assert first["password"] != second["password"]
    assert first["configkey"] != second["configkey"]


# ---- authorisation and actions ----------------------------------------------------------


@pytest.mark.parametrize("key", ["hwkey-wrong", ""], ids=["wrong", "empty"])
def test_a_bad_key_is_not_authorized_and_nothing_happens(api: Api, key: str) -> None:
    intruder = Api(api.sim, api.http, api.clock, key=key)
    assert intruder.create("intruder") == fixture("error.not_authorized.json")
    assert intruder.call("get_instances") == fixture("error.not_authorized.json")
    assert api.listing() == []


def test_missing_key_or_non_form_body_is_not_authorized(api: Api) -> None:
    no_key = api.http.post(api.sim.url, data={"action": "get_instances"})
    assert no_key.json() == fixture("error.not_authorized.json")
    as_json = api.http.post(api.sim.url, json={"API": API_KEY, "action": "get_instances"})
    assert as_json.json() == fixture("error.not_authorized.json")


@pytest.mark.parametrize("action", ["get_everything", "", None])
def test_unknown_or_missing_action(api: Api, action: str | None) -> None:
    assert api.call(action) == fixture("error.invalid_action.json")


def test_other_paths_and_methods_are_http_errors(api: Api) -> None:
    base = api.sim.url.removesuffix("/cloud/api.php")
    assert api.http.post(f"{base}/api.php", data={"API": API_KEY}).status_code == 404
    assert api.http.get(api.sim.url).status_code == 405


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"template": "no-such-image"}, ["template"]),
        ({"template": None}, ["template", "required"]),
        ({"rid": "9999"}, ["plan"]),
        ({"rid": "abc"}, ["plan"]),
        ({"location_id": "42"}, ["location"]),
        ({"srvrname": "   "}, ["srvrname", "required"]),
        ({"srvrname": "x" * 256}, ["srvrname"]),
        ({"qty": "2"}, ["qty"]),
        ({"qty": None}, ["qty", "required"]),
        ({"billingcycle": None}, ["billingcycle", "required"]),
        ({"billingcycle": "hourly"}, ["billingcycle"]),
        ({"keys[]": None}, ["keys[]"]),
        ({"keys[]": ["platform", "unregistered"]}, ["ssh key", "unregistered"]),
    ],
    ids=lambda v: json.dumps(v) if isinstance(v, dict) else None,
)
def test_add_instance_rejects_bad_input(api: Api, overrides: Any, words: list[str]) -> None:
    answer = api.create("rejected", **overrides)
    assert is_error(answer, *words), answer
    assert_shape(answer, "error.invalid_action.json")
    assert api.listing() == []


def test_concurrent_creates_get_distinct_ids_and_ips(api: Api) -> None:
    def create_ten(worker: int) -> None:
        with httpx.Client(timeout=5.0) as own:
            mine = Api(api.sim, own, api.clock)
            for n in range(10):
                assert mine.create(f"c-{worker}-{n}", location_id=1 + worker % 3)[0]["result"] == (
                    "success"
                )

    workers = [threading.Thread(target=create_ten, args=(w,)) for w in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    api.activate()
    instances = api.listing()
    assert len(instances) == 80
    assert len({i["serviceid"] for i in instances}) == 80
    assert len({i["main_ip"] for i in instances}) == 80
    assert len({i["srvrname"] for i in instances}) == 80


def test_duplicate_names_make_two_instances(api: Api) -> None:
    api.create("same")
    api.create("same")
    assert [i["serviceid"] for i in api.by_name("same")] == [7_300_000, 7_300_001]


def test_add_ssh_key_rejects_duplicates_and_garbage(api: Api) -> None:
    again = api.call("add_ssh_key", name="platform", public_key=public_key(9))
    assert is_error(again, "already exists")
    assert is_error(api.call("add_ssh_key", name="other", public_key="ssh-rsa AAAA"), "public_key")
    wrong_type = public_key().replace("ssh-ed25519", "ssh-rsa", 1)
    assert is_error(api.call("add_ssh_key", name="other", public_key=wrong_type), "public_key")
    assert is_error(api.call("add_ssh_key", name="other"), "public_key", "required")
    only_other: dict[str, Any] = {"keys[]": ["other"]}
    assert is_error(api.create("no-key", **only_other), "ssh key")


# ---- activation and addresses -----------------------------------------------------------


def test_pending_until_the_delay_then_active_with_an_ip(api: Api) -> None:
    sid = api.launch("slow-boot")["serviceid"]
    api.clock.advance(DELAY_S - 0.5)
    assert api.get(sid)["success"]["status"] == "PENDING"
    assert api.get(sid)["success"]["main_ip"] is None
    api.clock.advance(0.5)
    instance = api.get(sid)["success"]
    assert instance["status"] == "ACTIVE"
    assert IPv4Address(instance["main_ip"]) in DOCUMENTATION_RANGES[0]
    assert api.get(sid)["success"]["main_ip"] == instance["main_ip"]  # stable on re-read


def test_ips_are_distinct_in_documentation_ranges_and_per_location(api: Api) -> None:
    per_location = 40
    for location_id in (1, 2, 3):
        for n in range(per_location):
            api.create(f"ip-{location_id}-{n}", location_id=location_id)
    api.activate()
    instances = api.listing(limit=7)
    assert len(instances) == 3 * per_location
    ips = [IPv4Address(i["main_ip"]) for i in instances]
    assert len(set(ips)) == len(ips)
    assert all(any(ip in net for net in DOCUMENTATION_RANGES) for ip in ips)
    for instance in instances:
        location_id = instance["location_id"]
        assert instance["main_ip"] in api.sim.ip_slice(location_id)
        # The default three locations own one documentation /24 each.
        assert IPv4Address(instance["main_ip"]) in DOCUMENTATION_RANGES[location_id - 1]
    slices = [set(api.sim.ip_slice(loc)) for loc in (1, 2, 3)]
    assert not (slices[0] & slices[1])
    assert not (slices[1] & slices[2])
    assert not (slices[0] & slices[2])


def test_exhausted_slice_stays_pending_until_an_ip_is_released(
    clock: FakeClock, http: httpx.Client
) -> None:
    # 192.0.2.0/29 has 6 hosts: two per location.
    with running(clock, http, ip_ranges=["192.0.2.0/29"]) as api:
        first, second, third = (api.launch(f"tiny-{n}") for n in range(3))
        api.activate()
        by_id = {i["serviceid"]: i for i in api.listing()}
        assert by_id[first["serviceid"]]["main_ip"] == "192.0.2.1"
        assert by_id[second["serviceid"]]["main_ip"] == "192.0.2.2"
        assert by_id[third["serviceid"]]["status"] == "PENDING"
        assert by_id[third["serviceid"]]["main_ip"] is None
        other = api.launch("tiny-elsewhere", location_id=2)
        api.activate()
        assert api.get(other["serviceid"])["success"]["main_ip"] == "192.0.2.3"
        api.call("terminate", serviceid=str(first["serviceid"]))
        reused = api.get(third["serviceid"])["success"]
        assert (reused["status"], reused["main_ip"]) == ("ACTIVE", "192.0.2.1")


@pytest.mark.parametrize("ranges", [["10.0.0.0/24"], ["203.0.113.0/25", "203.0.113.0/26"], []])
def test_ip_ranges_outside_documentation_space_are_refused(ranges: list[str]) -> None:
    with pytest.raises(ValueError, match="range"):
        HostwindsSimulator(api_keys={API_KEY}, ip_ranges=ranges)


# ---- listing, lookup, terminate ---------------------------------------------------------


def test_pagination_is_ordered_and_ends_with_a_short_page(api: Api) -> None:
    for n in range(7):
        api.create(f"page-{n}")
    pages = [api.call("get_instances", page=str(p), limit="3")["success"] for p in (1, 2, 3, 4)]
    assert [len(p) for p in pages] == [3, 3, 1, 0]
    ids = [i["serviceid"] for page in pages for i in page]
    assert ids == sorted(ids) == list(range(7_300_000, 7_300_007))
    assert len(api.call("get_instances")["success"]) == 7  # defaults: page 1, limit 100


@pytest.mark.parametrize(
    ("page", "limit", "word"),
    [
        ("0", "10", "page"),
        ("-1", "10", "page"),
        ("x", "10", "page"),
        ("1", "0", "limit"),
        ("1", "1001", "limit"),
        ("1", "ten", "limit"),
    ],
)
def test_bad_paging_values_are_errors(api: Api, page: str, limit: str, word: str) -> None:
    assert is_error(api.call("get_instances", page=page, limit=limit), word)


@pytest.mark.parametrize("serviceid", ["9999999", "abc", "", "-7300000", "7300000.0", None])
def test_unknown_or_malformed_serviceid(api: Api, serviceid: str | None) -> None:
    api.create("exists")  # 7300000 exists: only the spelling is wrong in the variants
    fields = {} if serviceid is None else {"serviceid": serviceid}
    for action in ("get_instance", "terminate", "set_rdns", "boot", "reboot", "shutdown"):
        assert api.call(action, **fields) == fixture("error.invalid_serviceid.json")
    assert len(api.listing()) == 1


def test_terminate_removes_the_instance_everywhere(api: Api) -> None:
    keep, gone = api.launch("keep"), api.launch("gone")
    api.activate()
    gone_ip = api.get(gone["serviceid"])["success"]["main_ip"]
    api.sim.register_host(gone_ip, "127.0.0.1", 2222)
    assert api.call("terminate", serviceid=str(gone["serviceid"])) == fixture(
        "terminate.success.json"
    )
    assert api.get(gone["serviceid"]) == fixture("error.invalid_serviceid.json")
    assert [i["serviceid"] for i in api.listing()] == [keep["serviceid"]]
    assert api.sim.address_book() == {}
    again = api.call("terminate", serviceid=str(gone["serviceid"]))
    assert again == fixture("error.invalid_serviceid.json")


# ---- rDNS and power ---------------------------------------------------------------------


def test_set_rdns_stores_the_name_and_feeds_reverse_records(api: Api) -> None:
    named, unnamed = api.launch("named"), api.launch("unnamed")
    sid = str(named["serviceid"])
    assert is_error(api.call("set_rdns", serviceid=sid, ip="203.0.113.1", rdns="a.example"))
    api.activate()
    ip = api.get(named["serviceid"])["success"]["main_ip"]
    other_ip = api.get(unnamed["serviceid"])["success"]["main_ip"]
    assert is_error(api.call("set_rdns", serviceid=sid, ip=other_ip, rdns="a.example"), "ip")
    assert api.call("set_rdns", serviceid=sid, ip=ip, rdns="mail.acme.example.") == fixture(
        "set_rdns.success.json"
    )
    assert api.get(named["serviceid"])["success"]["rdns"] == "mail.acme.example"
    assert api.sim.reverse_records() == {ip: "mail.acme.example"}


@pytest.mark.parametrize(
    "rdns",
    [
        "",
        "localhost",
        "-bad.example",
        "bad-.example",
        "a..example",
        "203.0.113.9",
        "a_b.example",
        "x" * 64 + ".example",
        "mail.example/evil",
        "mail example.com",
    ],
)
def test_set_rdns_refuses_bad_hostnames(api: Api, rdns: str) -> None:
    sid = api.launch("bad-rdns")["serviceid"]
    api.activate()
    ip = api.get(sid)["success"]["main_ip"]
    assert is_error(api.call("set_rdns", serviceid=str(sid), ip=ip, rdns=rdns), "rdns")
    assert api.get(sid)["success"]["rdns"] is None
    assert api.sim.reverse_records() == {}


def test_power_actions_change_status_only_once_there_is_an_ip(api: Api) -> None:
    sid = api.launch("power")["serviceid"]
    for action in ("boot", "reboot", "shutdown"):
        assert is_error(api.call(action, serviceid=str(sid)), "still being created")
    api.activate()
    status = []
    for action in ("shutdown", "boot", "shutdown", "reboot"):
        assert api.call(action, serviceid=str(sid))["result"] == "success"
        status.append(api.get(sid)["success"]["status"])
    assert status == ["STOPPED", "ACTIVE", "STOPPED", "ACTIVE"]


# ---- faults -----------------------------------------------------------------------------


def test_error_reply_applies_to_its_action_for_its_count(api: Api) -> None:
    api.sim.inject(ErrorReply(action="get_instances", message="Try later.", times=2))
    assert api.call("get_locations") == fixture("get_locations.success.json")
    assert api.call("get_instances") == {"result": "error", "message": "Try later."}
    assert api.call("get_instances") == {"result": "error", "message": "Try later."}
    assert api.call("get_instances") == {"success": []}
    assert api.sim.pending_faults() == 0


def test_error_reply_as_a_list_does_not_create(api: Api) -> None:
    api.sim.inject(ErrorReply(action="add_instance", message="No funds.", as_list=True))
    answer = api.create("broke")
    assert_shape(answer, "error.list.json")
    assert answer == [{"result": "error", "message": "No funds."}]
    assert api.listing() == []


@pytest.mark.parametrize("status", [502, 503])
def test_http_error_page(api: Api, status: int) -> None:
    api.sim.inject(HttpErrorPage(status=status))
    response = api.post("add_instance", **api.create_form("gateway"))
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert f"<h1>{status} " in response.text
    assert api.listing() == []  # the gateway answered: nothing was created


def test_slow_reply_times_out_a_client_but_the_create_happened(api: Api) -> None:
    api.sim.inject(SlowReply(action="add_instance", delay_s=30))
    with httpx.Client(timeout=0.3) as impatient, pytest.raises(httpx.ReadTimeout):
        Api(api.sim, impatient, api.clock).create("maybe")
    assert len(api.by_name("maybe")) == 1  # "maybe created" really was created


def test_slow_reply_processed_late_answers_after_the_delay(api: Api) -> None:
    api.sim.inject(SlowReply(action="get_locations", delay_s=0.2, act_first=False))
    started_at = time.monotonic()
    assert api.call("get_locations") == fixture("get_locations.success.json")
    assert time.monotonic() - started_at >= 0.2


def test_closing_the_simulator_cuts_a_slow_reply_short(clock: FakeClock) -> None:
    outcome: list[BaseException] = []
    client = httpx.Client(timeout=60)
    with HostwindsSimulator(api_keys={API_KEY}, clock=clock) as sim:
        sim.inject(SlowReply(delay_s=600))

        def call() -> None:
            try:
                client.post(sim.url, data={"API": API_KEY, "action": "get_locations"})
            except httpx.HTTPError as exc:
                outcome.append(exc)

        caller = threading.Thread(target=call)
        caller.start()
        wait_for(lambda: len(sim.requests) == 1)
        closing = time.monotonic()
    assert time.monotonic() - closing < 5
    caller.join(timeout=10)
    client.close()
    assert not caller.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], httpx.RemoteProtocolError)


def test_dropped_connection_performs_nothing(api: Api) -> None:
    api.sim.inject(DroppedConnection(action="add_instance"))
    with pytest.raises(httpx.RemoteProtocolError):
        api.create("dropped")
    assert api.listing() == []


def test_lost_reply_still_creates_exactly_once(api: Api) -> None:
    api.sim.inject(LostReply(action="add_instance"))
    with pytest.raises(httpx.RemoteProtocolError):
        api.create("lost")
    assert len(api.by_name("lost")) == 1
    assert [r.action for r in api.sim.requests].count("add_instance") == 1


def test_never_active_stays_pending_while_others_activate(api: Api) -> None:
    api.sim.inject(NeverActive())
    stuck, fine = api.launch("stuck"), api.launch("fine")
    api.clock.advance(DELAY_S * 100)
    assert api.get(stuck["serviceid"])["success"]["status"] == "PENDING"
    assert api.get(stuck["serviceid"])["success"]["main_ip"] is None
    assert api.get(fine["serviceid"])["success"]["status"] == "ACTIVE"


def test_never_active_is_not_consumed_by_a_rejected_create(api: Api) -> None:
    api.sim.inject(NeverActive())
    assert is_error(api.create("bad", qty="5"))
    stuck = api.launch("stuck")
    api.activate()
    assert api.get(stuck["serviceid"])["success"]["status"] == "PENDING"


@pytest.mark.parametrize("defect", list(BodyDefect))
def test_malformed_bodies_come_with_http_200(api: Api, defect: BodyDefect) -> None:
    api.launch("listed")
    real = api.post("get_instances").content
    api.sim.inject(MalformedBody(action="get_instances", defect=defect))
    response = api.post("get_instances")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    expected = {
        BodyDefect.EMPTY: b"",
        BodyDefect.TRUNCATED: real[: len(real) // 2],
        BodyDefect.NON_JSON: response.content,
    }[defect]
    assert response.content == expected
    if defect is BodyDefect.NON_JSON:
        assert b"unavailable" in response.content
    assert api.post("get_instances").content == real


def test_faults_for_any_action_and_clearing(api: Api) -> None:
    api.sim.inject(ErrorReply(message="down", times=5))
    assert is_error(api.call("get_locations"), "down")
    assert is_error(api.call("no_such_action"), "down")
    api.sim.clear_faults()
    assert api.call("get_locations") == fixture("get_locations.success.json")


@pytest.mark.parametrize(
    "build",
    [
        lambda: ErrorReply(times=0),
        lambda: HttpErrorPage(status=200),
        lambda: SlowReply(delay_s=-1),
        lambda: NeverActive(times=0),
    ],
)
def test_invalid_faults_are_refused(build: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="must"):
        build()


# ---- request log and secrecy ------------------------------------------------------------


def test_request_log_redacts_the_key(api: Api) -> None:
    api.create("logged")
    api.call("get_instances")
    log = api.sim.requests
    assert [r.action for r in log] == ["add_ssh_key", "add_instance", "get_instances"]
    assert all(r.fields["API"] == ("***",) for r in log)
    assert API_KEY not in repr(log)
    create = log[1]
    assert create.field("srvrname") == "logged"
    assert create.fields["keys[]"] == ("platform",)


def test_nothing_secret_reaches_logs_or_stderr(
    api: Api, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    sid = api.launch("secretive")["serviceid"]
    api.activate()
    password = api.get(sid)["success"]["password"]
    api.sim.inject(DroppedConnection())
    with pytest.raises(httpx.RemoteProtocolError):
        api.call("get_instance", serviceid=str(sid))
    api.http.get(api.sim.url)
    captured = capfd.readouterr()
    assert "get_instance" in caplog.text  # the log exists, so the check below means something
    for secret in (API_KEY, password):
        for text in (caplog.text, captured.out, captured.err):
            assert secret not in text


# ---- seeding, address book, lifecycle ---------------------------------------------------


def test_seed_twenty_thousand_and_page_through_them(api: Api) -> None:
    started_at = time.perf_counter()
    api.sim.seed_instances(20_000)
    assert time.perf_counter() - started_at < 1.0
    started_at = time.perf_counter()
    instances = api.listing(limit=1000)
    assert time.perf_counter() - started_at < 5.0
    assert len({i["serviceid"] for i in instances}) == len(instances) == 20_000
    active = [i for i in instances if i["status"] == "ACTIVE"]
    assert len(active) == len(api.sim.ip_slice(1)) == 254
    assert all(i["main_ip"] is None for i in instances if i["status"] != "ACTIVE")
    assert {i["status"] for i in instances} == {"ACTIVE", "PENDING"}
    assert instances[0]["srvrname"] == "bench-7300000"


def test_address_book_over_http(api: Api) -> None:
    book_url = api.sim.address_book_url
    assert api.http.get(book_url).json() == {}
    api.sim.register_host("203.0.113.5", "127.0.0.1", 2222)
    api.sim.register_host("198.51.100.9", "127.0.0.1", 2223, services={587: 2587, 993: 2993})
    assert api.http.get(book_url).json() == {
        "203.0.113.5": {"host": "127.0.0.1", "port": 2222, "ports": {"22": 2222}},
        "198.51.100.9": {
            "host": "127.0.0.1",
            "port": 2223,
            "ports": {"22": 2223, "587": 2587, "993": 2993},
        },
    }
    api.sim.unregister_host("203.0.113.5")
    assert api.sim.address_book() == {"198.51.100.9": ("127.0.0.1", 2223)}
    assert api.sim.service_ports() == {"198.51.100.9": {22: 2223, 587: 2587, 993: 2993}}
    with pytest.raises(ValueError, match="port"):
        api.sim.register_host("203.0.113.6", "127.0.0.1", 0)
    with pytest.raises(ValueError, match="port"):
        api.sim.register_host("203.0.113.6", "127.0.0.1", 22, services={587: 70000})
    with pytest.raises(ValueError, match="SSH"):
        api.sim.register_host("203.0.113.6", "127.0.0.1", 22, services={22: 2222})
    with pytest.raises(ValueError, match="octets"):
        api.sim.register_host("not-an-ip", "127.0.0.1", 22)


def test_after_exit_the_port_refuses_and_no_thread_is_left(http: httpx.Client) -> None:
    with HostwindsSimulator(api_keys={API_KEY}) as sim:
        url = sim.url
        assert http.post(url, data={"API": API_KEY, "action": "get_locations"}).status_code == 200
    with pytest.raises(httpx.ConnectError):
        http.post(url, data={"API": API_KEY, "action": "get_locations"})
    assert not [t for t in threading.enumerate() if t.name.startswith("hostwinds-sim")]
    with pytest.raises(RuntimeError):
        sim.url  # noqa: B018 - the property raises once stopped


def test_the_cli_serves_until_interrupted() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "local.hostwinds_sim", "--port", "0", "--key", "hwkey-cli"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split()[line.split().index("on") + 1]
        answer = httpx.post(url, data={"API": "hwkey-cli", "action": "get_locations"}, timeout=5)
        assert answer.json() == fixture("get_locations.success.json")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "hwkey-cli" not in (process.stderr.read() if process.stderr else "")


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll until `condition` holds, failing after a deadline (never a bare sleep)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        threading.Event().wait(0.01)
