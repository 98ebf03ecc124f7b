"""local/statelint_check.py: statelint over a template's state machines, placeholders replaced by
dummies of the right kind, run against temporary templates and ASL files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local.statelint_check import main
from local.template import REPO_ROOT

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  WorkerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/worker
      Handler: app.handler
  WorkQueue:
    Type: AWS::SQS::Queue
  ReportMachine:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: statemachines/report.asl.json
  ProvisionMachine:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: statemachines/provision.asl.json
      DefinitionSubstitutions:
        WorkerFunctionArn: !GetAtt WorkerFunction.Arn
        Worker: !Ref WorkerFunction
        WorkQueueUrl: !Ref WorkQueue
        ReportMachineArn: !GetAtt ReportMachine.Arn
        Stage: prod
"""

REPORT = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}


def provision(**replace: dict[str, Any]) -> dict[str, Any]:
    """A valid machine using every kind of placeholder; `replace` swaps whole states."""
    states: dict[str, Any] = {
        "Install": {
            "Type": "Task",
            "Resource": "${WorkerFunctionArn}",
            # Integral: statelint's FLOAT complaint is switched off (Step Functions accepts it).
            "Retry": [{"ErrorEquals": ["Sandbox.Timedout"], "MaxAttempts": 2, "BackoffRate": 2}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Notify"}],
            "Next": "Verify",
        },
        "Verify": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${Worker}", "Payload": {"stage": "${Stage}"}},
            "Next": "Report",
        },
        "Report": {
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution",
            "Parameters": {"StateMachineArn": "${ReportMachineArn}", "Input.$": "$"},
            "End": True,
        },
        "Notify": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": "${WorkQueueUrl}", "MessageBody.$": "$"},
            "Next": "Failed",
        },
        "Failed": {"Type": "Fail", "Error": "ProvisioningFailed"},
    }
    states.update(replace)
    return {"StartAt": "Install", "States": states}


def write(root: Path, machine: dict[str, Any], template: str = TEMPLATE) -> Path:
    (root / "statemachines").mkdir()
    (root / "statemachines" / "report.asl.json").write_text(json.dumps(REPORT))
    (root / "statemachines" / "provision.asl.json").write_text(json.dumps(machine, indent=2))
    path = root / "template.yaml"
    path.write_text(template)
    return path


def test_valid_machines_pass_with_every_placeholder_substituted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = write(tmp_path, provision())

    assert main([str(template)]) == 0
    assert capsys.readouterr().out == (
        "statelint check: 2 state machine(s) valid: ReportMachine, ProvisionMachine\n"
    )


def test_a_next_to_a_missing_state_fails_naming_the_machine_and_the_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = provision(Verify={"Type": "Pass", "Next": "Reprot"})
    template = write(tmp_path, broken)

    assert main([str(template)]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert errors[0] == "statelint check: 2 problem(s):"
    assert errors[1:] == [
        "  ProvisionMachine (statemachines/provision.asl.json): "
        'No state found named "Reprot", referenced at State Machine.States.Verify.Next',
        "  ProvisionMachine (statemachines/provision.asl.json): "
        "No transition found to state State Machine.Report",
    ]


def test_a_placeholder_without_a_substitution_fails_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    machine = provision(
        Verify={"Type": "Task", "Resource": "${CheckerFunctionArn}", "Next": "Report"},
        Report={"Type": "Pass", "Result": "${AWS::Region}", "End": True},
    )
    template = write(tmp_path, machine)

    assert main([str(template)]) == 1
    assert capsys.readouterr().err.splitlines()[1:] == [
        "  ProvisionMachine (statemachines/provision.asl.json): "
        "no DefinitionSubstitutions value for ${CheckerFunctionArn}"
    ]
    # Declared now: what is left over is the pseudo parameter, which SAM does not substitute.
    template.write_text(TEMPLATE + "        CheckerFunctionArn: arn:aws:lambda:x\n")
    assert main([str(template)]) == 1
    assert capsys.readouterr().err.splitlines()[1:] == [
        "  ProvisionMachine (statemachines/provision.asl.json): "
        "placeholders DefinitionSubstitutions cannot fill: ${AWS::Region}"
    ]


def test_a_value_that_is_no_arn_is_substituted_as_its_key_and_is_no_task_resource(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = write(
        tmp_path,
        provision(Verify={"Type": "Task", "Resource": "${WorkQueueUrl}", "Next": "Report"}),
    )

    assert main([str(template)]) == 1
    assert capsys.readouterr().err.splitlines()[1:] == [
        "  ProvisionMachine (statemachines/provision.asl.json): "
        'State Machine.States.Verify.Resource is "WorkQueueUrl" but should be A URI'
    ]


def test_an_unreadable_or_malformed_definition_is_a_problem_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = write(tmp_path, provision())
    (tmp_path / "statemachines" / "report.asl.json").unlink()
    (tmp_path / "statemachines" / "provision.asl.json").write_text('{"StartAt": "Install",')

    assert main([str(template)]) == 1
    problems = capsys.readouterr().err.splitlines()[1:]
    assert len(problems) == 2
    assert problems[0].startswith(
        "  ReportMachine (statemachines/report.asl.json): cannot read the definition: "
    )
    assert problems[1].startswith(
        "  ProvisionMachine (statemachines/provision.asl.json): not valid JSON once substituted: "
    )


def test_a_template_without_state_machines_has_nothing_to_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE.split("  ReportMachine:", maxsplit=1)[0])

    assert main([str(template)]) == 0
    assert capsys.readouterr().out == (
        "statelint check: no AWS::Serverless::StateMachine in template.yaml: nothing to check\n"
    )


def test_it_runs_as_a_module_and_fails_the_command(tmp_path: Path) -> None:
    template = write(tmp_path, provision(Verify={"Type": "Pass"}))

    ran = subprocess.run(
        [sys.executable, "-m", "local.statelint_check", str(template)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert ran.returncode == 1, ran.stderr
    assert "ProvisionMachine (statemachines/provision.asl.json)" in ran.stderr
    assert "State Machine.States.Verify does not have required field" in ran.stderr
