"""Status values and the transitions between them (DESIGN.md, "Lifecycles").

The database constrains status columns to exactly these values; a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Literal, TypeVar

# Who changes an inbox's status; every change is written to the inbox's timeline with its actor.
Actor = Literal["billing", "workflow", "tenant", "reconcile"]
# Why billing suspended an inbox (billing only ever lifts its own suspensions).
SuspensionReason = Literal["non_payment", "canceled", "over_limit"]


class InboxStatus(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    QUEUED = "queued"
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    FAILED = "failed"
    DELETING = "deleting"
    DELETED = "deleted"


class ServerStatus(StrEnum):
    CREATING = "creating"
    INSTALLING = "installing"
    READY = "ready"
    SUSPENDED = "suspended"
    FAILED = "failed"
    DECOMMISSIONING = "decommissioning"
    DECOMMISSIONED = "decommissioned"


class DomainStatus(StrEnum):
    PENDING_DELEGATION = "pending_delegation"
    DELEGATED = "delegated"
    CONFIGURED = "configured"
    VERIFIED = "verified"
    DEGRADED = "degraded"
    REMOVED = "removed"


class SubscriptionStatus(StrEnum):
    """Exactly Stripe's subscription statuses."""

    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    UNPAID = "unpaid"
    PAUSED = "paused"
    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"


class PaymentState(StrEnum):
    OK = "ok"
    PAST_DUE = "past_due"
    SUSPENDED = "suspended"


S = TypeVar("S", bound=StrEnum)

_I = InboxStatus
# The inboxes a plan's max_inboxes counts: asked for and not failed, suspended or on their way out.
INBOXES_IN_USE = frozenset({_I.QUEUED, _I.PROVISIONING, _I.ACTIVE})
# A server's statuses while it is being built or in service: at most one per domain (the
# database's partial unique index servers_live_domain_idx says the same).
LIVE_SERVER = frozenset(
    {ServerStatus.CREATING, ServerStatus.INSTALLING, ServerStatus.READY, ServerStatus.SUSPENDED}
)

# A server in service: its mail server answers (a mailbox can be configured, changed, removed).
SERVING = frozenset({ServerStatus.READY, ServerStatus.SUSPENDED})

INBOX_TRANSITIONS: dict[InboxStatus, frozenset[InboxStatus]] = {
    _I.AWAITING_PAYMENT: frozenset({_I.QUEUED, _I.DELETING}),
    # A workflow that cannot even reserve (limits, delegation) fails the inbox it was given.
    _I.QUEUED: frozenset({_I.PROVISIONING, _I.FAILED, _I.DELETING}),
    _I.PROVISIONING: frozenset({_I.ACTIVE, _I.FAILED}),
    # Reconcile fails an inbox in service whose server vanished at Hostwinds (`server_lost`).
    _I.ACTIVE: frozenset({_I.SUSPENDED, _I.FAILED, _I.DELETING}),
    _I.SUSPENDED: frozenset({_I.ACTIVE, _I.FAILED, _I.DELETING}),
    # A retry after a failure is a new attempt of the workflow: the inbox queues again.
    _I.FAILED: frozenset({_I.QUEUED, _I.DELETING}),
    _I.DELETING: frozenset({_I.DELETED}),
    _I.DELETED: frozenset(),
}

_S = ServerStatus
SERVER_TRANSITIONS: dict[ServerStatus, frozenset[ServerStatus]] = {
    _S.CREATING: frozenset({_S.INSTALLING, _S.FAILED, _S.DECOMMISSIONING}),
    _S.INSTALLING: frozenset({_S.READY, _S.FAILED, _S.DECOMMISSIONING}),
    # Reconcile fails a server in service whose instance vanished at Hostwinds.
    _S.READY: frozenset({_S.SUSPENDED, _S.FAILED, _S.DECOMMISSIONING}),
    _S.SUSPENDED: frozenset({_S.READY, _S.FAILED, _S.DECOMMISSIONING}),
    _S.FAILED: frozenset({_S.DECOMMISSIONING}),
    _S.DECOMMISSIONING: frozenset({_S.DECOMMISSIONED}),
    _S.DECOMMISSIONED: frozenset(),
}

_D = DomainStatus
DOMAIN_TRANSITIONS: dict[DomainStatus, frozenset[DomainStatus]] = {
    _D.PENDING_DELEGATION: frozenset({_D.DELEGATED, _D.REMOVED}),
    _D.DELEGATED: frozenset({_D.CONFIGURED, _D.PENDING_DELEGATION, _D.REMOVED}),
    _D.CONFIGURED: frozenset({_D.VERIFIED, _D.DEGRADED, _D.REMOVED}),
    _D.VERIFIED: frozenset({_D.DEGRADED, _D.REMOVED}),
    _D.DEGRADED: frozenset({_D.VERIFIED, _D.REMOVED}),
    _D.REMOVED: frozenset(),
}


def predecessors(transitions: Mapping[S, frozenset[S]], target: S) -> frozenset[S]:
    """Statuses a lifecycle lets a row move to `target` from (for compare-and-set updates)."""
    return frozenset(s for s, nexts in transitions.items() if target in nexts)


def inbox_predecessors(target: InboxStatus) -> frozenset[InboxStatus]:
    return predecessors(INBOX_TRANSITIONS, target)


def can_transition_inbox(current: InboxStatus, target: InboxStatus) -> bool:
    return target in INBOX_TRANSITIONS[current]
