"""The template's schedules, fired by hand (moto never fires EventBridge schedules).

A schedule is found by its name: a function event of `Type: Schedule` (an EventBridge rule) or
`Type: ScheduleV2` (EventBridge Scheduler) under its event key or its `Name`, or an
`AWS::Scheduler::Schedule` / `AWS::Events::Rule` resource under its logical id or `Name`. Firing
builds what that service would deliver to the function and invokes it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local.intrinsics import Stack


class UnknownSchedule(LookupError):
    pass


@dataclass(frozen=True)
class Schedule:
    name: str
    function: str  # logical id
    kind: str  # "rule" (EventBridge rule: a Scheduled Event) or "scheduler" (its Input)
    expression: str
    input: Any = None  # the configured Input, parsed; None = the service's default payload
    rule_arn: str | None = None  # a rule resource's own ARN (a function event's rule: SAM names it)

    def event(self, stack: Stack, now: datetime | None = None) -> Any:
        """What the service would deliver to the function now."""
        if self.input is not None:
            return self.input
        if self.kind == "scheduler":
            return {}
        at = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": stack.account_id,
            "time": at,
            "region": stack.region,
            "resources": [
                self.rule_arn
                or f"arn:aws:events:{stack.region}:{stack.account_id}:rule/{stack.name}-{self.name}"
            ],
            "detail": {},
        }


def _input(props: dict[str, Any]) -> Any:
    raw = props.get("Input")
    return json.loads(raw) if isinstance(raw, str) else raw


def schedules(stack: Stack) -> dict[str, Schedule]:
    """Every schedule of the template by name."""
    found: dict[str, Schedule] = {}
    resources: dict[str, Any] = stack.template.get("Resources") or {}
    for logical_id, resource in resources.items():
        kind = resource.get("Type")
        if kind == "AWS::Serverless::Function":
            events = (resource.get("Properties") or {}).get("Events") or {}
            for key, event in events.items():
                if event.get("Type") not in ("Schedule", "ScheduleV2"):
                    continue
                props = stack.resolve(event.get("Properties") or {})
                name = props.get("Name") or key
                found[name] = Schedule(
                    name=name,
                    function=logical_id,
                    kind="rule" if event["Type"] == "Schedule" else "scheduler",
                    expression=str(props.get("Schedule") or props.get("ScheduleExpression")),
                    input=_input(props),
                )
        elif kind in ("AWS::Scheduler::Schedule", "AWS::Events::Rule"):
            props = stack.resolve(resource.get("Properties") or {})
            if kind == "AWS::Events::Rule" and "ScheduleExpression" not in props:
                continue  # an event pattern's rule: moto's EventBridge routes what matches
            targets = [props["Target"]] if "Target" in props else props.get("Targets") or []
            for target in targets:
                function = stack.with_arn(str(target.get("Arn")))
                if function is None:
                    continue  # not a function of this template (nothing local to invoke)
                name = props.get("Name") or logical_id
                found[name] = Schedule(
                    name=name,
                    function=function,
                    kind="scheduler" if kind == "AWS::Scheduler::Schedule" else "rule",
                    expression=str(props.get("ScheduleExpression")),
                    input=_input(target),
                    rule_arn=stack.resources[logical_id].attributes.get("Arn"),
                )
    return found


def find(stack: Stack, name: str) -> Schedule:
    known = schedules(stack)
    if name not in known:
        listed = ", ".join(sorted(known)) or "none"
        raise UnknownSchedule(f"no schedule {name!r} in the template (have: {listed})")
    return known[name]
