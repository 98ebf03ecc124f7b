"""Pricing an execution from its history (inboxfleet.provisioning.costs), on histories shaped as
GetExecutionHistory returns them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from inboxfleet.provisioning.costs import Prices, execution_cost, inbox_cost

T0 = datetime(2026, 12, 1, tzinfo=UTC)
FAST = "arn:aws:lambda:us-east-1:123456789012:function:inventory"
SLOW = "arn:aws:lambda:us-east-1:123456789012:function:installer"


class History:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, kind: str, at_s: float, **details: Any) -> int:
        event_id = len(self.events) + 1
        event = {
            "id": event_id,
            "previousEventId": event_id - 1,
            "type": kind,
            "timestamp": T0 + timedelta(seconds=at_s),
        }
        self.events.append(event | details)
        return event_id

    def state(self, at_s: float, kind: str = "Task") -> None:
        self.add(f"{kind}StateEntered", at_s)

    def call(self, function: str, start_s: float, end_s: float | None, ok: bool = True) -> None:
        self.add(
            "LambdaFunctionScheduled",
            start_s,
            lambdaFunctionScheduledEventDetails={"resource": function},
        )
        self.add("LambdaFunctionStarted", start_s)
        if end_s is not None:
            self.add("LambdaFunctionSucceeded" if ok else "LambdaFunctionFailed", end_s)


def _history() -> History:
    h = History()
    h.add("ExecutionStarted", 0)
    h.state(0)
    h.call(FAST, 0.0, 0.5)
    h.state(0.5, "Choice")
    h.state(0.5)
    h.call(SLOW, 1.0, 3.0, ok=False)  # failed, then retried by the state's Retry
    h.call(SLOW, 4.0, 10.0)
    h.state(10.0, "Succeed")
    return h


def test_transitions_count_states_entered_and_every_retried_attempt() -> None:
    cost = execution_cost(_history().events)
    assert cost.transitions == 4 + 1
    assert cost.lambda_calls == 3


def test_each_invocation_is_timed_from_its_start_to_its_end_at_its_functions_memory() -> None:
    cost = execution_cost(_history().events, {FAST: 256, "installer": 1024})
    assert [(i.function, i.seconds, i.memory_mb) for i in cost.invocations] == [
        (FAST, 0.5, 256),
        (SLOW, 2.0, 1024),  # known by its name as well as by its ARN
        (SLOW, 6.0, 1024),
    ]
    assert cost.gb_seconds == pytest.approx(0.5 / 4 + 8.0)


def test_the_price_adds_transitions_requests_and_gb_seconds() -> None:
    prices = Prices(transition_usd=1.0, lambda_request_usd=10.0, lambda_gb_second_usd=100.0)
    cost = execution_cost(_history().events, {FAST: 1024, SLOW: 1024}, prices)
    assert cost.usd == pytest.approx(5 * 1.0 + 3 * 10.0 + 8.5 * 100.0)


def test_an_invocation_a_stopped_run_left_without_an_end_still_counts_a_call() -> None:
    h = History()
    h.state(0)
    h.call(SLOW, 0.0, None)
    h.add("ExecutionAborted", 5.0)
    cost = execution_cost(h.events)
    assert cost.lambda_calls == 1
    assert cost.invocations[0].seconds == 0.0
    assert cost.invocations[0].memory_mb == 512  # the template's default


def test_an_inbox_pays_its_run_once_and_a_share_of_its_server_and_zone_a_month() -> None:
    run = execution_cost(_history().events)
    alone = inbox_cost(run, vps_month_usd=9.99, inboxes_on_server=1)
    shared = inbox_cost(run, vps_month_usd=9.99, inboxes_on_server=3)
    assert alone.provisioning_usd == run.usd
    assert (alone.vps_share_month_usd, alone.zone_share_month_usd) == (9.99, 0.50)
    assert shared.month_usd == pytest.approx((9.99 + 0.50) / 3)
