"""Inventory service: each command runs in its tenant's session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inboxfleet.db import Database, tenant_session
from inboxfleet.db.repositories import Domains, Inboxes, InboxEvents, Servers
from inboxfleet.db.sessions import TenantSession
from inboxfleet.inventory import compensation, mailbox, teardown
from inboxfleet.inventory.commands import (
    ClaimMailbox,
    DescribeInbox,
    FinishCompensation,
    FinishTeardown,
    HostKeyPinned,
    InboxDescribed,
    InboxTransitioned,
    InventoryCommand,
    InventoryResult,
    MailboxApplied,
    PinHostKey,
    PlanCompensation,
    PlanTeardown,
    RecordStep,
    ReleaseMailbox,
    ReplaceServer,
    Reserve,
    ServerCreated,
    ServerReady,
    ServerRecorded,
    StepRecorded,
    TransitionInbox,
)
from inboxfleet.inventory.errors import (
    HostKeyAlreadyPinned,
    InboxNotFound,
    InvalidTransition,
    ServerNotFound,
)
from inboxfleet.inventory.reservation import Encrypt, replace, reserve
from inboxfleet.lifecycles import InboxStatus, ServerStatus
from inboxfleet.records import Server, TimelineEntry


@dataclass(frozen=True)
class InventoryDeps:
    database: Database
    environment: str  # ENVIRONMENT: names the servers this workflow orders
    encrypt: Encrypt  # mailbox passwords -> KMS ciphertext (reserve only)


def handle(command: InventoryCommand, deps: InventoryDeps) -> InventoryResult:  # noqa: PLR0911 - one return per action
    with tenant_session(command.tenant_id, database=deps.database) as session:
        match command:
            case PinHostKey():
                return _pin_host_key(session, command)
            case Reserve():
                return reserve(session, command, environment=deps.environment, encrypt=deps.encrypt)
            case ReplaceServer():
                return replace(session, command, environment=deps.environment, encrypt=deps.encrypt)
            case ServerCreated():
                return _server_created(session, command)
            case ServerReady():
                return _server_ready(session, command)
            case PlanCompensation():
                return compensation.plan(session, command)
            case FinishCompensation():
                return compensation.finish(session, command)
            case PlanTeardown():
                return teardown.plan(session, command)
            case FinishTeardown():
                return teardown.finish(session, command)
            case ClaimMailbox():
                return mailbox.claim(session, command)
            case MailboxApplied():
                return mailbox.applied(session, command)
            case ReleaseMailbox():
                return mailbox.release(session, command)
        return _on_inbox(session, command)


def _on_inbox(
    session: TenantSession, command: DescribeInbox | RecordStep | TransitionInbox
) -> InventoryResult:
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
            if command.then is not None:
                events.append(inbox.id, command.then, "started", {})
            return StepRecorded(event=event)
        case TransitionInbox():
            if inbox.status == command.to:  # a repeated step is a no-op, not an error
                return InboxTransitioned(inbox=inbox, changed=False)
            if command.to == InboxStatus.ACTIVE and inbox.failure_reason is not None:
                # Its run is being undone (a step of a stopped run arriving late).
                raise InvalidTransition(f"inbox {inbox.id} is failing: {inbox.failure_reason}")
            if command.step is not None:
                events.append(inbox.id, command.step, "succeeded", {})
            # expected=: the error names the status really left behind.
            moved = inboxes.transition(
                inbox.id, command.to, by="workflow", why=command.why, expected=inbox.status
            )
            if moved is None:
                raise InvalidTransition(
                    f"inbox {inbox.id} cannot go from {inbox.status} to {command.to}"
                )
            return InboxTransitioned(inbox=moved, changed=True)


def _pin_host_key(session: TenantSession, command: PinHostKey) -> HostKeyPinned:
    servers = Servers(session)
    pinned = servers.pin_host_key(command.server_id, command.host_key_fingerprint)
    if pinned is None:
        if servers.get(command.server_id) is None:
            raise ServerNotFound(f"server {command.server_id} not found for this tenant")
        raise HostKeyAlreadyPinned(
            f"server {command.server_id} is pinned to another host key; refusing "
            f"{command.host_key_fingerprint}"
        )
    if command.inbox_id is not None:
        _milestone(
            session,
            command.inbox_id,
            "publish_host",
            {"host_key": command.host_key_fingerprint},
            then="install_mailu",
        )
    return HostKeyPinned(server=pinned)


def _server_created(session: TenantSession, command: ServerCreated) -> ServerRecorded:
    server = Servers(session).record_instance(command.server_id, command.serviceid, str(command.ip))
    if server is None:
        raise ServerNotFound(f"server {command.server_id} is not being created for this tenant")
    detail = {"serviceid": command.serviceid, "ip": str(command.ip), "location": server.location}
    _milestone(session, command.inbox_id, "create_server", detail, then="publish_host")
    return ServerRecorded(server=server)


def _server_ready(session: TenantSession, command: ServerReady) -> ServerRecorded:
    servers = Servers(session)
    server = servers.move(command.server_id, ServerStatus.READY)
    if server is None:
        server = _existing(servers, command.server_id)
        if server.status != ServerStatus.READY:
            raise InvalidTransition(f"server {server.id} is {server.status}, not installing")
    # Its records are published and verified: the domain is in service.
    Domains(session).mark_verified(server.domain_id)
    detail = {"records": command.records}
    _milestone(session, command.inbox_id, "publish_dns", detail, then="configure_mailbox")
    return ServerRecorded(server=server)


def _existing(servers: Servers, server_id: Any) -> Server:
    server = servers.get(server_id)
    if server is None:
        raise ServerNotFound(f"server {server_id} not found for this tenant")
    return server


def _milestone(
    session: TenantSession,
    inbox_id: Any,
    step: str,
    detail: dict[str, Any],
    *,
    then: str,
) -> None:
    events = InboxEvents(session)
    events.append(inbox_id, step, "succeeded", detail)
    events.append(inbox_id, then, "started", {})
