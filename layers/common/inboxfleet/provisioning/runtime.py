"""The workflow starters the tenant API and billing use, from settings (once per container),
unless a local tool has put another in place (`using_starter`, as `use_database` does for the
database)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from inboxfleet.provisioning.ports import Workflow, WorkflowStarter

_lock = threading.Lock()
# Entered replacements per workflow; the last one counts.
_in_place: dict[Workflow, list[WorkflowStarter | None]] = {}


def starter() -> WorkflowStarter | None:
    """Step Functions when PROVISIONING_STATE_MACHINE_ARN is set; None (requests stay queued
    for reconcile) when it is not, e.g. a function run on its own."""
    return workflow_starter("provision")


def workflow_starter(workflow: Workflow) -> WorkflowStarter | None:
    """The starter of one of the workflows (provision, deprovision, mailbox) from its
    `*_STATE_MACHINE_ARN` setting; None when that is unset (reconcile starts the work later)."""
    with _lock:
        replacements = _in_place.get(workflow)
        if replacements:
            return replacements[-1]
    from inboxfleet.settings import provisioning_settings_from_env

    return _starter(provisioning_settings_from_env().arn_of(workflow), workflow)


@contextmanager
def using_starter(
    replacement: WorkflowStarter | None, workflow: Workflow = "provision"
) -> Iterator[None]:
    """While entered, `replacement` stands for the workflow's configured starter in the whole
    process (local tools and tests: a recording starter, or None for "no state machine")."""
    with _lock:
        _in_place.setdefault(workflow, []).append(replacement)
    try:
        yield
    finally:
        with _lock:
            _in_place[workflow].pop()


@cache
def _starter(arn: str | None, workflow: Workflow) -> WorkflowStarter | None:
    if arn is None:
        from inboxfleet.observability import logger

        logger.warning(f"no state machine for the {workflow} workflow: reconcile does its work")
        return None
    from inboxfleet.provisioning.step_functions import StepFunctionsStarter

    return StepFunctionsStarter(arn)
