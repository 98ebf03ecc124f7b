"""Compensation: what a failed (or stopped) provisioning run undoes, decided under the domain's
lock so that nothing another inbox relies on is taken away.

The plan undoes only what this execution did: the server it ordered (found by name, even when
the create timed out) and the records published for it go only when no other inbox uses the
server; a mailbox it may have made on a server others use is removed instead. Inboxes that were
waiting for a server that fails here fail too (their own Reserve sees the server's reason).
"""

from __future__ import annotations

from typing import Any

from inboxfleet.db.repositories import Domains, Inboxes, InboxEvents, Servers
from inboxfleet.db.sessions import TenantSession
from inboxfleet.inventory.commands import (
    CompensationPlan,
    FinishCompensation,
    InboxTransitioned,
    PlanCompensation,
)
from inboxfleet.inventory.errors import InboxNotFound, InvalidTransition, NotCompensable
from inboxfleet.inventory.undo import UndoSteps, caught_reason
from inboxfleet.lifecycles import LIVE_SERVER, InboxStatus, ServerStatus
from inboxfleet.names import execution_name
from inboxfleet.records import Inbox, InboxEvent, Server

# Statuses a run being compensated may have left its inbox in.
_COMPENSABLE = frozenset({InboxStatus.QUEUED, InboxStatus.PROVISIONING, InboxStatus.FAILED})
# A server this run gives back leaves these for `decommissioning` (already there: another run's).
_GIVEN_BACK_FROM = LIVE_SERVER | {ServerStatus.FAILED}
RECENT_ENTRIES = 60  # a run's entries since its reservation, with room to spare


def plan(session: TenantSession, command: PlanCompensation) -> CompensationPlan:
    inboxes = Inboxes(session)
    inbox = inboxes.get(command.inbox_id)
    if inbox is None:
        raise InboxNotFound(f"inbox {command.inbox_id} not found for this tenant")
    current = execution_name(inbox.id, inbox.attempt)
    if (
        inbox.status not in _COMPENSABLE
        or command.execution != current
        or inbox.execution_name not in (None, current)
    ):
        # In service, gone, or moved on to another attempt: that run is not this one's.
        raise NotCompensable(
            f"inbox {inbox.id} is {inbox.status} (execution {inbox.execution_name}): "
            f"nothing of {command.execution} to undo"
        )
    domains = Domains(session)
    # The lock every reservation of the domain takes first: no inbox joins the server while
    # this decides whether it goes.
    domain = domains.live(inbox.domain_id, lock=True) or domains.get(inbox.domain_id)
    assert domain is not None  # a foreign key holds it
    events = InboxEvents(session)
    servers = Servers(session)
    server = servers.get(inbox.server_id) if inbox.server_id is not None else None
    # Read once: what an earlier plan of this run decided, and which step was under way.
    recent = events.timeline(inbox.id, last=RECENT_ENTRIES)
    earlier = _planned(recent, command.execution)
    step = _step_in_progress(recent)
    if earlier is not None:
        end = events.undo_end(inbox.id, command.execution)
        if end is not None and end.outcome == "succeeded":
            # Entered again for a run whose undoing is over: what it decided then may now
            # belong to someone else (the domain's next server, its records).
            raise NotCompensable(f"{command.execution} was already undone: nothing left to do")
        # Planned before (a retried step, or a compensation that ended incomplete): the same
        # decisions, as far as they still hold, and nothing recorded again.
        reason = str(earlier["reason"])
        steps = UndoSteps.again(earlier, server)
    else:
        reason = inbox.failure_reason or caught_reason(step, command.failure)
        terminate = server is not None and _terminate(inboxes, server, inbox, command.execution)
        if terminate and server is not None and server.status in _GIVEN_BACK_FROM:
            # On its way out: out of the live set (a new request on the domain waits until
            # it has gone, records included; waiting inboxes fail with its reason).
            going_now = servers.move(server.id, ServerStatus.DECOMMISSIONING, failure_reason=reason)
            server = going_now or server
        steps = UndoSteps.decided(server, terminate=terminate, domains=domains, domain_id=domain.id)
        if inbox.status != InboxStatus.FAILED:
            events.append(inbox.id, step or "workflow", "failed", {"reason": reason})
            # Failing now, under the lock: another inbox's plan no longer counts this one as
            # using the server (the last one out gives it back). It turns `failed` only once
            # the undoing is over, so a retry can never run beside it.
            inboxes.mark_failing(inbox.id, reason)
        detail = {"execution": command.execution, "reason": reason, **steps.detail()}
        events.append(inbox.id, "compensate", "started", detail)
    return CompensationPlan(
        execution=command.execution, reason=reason, **steps.plan(domain, inbox, server)
    )


