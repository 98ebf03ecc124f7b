"""Part 1: this environment's servers against one complete Hostwinds listing.

A listing that fails or is cut short terminates nothing and fails nothing: the part reports
itself incomplete. Rows are read page by page in name order; what a page says is acted on per
tenant, in that tenant's session.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from inboxfleet.db.repositories import Domains, Inboxes, Servers
from inboxfleet.db.repositories.reconcile import Estate, RowlessInstances
from inboxfleet.db.sessions import TenantSession, tenant_session
from inboxfleet.hostwinds.client import HostwindsClient
from inboxfleet.hostwinds.errors import HostwindsError, InstanceNotFound
from inboxfleet.hostwinds.instances import terminate
from inboxfleet.hostwinds.models import Instance
from inboxfleet.lifecycles import InboxStatus, ServerStatus
from inboxfleet.names import server_name_prefix
from inboxfleet.observability import count, logger
from inboxfleet.reconcile.fleet import LOST, Finding, capped, judge, ours
from inboxfleet.reconcile.ports import Scope, by_tenant
from inboxfleet.reconcile.scope import OutOfTime


def reconcile_servers(scope: Scope) -> None:
    if scope.deps.hostwinds is None:
        scope.tally.skip("no Hostwinds API key configured")
        return
    client = scope.deps.hostwinds()
    prefix = server_name_prefix(scope.deps.environment)
    # Rows changed after this may be newer than what the listing shows of them.
    listed_at = scope.deps.now() - _CLOCK_SLACK
    try:
        listed = ours(_timed(scope, client.iter_instances()), prefix)
    except HostwindsError as exc:
        scope.tally.incomplete(
            f"the Hostwinds listing failed ({type(exc).__name__}): nothing terminated or failed"
        )
        return
    unmatched = dict(listed)
    to_terminate: list[Finding] = []
    lost: list[Finding] = []
    settings = scope.settings
    after_ = timedelta(seconds=settings.terminate_after_s)
    for rows in scope.pages(
        "servers",
        lambda session, after: Estate(session).servers(
            prefix, after=after, limit=settings.page_size
        ),
        key=lambda row: row.name,
    ):
        findings: list[Finding] = []
        for row in rows:
            mine = unmatched.pop(row.name, [])
            findings += judge(row, mine, now=scope.now, terminate_after=after_, listed_at=listed_at)
        to_terminate += [f for f in findings if f.verdict in ("terminate", "duplicate")]
        lost += [f for f in findings if f.verdict == "lost"]
        for finding in findings:
            if finding.verdict in ("replaced", "lost_listed"):
                _tally(scope, finding, repaired=False)
        _record(scope, [f for f in findings if f.verdict == "changed"])
    _record(scope, _confirmed_lost(scope, client, lost))
    _terminate(scope, client, to_terminate)
    _report_rowless(scope, unmatched, listed)


def _confirmed_lost(scope: Scope, client: HostwindsClient, lost: list[Finding]) -> list[Finding]:
    """The servers really gone (each looked up), unless more than the cap are: many at once
    says the listing or the account is wrong, not that a fleet died; none is failed then."""
    cap = scope.settings.lost_cap
    gone: list[Finding] = []
    for finding in lost:
        scope.deadline.check()
        if _gone(scope, client, finding):
            gone.append(finding)
            if len(gone) > cap:
                break  # enough to know: no more lookups
    if len(gone) <= cap:
        return gone
    gone = lost  # every candidate is reported, none failed
    scope.metric("LostServersHeld")
    for finding in gone:
        scope.tally.found(
            "server_lost_held",
            {
                "server_id": finding.row.id,
                "name": finding.row.name,
                "tenant_id": finding.row.tenant_id,
            },
        )
    scope.tally.incomplete(
        f"{len(lost)} servers look lost at once (more than {cap}): none was failed; "
        "check the Hostwinds account and key"
    )
    return []


# How far the database's clock and this one may disagree.
_CLOCK_SLACK = timedelta(seconds=60)
# Instances between two checks of the time while the listing is read (a page).
_CHECK_EVERY = 1000


def _timed(scope: Scope, instances: Iterator[Instance]) -> Iterator[Instance]:
    for n, instance in enumerate(instances):
        if n % _CHECK_EVERY == 0:
            scope.deadline.check()
        yield instance


def _record(scope: Scope, findings: list[Finding]) -> None:
    """Lost servers and what changed at Hostwinds, written per tenant (one tenant's failure
    is reported and never stops the others)."""
    for tenant_id, mine in by_tenant([f.row for f in findings]).items():
        scope.deadline.check()
        rows = {row.id for row in mine}
        of_tenant = [f for f in findings if f.row.id in rows]
        try:
            if scope.dry_run:
                for finding in of_tenant:
                    _tally(scope, finding, repaired=False)
                continue
            with tenant_session(tenant_id, database=scope.deps.database) as session:
                applied = [(finding, _apply(session, finding)) for finding in of_tenant]
        except OutOfTime:
            raise
        except Exception as exc:
            logger.exception("server drift not recorded", extra={"tenant_id": str(tenant_id)})
            scope.tally.found("not_repaired", {"tenant_id": tenant_id, "error": type(exc).__name__})
            continue
        for finding, repaired in applied:
            _tally(scope, finding, repaired=repaired)


def _gone(scope: Scope, client: HostwindsClient, finding: Finding) -> bool:
    """A server missing from the listing is lost only if its own serviceid is gone too: a
    listing paged by offset skips an instance when another is terminated meanwhile."""
    serviceid = finding.row.provider_instance_id
    if serviceid is None or not serviceid.isdigit():
        return True
    try:
        client.get_instance(int(serviceid))
    except InstanceNotFound:
        return True
    except HostwindsError:
        scope.tally.found(
            "server_unconfirmed", {"server_id": finding.row.id, "name": finding.row.name}
        )
        return False
    scope.tally.found("listing_missed", {"server_id": finding.row.id, "serviceid": serviceid})
    return False


def _apply(session: TenantSession, finding: Finding) -> bool:
    servers, row = Servers(session), finding.row
    if finding.verdict == "changed":
        assert finding.instance is not None
        ip = finding.instance.main_ip
        return (
            servers.observe(
                row.id,
                ip=None if ip is None else str(ip),
                provider_status=finding.instance.status[:40],
            )
            is not None
        )
    why = f"{LOST}: its instance {row.provider_instance_id} is no longer listed at Hostwinds"
    if servers.move(row.id, ServerStatus.FAILED, failure_reason=why) is None:
        return False  # it moved on since it was read (being given back): not lost
    inboxes = Inboxes(session)
    failed = [
        inbox_id
        for inbox_id in inboxes.in_service_on(row.id)
        if inboxes.transition(inbox_id, InboxStatus.FAILED, by="reconcile", why=why)
    ]
    # Its records point at an address Hostwinds may give someone else: the domain is no
    # longer in good standing until a new server's records are verified.
    domains = Domains(session)
    if domains.mark_degraded(row.domain_id) is not None:
        domains.merge_verification(row.domain_id, {"degraded_because": why})
    count("ServersLost")
    logger.warning(
        "server lost at Hostwinds",
        extra={"server": row.name, "tenant_id": str(row.tenant_id), "inboxes_failed": len(failed)},
    )
    return True


def _tally(scope: Scope, finding: Finding, *, repaired: bool) -> None:
    row = finding.row
    item = {"tenant_id": row.tenant_id, "server_id": row.id, "name": row.name}
    if finding.verdict == "lost":
        scope.tally.found(
            "server_lost", item | {"serviceid": row.provider_instance_id}, repaired=repaired
        )
        return
    instance = finding.instance
    assert instance is not None
    if finding.verdict in ("replaced", "lost_listed"):
        # "replaced": its own instance is not listed, another of its name is; "lost_listed":
        # failed as lost, and listed again. Neither is acted on: a human decides.
        scope.tally.found(
            f"instance_{finding.verdict}",
            item | {"serviceid": instance.serviceid, "recorded": row.provider_instance_id},
        )
        return
    if finding.ip_changed:
        scope.tally.found(
            "server_ip_changed", item | {"was": row.ip, "now": instance.main_ip}, repaired=repaired
        )
    if finding.status_changed:
        scope.tally.found(
            "server_status_changed",
            item | {"was": row.provider_status or "ACTIVE", "now": instance.status},
            repaired=repaired,
        )


def _terminate(scope: Scope, client: HostwindsClient, findings: list[Finding]) -> None:
    now, over = capped(findings, scope.settings.terminate_cap)
    for finding in now:
        assert finding.instance is not None
        kind = "instance_terminated" if finding.verdict == "terminate" else "duplicate_instance"
        item = {
            "tenant_id": finding.row.tenant_id,
            "server_id": finding.row.id,
            "name": finding.row.name,
            "status": finding.row.status,
            "serviceid": finding.instance.serviceid,
        }
        done = False
        if not scope.dry_run:
            scope.deadline.check()
            try:
                terminate(client, finding.instance.serviceid)
                done = True
            except HostwindsError as exc:
                logger.warning(
                    "termination failed; the next pass tries again",
                    extra={"serviceid": finding.instance.serviceid, "error": type(exc).__name__},
                )
        scope.tally.found(kind, item, repaired=done)
    if over:
        scope.metric("TerminationCapReached")
        for finding in over:
            assert finding.instance is not None
            scope.tally.found(
                "termination_capped",
                {"name": finding.row.name, "serviceid": finding.instance.serviceid},
            )


def _report_rowless(
    scope: Scope, unmatched: dict[str, list[Instance]], listed: dict[str, list[Instance]]
) -> None:
    rowless = [i for instances in unmatched.values() for i in instances]
    scope.metric("RowlessInstances", len(rowless))
    if scope.dry_run:  # what earlier passes recorded, read only
        first_seen = scope.read(
            "rowless",
            lambda session: {r.serviceid: r.first_seen for r in RowlessInstances(session).open()},
        )
    else:
        every = [i.serviceid for instances in listed.values() for i in instances]
        first_seen = scope.read(
            "rowless", lambda session: _remember(RowlessInstances(session), rowless, every)
        )
    for instance in rowless:
        scope.tally.found(
            "rowless_instance",
            {
                "serviceid": instance.serviceid,
                "name": instance.srvrname,
                "ip": instance.main_ip,
                "first_seen": first_seen.get(instance.serviceid),
            },
        )


def _remember(
    table: RowlessInstances, rowless: Sequence[Instance], every: Sequence[int]
) -> dict[int, datetime]:
    seen = table.seen(
        [
            (i.serviceid, i.srvrname or "", None if i.main_ip is None else str(i.main_ip), i.status)
            for i in rowless
        ]
    )
    table.resolve_others([i.serviceid for i in rowless], listed=every)
    return {row.serviceid: row.first_seen for row in seen}
