"""Local `sam local invoke` without Docker: run a function's real handler in-process.

    python -m local.invoke InventoryFunction events/InventoryFunction/describe_inbox.json
    python -m local.invoke StripeWebhookFunction events/StripeWebhookFunction/x.json --resign

The handler is found through template.yaml, exactly as SAM finds it; the event file is the same
one `sam local invoke -e` takes. The database comes from DATABASE_URL.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.template import functions, load_handler, load_template


@dataclass(frozen=True)
class LocalContext:
    """The attributes of a Lambda context that Powertools and our handlers read."""

    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_ms: int = 300_000  # what the invocation has left, constant here

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def handler(logical_id: str) -> Callable[[dict[str, Any], Any], Any]:
    """The function's handler, found through template.yaml as SAM finds it."""
    specs = {spec.logical_id: spec for spec in functions(load_template())}
    if logical_id not in specs:
        raise SystemExit(f"no function {logical_id!r} in template.yaml (have: {', '.join(specs)})")
    found: Callable[[dict[str, Any], Any], Any] = load_handler(specs[logical_id])
    return found


def invoke(logical_id: str, event: dict[str, Any]) -> Any:
    return handler(logical_id)(event, LocalContext(function_name=logical_id))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.invoke")
    parser.add_argument("function", help="logical id in template.yaml, e.g. InventoryFunction")
    parser.add_argument("event", type=Path, help="event file, e.g. events/InventoryFunction/x.json")
    parser.add_argument(
        "--resign",
        action="store_true",
        help="sign a Stripe webhook request afresh with the local samples' secret "
        "(Stripe signatures expire after 300 s)",
    )
    args = parser.parse_args(argv)
    event = json.loads(args.event.read_text())
    if args.resign:
        from local.stripe_samples import resign

        event = resign(event)
    print(json.dumps(invoke(args.function, event), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
