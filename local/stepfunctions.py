"""Step Functions locally: moto's ASL interpreter runs the real state machine, Lambda tasks run
our real handlers in-process.

    with mock_aws(config=MOTO_CONFIG), local_step_functions(functions, time_scale=0.01) as sfn:
        boto3.client("stepfunctions").start_execution(stateMachineArn=..., name=..., input=...)
        ...
        sfn.invocations  # what ran, for how long, and how it ended

moto (with MOTO_CONFIG) executes state machines on threads of its own; every Lambda task of
theirs - `"Resource": "arn:aws:lambda:...:function:x"` and `"arn:aws:states:::lambda:invoke"`
alike - becomes a Lambda `Invoke` call that moto routes to `LambdaSimpleBackend.invoke`, which
only echoes. `local_step_functions` patches four moto internals for as long as it is entered:

1. `LambdaSimpleBackend.invoke` (moto/awslambda_simple/models.py): dispatches to the handler of
   the function named, answering as Lambda does - the handler's result as the payload, or on an
   exception the `x-amz-function-error: Unhandled` header and Lambda's error document, whose
   `errorType` (the exception's class name) is what ASL `Retry`/`Catch` match (see
   `StateTaskLambda._from_error`). Any Lambda `Invoke` in the process goes through it, not only
   the interpreter's: an application's own `InvocationType="Event"` calls run its handlers too.
2. `WaitFunction._wait_interval` (…/state/wait/wait_function/wait_function.py): every `Wait`
   state (Seconds, SecondsPath, Timestamp, TimestampPath) pauses there. Replaced, not merely fed
   a scaled argument: moto's version re-waits the difference after rounding the time waited down
   to whole seconds, so a fraction of a second would never count as done.
3. `retrier_decl.time` (…/common/retry/retrier_decl.py): the module's `time`, whose `sleep` is
   the pause between `Retry` attempts (after BackoffRate, MaxDelaySeconds and jitter). Swapped
   for a stand-in whose `sleep` scales; `time` itself is untouched.

4. `Environment.set_error` (…/asl/eval/environment.py): moto lets a task that fails after its
   execution was stopped turn the program into an error, so a stopped run ends FAILED; in AWS it
   stays ABORTED (what reconcile and the failed-executions rule see). A stopped program stays
   stopped.

The pauses of 2 and 3 are multiplied by `time_scale` (1.0: real time) and recorded unscaled in
`Dispatcher.pauses`. These are moto internals: moto is pinned exactly (requirements-dev.in) for
them, and tests/integration/test_local_stepfunctions.py covers every patch, including that
leaving the context restores moto as it was.

`Dispatcher.inject(LambdaFault(...))` (local/lambda_faults.py) makes chosen invocations of a
function answer an error of a given name instead of the handler's result - or after it, with
`after_handler`, as a function that did its work and then timed out. The answer is the one an
unhandled exception of that name gets, so Retry/Catch match it and `invocations` records it.

What is not modelled: the function's Timeout (the handler runs to the end, however long; a
fault with `after_handler` and error `Sandbox.Timedout` stands in for one), concurrency limits,
the retries and destinations of asynchronous invocations, the older `InvokeAsync` API.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol
from unittest import mock

from local.fault_book import FaultBook
from local.invoke import LocalContext
from local.lambda_faults import LambdaFault

if TYPE_CHECKING:
    from moto.core.config import DefaultConfig

LOG = logging.getLogger(__name__)

MOTO_CONFIG: DefaultConfig = {
    # Run state machines with moto's ASL interpreter instead of only recording executions.
    "stepfunctions": {"execute_state_machine": True},
    # No Docker: Lambda `Invoke` goes to LambdaSimpleBackend.invoke, which we patch.
    "lambda": {"use_docker": False},
}

Handler = Callable[[dict[str, Any], Any], Any]
PauseKind = Literal["retry", "wait"]


@dataclass(frozen=True)
class LocalFunction:
    """A Lambda function as the dispatcher runs it. Defaults are Lambda's own (3 s, 128 MB)."""

    handler: Handler
    timeout_s: int = 3  # the template's Timeout: the context's remaining time at the start
    memory_mb: int = 128  # the template's MemorySize: the context's memory_limit_in_mb


