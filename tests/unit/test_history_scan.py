"""The execution-history scan the secret test relies on must see a secret however the history
holds it: inside a JSON document (an input or output), with its newlines escaped there."""

from __future__ import annotations

import json

from tests.provisioning_support import payloads

PEM = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----\n"
)


def test_a_multi_line_secret_inside_an_output_document_is_found() -> None:
    output = json.dumps({"reserved": {"nested": [{"key": PEM}]}})
    events = [{"taskSucceededEventDetails": {"output": output, "resourceType": "lambda"}}]
    assert PEM in payloads(events)


def test_a_secret_in_plain_detail_text_is_found() -> None:
    events = [{"executionFailedEventDetails": {"error": "Oops", "cause": f"leaked {PEM}"}}]
    assert PEM in payloads(events)


def test_an_event_without_details_yields_nothing_to_search() -> None:
    assert payloads([{"id": 1, "type": "PassStateEntered"}]).strip() == ""
