"""Convergence of a mailbox: its server is made to hold what billing and the tenant want (the
inbox `active`: enabled, `suspended`: disabled; a new password once asked for), one run at a
time per inbox through a lease on the inbox row (held across the network, unlike a lock).

A run claims the lease and reads what to apply, the mail-server function applies it, and the run
records it applied - unless what is wanted changed meanwhile, when it goes round again. A run
that dies holding the lease leaves the state different from what is wanted: the lease runs out
and the next run (or reconcile) applies it."""

from __future__ import annotations

import base64
from datetime import timedelta

from inboxfleet.db.repositories import InboxEvents, MailboxStates
from inboxfleet.db.sessions import TenantSession
from inboxfleet.inventory.commands import (
    ClaimMailbox,
    MailboxApplied,
    MailboxSettled,
    MailboxWork,
    ReleaseMailbox,
    StepRecorded,
)
from inboxfleet.inventory.errors import InboxNotFound, MailboxBusy
from inboxfleet.inventory.undo import caught_reason
from inboxfleet.lifecycles import SERVING, InboxStatus
from inboxfleet.records import MailboxState

STEP = "mailbox"
# Longer than a convergence run and its last Lambda call may last: the machine's TimeoutSeconds
# (3000 s) plus the mail-server function's Timeout (900 s), which Step Functions does not cut
# short. A lease that ran out under a live call could let an older state land last.
LEASE = timedelta(seconds=3000 + 900 + 300)


def claim(session: TenantSession, command: ClaimMailbox) -> MailboxWork:
    states = MailboxStates(session)
    state = _existing(states, command)
    if not state.differs:
        return MailboxWork(work=False, why="the server holds what is wanted", address=state.address)
    if (
        state.server_status not in SERVING
        or state.server_ip is None
        or state.host_key_fingerprint is None
    ):
        return MailboxWork(
            work=False, why=f"its server is {state.server_status}", address=state.address
        )
    if not states.lease(state.id, command.execution, LEASE):
        raise MailboxBusy(f"{state.mailbox_lease} is applying the mailbox's state")
    enabled = state.status == InboxStatus.ACTIVE
    password = state.desired_password_ciphertext
    InboxEvents(session).append(
        state.id,
        STEP,
        "started",
        {"execution": command.execution, "enabled": enabled, "new_password": password is not None},
    )
    return MailboxWork(
        work=True,
        why="the server differs from what is wanted",
        address=state.address,
        server_ip=str(state.server_ip),
        host_key_fingerprint=state.host_key_fingerprint,
        enabled=enabled,
        password_ciphertext=base64.b64encode(password).decode() if password else None,
    )


def applied(session: TenantSession, command: MailboxApplied) -> MailboxSettled:
    states = MailboxStates(session)
    sent = base64.b64decode(command.password_ciphertext) if command.password_ciphertext else None
    state = states.applied(
        command.inbox_id, command.execution, enabled=command.enabled, password_ciphertext=sent
    )
    if state is None:  # the lease ran out and another run took it: that run applies it
        return MailboxSettled(again=False)
    InboxEvents(session).append(
        state.id,
        STEP,
        "succeeded",
        {"enabled": command.enabled, "new_password": sent is not None},
    )
    return MailboxSettled(again=state.differs)


def release(session: TenantSession, command: ReleaseMailbox) -> StepRecorded:
    states = MailboxStates(session)
    state = _existing(states, command)
    states.release(state.id, command.execution)
    reason = caught_reason(STEP, command.failure)
    event = InboxEvents(session).append(state.id, STEP, "failed", {"reason": reason})
    return StepRecorded(event=event)


def _existing(states: MailboxStates, command: ClaimMailbox | ReleaseMailbox) -> MailboxState:
    state = states.get(command.inbox_id, lock=True)
    if state is None:
        raise InboxNotFound(f"inbox {command.inbox_id} not found for this tenant")
    return state
