"""Reading workflow executions in the local cloud (provisioning by default; the teardown and the
mailbox convergence by their logical ids): when one has ended, its history, and what the runs
left in a hosted zone. The e2e tests, the demo and the benchmarks read runs through these."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from inboxfleet.provisioning.costs import ExecutionCost, execution_cost
from local.account import REGION
from local.polling import poll

if TYPE_CHECKING:
    from local.cloud import LocalCloud

MACHINE = "ProvisionInboxStateMachine"
TEARDOWN = "DeprovisionInboxStateMachine"
MAILBOX = "ConvergeMailboxStateMachine"


def sfn() -> Any:
    import boto3

    return boto3.client("stepfunctions", region_name=REGION)


def machine_arn(cloud: LocalCloud, machine: str = MACHINE) -> str:
    return cloud.aws.state_machines[machine]


def execution_arn(cloud: LocalCloud, name: str, machine: str = MACHINE) -> str:
    return machine_arn(cloud, machine).replace(":stateMachine:", ":execution:") + f":{name}"


def ended(
    cloud: LocalCloud, name: str, deadline_s: float = 60.0, machine: str = MACHINE
) -> dict[str, Any]:
    """DescribeExecution once the execution named `name` is no longer RUNNING."""
    arn = execution_arn(cloud, name, machine)

    def described() -> dict[str, Any] | None:
        answer: dict[str, Any] = sfn().describe_execution(executionArn=arn)
        return answer if answer["status"] != "RUNNING" else None

    return poll(described, f"execution {name} to end", deadline_s)


def history(cloud: LocalCloud, name: str, machine: str = MACHINE) -> list[dict[str, Any]]:
    pages = (
        sfn()
        .get_paginator("get_execution_history")
        .paginate(executionArn=execution_arn(cloud, name, machine))
    )
    return [event for page in pages for event in page["events"]]


def run_cost(
    cloud: LocalCloud,
    name: str,
    memory_mb: Mapping[str, int] | None = None,
    machine: str = MACHINE,
) -> ExecutionCost:
    """The execution's transitions, Lambda calls and price, read from its history; memory by
    function ARN (default: the cloud's functions, as template.yaml sizes them)."""
    if memory_mb is None:
        memory_mb = {f.arn: f.memory_mb for f in cloud.functions.values()}
    return execution_cost(history(cloud, name, machine), memory_mb)


def record_sets_beyond_the_zones_own(zone_id: str) -> int:
    """Record sets in a hosted zone other than its SOA and NS: what provisioning published
    there (and the tenant's own, where it added any)."""
    import boto3

    route53 = boto3.client("route53", region_name=REGION)
    pages = route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id)
    return sum(
        1
        for page in pages
        for record in page["ResourceRecordSets"]
        if record["Type"] not in ("SOA", "NS")
    )


def transitions(events: list[dict[str, Any]]) -> int:
    """State transitions as Step Functions bills them (states entered, and task retries)."""
    return execution_cost(events).transitions


def lambda_invocations(events: list[dict[str, Any]]) -> int:
    """Lambda tasks scheduled, retries included."""
    return execution_cost(events).lambda_calls
