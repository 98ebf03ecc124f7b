"""What Lambda's SQS event source mapping does, for local runs and tests (moto has none).

`drain()` receives up to ten messages at a time, hands them to the handler as an SQS event,
deletes what succeeded and returns what the handler reported as failed (`batchItemFailures`, or
the whole batch when the handler raised) to the queue at once (Lambda waits out the visibility
timeout; locally that is only a delay). A FIFO queue's message groups stay in order because SQS
withholds a group while one of its messages is in flight. Messages received `maxReceiveCount`
times move to the dead-letter queue on the next receive — SQS's own redrive, which moto
implements.

`redrive()` moves dead-lettered messages back to their source queue, as StartMessageMoveTask
does in AWS (moto lacks it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.invoke import LocalContext

BATCH_SIZE = 10
MAX_BATCHES = 1_000


@dataclass
class DrainReport:
    batches: int = 0
    delivered: int = 0
    succeeded: int = 0
    failed: int = 0


def _record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def drain(
    sqs: Any,
    queue_url: str,
    handler: Callable[[dict[str, Any], Any], Any],
    *,
    function_name: str = "BillingEventsFunction",
) -> DrainReport:
    """Deliver until the queue has nothing visible left (or MAX_BATCHES were delivered)."""
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    queue_arn = attributes["Attributes"]["QueueArn"]
    region = sqs.meta.region_name
    report = DrainReport()
    while report.batches < MAX_BATCHES:
        received = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=BATCH_SIZE,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            break
        report.batches += 1
        report.delivered += len(received)
        event = {"Records": [_record(m, queue_arn, region) for m in received]}
        try:
            response = handler(event, LocalContext(function_name=function_name)) or {}
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception:
            # A function error fails the whole batch (Powertools raises when every record
            # failed): Lambda returns all of it to the queue.
            failed = {m["MessageId"] for m in received}
        for message in received:
            if message["MessageId"] in failed:
                report.failed += 1
                sqs.change_message_visibility(
                    QueueUrl=queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=0,
                )
            else:
                report.succeeded += 1
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return report


def redrive(sqs: Any, dlq_url: str, source_url: str) -> int:
    """Move every message of the dead-letter queue back to the source queue; returns how many.
    A moved message keeps its body and group, and gets a fresh deduplication id (the old one is
    still inside the source queue's five-minute deduplication window)."""
    moved = 0
    while True:
        received = sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=BATCH_SIZE, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
        if not received:
            return moved
        for message in received:
            attributes = message.get("Attributes", {})
            sqs.send_message(
                QueueUrl=source_url,
                MessageBody=message["Body"],
                MessageGroupId=attributes["MessageGroupId"],
                MessageDeduplicationId=f"redrive-{message['MessageId']}",
            )
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
