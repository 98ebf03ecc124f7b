"""The inventory Lambda, invoked like `sam local invoke` with the files in events/."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import pytest

from inboxfleet.db import Database, tenant_session
from inboxfleet.db.repositories import Inboxes
from inboxfleet.inventory.errors import (
    HostKeyAlreadyPinned,
    InboxNotFound,
    InvalidCommand,
    InvalidTransition,
    ServerNotFound,
)
from local.invoke import invoke
from local.samples import SAMPLE_INBOX_ID, SAMPLE_TENANT_ID, seed_sample
from local.template import REPO_ROOT as REPO
from tests.sample_outputs import SampleOutputs, input_samples

EVENTS = REPO / "events" / "InventoryFunction"


def event(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return {**data, **changes}


@pytest.fixture
def sample(fresh_app_db: Database) -> None:
    """The sample tenant the event files name, in a database of its own."""
    seed_sample()


def test_every_event_file_is_answered(sample: None) -> None:
    names = sorted(p.stem for p in input_samples("InventoryFunction"))
    assert names == ["describe_inbox", "pin_host_key", "record_step", "transition_inbox"]
    for name in names:
        result = invoke("InventoryFunction", event(name))
        row = result.get("inbox") or result.get("server") or result["event"]
        assert row["tenant_id"] == str(SAMPLE_TENANT_ID)


def test_a_host_key_is_pinned_once_and_never_replaced(sample: None) -> None:
    first = invoke("InventoryFunction", event("pin_host_key"))
    again = invoke("InventoryFunction", event("pin_host_key"))
    assert first["server"]["host_key_fingerprint"] == event("pin_host_key")["host_key_fingerprint"]
    assert again == first
    with pytest.raises(HostKeyAlreadyPinned, match="another host key"):
        invoke(
            "InventoryFunction", event("pin_host_key", host_key_fingerprint="SHA256:" + "B" * 43)
        )
    with pytest.raises(ServerNotFound):
        invoke("InventoryFunction", event("pin_host_key", server_id=str(uuid4())))


def test_transition_is_recorded_and_repeat_is_a_no_op(sample: None) -> None:
    first = invoke("InventoryFunction", event("transition_inbox"))
    again = invoke("InventoryFunction", event("transition_inbox"))
    assert (first["inbox"]["status"], first["changed"]) == ("queued", True)
    assert (again["inbox"]["status"], again["changed"]) == ("queued", False)
    described = invoke("InventoryFunction", event("describe_inbox"))
    steps = [(e["step"], e["outcome"], e["detail"]) for e in described["timeline"]]
    assert steps[-1] == (
        "status",
        "info",
        {"from": "awaiting_payment", "to": "queued", "by": "workflow", "why": "workflow step"},
    )
    assert len([s for s in steps if s[0] == "status"]) == 1


def test_a_transition_the_lifecycle_forbids_is_refused_and_changes_nothing(sample: None) -> None:
    with pytest.raises(InvalidTransition, match="awaiting_payment to active"):
        invoke("InventoryFunction", event("transition_inbox", to="active"))
    with tenant_session(SAMPLE_TENANT_ID) as s:
        inbox = Inboxes(s).get(SAMPLE_INBOX_ID)
    assert inbox is not None
    assert inbox.status == "awaiting_payment"


def test_failure_reason_is_kept_only_for_failed(sample: None) -> None:
    for target in ("queued", "provisioning"):
        invoke("InventoryFunction", event("transition_inbox", to=target))
    failed = invoke(
        "InventoryFunction", event("transition_inbox", to="failed", failure_reason="VpsNotReady")
    )
    assert failed["inbox"]["failure_reason"] == "VpsNotReady"
    assert "password_ciphertext" not in failed["inbox"]
    retried = invoke("InventoryFunction", event("transition_inbox", to="queued"))
    assert (retried["inbox"]["status"], retried["inbox"]["failure_reason"]) == ("queued", None)


def test_record_step_appends_to_the_timeline(sample: None) -> None:
    recorded = invoke("InventoryFunction", event("record_step"))
    assert recorded["event"]["detail"] == {"location": "dallas", "attempt": 1}
    described = invoke("InventoryFunction", event("describe_inbox"))
    assert [e["step"] for e in described["timeline"]] == ["request", "reserve"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"action": "drop_tables"}, "action"),
        ({"tenant_id": "not-a-uuid"}, "tenant_id"),
        ({"inbox_id": None}, "inbox_id"),
        ({"step": "Robert'); DROP TABLE inboxes;--"}, "step"),
        ({"step": "status"}, "transition_inbox"),  # only a real status change writes one
        ({"outcome": "exploded"}, "outcome"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_commands_are_refused_with_a_clear_message(
    app_db: Database, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidCommand, match=message):
        invoke("InventoryFunction", event("record_step", **changes))


def test_another_tenants_inbox_is_not_found(sample: None) -> None:
    from tests.factories import new_tenant

    with pytest.raises(InboxNotFound):
        invoke("InventoryFunction", event("describe_inbox", tenant_id=str(new_tenant())))


def test_sample_outputs_are_what_the_samples_answer(sample: None) -> None:
    outputs = SampleOutputs("InventoryFunction")
    for name in ("describe_inbox", "record_step", "transition_inbox", "pin_host_key"):
        path = EVENTS / f"{name}.json"
        data = event(name)
        outputs.record(path, data, invoke("InventoryFunction", data))
    outputs.check()


def test_a_failure_must_name_its_reason(app_db: Database) -> None:
    with pytest.raises(InvalidCommand, match="failure_reason is required"):
        invoke("InventoryFunction", event("transition_inbox", to="failed"))
