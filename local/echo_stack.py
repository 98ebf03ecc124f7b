"""template.yaml plus an echo function and a state machine calling it: the stack tests and
benchmarks exercise the local cloud with (local/echo_function), added the way real resources
are, so the same code paths read them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from local.template import load_template

ECHO_ROUTE = "/v1/echo/{id}"


def with_echo(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The template (template.yaml by default) plus `EchoFunction` on the JWT route
    `GET /v1/echo/{id}` (the API's default authorizer) and `EchoMachine`, one Task calling it
    from `local/echo_function/echo.asl.json` with its ARN through DefinitionSubstitutions."""
    found = template if template is not None else load_template()
    resources = found["Resources"]
    resources["EchoFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": "local/echo_function/",
            "Handler": "app.lambda_handler",
            "Events": {
                "Echo": {
                    "Type": "HttpApi",
                    "Properties": {
                        "ApiId": {"Ref": "HttpApi"},
                        "Path": ECHO_ROUTE,
                        "Method": "GET",
                    },
                }
            },
        },
    }
    resources["EchoMachine"] = {
        "Type": "AWS::Serverless::StateMachine",
        "Properties": {
            "DefinitionUri": "local/echo_function/echo.asl.json",
            "DefinitionSubstitutions": {"EchoArn": {"Fn::GetAtt": ["EchoFunction", "Arn"]}},
        },
    }
    return found


def write(template: dict[str, Any], folder: Path) -> Path:
    """The template as a file LocalCloud(template_path=...) reads (long-form intrinsics)."""
    path = folder / "template.yaml"
    path.write_text(yaml.safe_dump(template, sort_keys=False))
    return path
