"""Inventory service: each command runs in its tenant's session."""

from __future__ import annotations

from typing import Any

from inboxfleet.db import tenant_session
from inboxfleet.db.repositories import Inboxes, InboxEvents
from inboxfleet.inventory.commands import DescribeInbox, RecordStep, TransitionInbox
from inboxfleet.inventory.errors import InboxNotFound, InvalidTransition


def handle(command: DescribeInbox | RecordStep | TransitionInbox) -> dict[str, Any]:
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
