"""local/stepfunctions.py: moto's ASL interpreter running tests/asl/*.asl.json with Lambda tasks
dispatched to in-process handlers, Wait and Retry pauses scaled down (and recorded unscaled)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
    WaitFunction,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment

from local.lambda_faults import LambdaFault
from local.polling import poll as poll_for
from local.stepfunctions import (
    MOTO_CONFIG,
    Dispatcher,
    LocalFunction,
    Pause,
    local_step_functions,
)

ASL = Path(__file__).resolve().parent.parent / "asl"
ROLE_ARN = "arn:aws:iam::123456789012:role/local"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"
POLL_S = 0.02


class FlakyError(Exception):
    """Transient: the retry machine retries it."""


class OtherError(Exception):
    """Not in the retry machine's ErrorEquals."""


class DomainError(Exception):
    """Caught by the catch machine."""


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(var, value)
    with mock_aws(config=MOTO_CONFIG):
        yield


def sfn() -> Any:
    return boto3.client("stepfunctions", region_name="us-east-1")


def create_machine(asl_file: str) -> str:
    name = asl_file.removesuffix(".asl.json").replace("_", "-")
    definition = (ASL / asl_file).read_text()
    created = sfn().create_state_machine(name=name, definition=definition, roleArn=ROLE_ARN)
    return str(created["stateMachineArn"])


def start(machine_arn: str, name: str, execution_input: dict[str, Any]) -> str:
    started = sfn().start_execution(
        stateMachineArn=machine_arn, name=name, input=json.dumps(execution_input)
    )
    return str(started["executionArn"])


def history(execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn}
    while True:
        page = sfn().get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def wait_for(execution_arn: str, timeout_s: float = 20) -> dict[str, Any]:
    """The execution's description once it is no longer RUNNING (fails the test at the
    deadline, naming the events so far)."""
    deadline = time.monotonic() + timeout_s
    while True:
        described: dict[str, Any] = sfn().describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > deadline:
            events = [e["type"] for e in history(execution_arn)]
            pytest.fail(f"{execution_arn} still RUNNING after {timeout_s} s: {events}")
        time.sleep(POLL_S)


