"""statelint over every state machine in template.yaml, as it would be deployed, without deploying.

    python -m local.statelint_check [TEMPLATE]    # default: the repo's template.yaml

cfn-lint does not look inside an `AWS::Serverless::StateMachine`'s definition; statelint (PyPI)
validates Amazon States Language, but only once the `${...}` placeholders are gone. So each
machine's definition (its `DefinitionUri`, read from the template's folder, or an inline
`Definition`) gets its `DefinitionSubstitutions` applied as local/aws_stack.py applies them when
it deploys into moto - text substituted, then parsed as JSON - except that every value is a
dummy standing for the resource it names:

- a literal string: itself, as deployed;
- a Lambda function (the key ends in `FunctionArn`, or the value refers to a function or is a
  `Fn::Sub` of a lambda ARN): `arn:aws:lambda:us-east-1:123456789012:function:<logical id>`,
  valid wherever ASL wants a function (a task's `Resource`, lambda:invoke's `FunctionName`);
- any other ARN (`!GetAtt X.Arn`, or a key ending in `Arn`): an ARN of the resource's service;
- anything else (a `Ref` to a queue, a parameter, ...): the key's own name.

A placeholder without a substitution, a `${...}` left after substitution and a definition that
is not a JSON object are reported alongside statelint's problems. Exit status: 0 when every
machine is valid (or there is none), 1 when any problem was found, 2 when the check cannot run
(no statelint, no template).
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.aws_stack import PLACEHOLDER, definition_text
from local.template import TEMPLATE_PATH, TemplateError, load_template

STATE_MACHINE = "AWS::Serverless::StateMachine"
DUMMY_REGION = "us-east-1"
DUMMY_ACCOUNT = "123456789012"
LAMBDA_TYPES = frozenset({"AWS::Serverless::Function", "AWS::Lambda::Function"})
# The ARN's service where it is not the type's second part lowercased.
_ARN_SERVICES = {
    "AWS::Serverless::Function": "lambda",
    "AWS::Serverless::StateMachine": "states",
    "AWS::StepFunctions::StateMachine": "states",
    "AWS::Serverless::SimpleTable": "dynamodb",
    "AWS::Serverless::HttpApi": "execute-api",
    "AWS::Serverless::Api": "execute-api",
    "AWS::Serverless::LayerVersion": "lambda",
}
# Anything still looking like one afterwards: deployed, it would stay in the definition as text.
_LEFT_OVER = re.compile(r"\$\{[^}]*\}")

Validator = Callable[[dict[str, Any]], list[str]]


class StatelintMissing(Exception):
    """statelint is not installed where this Python looks."""


@dataclass(frozen=True)
class Problem:
    machine: str  # the state machine's logical id
    source: str  # its DefinitionUri, or "Definition" when inline
    message: str

    def __str__(self) -> str:
        return f"{self.machine} ({self.source}): {self.message}"


@dataclass(frozen=True)
class Report:
    machines: list[str]  # logical ids checked, in template order
    problems: list[Problem]


def check(template_path: Path = TEMPLATE_PATH) -> Report:
    """Every AWS::Serverless::StateMachine of the template, checked. statelint is imported only
    when there is a machine to check (StatelintMissing if it cannot be); TemplateError when the
    template cannot be read."""
    template = load_template(template_path)
    resources: dict[str, Any] = template.get("Resources") or {}
    machines = [
        logical_id
        for logical_id, resource in resources.items()
        if isinstance(resource, dict) and resource.get("Type") == STATE_MACHINE
    ]
    problems: list[Problem] = []
    if machines:
        validate = statelint_validator()
        for logical_id in machines:
            props = resources[logical_id].get("Properties") or {}
            problems += _check_machine(logical_id, props, resources, template_path.parent, validate)
    return Report(machines, problems)


def statelint_validator() -> Validator:
    """statelint's Linter, in-process, as `statelint --ignore=FLOAT` runs it."""
    try:
        # By name: statelint ships no type information, and it may be absent (then this says so).
        linter = importlib.import_module("statelint.linter")
        config = importlib.import_module("statelint.config")
        problem = importlib.import_module("statelint.problem")
    except ImportError as exc:
        raise StatelintMissing(
            f"statelint is not installed ({exc}): it is pinned in requirements-dev.in"
        ) from None
    # FLOAT flags an integral BackoffRate (`2` rather than `2.0`): JSON has one number type and
    # Step Functions accepts both, so that complaint is noise.
    settings = config.Config(ignored_problem_types={problem.ProblemType.FLOAT})

    def validate(definition: dict[str, Any]) -> list[str]:
        return [str(p) for p in linter.Linter.validate(definition, settings)]

    return validate


