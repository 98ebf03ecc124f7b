"""Inventory service: each command runs in its tenant's session."""

from __future__ import annotations

from typing import Any

from inboxfleet.db import tenant_session
from inboxfleet.db.repositories import Inboxes, InboxEvents, Servers
from inboxfleet.inventory.commands import DescribeInbox, PinHostKey, RecordStep, TransitionInbox
from inboxfleet.inventory.errors import (
    HostKeyAlreadyPinned,
    InboxNotFound,
    InvalidTransition,
    ServerNotFound,
)


def handle(command: DescribeInbox | RecordStep | TransitionInbox | PinHostKey) -> dict[str, Any]:
    if isinstance(command, PinHostKey):
        return _pin_host_key(command)
    with tenant_session(command.tenant_id) as session:
        inboxes = Inboxes(session)
        inbox = inboxes.get(command.inbox_id)
        if inbox is None:
            raise InboxNotFound(f"inbox {command.inbox_id} not found for this tenant")
        events = InboxEvents(session)

        match command:
            case DescribeInbox():
                timeline = events.timeline(inbox.id)
                return {
                    "inbox": inbox.model_dump(mode="json"),
                    "timeline": [
                        e.model_dump(mode="json", exclude={"tenant_id"}) for e in timeline
                    ],
                }
            case RecordStep():
                event = events.append(inbox.id, command.step, command.outcome, command.detail)
                return {"event": event.model_dump(mode="json")}
            case TransitionInbox():
                if inbox.status == command.to:  # a repeated step is a no-op, not an error
                    return {"inbox": inbox.model_dump(mode="json"), "changed": False}
                # expected=: the timeline's "from" must be the status really left behind.
                moved = inboxes.transition(
                    inbox.id, command.to, command.failure_reason, expected=inbox.status
                )
                if moved is None:
                    raise InvalidTransition(
                        f"inbox {inbox.id} cannot go from {inbox.status} to {command.to}"
                    )
                events.append(
                    inbox.id, "status", "info", {"from": inbox.status, "to": moved.status}
                )
                return {"inbox": moved.model_dump(mode="json"), "changed": True}


def _pin_host_key(command: PinHostKey) -> dict[str, Any]:
    with tenant_session(command.tenant_id) as session:
        servers = Servers(session)
        pinned = servers.pin_host_key(command.server_id, command.host_key_fingerprint)
        if pinned is None:
            if servers.get(command.server_id) is None:
                raise ServerNotFound(f"server {command.server_id} not found for this tenant")
            raise HostKeyAlreadyPinned(
                f"server {command.server_id} is pinned to another host key; refusing "
                f"{command.host_key_fingerprint}"
            )
        return {"server": pinned.model_dump(mode="json")}
