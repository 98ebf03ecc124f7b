"""Template snippets for the local HTTP API's tests."""

from __future__ import annotations

from typing import Any

ECHO_CODE_URI = "tests/fixtures/echo_function/"


def http_function(handler: str, api: dict[str, Any] | None = None, **events: Any) -> dict[str, Any]:
    """An AWS::Serverless::Function of the test echo code whose `HttpApi` events are `events`
    (name -> properties), each given the `api` properties (e.g. its ApiId) first."""
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": ECHO_CODE_URI,
            "Handler": handler,
            "Events": {
                name: {"Type": "HttpApi", "Properties": {**(api or {}), **props}}
                for name, props in events.items()
            },
        },
    }
