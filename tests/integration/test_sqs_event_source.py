"""The SQS event source's records are shaped as Lambda delivers them, and a failed message comes
back after the delay it is given (Lambda: the queue's visibility timeout)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local.sqs_event_source import drain
from tests.aws_support import moto_aws


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    with moto_aws(monkeypatch):
        sqs = boto3.client("sqs")
        yield sqs, sqs.create_queue(QueueName="source")["QueueUrl"]


def test_records_carry_lambdas_spelling_of_message_attributes(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    sqs.send_message(
        QueueUrl=url,
        MessageBody="hello",
        MessageAttributes={
            "error": {"DataType": "String", "StringValue": "not an event"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    seen: list[dict[str, Any]] = []
    report = drain(sqs, url, lambda event, _: seen.extend(event["Records"]))
    assert (report.delivered, report.succeeded) == (1, 1)
    [record] = seen
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:source"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"] == {
        "error": {
            "stringValue": "not an event",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "blob": {
            "binaryValue": "AAE=",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }


def test_a_failed_message_stays_away_for_the_delay_it_is_given(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    sqs.send_message(QueueUrl=url, MessageBody="fails")

    def failing(event: dict[str, Any], _: Any) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    later = drain(sqs, url, failing, retry_after_s=600)
    assert (later.delivered, later.failed) == (1, 1)
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (
        counts["ApproximateNumberOfMessages"],
        counts["ApproximateNumberOfMessagesNotVisible"],
    ) == (
        "0",
        "1",
    )
