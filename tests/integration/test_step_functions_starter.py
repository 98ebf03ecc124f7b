"""Starting the provisioning workflow for real, against moto's Step Functions: one attempt is one
execution however often it is started, the input holds ids only, and a start that fails leaves
the inbox queued with no execution recorded (for reconcile to start again)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import boto3
import pytest

from inboxfleet.db import Database, system_session, tenant_session
from inboxfleet.db.repositories import Domains, Inboxes, TenantDirectory
from inboxfleet.lifecycles import InboxStatus
from inboxfleet.provisioning.ports import StartRequest
from inboxfleet.provisioning.start import start_queued
from inboxfleet.provisioning.step_functions import StepFunctionsStarter
from tests.aws_support import moto_aws

# A machine that waits: its executions stay RUNNING while the test looks at them.
WAITING = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}
ROLE = "arn:aws:iam::123456789012:role/provisioning"


@pytest.fixture
def sfn(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    with moto_aws(monkeypatch):
        client = boto3.client("stepfunctions")
        arn = client.create_state_machine(
            name="provision-inbox", definition=json.dumps(WAITING), roleArn=ROLE
        )["stateMachineArn"]
        yield client, arn


def executions(client: Any, arn: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = client.list_executions(stateMachineArn=arn)["executions"]
    return listed


def test_one_attempt_is_one_execution_however_often_it_is_started(
    sfn: tuple[Any, str],
) -> None:
    client, arn = sfn
    starter = StepFunctionsStarter(arn, client)
    tenant_id, inbox_id = uuid4(), uuid4()
    request = StartRequest.for_attempt(tenant_id, inbox_id, 1)
    starter.start(request)
    starter.start(request)  # while it runs: the same execution
    [running] = executions(client, arn)
    assert running["name"] == f"{inbox_id}-1"
    described = client.describe_execution(executionArn=running["executionArn"])
    assert json.loads(described["input"]) == {
        "tenant_id": str(tenant_id),
        "inbox_id": str(inbox_id),
    }

    client.stop_execution(executionArn=running["executionArn"])
    starter.start(request)  # once it has ended: Step Functions refuses the name, started before
    assert len(executions(client, arn)) == 1
    starter.start(StartRequest.for_attempt(tenant_id, inbox_id, 2))  # a new attempt
    assert sorted(e["name"] for e in executions(client, arn)) == [f"{inbox_id}-1", f"{inbox_id}-2"]


def test_a_failed_start_leaves_the_inbox_queued_with_no_execution_recorded(
    sfn: tuple[Any, str], app_db: Database
) -> None:
    client, arn = sfn
    with system_session("test.starter") as s:
        tenant = TenantDirectory(s).create(f"Co {uuid4().hex[:6]}", "ops@co.example")
    with tenant_session(tenant.id) as s:
        domain = Domains(s).add(f"s{uuid4().hex[:10]}.example")
        inboxes = Inboxes(s)
        first = inboxes.add(domain.id, f"a@{domain.name}")
        second = inboxes.add(domain.id, f"b@{domain.name}")
        for inbox in (first, second):
            inboxes.transition(inbox.id, InboxStatus.QUEUED, by="tenant", why="test")
        queued = [inboxes.get(first.id), inboxes.get(second.id)]
    assert all(q is not None for q in queued)
    nowhere = arn.replace("provision-inbox", "no-such-machine")
    with pytest.raises(client.exceptions.StateMachineDoesNotExist):
        start_queued(tenant.id, [q for q in queued if q], StepFunctionsStarter(nowhere, client))
    with tenant_session(tenant.id) as s:
        after = [Inboxes(s).get(first.id), Inboxes(s).get(second.id)]
    assert [(i.status, i.execution_name) for i in after if i] == [
        (InboxStatus.QUEUED, None),
        (InboxStatus.QUEUED, None),
    ]
    assert executions(client, arn) == []

    names = start_queued(tenant.id, [q for q in queued if q], StepFunctionsStarter(arn, client))
    assert sorted(names) == sorted(f"{i.id}-{i.attempt}" for i in queued if i)
    assert sorted(e["name"] for e in executions(client, arn)) == sorted(names)
