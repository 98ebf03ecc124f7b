"""Parking: a message that can never succeed goes to the DLQ under its own message id."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from inboxfleet.billing.errors import InvalidEventMessage
from inboxfleet.billing.plans import default_catalogue
from inboxfleet.billing.ports import BillingDeps
from inboxfleet.billing.worker import QueuedMessage, handle_record
from local.recording_starter import RecordingStarter


class RecordingQueue:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, body: str, **kw: Any) -> None:
        self.sent.append({"body": body, **kw})


class Unused:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"nothing may call {name}")


def deps(dead_letters: RecordingQueue | None) -> BillingDeps:
    return BillingDeps(
        stripe=Unused(),
        mailer=Unused(),
        starter=RecordingStarter(),
        catalogue=default_catalogue(),
        retention=timedelta(days=30),
        database=None,
        dead_letters=dead_letters,
    )


def junk(message_id: str) -> QueuedMessage:
    return QueuedMessage(body="{not json", message_id=message_id, group_id="cus_1", receive_count=1)


def test_each_queued_message_is_parked_under_its_own_id_with_the_reason() -> None:
    queue = RecordingQueue()
    first = handle_record(junk("m-1"), deps(queue))
    redriven = handle_record(junk("m-2"), deps(queue))
    lost_delete = handle_record(junk("m-1"), deps(queue))
    assert (first.outcome, redriven.outcome, lost_delete.outcome) == ("parked",) * 3
    assert [m["deduplication_id"] for m in queue.sent] == [
        "parked-m-1",
        "parked-m-2",
        "parked-m-1",
    ]
    assert {m["group_id"] for m in queue.sent} == {"cus_1"}
    assert all(m["attributes"]["error"].startswith("InvalidEventMessage") for m in queue.sent)
    assert all(len(m["attributes"]["error"]) <= 256 for m in queue.sent)


def test_without_a_dead_letter_queue_the_failure_is_raised_for_sqs_to_retry() -> None:
    with pytest.raises(InvalidEventMessage):
        handle_record(junk("m-1"), deps(None))
