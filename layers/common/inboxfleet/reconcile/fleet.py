"""Servers against Hostwinds' listing: what differs and what to do about it. Pure: no I/O.

Every order is recorded on a server row before it is placed, so an instance named like this
environment's servers with no row at all most likely means a restored database: it is reported,
never terminated here. An instance whose row says it should be gone is terminated, once the
row's own undoing has had its time, at most a capped number per pass. A server is judged lost
only when its row has not changed since the listing began, its instance is missing from the
complete listing and a lookup of its serviceid finds nothing either (a listing paged by offset
can skip an instance while another is terminated).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from inboxfleet.db.repositories.reconcile import ServerRow
from inboxfleet.hostwinds.models import ACTIVE, Instance
from inboxfleet.lifecycles import SERVING, ServerStatus

# A server's failure reason when its instance vanished at Hostwinds.
LOST = "server_lost"

# Rows whose instance should not exist (any more).
_GOING = frozenset({ServerStatus.FAILED, ServerStatus.DECOMMISSIONING, ServerStatus.DECOMMISSIONED})

Verdict = Literal["terminate", "duplicate", "lost", "changed", "replaced", "lost_listed"]


@dataclass(frozen=True)
class Finding:
    verdict: Verdict
    row: ServerRow
    instance: Instance | None = None

    @property
    def ip_changed(self) -> bool:
        return (
            self.instance is not None
            and self.instance.main_ip is not None
            and self.row.ip != self.instance.main_ip
        )

    @property
    def status_changed(self) -> bool:
        return self.instance is not None and self.instance.status != (
            self.row.provider_status or ACTIVE
        )


def ours(instances: Iterable[Instance], prefix: str) -> dict[str, list[Instance]]:
    """This environment's instances by name (Hostwinds does not enforce unique names)."""
    named: dict[str, list[Instance]] = {}
    for instance in instances:
        if instance.srvrname is not None and instance.srvrname.startswith(prefix):
            named.setdefault(instance.srvrname, []).append(instance)
    return named


def judge(
    row: ServerRow,
    instances: Sequence[Instance],
    *,
    now: datetime,
    terminate_after: timedelta,
    listed_at: datetime,
) -> list[Finding]:
    """What a complete listing, started at `listed_at`, says about one server row (its
    instances: those of its name)."""
    if row.status in _GOING:
        return _going(row, instances, now=now, terminate_after=terminate_after)
    if row.status not in SERVING or row.updated_at >= listed_at:
        # Being built (the workflow looks after it, and listings lag), or changed while the
        # listing was taken: the next pass judges it.
        return []
    kept = _the_instance(row, instances)
    if kept is None and instances:
        # Its own instance is not listed but another of its name is: nothing is clear enough
        # to fail the server or terminate the other. Reported, for a human.
        return [Finding("replaced", row, i) for i in instances]
    findings = [Finding("duplicate", row, i) for i in instances if i is not kept]
    if kept is None:
        return [Finding("lost", row)]  # confirmed by a lookup of its own before it counts
    changed = Finding("changed", row, kept)
    if changed.ip_changed or changed.status_changed:
        findings.append(changed)
    return findings


def _going(
    row: ServerRow, instances: Sequence[Instance], *, now: datetime, terminate_after: timedelta
) -> list[Finding]:
    if (row.failure_reason or "").startswith(LOST):
        # Failed because its instance was not listed, and listed again now: a customer's
        # server may run on it. Reported, for a human; never terminated here.
        return [Finding("lost_listed", row, i) for i in instances]
    if now - row.updated_at < terminate_after:
        return []  # its compensation or teardown is (or was just) terminating it
    return [Finding("terminate", row, i) for i in instances]


def _the_instance(row: ServerRow, instances: Sequence[Instance]) -> Instance | None:
    """The instance the row uses: the one it recorded (its address and host key are that
    instance's); any other of the same name is a duplicate order."""
    if row.provider_instance_id is None:
        return instances[0] if instances else None
    for instance in instances:
        if str(instance.serviceid) == row.provider_instance_id:
            return instance
    return None


def capped(findings: Sequence[Finding], cap: int) -> tuple[list[Finding], list[Finding]]:
    """The terminations this pass makes (oldest rows first) and those left over the cap."""
    ordered = sorted(findings, key=lambda f: (f.row.updated_at, f.row.name))
    return ordered[:cap], ordered[cap:]
