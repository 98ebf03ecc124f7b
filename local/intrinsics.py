"""CloudFormation's intrinsic functions, evaluated the way a deployment would, for the local cloud.

template.yaml says where every value comes from (`!Ref`, `!GetAtt`, `!Sub`, `!If` ...); the local
cloud reads the same text instead of keeping a second copy of names and wiring. Resources are
known by what their deployment produced (`Physical`: the Ref value and the attributes), parameters
by their local values over the template's defaults, conditions from the template.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"


class IntrinsicError(Exception):
    """The template uses something the local cloud cannot evaluate (or names what is absent)."""


class Unresolved(IntrinsicError):
    """A value refers to a resource that is not deployed yet (the caller may retry later)."""

    def __init__(self, logical_id: str) -> None:
        super().__init__(f"{logical_id} is not deployed yet")
        self.logical_id = logical_id


class _NoValue:
    """`AWS::NoValue`: the property it stands in is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


@dataclass(frozen=True)
class Physical:
    """What deploying a resource produced: its `Ref` value and its `GetAtt` attributes."""

    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Stack:
    """One stack's names and values: evaluate any template value with `resolve`."""

    template: Mapping[str, Any]
    parameters: Mapping[str, str]
    name: str
    region: str
    account_id: str
    resources: dict[str, Physical] = field(default_factory=dict)

    def __post_init__(self) -> None:
        declared = self.template.get("Parameters") or {}
        unknown = set(self.parameters) - set(declared)
        if unknown:
            raise IntrinsicError(f"values for parameters the template lacks: {sorted(unknown)}")
        self._parameters: dict[str, Any] = {}
        for name, spec in declared.items():
            if name in self.parameters:
                raw: Any = self.parameters[name]
            elif "Default" in spec:
                raw = spec["Default"]
            else:
                raise IntrinsicError(f"parameter {name} has no default and no local value")
            self._parameters[name] = _parameter_value(spec.get("Type", "String"), raw)

    # ---- pseudo parameters and names -----------------------------------------------------

    @property
    def pseudo(self) -> dict[str, Any]:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": PARTITION,
            "AWS::StackName": self.name,
            "AWS::URLSuffix": URL_SUFFIX,
            "AWS::NoValue": NO_VALUE,
        }

    def parameter(self, name: str) -> Any:
        if name not in self._parameters:
            raise IntrinsicError(f"no parameter {name}")
        return self._parameters[name]

    def condition(self, name: str) -> bool:
        conditions = self.template.get("Conditions") or {}
        if name not in conditions:
            raise IntrinsicError(f"no condition {name}")
        return bool(self.resolve(conditions[name]))

    # ---- evaluation ----------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic evaluated; `AWS::NoValue` drops keys and items."""
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Condition":
                return self.condition(arg)
            if key.startswith("Fn::"):
                return self._function(key, arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self._parameters:
            return self._parameters[name]
        if name in self.resources:
            return self.resources[name].ref
        if name in (self.template.get("Resources") or {}):
            raise Unresolved(name)
        raise IntrinsicError(f"!Ref {name}: no such parameter or resource")

    def with_arn(self, arn: str) -> str | None:
        """The logical id of the deployed resource whose ARN this is (None: not one of ours)."""
        found = (lid for lid, done in self.resources.items() if done.attributes.get("Arn") == arn)
        return next(found, None)

    def get_att(self, logical_id: str, attribute: str) -> str:
        if logical_id not in self.resources:
            if logical_id in (self.template.get("Resources") or {}):
                raise Unresolved(logical_id)
            raise IntrinsicError(f"!GetAtt {logical_id}.{attribute}: no such resource")
        attributes = self.resources[logical_id].attributes
        if attribute not in attributes:
            raise IntrinsicError(f"!GetAtt {logical_id}.{attribute}: not known locally")
        return attributes[attribute]

    def _function(self, name: str, arg: Any) -> Any:
        functions: dict[str, Callable[[Any], Any]] = {
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::If": self._if,
            "Fn::Equals": lambda a: str(self.resolve(a[0])) == str(self.resolve(a[1])),
            "Fn::Not": lambda a: not self.resolve(a[0]),
            "Fn::And": lambda a: all(self.resolve(v) for v in a),
            "Fn::Or": lambda a: any(self.resolve(v) for v in a),
            "Fn::Join": lambda a: str(a[0]).join(str(v) for v in self.resolve(a[1])),
            "Fn::Select": lambda a: self.resolve(a[1])[int(self.resolve(a[0]))],
            "Fn::Split": lambda a: str(self.resolve(a[1])).split(a[0]),
        }
        if name not in functions:
            raise IntrinsicError(f"{name} is not supported by the local cloud")
        return functions[name](arg)

    def _get_att(self, arg: Any) -> str:
        logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
        return self.get_att(logical_id, self.resolve(attribute))

    def _if(self, arg: Any) -> Any:
        condition, when_true, when_false = arg
        return self.resolve(when_true if self.condition(condition) else when_false)

    _PLACEHOLDER = re.compile(r"\$\{(!?)([^}]*)\}")

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        local = {k: self.resolve(v) for k, v in variables.items()}

        def value(match: re.Match[str]) -> str:
            literal, name = match.groups()
            if literal:  # ${!Name} is the text ${Name}
                return "${" + name + "}"
            if name in local:
                return str(local[name])
            if "." in name and name.split(".", 1)[0] in (self.template.get("Resources") or {}):
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            found = self._ref(name)
            if isinstance(found, list):
                raise IntrinsicError(f"!Sub ${{{name}}} is a list")
            return str(found)

        return self._PLACEHOLDER.sub(value, text)


def _parameter_value(kind: str, raw: Any) -> Any:
    """What `!Ref` gives for a parameter: lists for list types, text for everything else."""
    if kind == "CommaDelimitedList" or kind.startswith("List<"):
        items = raw if isinstance(raw, list) else str(raw).split(",")
        return [str(item).strip() for item in items if str(item).strip()]
    return str(raw)
