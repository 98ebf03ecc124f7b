"""The workflow definitions read as data: every error they name exists, and the waits of
provision_inbox.asl.json that must outlast Hostwinds' order grace do."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from typing import Any

import pytest

from inboxfleet.settings import HostwindsSettings
from local.template import REPO_ROOT, load_template

ASL = json.loads((REPO_ROOT / "statemachines/provision_inbox.asl.json").read_text())
DEFINITIONS = sorted((REPO_ROOT / "statemachines").glob("*.asl.json"))
# Names Step Functions and Lambda raise themselves.
AWS_ERRORS = ("States.", "Lambda.", "Sandbox.")


def handlers(key: str, asl: dict[str, Any] = ASL) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in asl["States"].items():
        for handler in state.get(key, []):
            yield name, handler


def our_error_classes() -> set[str]:
    """Every exception class defined in the package's errors.py modules."""
    found: set[str] = set()
    for path in (REPO_ROOT / "layers/common/inboxfleet").rglob("errors.py"):
        tree = ast.parse(path.read_text())
        found |= {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    return found


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.name)
def test_every_error_a_retry_or_catch_names_is_raised_by_someone(path: Any) -> None:
    asl = json.loads(path.read_text())
    known = our_error_classes()
    named = {
        e for key in ("Retry", "Catch") for _, h in handlers(key, asl) for e in h["ErrorEquals"]
    }
    unknown = {e for e in named if e not in known and not e.startswith(AWS_ERRORS)}
    assert unknown == set()


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.name)
def test_no_retry_lists_a_catch_all(path: Any) -> None:
    asl = json.loads(path.read_text())
    assert [n for n, h in handlers("Retry", asl) if "States.ALL" in h["ErrorEquals"]] == []


def waited(retrier: dict[str, Any]) -> float:
    """The least a retrier waits in all before giving up (full jitter may wait nothing)."""
    if retrier.get("JitterStrategy") == "FULL":
        return 0.0
    interval, rate = retrier["IntervalSeconds"], retrier.get("BackoffRate", 2.0)
    cap = retrier.get("MaxDelaySeconds", float("inf"))
    return float(sum(min(interval * rate**k, cap) for k in range(retrier["MaxAttempts"])))


def test_waits_for_a_maybe_sent_order_outlast_the_longest_grace_allowed() -> None:
    longest = next(
        m.le for m in HostwindsSettings.model_fields["order_grace_s"].metadata if hasattr(m, "le")
    )
    waits = {n: waited(h) for n, h in handlers("Retry") if "VpsNotReady" in h["ErrorEquals"]}
    assert set(waits) == {"CreateServer", "DescribeServer", "TerminateListed", "TerminateByName"}
    # TerminateListed gives back an instance the workflow has just seen listed: no wait there.
    short = {n: w for n, w in waits.items() if w <= longest and n != "TerminateListed"}
    assert short == {}


def test_the_compensation_entry_waits_out_any_step_the_stopped_run_left_running() -> None:
    """StopExecution does not stop a Lambda already invoked: a record upsert or an install of
    the stopped run may still land. The entry waits longer than any of them can run before it
    undoes anything, so nothing of the stopped run arrives after the undoing."""
    template = load_template()
    machine = template["Resources"]["ProvisionInboxStateMachine"]["Properties"]
    invoked = [ref["Fn::GetAtt"][0] for ref in machine["DefinitionSubstitutions"].values()]
    default = template["Globals"]["Function"].get("Timeout", 3)
    longest = max(
        template["Resources"][name]["Properties"].get("Timeout", default) for name in invoked
    )
    state = ASL["States"]["CompensationRequested"]
    waits = 0
    while state["Type"] != "Task":
        waits += state.get("Seconds", 0)
        state = ASL["States"][state["Next"]]
    assert state["Parameters"]["action"] == "plan_compensation"
    assert waits > longest
