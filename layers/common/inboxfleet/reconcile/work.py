"""Part 2: workflows that were lost or got stuck.

- `queued` inboxes with no run of their attempt (a lost start) are started under that name;
  one whose run is found but not recorded gets its name recorded; one whose run has ended
  without taking it gets a new attempt (an ended name can never run again).
- `provisioning` inboxes whose run is no longer running go through the provisioning machine's
  compensation entry; one running far past the expected time is stopped first; so do `failed`
  inboxes whose run's undoing ended incomplete (a server given back but not terminated).
- `deleting` inboxes with no teardown running get the next teardown run.

Each read is one query per page; Step Functions is asked only about inboxes left unchanged for
longer than the grace. A Step Functions outage skips the rest of the part and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from inboxfleet.db.errors import DatabaseError
from inboxfleet.db.repositories import Inboxes
from inboxfleet.db.repositories.reconcile import Estate, WorkRow
from inboxfleet.db.sessions import tenant_session
from inboxfleet.lifecycles import InboxStatus
from inboxfleet.names import execution_name, teardown_name
from inboxfleet.observability import logger
from inboxfleet.provisioning.ports import StartRequest, WorkflowStarter
from inboxfleet.provisioning.start import (
    MAX_RUNS,
    TooManyRuns,
    due_compensation,
    due_teardown,
    start_queued,
)
from inboxfleet.reconcile.ports import Scope
from inboxfleet.reconcile.scope import OutOfTime

RUNNING = "RUNNING"
T = TypeVar("T")


class StepFunctionsDown(Exception):
    """A Step Functions call failed: the rest of the part waits for the next pass."""


def reconcile_work(scope: Scope) -> None:
    starters = scope.deps.starters
    provision, deprovision = starters.get("provision"), starters.get("deprovision")
    missing = [
        name for name, s in (("provision", provision), ("deprovision", deprovision)) if not s
    ]
    try:
        if provision is not None:
            _each(
                scope, _in_status(scope, InboxStatus.QUEUED), lambda r: _queued(scope, provision, r)
            )
            _each(
                scope,
                _in_status(scope, InboxStatus.PROVISIONING),
                lambda r: _provisioning(scope, provision, r),
            )
            _each(scope, _unfinished_undos(scope), lambda r: _undo_again(scope, provision, r))
        if deprovision is not None:
            _each(
                scope,
                _in_status(scope, InboxStatus.DELETING),
                lambda r: _deleting(scope, deprovision, r),
            )
    except StepFunctionsDown as exc:
        scope.tally.skip(f"Step Functions unreachable ({exc}): the rest waits for the next pass")
        return
    if missing:
        scope.tally.incomplete(f"no {' or '.join(missing)} state machine configured")


def _each(scope: Scope, rows: list[WorkRow], handle: Callable[[WorkRow], None]) -> None:
    """`handle` each row in its own try: one inbox's failure is reported (`work_failed`) and
    never stops the others; Step Functions down and the time running out end the part."""
    for row in rows:
        try:
            handle(row)
        except (StepFunctionsDown, OutOfTime):
            raise
        except Exception as exc:
            logger.warning(
                "stuck work not repaired; the next pass tries again",
                extra={"inbox_id": str(row.id), "error": type(exc).__name__},
            )
            scope.tally.found(
                "work_failed",
                {"tenant_id": row.tenant_id, "inbox_id": row.id, "error": type(exc).__name__},
            )


# One keyset query of inboxes left unchanged since `before`: (estate, before, after, limit).
Stale = Callable[[Estate, datetime, tuple[UUID, UUID] | None, int], list[WorkRow]]


def _stale(scope: Scope, reason: str, query: Stale) -> list[WorkRow]:
    """Every inbox the query finds unchanged for longer than the grace, page by page."""
    before = scope.now - timedelta(seconds=scope.settings.work_grace_s)
    limit = scope.settings.page_size
    return [
        row
        for rows in scope.pages(
            f"work-{reason}",
            lambda session, after: query(Estate(session), before, after, limit),
            key=lambda row: (row.tenant_id, row.id),
        )
        for row in rows
    ]


def _in_status(scope: Scope, status: InboxStatus) -> list[WorkRow]:
    return _stale(
        scope,
        status,
        lambda estate, before, after, limit: estate.stale_inboxes(
            status, before=before, after=after, limit=limit
        ),
    )


def _unfinished_undos(scope: Scope) -> list[WorkRow]:
    return _stale(
        scope,
        "undos",
        lambda estate, before, after, limit: estate.unfinished_undos(
            before=before, after=after, limit=limit
        ),
    )


def _sfn(what: str, call: Callable[[], T]) -> T:
    """A Step Functions call; any failure of it is an outage for this part (too many runs
    of one inbox is that inbox's problem, not an outage: raised as it is)."""
    try:
        return call()
    except (TooManyRuns, DatabaseError):
        raise  # not Step Functions': the inbox's own problem, or the database's
    except Exception as exc:
        raise StepFunctionsDown(f"{what}: {type(exc).__name__}") from exc


def _in_tenant(scope: Scope, row: WorkRow, change: Callable[[Inboxes], T]) -> T:
    with tenant_session(row.tenant_id, database=scope.deps.database) as session:
        return change(Inboxes(session))


def _item(row: WorkRow, run: str) -> dict[str, object]:
    return {"tenant_id": row.tenant_id, "inbox_id": row.id, "execution": run}


def _queued(scope: Scope, starter: WorkflowStarter, row: WorkRow) -> None:
    scope.deadline.check()
    run = execution_name(row.id, row.attempt)
    status = _sfn("status", lambda: starter.status(run))
    if status == RUNNING:
        if row.execution_name is None:
            # Started, and the answer lost before its name was recorded.
            repaired = not scope.dry_run and _in_tenant(
                scope, row, lambda rows: rows.record_execution(row.id, row.attempt, run)
            )
            scope.tally.found("unrecorded_start", _item(row, run), repaired=repaired)
        return
    if row.failure_reason is not None:
        # Its run is being undone (a plan marked it failing): the undoing finishes it, never a
        # start or a new attempt beside it.
        _undo_again(scope, starter, row.model_copy(update={"execution_name": run}))
        return
    if status is None:
        if not scope.dry_run:
            _start_queued(scope, starter, row)
        scope.tally.found("lost_start", _item(row, run), repaired=not scope.dry_run)
        return
    # Its run ended and never took the inbox (Reserve moves it on): a new attempt.
    if row.attempt >= MAX_RUNS:
        scope.tally.found("too_many_runs", _item(row, run) | {"why": f"{row.attempt} attempts"})
        return
    repaired = False
    if not scope.dry_run:
        moved = _in_tenant(scope, row, lambda rows: rows.new_attempt(row.id, row.attempt))
        if moved is not None:
            _start_queued(scope, starter, row.model_copy(update={"attempt": moved.attempt}))
            repaired = True
    scope.tally.found("ended_start", _item(row, run) | {"ended": status}, repaired=repaired)


def _start_queued(scope: Scope, starter: WorkflowStarter, row: WorkRow) -> None:
    with tenant_session(row.tenant_id, database=scope.deps.database) as session:
        inbox = Inboxes(session).get(row.id)
    if inbox is None or inbox.status != InboxStatus.QUEUED:
        return
    _sfn("start", lambda: start_queued(row.tenant_id, [inbox], starter, scope.deps.database))


def _due_compensation(
    scope: Scope, starter: WorkflowStarter, row: WorkRow, run: str
) -> StartRequest | None:
    """The compensation entry's run that is due for `run`: None while one runs, or (reported)
    when the inbox has had too many."""
    try:
        return _sfn("status", lambda: due_compensation(starter, row.tenant_id, row.id, run))
    except TooManyRuns as exc:
        scope.tally.found("too_many_runs", _item(row, run) | {"why": str(exc)})
        return None


def _undo_again(scope: Scope, starter: WorkflowStarter, row: WorkRow) -> None:
    """The compensation entry for an inbox whose undoing ended incomplete (failed, or still
    queued and marked failing): it finishes what the run left (a server given back but not
    terminated, records not deleted)."""
    scope.deadline.check()
    if row.execution_name is None:
        return
    run = row.execution_name
    due = _due_compensation(scope, starter, row, run)
    if due is None:
        return  # one is under way (or too many were)
    if not scope.dry_run:
        _sfn("compensate", lambda: starter.start(due))
    scope.tally.found(
        "unfinished_undo",
        _item(row, run) | {"compensation": due.execution_name},
        repaired=not scope.dry_run,
    )


def _provisioning(scope: Scope, starter: WorkflowStarter, row: WorkRow) -> None:
    scope.deadline.check()
    run = row.execution_name or execution_name(row.id, row.attempt)
    status = _sfn("status", lambda: starter.status(run))
    overdue = scope.now - row.updated_at > timedelta(seconds=scope.settings.provisioning_overdue_s)
    if status == RUNNING and not overdue:
        return
    due = _due_compensation(scope, starter, row, run)
    if due is None:
        return  # its compensation is under way already (or too many were)
    kind = "stuck_provisioning" if status == RUNNING else "stranded_provisioning"
    if not scope.dry_run:
        if status == RUNNING:
            _sfn("stop", lambda: starter.stop(run, "stuck: running far past the expected time"))
        _sfn("compensate", lambda: starter.start(due))
        logger.warning(
            "provisioning run compensated by reconcile",
            extra={"inbox_id": str(row.id), "execution": run, "status": status},
        )
    scope.tally.found(
        kind,
        _item(row, run) | {"status": status, "compensation": due.execution_name},
        repaired=not scope.dry_run,
    )


def _deleting(scope: Scope, starter: WorkflowStarter, row: WorkRow) -> None:
    scope.deadline.check()
    try:
        due = _sfn("status", lambda: due_teardown(starter, row.tenant_id, row.id))
    except TooManyRuns as exc:
        scope.tally.found("too_many_runs", _item(row, teardown_name(row.id)) | {"why": str(exc)})
        return
    if due is None:
        return  # a teardown is running
    if not scope.dry_run:
        _sfn("teardown", lambda: starter.start(due))
    scope.tally.found(
        "unfinished_teardown", _item(row, due.execution_name), repaired=not scope.dry_run
    )
