"""Where each inbox's provisioning run stands, read as an operator reads it in the Step Functions
console: DescribeExecution and GetExecutionHistory (moto's, in the local cloud). Every task or
wait state entered is a step (Choice and Pass states decide, they do no work); a retry is a
Lambda attempt beyond the first in a state, with the error that made the ASL try again."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from local.demo.steps import label
from local.provisioning_runs import execution_arn, sfn

if TYPE_CHECKING:
    from local.cloud import LocalCloud

# Choice and Pass states decide, they do no work: the display keeps the last real step.
_SHOWN = ("TaskStateEntered", "WaitStateEntered")


@dataclass(frozen=True)
class Step:
    """A state entered (`retry_of` empty) or a task tried again after `retry_of` (the error)."""

    at: datetime  # when, as the history times it
    state: str
    retry_of: str = ""


@dataclass(frozen=True)
class RunState:
    """One inbox's run as last read."""

    address: str
    execution: str
    status: str  # RUNNING, SUCCEEDED, FAILED, ABORTED, TIMED_OUT; PENDING before it exists
    elapsed_s: float
    steps: tuple[Step, ...] = ()
    ended_at: datetime | None = None  # when the run stopped, as Step Functions says

    @property
    def state(self) -> str:
        """The state the run is in (or ended in); "" before the first."""
        return self.steps[-1].state if self.steps else ""

    @property
    def retries(self) -> int:
        return sum(1 for step in self.steps if step.retry_of)

    @property
    def label(self) -> str:
        return label(self.state) if self.state else "queued: the run is being started"

    @property
    def running(self) -> bool:
        return self.status in ("PENDING", "RUNNING")


def read_run(cloud: LocalCloud, address: str, execution: str, since: float) -> RunState:
    """The run named `execution` now; PENDING (elapsed from `since`, a monotonic time) until
    the API's start has reached Step Functions."""
    client = sfn()
    arn = execution_arn(cloud, execution)
    try:
        described = client.describe_execution(executionArn=arn)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ExecutionDoesNotExist":
            raise
        return RunState(address, execution, "PENDING", time.monotonic() - since)
    events = _history(client, arn)
    stopped = described.get("stopDate")
    started = described["startDate"]
    end = stopped if stopped is not None else _now(started)
    return RunState(
        address=address,
        execution=execution,
        status=str(described["status"]),
        elapsed_s=max(0.0, (end - started).total_seconds()),
        steps=_steps(events),
        ended_at=stopped,
    )


def read_runs(cloud: LocalCloud, runs: Mapping[str, str], since: float) -> list[RunState]:
    """address -> execution name, each read now (in the mapping's order)."""
    return [read_run(cloud, address, name, since) for address, name in runs.items()]


def _history(client: Any, arn: str) -> list[dict[str, Any]]:
    pages = client.get_paginator("get_execution_history").paginate(executionArn=arn)
    return [event for page in pages for event in page["events"]]


def _steps(events: Sequence[Mapping[str, Any]]) -> tuple[Step, ...]:
    """Each task or wait state entered, and each Lambda attempt beyond a state's first (the
    Retry the ASL asked for) with the error before it."""
    steps = []
    state, calls, failure = "", 0, ""
    for event in events:
        kind = event["type"]
        if kind in _SHOWN:
            state, calls = str(event["stateEnteredEventDetails"]["name"]), 0
            steps.append(Step(event["timestamp"], state))
        elif kind in ("LambdaFunctionFailed", "LambdaFunctionTimedOut"):
            details = event.get("lambdaFunctionFailedEventDetails") or {}
            failure = str(details.get("error") or kind.removeprefix("LambdaFunction"))
        elif kind == "LambdaFunctionScheduled":
            calls += 1
            if calls > 1:
                steps.append(Step(event["timestamp"], state, failure or "an error"))
    return tuple(steps)


def _now(like: datetime) -> datetime:
    """Now, in the timezone of `like` (moto's dates are aware)."""
    return datetime.now(like.tzinfo)
