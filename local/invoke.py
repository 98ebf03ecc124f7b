"""A function's real handler, found through template.yaml as SAM finds it, called in-process with
a Lambda-like context. Tests that bring their own stand-ins call handlers this way; everything
else goes through the local cloud (`inboxfleet-local invoke`, local.cloud.LocalCloud.invoke),
which calls the same handlers through moto's Lambda Invoke API."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.account import ACCOUNT_ID, REGION
from local.template import REPO_ROOT, functions, load_handler, load_template


@dataclass(frozen=True)
class LocalContext:
    """The attributes of a Lambda context that Powertools and our handlers read."""

    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_ms: int = 300_000  # what the invocation has when it starts (its Timeout)
    # The countdown's clock: a test that pins the remaining time passes one that stands still.
    clock: Callable[[], float] = field(default=time.monotonic, compare=False, repr=False)
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed_ms = int((self.clock() - self.started) * 1000)
        return max(0, self.remaining_ms - elapsed_ms)


def handler(
    logical_id: str, template: Mapping[str, Any] | None = None, root: Path = REPO_ROOT
) -> Callable[[dict[str, Any], Any], Any]:
    """The function's handler, found as SAM finds it (CodeUri + Handler under `root`) in the
    template (template.yaml by default)."""
    found_in = dict(template) if template is not None else load_template()
    specs = {spec.logical_id: spec for spec in functions(found_in, root)}
    if logical_id not in specs:
        raise KeyError(f"no function {logical_id!r} in the template (have: {', '.join(specs)})")
    found: Callable[[dict[str, Any], Any], Any] = load_handler(specs[logical_id])
    return found


def invoke(logical_id: str, event: dict[str, Any]) -> Any:
    return handler(logical_id)(event, LocalContext(function_name=logical_id))
