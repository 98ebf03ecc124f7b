"""What an inbox costs: one workflow execution priced from its history (GetExecutionHistory's
events), and the monthly share of its server and hosted zone. Pure: the caller reads the
history and knows each function's memory.

Prices (us-east-1, 2026): Step Functions standard workflows $0.025 per 1,000 state transitions
(a Retry attempt is a transition too); Lambda on arm64 $0.20 per million requests and
$0.0000133334 per GB-second; Route 53 $0.50 per hosted zone a month. The VPS's monthly price is
the Hostwinds plan's, shared by the inboxes on the server (one server per domain, so they share
the domain's zone too).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Prices:
    transition_usd: float = 0.025 / 1000
    lambda_request_usd: float = 0.20 / 1_000_000
    lambda_gb_second_usd: float = 0.0000133334  # arm64
    hosted_zone_month_usd: float = 0.50


PRICES = Prices()
# Lambda's memory when the history names a function the caller does not know (template Globals).
DEFAULT_MEMORY_MB = 512
_SCHEDULED = frozenset({"LambdaFunctionScheduled", "TaskScheduled"})
_STARTED = frozenset({"LambdaFunctionStarted", "TaskStarted"})
_ENDED = frozenset(
    {
        "LambdaFunctionSucceeded",
        "LambdaFunctionFailed",
        "LambdaFunctionTimedOut",
        "TaskSucceeded",
        "TaskFailed",
        "TaskTimedOut",
    }
)


@dataclass(frozen=True)
class Invocation:
    function: str  # the function's ARN (or name), as the history names it
    seconds: float  # from the task's start to its end, as the history times it
    memory_mb: int

    @property
    def gb_seconds(self) -> float:
        return self.seconds * self.memory_mb / 1024


@dataclass(frozen=True)
class ExecutionCost:
    """One execution's billable use, and its price."""

    transitions: int
    invocations: tuple[Invocation, ...]
    prices: Prices = field(default=PRICES, compare=False)

    @property
    def lambda_calls(self) -> int:
        return len(self.invocations)

    @property
    def gb_seconds(self) -> float:
        return sum(i.gb_seconds for i in self.invocations)

    @property
    def usd(self) -> float:
        p = self.prices
        return (
            self.transitions * p.transition_usd
            + self.lambda_calls * p.lambda_request_usd
            + self.gb_seconds * p.lambda_gb_second_usd
        )


def execution_cost(
    events: Iterable[Mapping[str, Any]],
    memory_mb: Mapping[str, int] | None = None,
    prices: Prices = PRICES,
) -> ExecutionCost:
    """An execution's transitions (states entered, plus each retried task attempt) and Lambda
    invocations with their durations, from its history; `memory_mb` by function ARN or name."""
    memory = memory_mb or {}
    history = list(events)
    after: dict[Any, list[Mapping[str, Any]]] = {}
    for event in history:
        after.setdefault(event.get("previousEventId"), []).append(event)
    entered = sum(1 for e in history if e["type"].endswith("StateEntered"))
    tasks = sum(1 for e in history if e["type"] == "TaskStateEntered")
    invocations = []
    for scheduled in (e for e in history if e["type"] in _SCHEDULED):
        function = _function_of(scheduled)
        size = memory.get(function, memory.get(function.rsplit(":", 1)[-1], DEFAULT_MEMORY_MB))
        started = _next(after, scheduled, _STARTED)
        ended = _next(after, started, _ENDED) if started is not None else None
        # One that never reported its end (its run was stopped under it) still counts a call.
        seconds = (
            (ended["timestamp"] - started["timestamp"]).total_seconds()
            if started is not None and ended is not None
            else 0.0
        )
        invocations.append(Invocation(function, max(0.0, seconds), size))
    retries = max(0, len(invocations) - tasks)
    return ExecutionCost(entered + retries, tuple(invocations), prices)


def _next(
    after: Mapping[Any, list[Mapping[str, Any]]], event: Mapping[str, Any], kinds: frozenset[str]
) -> Mapping[str, Any] | None:
    """The event of one of `kinds` that follows `event` in the history's chain."""
    return next((e for e in after.get(event["id"], []) if e["type"] in kinds), None)


def _function_of(scheduled: Mapping[str, Any]) -> str:
    details = (
        scheduled.get("lambdaFunctionScheduledEventDetails")
        or scheduled.get("taskScheduledEventDetails")
        or {}
    )
    resource = str(details.get("resource", "unknown"))
    if resource == "invoke":  # arn:aws:states:::lambda:invoke names the function in parameters
        resource = str(json.loads(details.get("parameters") or "{}").get("FunctionName", resource))
    return resource


@dataclass(frozen=True)
class InboxCost:
    """What one inbox costs: once, its provisioning run; every month, its share of the server
    and of the domain's hosted zone."""

    provisioning_usd: float
    vps_share_month_usd: float
    zone_share_month_usd: float

    @property
    def month_usd(self) -> float:
        return self.vps_share_month_usd + self.zone_share_month_usd


def inbox_cost(
    provisioning: ExecutionCost, vps_month_usd: float, inboxes_on_server: int
) -> InboxCost:
    """The run's price, and the monthly server and zone shared by the server's inboxes."""
    sharing = max(1, inboxes_on_server)
    return InboxCost(
        provisioning_usd=provisioning.usd,
        vps_share_month_usd=vps_month_usd / sharing,
        zone_share_month_usd=provisioning.prices.hosted_zone_month_usd / sharing,
    )
