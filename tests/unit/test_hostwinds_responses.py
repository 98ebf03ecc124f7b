"""Decoding every contract fixture and every malformed answer into a payload or a typed error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inboxfleet.hostwinds.errors import (
    HostwindsAuthFailed,
    HostwindsError,
    HostwindsRejected,
    HostwindsUnavailable,
    InstanceNotFound,
)
from inboxfleet.hostwinds.models import Image, Instance, Location, Plan
from inboxfleet.hostwinds.responses import decode
from local.template import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "contracts" / "hostwinds"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_get_instance_parses_and_drops_the_root_password() -> None:
    payload = decode("get_instance", 200, fixture("get_instance.success.json"))
    instance = Instance.model_validate(payload)
    assert (instance.serviceid, instance.status, str(instance.main_ip)) == (
        7310042,
        "ACTIVE",
        "203.0.113.10",
    )
    assert instance.ready
    dumped = json.dumps(instance.model_dump(mode="json"))
    assert "hwroot-" not in dumped
    assert "hwcfg-" not in dumped


def test_get_instances_parses_a_pending_instance_as_not_ready() -> None:
    payload = decode("get_instances", 200, fixture("get_instances.success.json"))
    instances = [Instance.model_validate(i) for i in payload]
    assert [(i.serviceid, i.ready) for i in instances] == [(7310042, True), (7310043, False)]
    assert instances[1].main_ip is None


@pytest.mark.parametrize(
    ("action", "name", "expected"),
    [
        ("add_instance", "add_instance.success.json", ["Invoice Paid", "Server is being Created!"]),
        ("terminate", "terminate.success.json", "Instance deleted"),
        ("set_rdns", "set_rdns.success.json", "rDNS record updated."),
        ("reboot", "message.success.json", "Request accepted."),
    ],
)
def test_message_answers(action: str, name: str, expected: Any) -> None:
    assert decode(action, 200, fixture(name)) == expected


@pytest.mark.parametrize(
    ("name", "model", "count"),
    [
        ("get_locations.success.json", Location, 3),
        ("get_public_images.success.json", Image, 2),
        ("get_price_list.success.json", Plan, 2),
    ],
)
def test_catalogue_answers(name: str, model: type[Any], count: int) -> None:
    items = [model.model_validate(i) for i in decode("x", 200, fixture(name))]
    assert len(items) == count


def test_location_slugs() -> None:
    payload = decode("get_locations", 200, fixture("get_locations.success.json"))
    assert [Location.model_validate(i).slug for i in payload] == ["seattle", "dallas", "amsterdam"]


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("error.not_authorized.json", HostwindsAuthFailed, "Not Authorized!"),
        ("error.invalid_serviceid.json", InstanceNotFound, "A valid serviceid is required."),
        ("error.invalid_action.json", HostwindsRejected, "Invalid Action."),
        ("error.list.json", HostwindsRejected, "Insufficient funds"),
    ],
)
def test_errors_inside_http_200_become_typed(
    name: str, error: type[HostwindsError], message: str
) -> None:
    with pytest.raises(error, match=message) as info:
        decode("get_instance", 200, fixture(name))
    assert str(info.value).startswith("get_instance: ")


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (200, b"", "empty body"),
        (200, b"   \n", "empty body"),
        (200, b"<html><body><h1>Maintenance</h1></body></html>", "HTML page"),
        (502, b"<!DOCTYPE html><html><h1>502 Bad Gateway</h1></html>", "HTTP 502"),
        (503, b"", "HTTP 503"),
        (429, b"slow down", "HTTP 429"),
        (200, fixture("get_instance.success.json")[:40], "non-JSON body"),
        (200, b"OK", "non-JSON body"),
        (200, b'"just a string"', "unexpected answer"),
        (200, b"[1, 2]", "unexpected answer"),
        (200, b'{"status": "ACTIVE"}', "unexpected answer"),
        (200, b"\xff\xfe\x00", "non-JSON body"),
    ],
)
def test_malformed_answers_are_transient_and_never_echoed(
    status: int, body: bytes, says: str
) -> None:
    with pytest.raises(HostwindsUnavailable, match=says) as info:
        decode("get_instance", status, body)
    assert "hwroot-" not in str(info.value)
    assert "Maintenance" not in str(info.value)


def test_a_client_error_status_is_a_rejection() -> None:
    with pytest.raises(HostwindsRejected, match="HTTP 404"):
        decode("get_instance", 404, b"<html>not here</html>")


def test_fixture_directory_is_complete() -> None:
    names = {p.name for p in Path(FIXTURES).glob("*.json")}
    assert {"get_instance.success.json", "get_instances.success.json", "error.list.json"} <= names