def _terminate(inboxes: Inboxes, server: Server, inbox: Inbox, execution: str) -> bool:
    """Whether the server goes: one in service when no other inbox uses it any more (whoever
    ordered it: the last one out turns off the light); one still being built only by the
    execution that ordered it (inboxes waiting for it fail with it)."""
    match server.status:
        case ServerStatus.READY | ServerStatus.SUSPENDED:
            return inboxes.relying_on(server.id, besides=inbox.id) == 0
        case ServerStatus.CREATING | ServerStatus.INSTALLING | ServerStatus.FAILED:
            return server.ordered_by == execution
    # Decommissioning: another run gives it back (an inbox that waited for it fails with it).
    return False


def _planned(recent: list[InboxEvent], execution: str) -> dict[str, Any] | None:
    """What an earlier plan for this execution decided (its "compensate started" entry)."""
    for entry in reversed(recent):
        if (entry.step, entry.outcome) == ("compensate", "started") and entry.detail.get(
            "execution"
        ) == execution:
            return entry.detail
    return None


def finish(session: TenantSession, command: FinishCompensation) -> InboxTransitioned:
    """The end of compensation: the inbox `failed` with the plan's reason, a server this
    execution gave back `decommissioned` (one it could not is left `decommissioning`: entering
    compensation again for this run ends it), and the timeline says how it ended. An inbox
    that has moved on (another attempt, or deleted meanwhile) is left as it is."""
    servers = Servers(session)
    if command.server_id is not None and command.terminated and not command.incomplete:
        servers.move(command.server_id, ServerStatus.DECOMMISSIONED)
    inboxes = Inboxes(session)
    inbox = inboxes.get(command.inbox_id)
    if inbox is None:
        raise InboxNotFound(f"inbox {command.inbox_id} not found for this tenant")
    if (
        command.execution != execution_name(inbox.id, inbox.attempt)
        or inbox.status not in _COMPENSABLE
    ):
        # Moved on to another attempt, or being deleted: its state is no longer this run's.
        InboxEvents(session).append(
            inbox.id, "compensate", "info", {"execution": command.execution, "stale": True}
        )
        return InboxTransitioned(inbox=inbox, changed=False)
    outcome = "failed" if command.incomplete else "succeeded"
    detail: dict[str, Any] = {
        "execution": command.execution,
        "server_terminated": command.terminated and not command.incomplete,
    }
    if command.incomplete:
        # What compensating this run again must finish; a server it gave back may be left
        # (a retry waits for it), a mailbox left on a shared server holds nothing up.
        detail |= {"left_for_reconcile": True, "server_left": command.terminated}
    InboxEvents(session).append(inbox.id, "compensate", outcome, detail)
    if inbox.status == InboxStatus.FAILED:
        return InboxTransitioned(inbox=inbox, changed=False)
    moved = inboxes.transition(
        inbox.id, InboxStatus.FAILED, by="workflow", why=command.reason, expected=inbox.status
    )
    if moved is None:
        raise InvalidTransition(f"inbox {inbox.id} cannot go from {inbox.status} to failed")
    return InboxTransitioned(inbox=moved, changed=True)


def _step_in_progress(recent: list[InboxEvent]) -> str | None:
    """The newest step started and not yet ended on the timeline."""
    ended: set[str] = set()
    for entry in reversed(recent):
        if entry.step == "compensate":
            continue
        if entry.outcome in ("succeeded", "failed"):
            ended.add(entry.step)
        elif entry.outcome == "started" and entry.step not in ended:
            return entry.step
    return None
