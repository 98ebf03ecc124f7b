"""Starting the provisioning workflow of queued inboxes, and recording that it was started.
Billing (released inboxes), the tenant API (new requests, retries) and reconcile share it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

from inboxfleet.db.connection import Database
from inboxfleet.db.repositories import Inboxes
from inboxfleet.db.sessions import tenant_session
from inboxfleet.observability import count, logger
from inboxfleet.provisioning.ports import StartRequest, Workflow, WorkflowStarter
from inboxfleet.records import Inbox


def start_queued(
    tenant_id: UUID,
    inboxes: Sequence[Inbox],
    starter: WorkflowStarter | None,
    database: Database | None = None,
) -> tuple[str, ...]:
    """Start the workflow of queued inboxes, named <inbox id>-<attempt> (so starting one again
    after a failure between start and record is a no-op), and record the names of those started
    — even when a later start raises. Without a starter nothing is started and nothing is
    recorded as started: the inboxes stay queued for reconcile."""
    if not inboxes:
        return ()
    if starter is None:
        logger.warning("no provisioning starter: queued inboxes stay queued")
        count("ProvisioningNotStarted", len(inboxes))
        return ()
    started: list[StartRequest] = []
    try:
        for inbox in inboxes:
            request = StartRequest.for_attempt(tenant_id, inbox.id, inbox.attempt)
            starter.start(request)
            started.append(request)
    finally:
        if started:
            with tenant_session(tenant_id, database=database) as session:
                rows = Inboxes(session)
                for request in started:
                    rows.set_execution_name(request.inbox_id, request.execution_name)
            count("ProvisioningStarted", len(started))
    return tuple(r.execution_name for r in started)


def start_each(
    starter: WorkflowStarter | None, requests: Sequence[StartRequest], workflow: Workflow
) -> int:
    """Start a teardown or convergence run for each request, after the change it applies was
    recorded: one that cannot be started now is logged and left for reconcile (which finds the
    inbox still `deleting`, or its mailbox still different), never raised to the caller.
    Returns how many were handed over (started, or found already under way)."""
    if not requests:
        return 0
    if starter is None:
        logger.warning(f"no {workflow} state machine: its work waits for reconcile")
        count("WorkflowStartDeferred", len(requests))
        return 0
    started = 0
    for request in requests:
        try:
            starter.start(request)
            started += 1
        except Exception as exc:
            logger.warning(
                f"{workflow} run not started now; reconcile starts it",
                extra={"error": type(exc).__name__, "inbox_id": str(request.inbox_id)},
            )
            count("WorkflowStartDeferred")
    return started


def start_convergence(
    starter: WorkflowStarter | None, tenant_id: UUID, inbox_ids: Sequence[UUID]
) -> int:
    """A convergence run for each inbox whose mailbox must change on its server (see
    `start_each`): runs take turns through the inbox's lease."""
    requests = [StartRequest.for_mailbox(tenant_id, inbox_id) for inbox_id in inbox_ids]
    return start_each(starter, requests, "mailbox")


def start_teardowns(
    starter: WorkflowStarter | None, tenant_id: UUID, inbox_ids: Sequence[UUID]
) -> int:
    """Each inbox's teardown (see `start_each`): nothing while a run is under way, else the
    next run after those that ended (however they ended: stuck, stopped, timed out) with the
    inbox still `deleting`."""
    firsts = [StartRequest.for_teardown(tenant_id, inbox_id) for inbox_id in inbox_ids]
    return start_each(_next_runs(starter, _nth_teardown), firsts, "deprovision")


# More runs than this for one inbox means something is wrong that another run will not mend.
MAX_RUNS = 50


class TooManyRuns(RuntimeError):
    """An inbox has had MAX_RUNS runs of one series: a human looks at it."""


def _nth_teardown(first: StartRequest, run: int) -> StartRequest:
    return StartRequest.for_teardown(first.tenant_id, first.inbox_id, run)


def _nth_compensation(first: StartRequest, run: int) -> StartRequest:
    assert first.undo is not None  # built by StartRequest.for_compensation
    return StartRequest.for_compensation(first.tenant_id, first.inbox_id, first.undo, run)


def _next_runs(
    starter: WorkflowStarter | None, nth: Callable[[StartRequest, int], StartRequest]
) -> WorkflowStarter | None:
    return None if starter is None else _NextRun(starter, nth)


def due_run(
    starter: WorkflowStarter, first: StartRequest, nth: Callable[[StartRequest, int], StartRequest]
) -> StartRequest | None:
    """The run of a series (`first`, then `nth(first, 2)`, ...) that is due: None while one of
    them runs, else the first name never used."""
    for run in range(1, MAX_RUNS + 1):
        due = nth(first, run)
        status = starter.status(due.execution_name)
        if status == "RUNNING":
            return None
        if status is None:
            return due
    raise TooManyRuns(f"inbox {first.inbox_id} has had {MAX_RUNS} such runs")


def due_teardown(starter: WorkflowStarter, tenant_id: UUID, inbox_id: UUID) -> StartRequest | None:
    return due_run(starter, StartRequest.for_teardown(tenant_id, inbox_id), _nth_teardown)


def due_compensation(
    starter: WorkflowStarter, tenant_id: UUID, inbox_id: UUID, execution: str
) -> StartRequest | None:
    first = StartRequest.for_compensation(tenant_id, inbox_id, execution)
    return due_run(starter, first, _nth_compensation)


class _NextRun:
    """Asked to start the first of a series of runs, starts the one that is due instead."""

    def __init__(
        self, starter: WorkflowStarter, nth: Callable[[StartRequest, int], StartRequest]
    ) -> None:
        self._starter = starter
        self._nth = nth

    def start(self, request: StartRequest) -> None:
        due = due_run(self._starter, request, self._nth)
        if due is not None:
            self._starter.start(due)

    def status(self, execution_name: str) -> str | None:
        return self._starter.status(execution_name)

    def stop(self, execution_name: str, cause: str) -> None:
        self._starter.stop(execution_name, cause)
