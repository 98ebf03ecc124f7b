"""One reconcile pass: under the job's lease, each part in turn, within the time the Lambda has,
ending in the drift report (structured log + metrics).

Two passes never work at once: the lease row admits one holder until it releases it or its time
runs out (a killed pass's lease ends with the Lambda's timeout). A part that fails unexpectedly
is reported and the others still run. A pass that runs out of time stops between two actions,
records the part it stopped in, and the next pass starts there. A dry run takes no lease and
writes nothing.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import timedelta

from inboxfleet.db.repositories.reconcile import ReconcileLeases
from inboxfleet.db.sessions import system_session
from inboxfleet.observability import count, logger
from inboxfleet.reconcile.billing import reconcile_billing
from inboxfleet.reconcile.commands import (
    PARTS,
    Outcome,
    PartName,
    ReconcileCommand,
    ReconcileReport,
)
from inboxfleet.reconcile.dns import reconcile_dns
from inboxfleet.reconcile.housekeeping import housekeeping
from inboxfleet.reconcile.mailboxes import reconcile_mailboxes
from inboxfleet.reconcile.ports import ReconcileDeps, Scope
from inboxfleet.reconcile.scope import Deadline, OutOfTime, PartTally
from inboxfleet.reconcile.servers import reconcile_servers
from inboxfleet.reconcile.work import reconcile_work

LEASE = "reconcile"

RUNNERS: dict[PartName, Callable[[Scope], None]] = {
    "servers": reconcile_servers,
    "work": reconcile_work,
    "billing": reconcile_billing,
    "mailboxes": reconcile_mailboxes,
    "dns": reconcile_dns,
    "housekeeping": housekeeping,
}


def handle(
    command: ReconcileCommand, deps: ReconcileDeps, remaining_ms: Callable[[], int]
) -> ReconcileReport:
    started = time.perf_counter()
    pass_id = secrets.token_hex(6)
    holder = f"pass-{pass_id}"
    resume: str | None = None
    if not command.dry_run:
        # Held for the time the Lambda has: a pass killed at its timeout holds it no longer
        # than it could have run.
        hold = timedelta(milliseconds=remaining_ms())
        with system_session("reconcile.lease", database=deps.database) as session:
            lease = ReconcileLeases(session).acquire(LEASE, holder, hold)
        if not lease.acquired:
            count("ReconcileLeaseHeld")
            logger.info("another reconcile pass holds the lease; this one does nothing")
            return ReconcileReport(
                pass_id=pass_id,
                dry_run=False,
                outcome="lease_held",
                parts=[],
                elapsed_ms=_ms_since(started),
            )
        resume = lease.resume_part
    deadline = Deadline(remaining_ms, deps.settings.stop_margin_s * 1000)
    tallies, stopped_in = _run_parts(command, deps, deadline, _order(command, resume))
    outcome = _outcome(tallies, stopped_in)
    report = ReconcileReport(
        pass_id=pass_id,
        dry_run=command.dry_run,
        outcome=outcome,
        parts=[t.report() for t in tallies],
        resume_part=stopped_in,
        elapsed_ms=_ms_since(started),
    )
    if not command.dry_run:
        # A pass asked for some parts leaves the scheduled passes' place in the round.
        resume_next = stopped_in if command.parts is None else (stopped_in or resume)
        if command.parts is None and stopped_in is not None and stopped_in == resume:
            # It began this pass there and still did not finish in a whole pass: the others
            # go first next time, or one slow part would starve them all.
            resume_next = PARTS[(PARTS.index(stopped_in) + 1) % len(PARTS)]
        with system_session("reconcile.lease", database=deps.database) as session:
            ReconcileLeases(session).release(
                LEASE, holder, resume_part=resume_next, last_pass=_summary(report)
            )
    _publish(report)
    return report


def _order(command: ReconcileCommand, resume: str | None) -> tuple[PartName, ...]:
    if command.parts is not None:
        return tuple(p for p in PARTS if p in command.parts)
    if resume in PARTS:
        at = PARTS.index(resume)
        return PARTS[at:] + PARTS[:at]
    return PARTS


def _run_parts(
    command: ReconcileCommand,
    deps: ReconcileDeps,
    deadline: Deadline,
    order: tuple[PartName, ...],
) -> tuple[list[PartTally], PartName | None]:
    tallies: list[PartTally] = []
    stopped_in: PartName | None = None
    for part in order:
        tally = PartTally(part, deps.settings.report_items)
        tallies.append(tally)
        if stopped_in is not None:
            tally.status = "not_reached"
            continue
        scope = Scope(deps, tally, command.dry_run, deadline, deps.now())
        started = time.perf_counter()
        try:
            deadline.check()
            RUNNERS[part](scope)
        except OutOfTime as exc:
            tally.incomplete(f"stopped: {exc}; the next pass resumes here")
            stopped_in = part
        except Exception as exc:
            # One part's failure (an outage, a bug) never keeps the others from running.
            logger.exception("reconcile part failed", extra={"part": part})
            tally.skip(f"failed: {type(exc).__name__}")
        tally.elapsed_ms = _ms_since(started)
    return tallies, stopped_in


def _outcome(tallies: list[PartTally], stopped_in: PartName | None) -> Outcome:
    if stopped_in is not None:
        return "stopped_early"
    if any(t.status != "done" for t in tallies):
        return "incomplete"
    return "complete"


def _publish(report: ReconcileReport) -> None:
    """The report as a log line and metrics: a count per kind of drift found and repaired (a
    dry run's only as a log line: its metrics would page someone about nothing done)."""
    logger.info("reconcile pass", extra={"report": report.model_dump(mode="json")})
    if report.dry_run:
        count("ReconcileDryRuns")
        return
    count("ReconcilePasses")
    if report.outcome in ("incomplete", "stopped_early"):
        count("ReconcileIncomplete")
    for part in report.parts:
        for kind, found in part.drift.items():
            name = "".join(word.capitalize() for word in kind.split("_"))
            count(f"Drift{name}", found.found)
            if found.repaired:
                count(f"Repaired{name}", found.repaired)


def _summary(report: ReconcileReport) -> dict[str, object]:
    return {
        "pass_id": report.pass_id,
        "outcome": report.outcome,
        "elapsed_ms": report.elapsed_ms,
        "drift": {
            kind: k.found for part in report.parts for kind, k in part.drift.items() if k.found
        },
    }


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