class _Unusable(Exception):
    """The definition cannot be handed to statelint; its args are the problems."""


def _check_machine(
    logical_id: str,
    props: dict[str, Any],
    resources: dict[str, Any],
    root: Path,
    validate: Validator,
) -> list[Problem]:
    uri = props.get("DefinitionUri")
    source = uri if isinstance(uri, str) else "Definition"
    try:
        definition = _substituted(_definition_text(props, root), props, resources)
        messages = validate(definition)
    except _Unusable as unusable:
        messages = [str(message) for message in unusable.args]
    return [Problem(logical_id, source, message) for message in messages]


def _definition_text(props: dict[str, Any], root: Path) -> str:
    """The definition as the local cloud reads it (aws_stack.definition_text)."""
    try:
        return definition_text(props, root)
    except ValueError as exc:
        raise _Unusable(str(exc)) from None
    except OSError as exc:
        raise _Unusable(f"cannot read the definition: {exc}") from None


def _substituted(text: str, props: dict[str, Any], resources: dict[str, Any]) -> dict[str, Any]:
    """The definition with every placeholder replaced by its dummy, parsed."""
    substitutions = props.get("DefinitionSubstitutions") or {}
    if not isinstance(substitutions, dict):
        raise _Unusable("DefinitionSubstitutions is not a mapping")
    missing = sorted({key for key in PLACEHOLDER.findall(text) if key not in substitutions})
    if missing:
        raise _Unusable(*(f"no DefinitionSubstitutions value for ${{{key}}}" for key in missing))
    substituted = PLACEHOLDER.sub(
        lambda m: _dummy(m.group(1), substitutions[m.group(1)], resources), text
    )
    left_over = sorted(set(_LEFT_OVER.findall(substituted)))
    if left_over:
        raise _Unusable(f"placeholders DefinitionSubstitutions cannot fill: {', '.join(left_over)}")
    try:
        definition = json.loads(substituted)
    except ValueError as exc:
        raise _Unusable(f"not valid JSON once substituted: {exc}") from None
    if not isinstance(definition, dict):
        raise _Unusable("the definition is not a JSON object")
    return definition


def _dummy(key: str, value: Any, resources: dict[str, Any]) -> str:
    """What stands for `value` (the template's DefinitionSubstitutions value for `key`)."""
    if not isinstance(value, dict | list):
        return str(value)  # a literal: deployed as it is
    target, attribute = _referenced(value)
    target_type = (resources.get(target) or {}).get("Type") if target else None
    name = target or key.removesuffix("Arn")
    if (
        key.endswith("FunctionArn")
        or target_type in LAMBDA_TYPES
        or ":lambda:" in json.dumps(value.get("Fn::Sub", "") if isinstance(value, dict) else "")
    ):
        return f"arn:aws:lambda:{DUMMY_REGION}:{DUMMY_ACCOUNT}:function:{name}"
    if attribute == "Arn" or key.endswith("Arn"):
        service = "unknown"
        if isinstance(target_type, str) and target_type.count("::") == 2:
            service = _ARN_SERVICES.get(target_type) or target_type.split("::")[1].lower()
        return f"arn:aws:{service}:{DUMMY_REGION}:{DUMMY_ACCOUNT}:{name}"
    return key


def _referenced(value: Any) -> tuple[str | None, str | None]:
    """The logical id a `Ref` or `Fn::GetAtt` names, and the attribute (None for a Ref)."""
    if not isinstance(value, dict):
        return None, None
    if isinstance(value.get("Ref"), str):
        return value["Ref"], None
    get_att = value.get("Fn::GetAtt")
    if isinstance(get_att, str):  # the JSON template's "X.Arn" form
        get_att = get_att.split(".", 1)
    if isinstance(get_att, list) and len(get_att) == 2 and all(isinstance(p, str) for p in get_att):
        return get_att[0], get_att[1]
    return None, None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.statelint_check",
        description="Validate the template's state machines with statelint.",
    )
    parser.add_argument("template", nargs="?", type=Path, default=TEMPLATE_PATH)
    args = parser.parse_args(argv)
    template: Path = args.template
    try:
        report = check(template)
    except (TemplateError, StatelintMissing) as exc:
        print(f"statelint check: {exc}", file=sys.stderr)
        return 2
    if not report.machines:
        print(f"statelint check: no {STATE_MACHINE} in {template.name}: nothing to check")
        return 0
    if not report.problems:
        print(
            f"statelint check: {len(report.machines)} state machine(s) valid: "
            + ", ".join(report.machines)
        )
        return 0
    print(f"statelint check: {len(report.problems)} problem(s):", file=sys.stderr)
    for found in report.problems:
        print(f"  {found}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