def poll(condition: threading.Event | list[Any], timeout_s: float = 10) -> bool:
    """True once the event is set / the list is non-empty, False at the deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition.is_set() if isinstance(condition, threading.Event) else condition:
            return True
        time.sleep(POLL_S)
    return False


def visited_states(execution_arn: str) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in history(execution_arn)
        if e["type"].endswith("StateEntered")
    ]


def output(described: dict[str, Any]) -> Any:
    return json.loads(described["output"])


# -- Retry -------------------------------------------------------------------------------------


def test_retry_backs_off_on_the_named_exception_class_until_the_task_succeeds(aws: None) -> None:
    attempts: list[Any] = []

    def flaky(event: dict[str, Any], context: Any) -> dict[str, Any]:
        attempts.append(event)
        if len(attempts) <= 2:
            raise FlakyError(f"attempt {len(attempts)} failed")
        return {"attempts": len(attempts)}

    with local_step_functions({"flaky": LocalFunction(flaky)}, time_scale=0.001) as dispatcher:
        machine = create_machine("retry.asl.json")
        described = wait_for(start(machine, "flaky-1", {"job": 7}))

    assert described["status"] == "SUCCEEDED"
    assert output(described) == {"attempts": 3}
    assert attempts == [{"job": 7}] * 3
    assert [i.error_type for i in dispatcher.invocations_of("flaky")] == [
        "FlakyError",
        "FlakyError",
        None,
    ]
    # IntervalSeconds 2, BackoffRate 2: the unscaled intervals AWS would have waited.
    assert dispatcher.pauses == [Pause("retry", 2.0), Pause("retry", 4.0)]


def test_retry_does_not_retry_an_exception_class_outside_error_equals(aws: None) -> None:
    def broken(event: dict[str, Any], context: Any) -> None:
        raise OtherError("not transient")

    with local_step_functions({"flaky": LocalFunction(broken)}, time_scale=0.001) as dispatcher:
        described = wait_for(start(create_machine("retry.asl.json"), "broken-1", {}))

    assert described["status"] == "FAILED"
    assert described["error"] == "OtherError"
    assert json.loads(described["cause"])["errorMessage"] == "not transient"
    assert len(dispatcher.invocations_of("flaky")) == 1
    assert dispatcher.pauses == []


# -- Catch (lambda:invoke integration) ----------------------------------------------------------


def test_catch_matches_the_exception_class_and_hands_the_error_to_the_next_state(
    aws: None,
) -> None:
    compensated: list[dict[str, Any]] = []

    def charge(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event["amount"] > 100:
            raise DomainError(f"card declined for {event['amount']}")
        return {"charged": event["amount"]}

    def compensate(event: dict[str, Any], context: Any) -> dict[str, Any]:
        compensated.append(event)
        return {"compensated": True}

    functions = {"charge": LocalFunction(charge), "compensate": LocalFunction(compensate)}
    with local_step_functions(functions) as dispatcher:
        machine = create_machine("catch.asl.json")
        declined = wait_for(start(machine, "declined", {"amount": 500}))
        accepted = wait_for(start(machine, "accepted", {"amount": 20}))

    assert declined["status"] == "SUCCEEDED"
    assert output(declined) == {"compensated": True}
    [received] = compensated
    assert received["amount"] == 500
    assert received["error"]["Error"] == "DomainError"
    cause = json.loads(received["error"]["Cause"])
    assert cause["errorType"] == "DomainError"
    assert cause["errorMessage"] == "card declined for 500"
    assert any("raise DomainError" in line for line in cause["stackTrace"])

    assert accepted["status"] == "SUCCEEDED"
    assert output(accepted) == {"amount": 20, "charge": {"receipt": {"charged": 20}}}
    assert len(dispatcher.invocations_of("charge")) == 2
    assert len(dispatcher.invocations_of("compensate")) == 1


# -- Choice, Wait, history ---------------------------------------------------------------------


def classify(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"ready": event["mailboxes"] > 0, "retry_after": 1800}


WAIT_SCALE = 0.0001  # Hold (3600 s) -> 0.36 s, Backoff (1800 s) -> 0.18 s


def test_choice_routes_on_a_field_of_the_task_output(aws: None) -> None:
    with local_step_functions({"classify": LocalFunction(classify)}, time_scale=WAIT_SCALE):
        machine = create_machine("choice_wait.asl.json")
        ready = start(machine, "ready", {"mailboxes": 3})
        not_ready = start(machine, "not-ready", {"mailboxes": 0})
        assert wait_for(ready)["status"] == "SUCCEEDED"
        assert wait_for(not_ready)["status"] == "SUCCEEDED"

    assert visited_states(ready) == ["Classify", "Route", "Done"]
    assert visited_states(not_ready) == ["Classify", "Route", "Hold", "Backoff", "Done"]


def test_wait_states_are_scaled_and_recorded_unscaled(aws: None) -> None:
    with local_step_functions(
        {"classify": LocalFunction(classify)}, time_scale=WAIT_SCALE
    ) as dispatcher:
        execution = start(create_machine("choice_wait.asl.json"), "wait-1", {"mailboxes": 0})
        described = wait_for(execution)

    assert described["status"] == "SUCCEEDED"
    # Seconds 3600, then SecondsPath $.verdict.retry_after (1800 from the task's output).
    assert dispatcher.pauses == [Pause("wait", 3600.0), Pause("wait", 1800.0)]
    events = history(execution)
    entered = {
        e["stateEnteredEventDetails"]["name"]: e["timestamp"]
        for e in events
        if e["type"] == "WaitStateEntered"
    }
    exited = {
        e["stateExitedEventDetails"]["name"]: e["timestamp"]
        for e in events
        if e["type"] == "WaitStateExited"
    }
    assert set(entered) == set(exited) == {"Hold", "Backoff"}
    # The scaled pause really happened (3600 s * 0.0001 = 0.36 s; history has ms resolution).
    assert (exited["Hold"] - entered["Hold"]).total_seconds() >= 0.3


def test_history_has_entered_and_exited_events_for_every_state_by_name(aws: None) -> None:
    definition = json.loads((ASL / "choice_wait.asl.json").read_text())
    with local_step_functions({"classify": LocalFunction(classify)}, time_scale=WAIT_SCALE):
        execution = start(create_machine("choice_wait.asl.json"), "history-1", {"mailboxes": 0})
        assert wait_for(execution)["status"] == "SUCCEEDED"

    seen = {
        (e["type"], details["name"])
        for e in history(execution)
        for key in ("stateEnteredEventDetails", "stateExitedEventDetails")
        if (details := e.get(key))
    }
    for name, state in definition["States"].items():
        assert (f"{state['Type']}StateEntered", name) in seen
        assert (f"{state['Type']}StateExited", name) in seen
    kinds = {e["type"] for e in history(execution)}
    assert {"LambdaFunctionScheduled", "LambdaFunctionSucceeded", "ExecutionSucceeded"} <= kinds


# -- Map ---------------------------------------------------------------------------------------


def test_inline_map_calls_the_function_per_item_and_collects_results_in_order(
    aws: None,
) -> None:
    def provision(event: dict[str, Any], context: Any) -> dict[str, Any]:
        assert context.function_name == "provision"
        return {"domain": event["domain"], "mailbox": f"postmaster@{event['domain']}"}

    domains = [{"domain": f"d{i}.example"} for i in range(5)]
    with local_step_functions({"provision": LocalFunction(provision)}) as dispatcher:
        described = wait_for(start(create_machine("map.asl.json"), "map-1", {"domains": domains}))

    assert described["status"] == "SUCCEEDED"
    assert output(described)["results"] == [
        {"domain": d["domain"], "mailbox": f"postmaster@{d['domain']}"} for d in domains
    ]
    assert len(dispatcher.invocations_of("provision")) == 5
    assert all(i.error_type is None for i in dispatcher.invocations)


# -- Execution names ---------------------------------------------------------------------------


def test_a_name_started_twice_is_one_execution_and_different_input_is_refused(
    aws: None,
) -> None:
    entered = threading.Event()
    release = threading.Event()

    def gate(event: dict[str, Any], context: Any) -> dict[str, Any]:
        entered.set()
        return {"released": release.wait(10)}

    with local_step_functions({"gate": LocalFunction(gate)}) as dispatcher:
        machine = create_machine("gate.asl.json")
        try:
            first = start(machine, "order-42", {"order": 42})
            assert entered.wait(10), "the execution never reached its task"
            again = start(machine, "order-42", {"order": 42})
            with pytest.raises(ClientError) as different:
                start(machine, "order-42", {"order": 43})
        finally:
            release.set()
        described = wait_for(first)
        with pytest.raises(ClientError) as after_the_end:
            start(machine, "order-42", {"order": 42})

    assert again == first
    executions = sfn().list_executions(stateMachineArn=machine)["executions"]
    assert [e["executionArn"] for e in executions] == [first]
    assert different.value.response["Error"]["Code"] == "ExecutionAlreadyExists"
    assert described["status"] == "SUCCEEDED"
    assert output(described) == {"released": True}
    assert len(dispatcher.invocations_of("gate")) == 1
    # Idempotent only while RUNNING: once closed, even the same input is refused (as on AWS).
    assert after_the_end.value.response["Error"]["Code"] == "ExecutionAlreadyExists"


# -- Unknown functions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asl_file", "error"),
    [
        # moto's StateTaskLambda names any client error "Exception".
        ("unknown_function.asl.json", "Exception"),
        ("unknown_function_invoke.asl.json", "Lambda.ResourceNotFoundException"),
    ],
)
def test_an_unknown_function_fails_the_execution(aws: None, asl_file: str, error: str) -> None:
    with local_step_functions({}) as dispatcher:
        described = wait_for(start(create_machine(asl_file), "missing-1", {}), timeout_s=10)

    assert described["status"] == "FAILED"
    assert described["error"] == error
    assert f"Function not found: {FUNCTION_ARN.format('no-such-function')}" in described["cause"]
    assert dispatcher.invocations == []


# -- Direct Lambda invocations -----------------------------------------------------------------


def test_invoke_resolves_every_function_name_form_and_reports_errors_like_lambda(
    aws: None,
) -> None:
    contexts: list[Any] = []

    def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
        contexts.append(context)
        return {"got": event}

    def boom(event: dict[str, Any], context: Any) -> None:
        raise DomainError("no such inbox")

    def unserialisable(event: dict[str, Any], context: Any) -> object:
        return object()

    functions = {
        "echo": LocalFunction(echo, timeout_s=30, memory_mb=256),
        "boom": LocalFunction(boom),
        "unserialisable": LocalFunction(unserialisable),
    }
    client = boto3.client("lambda", region_name="us-east-1")
    with local_step_functions(functions) as dispatcher:
        for name in (
            "echo",
            "echo:live",
            "123456789012:function:echo",
            FUNCTION_ARN.format("echo"),
            FUNCTION_ARN.format("echo") + ":$LATEST",
        ):
            answer = client.invoke(FunctionName=name, Payload=json.dumps({"n": name}))
            assert answer["StatusCode"] == 200
            assert "FunctionError" not in answer
            assert json.loads(answer["Payload"].read()) == {"got": {"n": name}}
        empty = client.invoke(FunctionName="echo")
        failed = client.invoke(FunctionName="boom", Payload=b"{}")
        marshal = client.invoke(FunctionName="unserialisable")
        with pytest.raises(ClientError) as missing:
            client.invoke(FunctionName="nope", Payload=b"{}")

    assert json.loads(empty["Payload"].read()) == {"got": {}}
    assert contexts[0].function_name == "echo"
    assert contexts[0].memory_limit_in_mb == 256
    # The function's Timeout, counting down from the start of the invocation.
    assert contexts[0].remaining_ms == 30_000
    assert 0 < contexts[0].get_remaining_time_in_millis() <= 30_000

    assert failed["FunctionError"] == "Unhandled"
    error = json.loads(failed["Payload"].read())
    assert error["errorType"] == "DomainError"
    assert error["errorMessage"] == "no such inbox"
    assert error["requestId"]
    # Lambda's frames: from the handler down, not the dispatcher calling it.
    assert "in boom" in error["stackTrace"][0]
    assert 'raise DomainError("no such inbox")' in error["stackTrace"][0]

    assert marshal["FunctionError"] == "Unhandled"
    assert json.loads(marshal["Payload"].read())["errorType"] == "Runtime.MarshalError"

    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert FUNCTION_ARN.format("nope") in missing.value.response["Error"]["Message"]
    assert [i.error_type for i in dispatcher.invocations] == [None] * 6 + [
        "DomainError",
        "Runtime.MarshalError",
    ]
    assert dispatcher.invocations_of("echo")[0].memory_mb == 256


def test_event_invocations_return_at_once_and_run_the_handler_on_another_thread(
    aws: None,
) -> None:
    started = threading.Event()
    release = threading.Event()
    ran: list[tuple[dict[str, Any], str]] = []

    def notify(event: dict[str, Any], context: Any) -> None:
        started.set()
        if not release.wait(10):
            raise TimeoutError("never released")
        ran.append((event, threading.current_thread().name))

    def explode(event: dict[str, Any], context: Any) -> None:
        raise DomainError("async failure")

    client = boto3.client("lambda", region_name="us-east-1")
    functions = {"notify": LocalFunction(notify), "explode": LocalFunction(explode)}
    with local_step_functions(functions) as dispatcher:
        try:
            answer = client.invoke(
                FunctionName="notify", InvocationType="Event", Payload=b'{"inbox": 1}'
            )
            # The handler is still blocked, yet the caller has its answer.
            assert answer["StatusCode"] == 202
            assert ran == []
            assert started.wait(10), "the handler never started"
        finally:
            release.set()
        assert poll(ran), "the asynchronous handler never finished"
        exploded = client.invoke(FunctionName="explode", InvocationType="Event", Payload=b"{}")
        assert exploded["StatusCode"] == 202
        assert "FunctionError" not in exploded
        assert dispatcher.join_async(10)

    [(event, thread_name)] = ran
    assert event == {"inbox": 1}
    assert thread_name != threading.current_thread().name
    assert {(i.function_name, i.asynchronous, i.error_type) for i in dispatcher.invocations} == {
        ("notify", True, None),
        ("explode", True, "DomainError"),
    }


# -- Injected faults ---------------------------------------------------------------------------


def test_an_injected_fault_is_caught_by_its_error_name_and_the_handler_never_runs(
    aws: None,
) -> None:
    charged: list[dict[str, Any]] = []

    def charge(event: dict[str, Any], context: Any) -> dict[str, Any]:
        charged.append(event)
        return {"charged": event["amount"]}

    def compensate(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"compensated": event["error"]}

    functions = {"charge": LocalFunction(charge), "compensate": LocalFunction(compensate)}
    with local_step_functions(functions) as dispatcher:
        dispatcher.inject(LambdaFault("charge", "DomainError", message="injected decline"))
        machine = create_machine("catch.asl.json")
        execution = start(machine, "faulted", {"amount": 5})
        faulted = wait_for(execution)
        # times=1: used up, the next execution charges for real.
        charged_for_real = wait_for(start(machine, "charged", {"amount": 6}))

    assert faulted["status"] == "SUCCEEDED"
    error = output(faulted)["compensated"]
    assert error["Error"] == "DomainError"
    cause = json.loads(error["Cause"])
    assert cause["errorType"] == "DomainError"
    assert cause["errorMessage"] == "injected decline"
    assert cause["requestId"]
    assert visited_states(execution) == ["Charge", "Compensate"]
    assert output(charged_for_real)["charge"] == {"receipt": {"charged": 6}}
    assert charged == [{"amount": 6}]
    assert [i.error_type for i in dispatcher.invocations_of("charge")] == ["DomainError", None]


def test_a_fault_after_the_handler_runs_it_once_and_still_fails_the_task(aws: None) -> None:
    ran: list[dict[str, Any]] = []

    def gate(event: dict[str, Any], context: Any) -> dict[str, Any]:
        ran.append(event)
        return {"done": True}

    with local_step_functions({"gate": LocalFunction(gate)}) as dispatcher:
        dispatcher.inject(
            LambdaFault(
                "gate",
                "Sandbox.Timedout",
                message="Task timed out after 3.00 seconds",
                after_handler=True,
            )
        )
        described = wait_for(start(create_machine("gate.asl.json"), "timed-out", {"order": 1}))

    assert described["status"] == "FAILED"
    assert described["error"] == "Sandbox.Timedout"
    assert json.loads(described["cause"])["errorMessage"] == "Task timed out after 3.00 seconds"
    # The work was done, once, though the caller saw a failure.
    assert ran == [{"order": 1}]
    [invocation] = dispatcher.invocations_of("gate")
    assert invocation.error_type == "Sandbox.Timedout"


def test_a_fault_for_two_attempts_is_retried_until_the_real_handler_succeeds(aws: None) -> None:
    attempts: list[dict[str, Any]] = []

    def flaky(event: dict[str, Any], context: Any) -> dict[str, Any]:
        attempts.append(event)
        return {"attempts": len(attempts)}

    with local_step_functions({"flaky": LocalFunction(flaky)}, time_scale=0.001) as dispatcher:
        dispatcher.inject(LambdaFault("flaky", "FlakyError", times=2))
        described = wait_for(start(create_machine("retry.asl.json"), "injected-1", {"job": 8}))

    assert described["status"] == "SUCCEEDED"
    assert output(described) == {"attempts": 1}
    assert attempts == [{"job": 8}]
    assert [i.error_type for i in dispatcher.invocations_of("flaky")] == [
        "FlakyError",
        "FlakyError",
        None,
    ]
    assert dispatcher.pauses == [Pause("retry", 2.0), Pause("retry", 4.0)]


def test_a_predicate_limits_the_fault_to_matching_events_until_cleared(aws: None) -> None:
    def command(event: Any, context: Any) -> dict[str, Any]:
        return {"did": event}

    client = boto3.client("lambda", region_name="us-east-1")

    def invoke(payload: Any, invocation_type: str = "RequestResponse") -> dict[str, Any]:
        answer: dict[str, Any] = client.invoke(
            FunctionName="command", InvocationType=invocation_type, Payload=json.dumps(payload)
        )
        return answer

    with local_step_functions({"command": LocalFunction(command)}) as dispatcher:
        dispatcher.inject(
            LambdaFault(
                "command",
                "RemoteCommandFailed",
                when=lambda e: e.get("action") == "install",
                message="apt-get exited 100",
                times=None,
            )
        )
        check = invoke({"action": "check"})
        not_an_object = invoke(["install"])
        installs = [invoke({"action": "install", "n": n}) for n in range(3)]
        queued = invoke({"action": "install"}, invocation_type="Event")
        assert queued["StatusCode"] == 202
        assert dispatcher.join_async(10)
        dispatcher.clear_faults()
        after_clear = invoke({"action": "install"})

    assert "FunctionError" not in check
    assert json.loads(check["Payload"].read()) == {"did": {"action": "check"}}
    assert json.loads(not_an_object["Payload"].read()) == {"did": ["install"]}
    for failed in installs:
        assert failed["FunctionError"] == "Unhandled"
        error = json.loads(failed["Payload"].read())
        assert error["errorType"] == "RemoteCommandFailed"
        assert error["errorMessage"] == "apt-get exited 100"
    assert "FunctionError" not in after_clear
    assert [(i.error_type, i.asynchronous) for i in dispatcher.invocations] == [
        (None, False),
        (None, False),
        ("RemoteCommandFailed", False),
        ("RemoteCommandFailed", False),
        ("RemoteCommandFailed", False),
        ("RemoteCommandFailed", True),
        (None, False),
    ]


def test_before_holds_the_execution_at_the_fault_until_the_test_lets_it_go(aws: None) -> None:
    reached = threading.Event()
    release = threading.Event()

    def hold() -> None:
        reached.set()
        if not release.wait(10):
            raise TimeoutError("the test never released the fault")

    def gate(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"released": True}

    with local_step_functions({"gate": LocalFunction(gate)}) as dispatcher:
        dispatcher.inject(LambdaFault("gate", "RemoteCommandFailed", before=hold))
        execution = start(create_machine("gate.asl.json"), "held-1", {})
        try:
            assert reached.wait(10), "the fault was never reached"
            # Held at the fault: the task has not failed yet, nothing is recorded.
            assert sfn().describe_execution(executionArn=execution)["status"] == "RUNNING"
            assert dispatcher.invocations == []
        finally:
            release.set()
        described = wait_for(execution)

    assert described["status"] == "FAILED"
    assert described["error"] == "RemoteCommandFailed"
    assert [i.error_type for i in dispatcher.invocations] == ["RemoteCommandFailed"]


def test_a_run_stopped_while_its_task_runs_stays_aborted_when_the_task_then_fails(
    aws: None,
) -> None:
    reached, release = threading.Event(), threading.Event()

    def hold() -> None:
        reached.set()
        if not release.wait(10):
            raise TimeoutError("the test never released the fault")

    with local_step_functions({"gate": LocalFunction(classify)}) as dispatcher:
        dispatcher.inject(LambdaFault("gate", "RemoteCommandFailed", before=hold))
        execution = start(create_machine("gate.asl.json"), "stopped-1", {})
        try:
            assert reached.wait(10), "the fault was never reached"
            sfn().stop_execution(executionArn=execution)
        finally:
            release.set()
        # The task's failure arrives after the stop: the run is still the stopped one.
        poll_for(lambda: dispatcher.invocations, "the held task to answer", 10)
        described = wait_for(execution)

    assert described["status"] == "ABORTED"


def test_a_fault_is_refused_for_an_unknown_function_or_without_uses(aws: None) -> None:
    with local_step_functions({"gate": LocalFunction(classify)}) as dispatcher:
        with pytest.raises(ValueError, match="no function 'gaet'"):
            dispatcher.inject(LambdaFault("gaet", "RemoteCommandFailed"))
        with pytest.raises(ValueError, match="times"):
            LambdaFault("gate", "RemoteCommandFailed", times=0)
        with pytest.raises(ValueError, match="error"):
            LambdaFault("gate", "")


# -- The patch itself --------------------------------------------------------------------------


def moto_internals() -> tuple[object, object, object, object]:
    return (
        vars(LambdaSimpleBackend)["invoke"],
        vars(WaitFunction)["_wait_interval"],
        vars(retrier_decl)["time"],
        vars(Environment)["set_error"],
    )


def test_leaving_the_context_restores_moto_even_after_an_error(aws: None) -> None:
    originals = moto_internals()
    client = boto3.client("lambda", region_name="us-east-1")

    def answer(event: dict[str, Any], context: Any) -> str:
        return "dispatched"

    with local_step_functions({"f": LocalFunction(answer)}):
        assert moto_internals()[0] is not originals[0]
        assert vars(retrier_decl)["time"] is not originals[2]
        assert vars(Environment)["set_error"] is not originals[3]
        assert json.loads(client.invoke(FunctionName="f", Payload=b"{}")["Payload"].read()) == (
            "dispatched"
        )
    assert moto_internals() == originals
    # moto's own LambdaSimpleBackend again: it echoes the request body.
    assert client.invoke(FunctionName="f", Payload=b'{"echo": 1}')["Payload"].read() == (
        b'{"echo": 1}'
    )

    with pytest.raises(KeyError), local_step_functions({"f": LocalFunction(answer)}):
        raise KeyError("inside")
    assert moto_internals() == originals
    assert client.invoke(FunctionName="f", Payload=b"{}")["Payload"].read() == b"{}"


def test_a_second_entry_while_active_is_refused(aws: None) -> None:
    originals = moto_internals()
    with local_step_functions({}) as outer:
        with pytest.raises(RuntimeError, match="already active"), local_step_functions({}):
            pass
        assert isinstance(outer, Dispatcher)
        # The refused entry undid nothing of the outer one.
        assert all(now is not was for now, was in zip(moto_internals(), originals, strict=True))
    assert moto_internals() == originals
    with local_step_functions({}):  # and it can be entered again afterwards
        pass


def test_without_moto_config_or_with_a_bad_time_scale_it_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws(), pytest.raises(RuntimeError, match="MOTO_CONFIG"), local_step_functions({}):
        pass
    with mock_aws(config=MOTO_CONFIG):
        for bad in (-1.0, float("nan"), float("inf")):
            with (
                pytest.raises(ValueError, match="time_scale"),
                local_step_functions({}, time_scale=bad),
            ):
                pass
        with local_step_functions({}, time_scale=0.5) as dispatcher:
            assert dispatcher.time_scale == 0.5
