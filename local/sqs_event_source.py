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

`sqs_event_sources()` reads the template's SQS event sources (queue, batch size, whether the
function reports batch item failures) and `QueuePoller` delivers one in the background, as
Lambda's pollers do for the deployed stack.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, Self

from local.intrinsics import Stack
from local.invoke import LocalContext
from local.loopback import StartStop

BATCH_SIZE = 10
MAX_BATCHES = 1_000
# Short polls this far apart while the queue is empty: a message waits at most this long, an
# idle poller costs ~2% of a core, and it stops at once. (moto's long polling would hold a
# close() for up to a second, and spins when a FIFO group waits behind an in-flight message.)
IDLE_POLL_S = 0.25
ERROR_PAUSE_S = 1.0
JOIN_TIMEOUT_S = 30.0

log = logging.getLogger("local")


@dataclass
class DrainReport:
    batches: int = 0
    delivered: int = 0
    succeeded: int = 0
    failed: int = 0

    def __add__(self, other: DrainReport) -> DrainReport:
        return DrainReport(
            self.batches + other.batches,
            self.delivered + other.delivered,
            self.succeeded + other.succeeded,
            self.failed + other.failed,
        )


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """A message attribute as Lambda's SQS event spells it (the API's is capitalised)."""
    found: dict[str, Any] = {"stringListValues": [], "binaryListValues": []}
    if "StringValue" in value:
        found["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        found["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    found["dataType"] = value["DataType"]
    return found


def _record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
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
    batch_size: int = BATCH_SIZE,
    report_item_failures: bool = True,
    retry_after_s: int = 0,
) -> DrainReport:
    """Deliver until the queue has nothing visible left (or MAX_BATCHES were delivered).
    Without `report_item_failures` (the function's FunctionResponseTypes lacks
    ReportBatchItemFailures) a returned answer means the whole batch succeeded. A failed
    message is visible again after `retry_after_s` (Lambda leaves it for the queue's visibility
    timeout; 0 steps through retries at once)."""
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    queue_arn = attributes["Attributes"]["QueueArn"]
    region = sqs.meta.region_name
    report = DrainReport()
    while report.batches < MAX_BATCHES:
        received = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=batch_size,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
            # Short polls even on a queue with ReceiveMessageWaitTimeSeconds: a poller must
            # stop at once, and moto's long poll spins on a FIFO group held behind a message.
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not received:
            break
        report.batches += 1
        report.delivered += len(received)
        event = {"Records": [_record(m, queue_arn, region) for m in received]}
        try:
            response = handler(event, LocalContext(function_name=function_name)) or {}
            reported = response.get("batchItemFailures", []) if report_item_failures else []
            failed = {f["itemIdentifier"] for f in reported}
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
                    VisibilityTimeout=retry_after_s,
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


class Invoke(Protocol):
    """How a source reaches its function (LocalCloud.invoke): the answer, or an error type."""

    def __call__(self, logical_id: str, event: Any) -> Any: ...


@dataclass(frozen=True)
class SqsEventSource:
    function: str  # logical id
    queue_url: str
    batch_size: int
    report_item_failures: bool


def sqs_event_sources(template: dict[str, Any], stack: Stack) -> list[SqsEventSource]:
    """Every `Type: SQS` event of the template's functions, its queue resolved to a URL."""
    found = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        events = (resource.get("Properties") or {}).get("Events") or {}
        for event in events.values():
            if event.get("Type") != "SQS":
                continue
            props = stack.resolve(event.get("Properties") or {})
            queue = stack.with_arn(props["Queue"])
            if queue is None:
                raise ValueError(f"{logical_id}: its queue {props['Queue']} is not deployed")
            found.append(
                SqsEventSource(
                    function=logical_id,
                    queue_url=stack.resources[queue].ref,
                    batch_size=int(props.get("BatchSize", BATCH_SIZE)),
                    report_item_failures="ReportBatchItemFailures"
                    in (props.get("FunctionResponseTypes") or []),
                )
            )
    return found


class FunctionError(Exception):
    """The function raised: Lambda's event source returns the whole batch to the queue."""


def drain_source(
    source: SqsEventSource,
    invoke: Invoke,
    sqs: Any | None = None,
    *,
    retry_after_s: int = 0,
) -> DrainReport:
    """Deliver the source's queue to its function (see drain)."""

    def handler(event: dict[str, Any], _context: Any) -> Any:
        result = invoke(source.function, event)
        if not result.ok:
            raise FunctionError(result.error_type)
        return result.payload

    if sqs is None:
        import boto3

        sqs = boto3.client("sqs")
    return drain(
        sqs,
        source.queue_url,
        handler,
        function_name=source.function,
        batch_size=source.batch_size,
        report_item_failures=source.report_item_failures,
        retry_after_s=retry_after_s,
    )


class QueuePoller(StartStop):
    """Delivers a source's queue in the background until closed, as Lambda's pollers do, a
    failed message left invisible for the queue's visibility timeout times the time scale."""

    def __init__(self, source: SqsEventSource, invoke: Invoke, *, time_scale: float = 1.0) -> None:
        import boto3

        self.source = source
        self._invoke = invoke
        # A session of its own: boto3's default session is not safe to share across threads.
        self._sqs = boto3.session.Session().client("sqs")
        visibility = self._sqs.get_queue_attributes(
            QueueUrl=source.queue_url, AttributeNames=["VisibilityTimeout"]
        )["Attributes"]["VisibilityTimeout"]
        self.retry_after_s = round(int(visibility) * time_scale)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"sqs-poller-{source.function}", daemon=True
        )

    def start(self) -> Self:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._thread.join(JOIN_TIMEOUT_S)
        if self._thread.is_alive():
            log.warning(
                "the poller of %s did not stop in %s s", self.source.function, JOIN_TIMEOUT_S
            )

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                report = drain_source(
                    self.source, self._invoke, self._sqs, retry_after_s=self.retry_after_s
                )
            except Exception:
                # The poller outlives any one failure, as Lambda's does; the function's own
                # errors are already returned to the queue by drain().
                log.exception(
                    "polling %s for %s failed", self.source.queue_url, self.source.function
                )
                self._stop.wait(ERROR_PAUSE_S)
                continue
            if report.delivered == 0:
                self._stop.wait(IDLE_POLL_S)