@dataclass(frozen=True)
class Invocation:
    """One finished invocation of a handler (what Lambda would bill: one request, its duration)."""

    function_name: str
    duration_s: float
    error_type: str | None  # the exception's class name when the handler raised, else None
    asynchronous: bool  # InvocationType=Event
    memory_mb: int


class Pause(NamedTuple):
    """A pause the interpreter asked for, in unscaled seconds (what AWS would have waited)."""

    kind: PauseKind
    seconds: float


class _Env(Protocol):
    """What the replacement wait reads of moto's interpreter Environment."""

    program_state_event: threading.Event

    def is_running(self) -> bool: ...


class _Backend(Protocol):
    """What the dispatcher reads of moto's LambdaSimpleBackend."""

    account_id: str
    region_name: str


class Dispatcher:
    """The in-process Lambda service behind moto while `local_step_functions` is entered.

    Thread-safe: executions, Map iterations and asynchronous invocations call it concurrently.
    """

    def __init__(self, functions: Mapping[str, LocalFunction], *, time_scale: float = 1.0):
        if not time_scale >= 0 or time_scale == float("inf"):
            raise ValueError(f"time_scale must be a finite number >= 0, got {time_scale!r}")
        self._functions = dict(functions)
        self._time_scale = time_scale
        self._lock = threading.Lock()
        self._invocations: list[Invocation] = []
        self._pauses: list[Pause] = []
        self._async_threads: list[threading.Thread] = []
        self._faults: FaultBook[LambdaFault] = FaultBook()

    @property
    def time_scale(self) -> float:
        return self._time_scale

    @property
    def invocations(self) -> list[Invocation]:
        """Finished invocations so far, in the order they finished (a copy)."""
        with self._lock:
            return list(self._invocations)

    @property
    def pauses(self) -> list[Pause]:
        """Retry intervals and Wait durations asked for so far, unscaled, in order (a copy)."""
        with self._lock:
            return list(self._pauses)

    def invocations_of(self, function_name: str) -> list[Invocation]:
        return [i for i in self.invocations if i.function_name == function_name]

    def join_async(self, timeout_s: float) -> bool:
        """Wait (at most `timeout_s` in all) for the asynchronous invocations started so far;
        True when none is still running."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            threads = list(self._async_threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._async_threads = [t for t in self._async_threads if t.is_alive()]
            return not self._async_threads

    def inject(self, fault: LambdaFault) -> None:
        """Fail the next `fault.times` invocations of `fault.function` that `fault.when` accepts
        (synchronous and `Event` alike). Faults apply first injected, first used, one per
        invocation. A function the dispatcher does not serve is refused (ValueError): such a
        fault could never fire."""
        if fault.function not in self._functions:
            raise ValueError(
                f"no function {fault.function!r} to inject into; "
                f"the dispatcher serves {sorted(self._functions)}"
            )
        self._faults.add(fault, fault.times)

    def clear_faults(self) -> None:
        """Forget every fault not used up yet."""
        self._faults.clear()

    # -- the patched moto methods -------------------------------------------------------------

    def invoke(
        self,
        function_name: str,
        body: Any,
        headers: Any,
        response_headers: dict[str, str],
        *,
        region: str,
        account_id: str,
    ) -> bytes:
        """What LambdaSimpleBackend.invoke answers instead: the response body for moto's Invoke
        action (which makes it status 200, 202 for Event, 204 for DryRun). `function_name` is
        FunctionName in any form (a qualifier is ignored: one version of each function);
        `response_headers` receives `x-amz-function-error`. An unknown function raises moto's
        UnknownFunctionException (404 ResourceNotFoundException, as Lambda)."""
        name = _plain_function_name(function_name)
        function = self._functions.get(name) if name is not None else None
        if name is None or function is None:
            from moto.awslambda.exceptions import UnknownFunctionException
            from moto.awslambda.utils import make_function_arn

            arn = function_name
            if not arn.startswith("arn:"):
                arn = make_function_arn(region, account_id, name or arn)
            raise UnknownFunctionException(arn)
        event = _parse_payload(body)
        invocation_type = _header(headers, "X-Amz-Invocation-Type") or "RequestResponse"
        if invocation_type == "DryRun":
            return b""
        # Taken on the caller's thread, in call order, even for an invocation that runs on one
        # of its own: which of two Event invocations a fault hits never depends on scheduling.
        fault = self._faults.take(lambda f: f.applies(name, event))
        if invocation_type == "Event":
            thread = threading.Thread(
                target=self._run,
                args=(name, function, event, fault, True),
                name=f"lambda-event-{name}",
                daemon=True,
            )
            with self._lock:
                self._async_threads.append(thread)
            thread.start()
            return b""
        payload, error_type = self._run(name, function, event, fault, False)
        if error_type is not None:
            response_headers["x-amz-function-error"] = "Unhandled"
        return payload

    def _run(
        self,
        name: str,
        function: LocalFunction,
        event: Any,
        fault: LambdaFault | None,
        asynchronous: bool,
    ) -> tuple[bytes, str | None]:
        context = LocalContext(
            function_name=name,
            memory_limit_in_mb=function.memory_mb,
            remaining_ms=function.timeout_s * 1000,
        )
        error: dict[str, Any] | None = None
        result: Any = None
        started = time.perf_counter()
        if fault is None or fault.after_handler:
            try:
                result = function.handler(event, context)
            except Exception as exc:
                error = _lambda_error(exc, context.aws_request_id)
        # The handler's time only: a test holding the fault in `before` is not the function's.
        duration_s = time.perf_counter() - started
        if fault is not None:
            error = _fault_error(fault, context.aws_request_id)
        if error is None:
            try:
                payload = json.dumps(result).encode()
            except (TypeError, ValueError) as exc:
                error = {
                    "errorMessage": f"Unable to marshal response: {exc}",
                    "errorType": "Runtime.MarshalError",
                    "requestId": context.aws_request_id,
                    "stackTrace": [],
                }
        if error is not None:
            payload = json.dumps(error).encode()
            if asynchronous:
                LOG.warning("asynchronous invocation of %s failed: %s", name, error["errorType"])
        error_type = None if error is None else str(error["errorType"])
        with self._lock:
            self._invocations.append(
                Invocation(name, duration_s, error_type, asynchronous, function.memory_mb)
            )
        return payload, error_type

    def _pause(self, kind: PauseKind, seconds: float) -> float:
        """Record the pause; the real time to pause for."""
        with self._lock:
            self._pauses.append(Pause(kind, float(seconds)))
        return max(0.0, seconds) * self._time_scale

    def wait_interval(self, env: _Env, wait_seconds: float) -> None:
        """WaitFunction._wait_interval's replacement: pause the scaled time, returning early
        only when the execution stops (moto sets program_state_event on every state change)."""
        deadline = time.monotonic() + self._pause("wait", max(0.0, wait_seconds))
        while env.is_running():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            env.program_state_event.wait(left)

    def retry_sleep(self, seconds: float) -> None:
        """`time.sleep` as retrier_decl.py sees it: the pause before a Retry attempt."""
        time.sleep(self._pause("retry", seconds))


class _RetrierTime:
    """Stands in for the `time` module inside retrier_decl.py: `sleep` scales and records,
    anything else is the real `time`."""

    def __init__(self, dispatcher: Dispatcher):
        self.sleep = dispatcher.retry_sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


_active_lock = threading.Lock()
_active: list[Dispatcher] = []  # the one entered, if any


@contextmanager
def local_step_functions(
    functions: Mapping[str, LocalFunction],
    *,
    time_scale: float = 1.0,
    async_join_timeout_s: float = 30.0,
) -> Iterator[Dispatcher]:
    """Dispatch Lambda invocations to `functions` (keyed by function name) and scale the
    interpreter's pauses by `time_scale`, until exit. moto's mock must already be active with
    MOTO_CONFIG. On exit, asynchronous invocations get up to `async_join_timeout_s` to finish,
    then moto is restored as it was (even when the block raised). Not reentrant: moto's
    backends are process-global, so a second entry while one is active raises RuntimeError."""
    _check_moto_config()
    dispatcher = Dispatcher(functions, time_scale=time_scale)
    with _active_lock:
        if _active:
            raise RuntimeError(
                "local_step_functions is already active: moto is process-global, "
                "so only one dispatcher can serve it at a time"
            )
        _active.append(dispatcher)
    try:
        from moto.awslambda_simple.models import LambdaSimpleBackend
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
        from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
            WaitFunction,
        )
        from moto.stepfunctions.parser.asl.eval.environment import Environment
        from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

        def invoke(  # noqa: PLR0917 - moto calls it with LambdaSimpleBackend.invoke's signature
            backend: _Backend,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: dict[str, str],
        ) -> bytes:
            return dispatcher.invoke(
                function_name,
                body,
                headers,
                response_headers,
                region=backend.region_name,
                account_id=backend.account_id,
            )

        def wait_interval(_wait_function: object, env: _Env, wait_seconds: float) -> None:
            dispatcher.wait_interval(env, wait_seconds)

        original_set_error = Environment.set_error

        def set_error(env: Any, error: Any) -> None:
            with env._state_mutex:  # an RLock: the original takes it again
                if not isinstance(env._program_state, ProgramStopped):
                    original_set_error(env, error)

        with ExitStack() as patches:
            patches.enter_context(_quiet(INTERPRETER_LOGGER))
            patches.enter_context(mock.patch.object(LambdaSimpleBackend, "invoke", invoke))
            patches.enter_context(mock.patch.object(WaitFunction, "_wait_interval", wait_interval))
            patches.enter_context(mock.patch.object(retrier_decl, "time", _RetrierTime(dispatcher)))
            patches.enter_context(mock.patch.object(Environment, "set_error", set_error))
            try:
                yield dispatcher
            finally:
                if not dispatcher.join_async(async_join_timeout_s):
                    LOG.warning(
                        "asynchronous Lambda invocations still running after %s s",
                        async_join_timeout_s,
                    )
    finally:
        with _active_lock:
            _active.clear()


# moto's interpreter logs, at ERROR, every exception it uses for control flow: a Choice reading
# an absent path it tests with IsPresent, a Fail state reached, a Catch taken. The execution's
# history records what happened; these lines only bury a demo's and a test's output.
INTERPRETER_LOGGER = "moto.stepfunctions.parser.asl.component.eval_component"


@contextmanager
def _quiet(name: str) -> Iterator[None]:
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _check_moto_config() -> None:
    from moto.core.config import default_user_config

    executes = default_user_config.get("stepfunctions", {}).get("execute_state_machine")
    docker = default_user_config.get("lambda", {}).get("use_docker", True)
    if not executes or docker:
        raise RuntimeError(
            "moto is not set up to run state machines with in-process Lambda: "
            "enter mock_aws(config=MOTO_CONFIG) before local_step_functions"
        )


def _plain_function_name(name_or_arn: str) -> str | None:
    """The function name in any form Lambda's FunctionName accepts: `name`, `name:qualifier`,
    `account:function:name[:qualifier]`, `arn:aws:lambda:region:account:function:name[:qualifier]`
    (None when it is none of them)."""
    parts = name_or_arn.split(":")
    if parts[0] == "arn":
        if len(parts) in (7, 8) and parts[2] == "lambda" and parts[5] == "function":
            return parts[6]
        return None
    if len(parts) in (3, 4) and parts[1] == "function":
        return parts[2]
    if len(parts) in (1, 2):
        return parts[0]
    return None


def _header(headers: Any, name: str) -> str | None:
    """A request header by case-insensitive name (moto hands on whatever headers it got)."""
    for key, value in headers.items():
        if str(key).lower() == name.lower():
            return str(value)
    return None


def _parse_payload(body: Any) -> Any:
    """The event: the request body as JSON, `{}` when empty; invalid JSON is refused as Lambda
    refuses it."""
    if not body:
        return {}
    try:
        return json.loads(body)
    except ValueError:
        from moto.awslambda.exceptions import LambdaClientError

        raise LambdaClientError(
            "InvalidRequestContentException", "Could not parse request body into json"
        ) from None


def _fault_error(fault: LambdaFault, request_id: str) -> dict[str, Any]:
    """The error document answered for an injected fault, once its `before` hook returned (an
    exception from the hook is answered instead, as a handler's would be)."""
    if fault.before is not None:
        try:
            fault.before()
        except Exception as exc:
            return _lambda_error(exc, request_id)
    return fault.error_document(request_id)


def _lambda_error(exc: Exception, request_id: str) -> dict[str, Any]:
    """Lambda's Python runtime's error document for an exception the handler raised."""
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # from the handler down, as Lambda
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }
