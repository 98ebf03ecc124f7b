"""Reading provisioning executions in the local cloud: when one has ended, its history, and what
Step Functions would bill for it (state transitions, Lambda invocations). The e2e tests and the
provisioning benchmark read runs through these."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from local.account import REGION
from local.polling import poll

if TYPE_CHECKING:
    from local.cloud import LocalCloud

MACHINE = "ProvisionInboxStateMachine"


def sfn() -> Any:
    import boto3

    return boto3.client("stepfunctions", region_name=REGION)


def machine_arn(cloud: LocalCloud) -> str:
    return cloud.aws.state_machines[MACHINE]


def execution_arn(cloud: LocalCloud, name: str) -> str:
    return machine_arn(cloud).replace(":stateMachine:", ":execution:") + f":{name}"


def ended(cloud: LocalCloud, name: str, deadline_s: float = 60.0) -> dict[str, Any]:
    """DescribeExecution once the execution named `name` is no longer RUNNING."""
    arn = execution_arn(cloud, name)

    def described() -> dict[str, Any] | None:
        answer: dict[str, Any] = sfn().describe_execution(executionArn=arn)
        return answer if answer["status"] != "RUNNING" else None

    return poll(described, f"execution {name} to end", deadline_s)


def history(cloud: LocalCloud, name: str) -> list[dict[str, Any]]:
    pages = (
        sfn()
        .get_paginator("get_execution_history")
        .paginate(executionArn=execution_arn(cloud, name))
    )
    return [event for page in pages for event in page["events"]]


def transitions(events: list[dict[str, Any]]) -> int:
    """State transitions as Step Functions bills them: one per state entered."""
    return sum(1 for e in events if e["type"].endswith("StateEntered"))


def lambda_invocations(events: list[dict[str, Any]]) -> int:
    """Lambda tasks scheduled, retries included."""
    return sum(1 for e in events if e["type"] in ("TaskScheduled", "LambdaFunctionScheduled"))
