"""Teardown: what deleting an inbox takes away, decided under the domain's lock so that nothing
another inbox relies on goes with it.

The mailbox goes from its server; when no other inbox uses the server any more, the server goes
instead (the mailbox with it) and our records leave the domain's zone - the tenant's own records
and the zone itself stay (the zone and the domain's claim go only with the domain: see
`inboxfleet.dns.domain_removal`). Planned again (a retried step, or the workflow entered again
after a step kept failing), a plan answers its first decisions as far as they still hold.
"""

from __future__ import annotations

from typing import Any

from inboxfleet.db.repositories import Domains, Inboxes, InboxEvents, Servers
from inboxfleet.db.sessions import TenantSession
from inboxfleet.inventory.commands import (
    FinishTeardown,
    InboxTransitioned,
    PlanTeardown,
    TeardownPlan,
)
from inboxfleet.inventory.errors import InboxNotFound, InvalidTransition, NotDeleting
from inboxfleet.inventory.undo import UndoSteps, caught_reason
from inboxfleet.lifecycles import SERVING, InboxStatus, ServerStatus
from inboxfleet.names import execution_name
from inboxfleet.records import Inbox, Server

STEP = "teardown"


def plan(session: TenantSession, command: PlanTeardown) -> TeardownPlan:
    inboxes = Inboxes(session)
    inbox = _existing(inboxes, command.inbox_id)
    if inbox.status not in (InboxStatus.DELETING, InboxStatus.DELETED):
        raise NotDeleting(f"inbox {inbox.id} is {inbox.status}, not being deleted")
    domains = Domains(session)
    # The lock every reservation and compensation of the domain takes first: no inbox joins
    # the server while this decides whether it goes.
    domain = domains.live(inbox.domain_id, lock=True) or domains.get(inbox.domain_id)
    assert domain is not None  # a foreign key holds it
    servers = Servers(session)
    server = servers.get(inbox.server_id) if inbox.server_id is not None else None
    events = InboxEvents(session)
    earlier = events.latest(inbox.id, STEP, "started")
    if inbox.status == InboxStatus.DELETED:
        steps = UndoSteps(False, False, False)  # torn down before: nothing left
    elif earlier is not None:
        steps = UndoSteps.again(earlier.detail, server)
    else:
        terminate = server is not None and (
            _left_by_own_undoing(events, inbox, server)
            or (
                server.status in SERVING
                and inboxes.relying_on(server.id, besides=inbox.id) == 0
                and servers.move(server.id, ServerStatus.DECOMMISSIONING) is not None
            )
        )
        steps = UndoSteps.decided(server, terminate=terminate, domains=domains, domain_id=domain.id)
        events.append(inbox.id, STEP, "started", steps.detail())
    return TeardownPlan(**steps.plan(domain, inbox, server))


def finish(session: TenantSession, command: FinishTeardown) -> InboxTransitioned:
    """The server given back `decommissioned` and the inbox `deleted`; after a step that kept
    failing, the inbox keeps `deleting` with the reason and the server `decommissioning`."""
    inboxes = Inboxes(session)
    inbox = _existing(inboxes, command.inbox_id)
    events = InboxEvents(session)
    if command.failure is not None:
        reason = caught_reason(STEP, command.failure)
        inboxes.mark_stuck(inbox.id, reason)
        events.append(inbox.id, STEP, "failed", {"reason": reason})
        return InboxTransitioned(inbox=_existing(inboxes, inbox.id), changed=False)
    if command.server_id is not None and command.terminated:
        Servers(session).move(command.server_id, ServerStatus.DECOMMISSIONED)
    if inbox.status == InboxStatus.DELETED:
        return InboxTransitioned(inbox=inbox, changed=False)
    events.append(inbox.id, STEP, "succeeded", {"server_terminated": command.terminated})
    moved = inboxes.transition(
        inbox.id, InboxStatus.DELETED, by="workflow", why="torn down", expected=inbox.status
    )
    if moved is None:
        raise InvalidTransition(f"inbox {inbox.id} cannot go from {inbox.status} to deleted")
    return InboxTransitioned(inbox=moved, changed=True)


def _existing(inboxes: Inboxes, inbox_id: Any) -> Inbox:
    inbox = inboxes.get(inbox_id)
    if inbox is None:
        raise InboxNotFound(f"inbox {inbox_id} not found for this tenant")
    return inbox


def _left_by_own_undoing(events: InboxEvents, inbox: Inbox, server: Server) -> bool:
    """The inbox failed and the undoing of its run gave the server back but ended incomplete
    (the instance may still be running): nothing else will finish it once the inbox is gone,
    so its teardown does. Its records go too (no other server can be on the domain while this
    one is decommissioning)."""
    if server.status != ServerStatus.DECOMMISSIONING:
        return False
    end = events.undo_end(inbox.id, execution_name(inbox.id, inbox.attempt))
    return end is not None and end.outcome == "failed" and bool(end.detail.get("server_left"))
