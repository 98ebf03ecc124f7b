"""The billing events FIFO queue (boto3 SQS; imported on first use)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from inboxfleet.billing.errors import QueueUnavailable

# What SQS accepts as a FIFO MessageGroupId or MessageDeduplicationId.
_FIFO_ID = re.compile(r"[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}")
_HASHED = "sha256-"


def fifo_id(value: str) -> str:
    """`value` itself when SQS takes it as a FIFO group or deduplication id, else a digest of
    it that always fits (71 characters). Stripe promises no length for its ids, and an id SQS
    refuses would fail every delivery of the event for the three days Stripe retries it. The
    mapping is stable, so one customer's events always share one group, and idempotent, so a
    group id read back from SQS (a message parked in the DLQ) keeps its group."""
    if _FIFO_ID.fullmatch(value):
        return value
    return _HASHED + hashlib.sha256(value.encode()).hexdigest()


class SqsEventQueue:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._url = queue_url
        self._client = client

    def _sqs(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # Short timeouts and few retries: Stripe waits for our answer, and a failure only
            # means it delivers again later.
            config = Config(
                connect_timeout=2, read_timeout=4, retries={"max_attempts": 2, "mode": "standard"}
            )
            self._client = boto3.client("sqs", config=config)
        return self._client

    def send(
        self,
        body: str,
        *,
        group_id: str,
        deduplication_id: str,
        attributes: dict[str, str] | None = None,
    ) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        extra: dict[str, Any] = {}
        if attributes:
            extra["MessageAttributes"] = {
                name: {"DataType": "String", "StringValue": value}
                for name, value in attributes.items()
            }
        try:
            self._sqs().send_message(
                QueueUrl=self._url,
                MessageBody=body,
                MessageGroupId=fifo_id(group_id),
                MessageDeduplicationId=fifo_id(deduplication_id),
                **extra,
            )
        except (BotoCoreError, ClientError) as exc:
            raise QueueUnavailable(f"could not queue the event ({type(exc).__name__})") from None
