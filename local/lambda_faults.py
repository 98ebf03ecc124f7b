"""Faults the local Lambda dispatcher answers instead of (or after) a handler's own result.

    dispatcher.inject(LambdaFault("inboxfleet-Provision", "RemoteCommandFailed",
                                  when=lambda e: e.get("action") == "install"))

A fault is answered as Lambda answers an unhandled exception: `x-amz-function-error: Unhandled`
and an error document whose `errorType` is `error`, so ASL `Retry`/`Catch` match it by that name
exactly as they match a handler's exception class (a dotted name such as `Sandbox.Timedout`,
Lambda's own for a function that ran out of time, works the same way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LambdaFault:
    """One fault for `Dispatcher.inject`.

    `function`: the deployed function name, as the dispatcher's functions are keyed.
    `error`: the errorType answered. `message`: its errorMessage.
    `when`: which events it applies to (None: every invocation of `function`). It runs under
    the dispatcher's fault lock, on the invoking thread: keep it quick, and let it not raise
    (`e.get(...)`, not `e[...]`).
    `after_handler`: run the real handler first (its result or exception is discarded), then
    answer the fault anyway - how a Lambda that did its work and then timed out looks to the
    caller. False: the handler never runs.
    `times`: how many matching invocations it fails (None: until `clear_faults`). A use is
    taken as the Invoke call arrives, in call order (an `Event` invocation's too, before its
    thread starts), so concurrent invocations never share one.
    `before`: called on the invoking thread just before the fault is answered (after the
    handler with `after_handler`), e.g. to hold the execution there until the test lets it go.
    An exception it raises is answered instead, as a handler's exception would be.
    """

    function: str
    error: str
    when: Callable[[dict[str, Any]], bool] | None = None
    message: str = "injected fault"
    after_handler: bool = False
    times: int | None = 1
    before: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        if not self.error:
            raise ValueError("error must name the errorType to answer")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or None: until cleared)")

    def applies(self, function_name: str, event: Any) -> bool:
        """Whether an invocation of `function_name` with `event` is one this fault fails. A
        predicate only ever sees an object event: a payload that is not one never matches it."""
        if function_name != self.function:
            return False
        if self.when is None:
            return True
        return isinstance(event, dict) and bool(self.when(event))

    def error_document(self, request_id: str) -> dict[str, Any]:
        """Lambda's error document for the fault (as `_lambda_error` writes a handler's)."""
        return {
            "errorMessage": self.message,
            "errorType": self.error,
            "requestId": request_id,
            "stackTrace": [],
        }
