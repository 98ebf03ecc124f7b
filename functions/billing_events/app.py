"""Billing events Lambda: applies queued Stripe events (SQS FIFO, partial batch responses).

Powertools' FIFO processor stops a failed message's group for the rest of the batch (the
messages after it come back in order) while other groups go on; messages that can never succeed
are parked in the DLQ by the worker, the rest are retried until maxReceiveCount.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from inboxfleet.billing.runtime import billing_deps
from inboxfleet.billing.worker import QueuedMessage, ensure_time_left, handle_record
from inboxfleet.observability import metered_lambda_entry


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> str:
    ensure_time_left(lambda_context.get_remaining_time_in_millis())
    attributes = record.attributes
    message = QueuedMessage(
        body=record.body,
        message_id=record.message_id,
        group_id=attributes.message_group_id or "unknown",
        receive_count=int(attributes.approximate_receive_count or 1),
    )
    return handle_record(message, billing_deps()).outcome


@metered_lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # One processor per invocation: it holds the batch's results, and locally several
    # invocations share the process.
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
