"""Inventory service: each command runs in its tenant's session."""

from __future__ import annotations

from dataclasses import dataclass

from inboxfleet.db import Database, tenant_session
from inboxfleet.db.repositories import Inboxes, InboxEvents, Servers
from inboxfleet.inventory.commands import (
    DescribeInbox,
    HostKeyPinned,
    InboxDescribed,
    InboxTransitioned,
    InventoryCommand,
    InventoryResult,
    PinHostKey,
    RecordStep,
    StepRecorded,
    TransitionInbox,
)
from inboxfleet.inventory.errors import (
    HostKeyAlreadyPinned,
    InboxNotFound,
    InvalidTransition,
    ServerNotFound,
)
from inboxfleet.records import TimelineEntry


@dataclass(frozen=True)
class InventoryDeps:
    database: Database


def handle(command: InventoryCommand, deps: InventoryDeps) -> InventoryResult:
    if isinstance(command, PinHostKey):
        return _pin_host_key(command, deps)
    with tenant_session(command.tenant_id, database=deps.database) as session:
        inboxes = Inboxes(session)
        inbox = inboxes.get(command.inbox_id)
        if inbox is None:
            raise InboxNotFound(f"inbox {command.inbox_id} not found for this tenant")
        events = InboxEvents(session)

        match command:
            case DescribeInbox():
                timeline = [
                    TimelineEntry.model_validate(e, from_attributes=True)
                    for e in events.timeline(inbox.id)
                ]
                return InboxDescribed(inbox=inbox, timeline=timeline)
            case RecordStep():
                event = events.append(inbox.id, command.step, command.outcome, command.detail)
                return StepRecorded(event=event)
            case TransitionInbox():
                if inbox.status == command.to:  # a repeated step is a no-op, not an error
                    return InboxTransitioned(inbox=inbox, changed=False)
                # expected=: the error names the status really left behind.
                moved = inboxes.transition(
                    inbox.id, command.to, by="workflow", why=command.why, expected=inbox.status
                )
                if moved is None:
                    raise InvalidTransition(
                        f"inbox {inbox.id} cannot go from {inbox.status} to {command.to}"
                    )
                return InboxTransitioned(inbox=moved, changed=True)


def _pin_host_key(command: PinHostKey, deps: InventoryDeps) -> HostKeyPinned:
    with tenant_session(command.tenant_id, database=deps.database) as session:
        servers = Servers(session)
        pinned = servers.pin_host_key(command.server_id, command.host_key_fingerprint)
        if pinned is None:
            if servers.get(command.server_id) is None:
                raise ServerNotFound(f"server {command.server_id} not found for this tenant")
            raise HostKeyAlreadyPinned(
                f"server {command.server_id} is pinned to another host key; refusing "
                f"{command.host_key_fingerprint}"
            )
        return HostKeyPinned(server=pinned)
