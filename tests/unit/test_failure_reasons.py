"""What a failed inbox says: the step, the named error and its message, from whatever the
Catch handed over (Lambda's error document, Step Functions' own text, nothing at all)."""

from __future__ import annotations

import json

from inboxfleet.inventory.undo import REASON_LIMIT, failure_reason


def lambda_cause(message: str, error_type: str = "RemoteCommandFailed") -> str:
    return json.dumps(
        {
            "errorMessage": message,
            "errorType": error_type,
            "requestId": "r-1",
            "stackTrace": ['  File "/var/task/app.py", line 9, in lambda_handler\n'],
        }
    )


def test_a_lambda_error_gives_its_message_and_never_its_stack_trace() -> None:
    reason = failure_reason(
        "install_mailu", "RemoteCommandFailed", lambda_cause("docker compose up exited 1: no space")
    )
    assert reason == (
        "install mailu failed: RemoteCommandFailed: docker compose up exited 1: no space"
    )
    assert "app.py" not in reason


def test_step_functions_own_errors_are_text_and_a_missing_cause_is_no_message() -> None:
    assert failure_reason(None, "States.Timeout", "Task timed out") == (
        "provisioning failed: States.Timeout: Task timed out"
    )
    assert failure_reason("create_server", "VpsNeverActive", None) == (
        "create server failed: VpsNeverActive"
    )


def test_a_long_message_is_cut_to_what_the_column_holds() -> None:
    reason = failure_reason("publish_dns", "DnsConflict", lambda_cause("x" * 5000))
    assert len(reason) == REASON_LIMIT
    assert reason.endswith("…")
