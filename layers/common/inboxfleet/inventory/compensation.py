"""Compensation: what a failed (or stopped) provisioning run undoes, decided under the domain's
lock so that nothing another inbox relies on is taken away.

The plan undoes only what this execution did: the server it ordered (found by name, even when
the create timed out) and the records published for it go only when no other inbox uses the
server; a mailbox it may have made on a server others use is removed instead. Inboxes that were
waiting for a server that fails here fail too (their own Reserve sees the server's reason).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from inboxfleet.db.repositories import Domains, Inboxes, InboxEvents, Servers
from inboxfleet.db.sessions import TenantSession
from inboxfleet.inventory.commands import (
    CompensationPlan,
    FinishCompensation,
    InboxTransitioned,
    PlanCompensation,
    ReservedDomain,
)
from inboxfleet.inventory.errors import InboxNotFound, InvalidTransition, NotCompensable
from inboxfleet.lifecycles import LIVE_SERVER, SERVING, InboxStatus, ServerStatus
from inboxfleet.names import execution_name, mail_host_of
from inboxfleet.records import Domain, Inbox, InboxEvent, Server

# Statuses a run being compensated may have left its inbox in.
_COMPENSABLE = frozenset({InboxStatus.QUEUED, InboxStatus.PROVISIONING, InboxStatus.FAILED})
# A server this run gives back leaves these for `decommissioning` (already there: another run's).
_GIVEN_BACK_FROM = LIVE_SERVER | {ServerStatus.FAILED}
REASON_LIMIT = 500
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
        # decisions, as far as they still hold, and nothing recorded again. Only this plan
        # moved the server out of service, so it is still its to give back while it is
        # decommissioning; records go only with it (no other server can be on the domain).
        reason = str(earlier["reason"])
        going = server is not None and server.status == ServerStatus.DECOMMISSIONING
        terminate = bool(earlier["terminate_server"]) and going
        delete_records = bool(earlier["delete_records"]) and terminate
        remove_mailbox = (
            bool(earlier["remove_mailbox"]) and server is not None and server.status in SERVING
        )
    else:
        reason = inbox.failure_reason or failure_reason(
            step,
            command.failure.get("Error") or "States.Runtime",
            command.failure.get("Cause"),
        )
        terminate = server is not None and _terminate(inboxes, server, inbox, command.execution)
        if terminate and server is not None and server.status in _GIVEN_BACK_FROM:
            # On its way out: out of the live set (a new request on the domain waits until
            # it has gone, records included; waiting inboxes fail with its reason).
            going_now = servers.move(server.id, ServerStatus.DECOMMISSIONING, failure_reason=reason)
            server = going_now or server
        remove_mailbox = (
            server is not None
            and not terminate
            and server.status in SERVING
            and server.host_key_fingerprint is not None
        )
        delete_records = terminate and server is not None and server.ip is not None
        if delete_records:
            domains.mark_degraded(domain.id)
        if inbox.status != InboxStatus.FAILED:
            events.append(inbox.id, step or "workflow", "failed", {"reason": reason})
            # Failing now, under the lock: another inbox's plan no longer counts this one as
            # using the server (the last one out gives it back). It turns `failed` only once
            # the undoing is over, so a retry can never run beside it.
            inboxes.mark_failing(inbox.id, reason)
        detail = {
            "execution": command.execution,
            "reason": reason,
            "remove_mailbox": remove_mailbox,
            "delete_records": delete_records,
            "terminate_server": terminate,
        }
        events.append(inbox.id, "compensate", "started", detail)
    return CompensationPlan(
        execution=command.execution,
        reason=reason,
        remove_mailbox=remove_mailbox,
        delete_records=delete_records,
        terminate=terminate,
        **undo_target(domain, inbox, server),
    )


def undo_target(domain: Domain, inbox: Inbox, server: Server | None) -> dict[str, Any]:
    """What an undo plan (compensation's, teardown's) says of the domain, the inbox and its
    server: where each step is sent."""
    serviceid = int(server.provider_instance_id) if server and server.provider_instance_id else None
    return {
        "domain": ReservedDomain(id=domain.id, name=domain.name),
        "mail_host": mail_host_of(domain.name),
        "address": inbox.address,
        "server_id": server.id if server else None,
        "server_name": server.name if server else None,
        "serviceid": serviceid,
        "server_ip": str(server.ip) if server and server.ip else None,
        "host_key_fingerprint": server.host_key_fingerprint if server else None,
        # Once the instance has been seen, the name finds it (and any duplicate) at once; else
        # an order younger than the grace may still be on its way into the listings. For one
        # never seen, now: a create may have ordered again (after the grace) since the first
        # order was recorded, so the grace counts from the latest it can have been sent.
        "ordered_at": datetime.now(UTC) if server and serviceid is None else None,
    }


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


def failure_reason(step: str | None, error: str, cause: str | None) -> str:
    """What a person reads: the step, the named error and its message (never a stack trace)."""
    message = _message(cause)
    where = f"{step.replace('_', ' ')} failed" if step else "provisioning failed"
    text = f"{where}: {error}" + (f": {message}" if message else "")
    return text[: REASON_LIMIT - 1] + "…" if len(text) > REASON_LIMIT else text


def caught_reason(step: str, failure: dict[str, str | None]) -> str:
    """The reason a Catch's `{Error, Cause}` gives for a step."""
    return failure_reason(step, str(failure.get("Error") or "States.Runtime"), failure.get("Cause"))


def _message(cause: str | None) -> str:
    """Lambda's error document carries the message; Step Functions' own errors are text."""
    if not cause:
        return ""
    try:
        document = json.loads(cause)
    except ValueError:
        return cause.strip()
    if isinstance(document, dict):
        return str(document.get("errorMessage") or "").strip()
    return cause.strip()


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
