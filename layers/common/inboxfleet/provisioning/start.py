"""Starting the provisioning workflow of queued inboxes, and recording that it was started.
Billing (released inboxes), the tenant API (new requests, retries) and reconcile share it."""

from __future__ import annotations

from collections.abc import Sequence
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
    Returns how many were started."""
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


# More runs than this for one inbox means something is wrong that another run will not mend.
MAX_TEARDOWN_RUNS = 50


def start_teardowns(
    starter: WorkflowStarter | None, tenant_id: UUID, inbox_ids: Sequence[UUID]
) -> int:
    """Each inbox's teardown: nothing while a run is under way, else the next run after those
    that ended (however they ended: stuck, stopped, timed out) with the inbox still `deleting`.
    Like `start_each`, a start that cannot be made now is logged and left for reconcile.
    Returns how many were started."""
    if starter is None:
        return start_each(
            None, [StartRequest.for_teardown(tenant_id, i) for i in inbox_ids], "deprovision"
        )
    requests = []
    for inbox_id in inbox_ids:
        try:
            request = _next_teardown(starter, tenant_id, inbox_id)
        except Exception as exc:
            logger.warning(
                "deprovision run not started now; reconcile starts it",
                extra={"error": type(exc).__name__, "inbox_id": str(inbox_id)},
            )
            count("WorkflowStartDeferred")
            continue
        if request is not None:
            requests.append(request)
    return start_each(starter, requests, "deprovision")


def _next_teardown(
    starter: WorkflowStarter, tenant_id: UUID, inbox_id: UUID
) -> StartRequest | None:
    for run in range(1, MAX_TEARDOWN_RUNS + 1):
        request = StartRequest.for_teardown(tenant_id, inbox_id, run)
        status = starter.status(request.execution_name)
        if status is None:
            return request
        if status == "RUNNING":
            return None
    logger.error("too many teardown runs", extra={"inbox_id": str(inbox_id)})
    count("TeardownRunsExhausted")
    return None
