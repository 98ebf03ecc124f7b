"""A domain in service verified again (reconcile does it in rotating batches): records of ours
that went missing or were altered are put back and the change recorded on the domain; a
blocklisting or a failed check moves it to `degraded` (the API shows it, with why); a domain
that passes again is `verified`. Timeouts decide nothing: an unanswered check is "unknown"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

from inboxfleet.db import tenant_session
from inboxfleet.db.repositories import Domains, Servers
from inboxfleet.db.sessions import TenantSession
from inboxfleet.dns.commands import VerifyDomain
from inboxfleet.dns.errors import DnsConflict
from inboxfleet.dns.route53 import Zone
from inboxfleet.dns.service import (
    DnsDeps,
    planned_records,
    publish_elsewhere,
    verification,
)
from inboxfleet.dns.verify import Report
from inboxfleet.lifecycles import SERVING

Outcome = Literal["verified", "repaired", "degraded", "unknown"]


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    broken: list[str] = field(default_factory=list)  # our record sets missing or altered
    reason: str | None = None  # why degraded or unknown


def judge(report: Report) -> Verdict:
    """What a verification report means for a domain in service. Pure."""
    broken = [
        f"{c.type} {c.name}" for c in report.records if c.authoritative in ("missing", "mismatch")
    ]
    if broken:
        return Verdict("repaired", broken)
    if report.blocklisted:
        return Verdict(
            "degraded",
            reason=f"blocklisted (ip {report.ip_blocklist}, domain {report.domain_blocklist})",
        )
    failed = [
        f"{what}: {getattr(report, what)}"
        for what in ("spf", "dkim", "dmarc")
        if getattr(report, what).startswith("invalid")
    ]
    if report.reverse_dns not in ("ok", "unverified"):
        failed.append(f"reverse DNS: {report.reverse_dns}")
    if failed:
        return Verdict("degraded", reason="; ".join(failed))
    if report.authoritative_ok and report.reverse_dns == "ok" and report.contents_valid:
        return Verdict("verified")
    return Verdict("unknown", reason="some checks got no answer (timeouts)")


@dataclass(frozen=True)
class Checked:
    """A domain verified, nothing written yet: its verdict and the report to store."""

    command: VerifyDomain
    zone: Zone
    verdict: Verdict
    report: dict[str, object]


@dataclass(frozen=True)
class Applied:
    verdict: Verdict  # as it stood once acted on (a repair refused degrades the domain)
    repaired: bool  # our records were put back
    moved: bool  # the domain's status changed


def check(deps: DnsDeps, command: VerifyDomain, zone: Zone) -> Checked:
    """Verify the domain in its hosted zone as it stands; writes nothing (a caller deciding
    whether DNS is down looks at a whole batch before acting on any of it)."""
    summary, report = verification(deps, command, store=False, zone=zone)
    return Checked(command, zone, judge(report), summary.model_dump(mode="json"))


def apply(deps: DnsDeps, checked: Checked) -> Applied:
    """Act on a verdict: put our records back, move the domain's status, store the report,
    note when it was checked."""
    command, verdict = checked.command, checked.verdict
    repaired = False
    if verdict.outcome == "repaired":
        try:
            repaired = _repair(deps, command, checked.zone)
        except DnsConflict as exc:
            # The customer keeps a record where ours goes: a human decides; mail suffers.
            verdict = Verdict("degraded", verdict.broken, reason=f"cannot repair: {exc}")
        else:
            if not repaired:
                verdict = Verdict(
                    "unknown", verdict.broken, reason="its server is being given back"
                )
    moved = _record(deps, command, verdict, checked.report, repaired=repaired)
    return Applied(verdict, repaired, moved)


def stamp(deps: DnsDeps, tenant_id: UUID, domain_id: UUID) -> None:
    """Checked now, though nothing could be decided: the rotation moves on past it."""
    with tenant_session(tenant_id, database=deps.database()) as session:
        Domains(session).rechecked(domain_id)


def _serving(session: TenantSession, command: VerifyDomain) -> bool:
    """Under the domain's lock: a server still serves the domain at the address checked."""
    domain = Domains(session).live(command.domain_id, lock=True)
    server = Servers(session).live_on_domain(command.domain_id)
    return (
        domain is not None
        and server is not None
        and server.status in SERVING
        and str(server.ip) == str(command.ip)
    )


def _repair(deps: DnsDeps, command: VerifyDomain, zone: Zone) -> bool:
    """Put our records back, under the domain's lock and only while the server they point at
    still serves it: a teardown deciding to give the server back takes the same lock first, so
    its deletion of our records can never be undone by a repair it raced with. (The lock is
    held across sending the Route 53 change, not its propagation: a repair is rare, and the
    other way round a late repair could bring back records a teardown has just deleted.)"""
    own, elsewhere = planned_records(deps, zone, command)  # DNS lookups: before the lock
    with tenant_session(command.tenant_id, database=deps.database()) as session:
        if not _serving(session, command):
            return False
        # Not waiting for INSYNC: the lock is held no longer than the change takes to send.
        deps.route53.upsert(zone, own, wait=False)
        publish_elsewhere(deps, elsewhere)
    return True


def _record(
    deps: DnsDeps,
    command: VerifyDomain,
    verdict: Verdict,
    report: dict[str, object],
    *,
    repaired: bool,
) -> bool:
    """The report stored, the status moved (only while the server still serves the domain,
    under its lock, as a repair), the check's time noted. True when the status moved."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with tenant_session(command.tenant_id, database=deps.database()) as session:
        domains = Domains(session)
        serving = _serving(session, command)
        domains.merge_verification(command.domain_id, report)
        moved = None
        if serving and verdict.outcome == "degraded":
            moved = domains.mark_degraded(command.domain_id)
            domains.merge_verification(
                command.domain_id, {"degraded_because": verdict.reason, "degraded_at": now}
            )
        elif serving and verdict.outcome == "verified":
            moved = domains.mark_verified(command.domain_id)
            if moved is not None:
                domains.merge_verification(command.domain_id, {"degraded_because": None})
        if repaired:
            domains.merge_verification(
                command.domain_id, {"repaired": verdict.broken, "repaired_at": now}
            )
        domains.rechecked(command.domain_id)
    return moved is not None
