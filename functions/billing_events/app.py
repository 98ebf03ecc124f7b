"""Billing events Lambda: applies queued Stripe events (SQS FIFO, partial batch responses).

Powertools' FIFO processor stops a failed message's group for the rest of the batch (the
messages after it come back in order) while other groups go on; after maxReceiveCount the
failing message moves to the dead-letter queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from inboxfleet.billing.runtime import billing_deps
from inboxfleet.billing.worker import process_message
from inboxfleet.observability import metered_lambda_entry


def record_handler(record: SQSRecord) -> str:
    return process_message(record.body, billing_deps()).outcome


@metered_lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # One processor per invocation: it holds the batch's results, and locally several
    # invocations share the process.
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
