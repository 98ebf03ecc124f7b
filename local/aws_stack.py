"""Deploy template.yaml's resources into moto, as `sam deploy` would into an account.

Queues (with their redrive policies), KMS keys, EventBridge rules (pattern and targets) and state
machines (the ASL files with the template's `DefinitionSubstitutions` applied) are created in
moto; functions, roles, log groups,
alarms and the HTTP API get the names a deployment would give them, so every `!Ref` and `!GetAtt`
in the template resolves to something real locally. Functions run in-process (local.stepfunctions
dispatches Lambda invocations to their handlers): moto's Lambda backend only needs their names.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.intrinsics import IntrinsicError, Physical, Stack, Unresolved
from local.template import REPO_ROOT

# Deployed only as names: nothing local reads them (IAM is not enforced locally, logs go to
# stdout, alarms have no metrics to watch).
NAMED_ONLY = frozenset(
    {
        "AWS::IAM::Role",
        "AWS::Logs::LogGroup",
        "AWS::CloudWatch::Alarm",
        "AWS::Serverless::LayerVersion",
        "AWS::Lambda::Permission",
        "AWS::SQS::QueuePolicy",
    }
)


@dataclass(frozen=True)
class DeployedFunction:
    logical_id: str
    name: str
    arn: str
    timeout_s: int
    memory_mb: int
    environment: dict[str, str]


class AwsStack:
    """The template's resources in moto, and what a function sees of them.

    `clients(service)` returns a boto3 client (moto must be active); `root` is where relative
    paths (DefinitionUri, CodeUri) are read from."""

    def __init__(self, stack: Stack, clients: Callable[[str], Any], root: Path = REPO_ROOT) -> None:
        self.stack = stack
        self._clients = clients
        self._root = root
        self.state_machines: dict[str, str] = {}  # logical id -> ARN

    @property
    def resources(self) -> dict[str, Any]:
        found: dict[str, Any] = self.stack.template.get("Resources") or {}
        return found

    def deploy(self) -> None:
        """Create every resource once its references resolve (the template's own order need not
        be the dependency order)."""
        pending = [
            logical_id
            for logical_id, resource in self.resources.items()
            if not self._skipped(resource)
        ]
        while pending:
            waiting: list[str] = []
            for logical_id in pending:
                try:
                    self.stack.resources[logical_id] = self._deploy(logical_id)
                except Unresolved:
                    waiting.append(logical_id)
            if len(waiting) == len(pending):
                raise IntrinsicError(f"circular or missing references among {waiting}")
            pending = waiting

    def _skipped(self, resource: dict[str, Any]) -> bool:
        condition = resource.get("Condition")
        return condition is not None and not self.stack.condition(condition)

    def _name(self, logical_id: str) -> str:
        return f"{self.stack.name}-{logical_id}"

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.stack.region}:{self.stack.account_id}:{resource}"

    def _deploy(self, logical_id: str) -> Physical:
        resource = self.resources[logical_id]
        kind = resource.get("Type")
        props = self.stack.resolve(resource.get("Properties") or {})
        deployers: dict[str, Callable[[str, dict[str, Any]], Physical]] = {
            "AWS::SQS::Queue": self._queue,
            "AWS::KMS::Key": self._kms_key,
            "AWS::Serverless::StateMachine": self._state_machine,
            "AWS::Serverless::Function": self._function,
            "AWS::Serverless::HttpApi": self._http_api,
            "AWS::IAM::Role": self._role,
            "AWS::Logs::LogGroup": self._log_group,
            "AWS::Serverless::LayerVersion": self._layer,
            # Schedules are not run by moto: local.schedules fires them by hand.
            "AWS::Scheduler::Schedule": self._schedule,
            "AWS::Events::Rule": self._rule,
        }
        if kind in deployers:
            return deployers[kind](logical_id, props)
        if kind in NAMED_ONLY:
            return Physical(self._name(logical_id))
        raise IntrinsicError(f"{logical_id}: {kind} is not deployed by the local cloud")

    # ---- resources known by name only ----------------------------------------------------

    def _function(self, logical_id: str, props: dict[str, Any]) -> Physical:
        name = props.get("FunctionName") or self._name(logical_id)
        return Physical(name, {"Arn": self._arn("lambda", f"function:{name}")})

    def _http_api(self, logical_id: str, props: dict[str, Any]) -> Physical:
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        api_id = "".join(secrets.choice(alphabet) for _ in range(10))
        return Physical(api_id, {"ApiId": api_id})

    def _role(self, logical_id: str, props: dict[str, Any]) -> Physical:
        name = props.get("RoleName") or self._name(logical_id)
        return Physical(name, {"Arn": f"arn:aws:iam::{self.stack.account_id}:role/{name}"})

    def _log_group(self, logical_id: str, props: dict[str, Any]) -> Physical:
        name = props.get("LogGroupName") or self._name(logical_id)
        return Physical(name, {"Arn": self._arn("logs", f"log-group:{name}:*")})

    def _schedule(self, logical_id: str, props: dict[str, Any]) -> Physical:
        name = props.get("Name") or self._name(logical_id)
        group = props.get("GroupName", "default")
        return Physical(name, {"Arn": self._arn("scheduler", f"schedule/{group}/{name}")})

    def _rule(self, logical_id: str, props: dict[str, Any]) -> Physical:
        """A rule on the default bus, in moto's EventBridge with its pattern and targets (moto
        matches what is put on the bus and delivers to SQS targets; schedules it never fires:
        local.schedules does)."""
        name = props.get("Name") or self._name(logical_id)
        rule: dict[str, Any] = {"Name": name, "State": props.get("State", "ENABLED")}
        if "EventPattern" in props:
            rule["EventPattern"] = json.dumps(props["EventPattern"])
        if "ScheduleExpression" in props:
            rule["ScheduleExpression"] = props["ScheduleExpression"]
        events = self._clients("events")
        arn = events.put_rule(**rule)["RuleArn"]
        targets = [{"Id": t["Id"], "Arn": t["Arn"]} for t in props.get("Targets") or []]
        if targets:
            events.put_targets(Rule=name, Targets=targets)
        return Physical(name, {"Arn": arn})

    def _layer(self, logical_id: str, props: dict[str, Any]) -> Physical:
        name = props.get("LayerName") or self._name(logical_id)
        return Physical(self._arn("lambda", f"layer:{name}:1"))

    # ---- resources moto holds ------------------------------------------------------------

    def _queue(self, logical_id: str, props: dict[str, Any]) -> Physical:
        name = props.pop("QueueName", None) or self._name(logical_id)
        props.pop("Tags", None)
        attributes = {key: _attribute(value) for key, value in props.items()}
        sqs = self._clients("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = self._arn("sqs", name)
        return Physical(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})

    def _kms_key(self, logical_id: str, props: dict[str, Any]) -> Physical:
        key = self._clients("kms").create_key(
            Description=props.get("Description", ""), Policy=json.dumps(props.get("KeyPolicy", {}))
        )["KeyMetadata"]
        return Physical(key["KeyId"], {"Arn": key["Arn"], "KeyId": key["KeyId"]})

    def _state_machine(self, logical_id: str, props: dict[str, Any]) -> Physical:
        definition = self._definition(logical_id, props)
        name = props.get("Name") or self._name(logical_id)
        arn = self._clients("stepfunctions").create_state_machine(
            name=name,
            definition=definition,
            roleArn=props.get("Role") or f"arn:aws:iam::{self.stack.account_id}:role/{name}",
            type=props.get("Type", "STANDARD"),
        )["stateMachineArn"]
        self.state_machines[logical_id] = arn
        return Physical(arn, {"Arn": arn, "Name": name})

    def _definition(self, logical_id: str, props: dict[str, Any]) -> str:
        try:
            text = definition_text(props, self._root)
        except ValueError as exc:
            raise IntrinsicError(f"{logical_id}: {exc}") from None
        substitutions = props.get("DefinitionSubstitutions") or {}

        def value(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in substitutions:
                raise IntrinsicError(
                    f"{logical_id}: no DefinitionSubstitutions value for ${{{key}}}"
                )
            return str(substitutions[key])

        substituted = PLACEHOLDER.sub(value, text)
        json.loads(substituted)  # a broken substitution must fail here, not in an execution
        return substituted

    # ---- what functions see --------------------------------------------------------------

    def functions(self) -> dict[str, DeployedFunction]:
        """Every deployed function with its timeout, memory and resolved environment
        (Globals first, the function's own variables over them)."""
        template = self.stack.template
        globals_ = self.stack.resolve((template.get("Globals") or {}).get("Function") or {})
        found: dict[str, DeployedFunction] = {}
        for logical_id, resource in self.resources.items():
            if resource.get("Type") != "AWS::Serverless::Function" or self._skipped(resource):
                continue
            props = self.stack.resolve(resource.get("Properties") or {})
            variables = {
                **((globals_.get("Environment") or {}).get("Variables") or {}),
                **((props.get("Environment") or {}).get("Variables") or {}),
            }
            physical = self.stack.resources[logical_id]
            found[logical_id] = DeployedFunction(
                logical_id=logical_id,
                name=physical.ref,
                arn=physical.attributes["Arn"],
                timeout_s=int(props.get("Timeout", globals_.get("Timeout", 3))),
                memory_mb=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
                environment={k: _text(v) for k, v in variables.items()},
            )
        return found


# A DefinitionSubstitutions placeholder in a state machine's definition.
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def definition_text(props: dict[str, Any], root: Path) -> str:
    """A state machine's definition as written: its inline Definition as JSON, or the file its
    DefinitionUri names (ValueError for neither; OSError when the file cannot be read)."""
    if "Definition" in props:
        return json.dumps(props["Definition"])
    uri = props.get("DefinitionUri")
    if uri is None:
        raise ValueError("neither Definition nor DefinitionUri")
    if not isinstance(uri, str):
        raise ValueError(f"DefinitionUri is not a local file: {uri!r}")
    return (root / uri).read_text(encoding="utf-8")


def _attribute(value: Any) -> str:
    """A queue property as the SQS API's attribute text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
