"""What the tenant's entitlement means for its inboxes (pure).

Billing sets desired states only; the mail-server function converges servers to them.
- Entitled: inboxes waiting for payment are released, and inboxes billing itself suspended come
  back, oldest first, while the plan has room. Above the limit (a downgrade), the newest excess
  inboxes are marked to be suspended at the end of the paid period; never deleted. Back within
  the limit, those marks are cleared.
- Not entitled (canceled, unpaid...): active inboxes are suspended, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from inboxfleet.entitlement import Entitlement
from inboxfleet.lifecycles import INBOXES_IN_USE, InboxStatus, SuspensionReason
from inboxfleet.records import Inbox

_I = InboxStatus


@dataclass
class InboxPlan:
    release: list[UUID] = field(default_factory=list)  # awaiting_payment -> queued
    reactivate: list[UUID] = field(default_factory=list)  # suspended (by billing) -> active
    suspend: list[tuple[UUID, SuspensionReason]] = field(default_factory=list)
    schedule: list[tuple[UUID, datetime]] = field(default_factory=list)  # suspend_at
    unschedule: list[UUID] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.release or self.reactivate or self.suspend or self.schedule or self.unschedule
        )


def _oldest_first(inboxes: list[Inbox]) -> list[Inbox]:
    return sorted(inboxes, key=lambda i: (i.created_at, i.id))


def plan_inboxes(entitlement: Entitlement, inboxes: list[Inbox]) -> InboxPlan:
    plan = InboxPlan()
    if not entitlement.entitled:
        reason = entitlement.suspension_reason
        if reason is not None:
            plan.suspend = [(i.id, reason) for i in _oldest_first(inboxes) if i.status == _I.ACTIVE]
        plan.unschedule = [i.id for i in inboxes if i.suspend_at is not None]
        return plan

    room = entitlement.limits.max_inboxes - sum(1 for i in inboxes if i.status in INBOXES_IN_USE)
    for inbox in _oldest_first(inboxes):
        if room <= 0:
            break
        if inbox.status == _I.SUSPENDED and inbox.suspension_reason is not None:
            plan.reactivate.append(inbox.id)
            room -= 1
    for inbox in _oldest_first(inboxes):
        if room <= 0:
            break
        if inbox.status == _I.AWAITING_PAYMENT:
            plan.release.append(inbox.id)
            room -= 1

    in_use = [i for i in _oldest_first(inboxes) if i.status in INBOXES_IN_USE]
    excess = in_use[entitlement.limits.max_inboxes :]
    excess_ids = {i.id for i in excess}
    period_end = entitlement.current_period_end
    if period_end is not None:  # every current payload has one; without it, nothing is due
        # The earliest mark stands: a renewal moves the period end, never the suspension.
        plan.schedule = [(i.id, period_end) for i in excess if i.suspend_at is None]
    plan.unschedule = [i.id for i in inboxes if i.suspend_at is not None and i.id not in excess_ids]
    return plan


def due_for_suspension(inboxes: list[Inbox], now: datetime) -> list[UUID]:
    """Inboxes whose downgrade suspension date has come."""
    return [
        i.id
        for i in _oldest_first(inboxes)
        if i.status == _I.ACTIVE and i.suspend_at is not None and i.suspend_at <= now
    ]
