"""The dns Lambda's actions: delegation, publishing, verification, removal."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

from inboxfleet.dns import spf
from inboxfleet.dns.commands import (
    CheckDelegation,
    DeleteRecords,
    DnsCommand,
    UpsertRecords,
    VerifyDomain,
)
from inboxfleet.dns.delegation import Delegation, check_delegation
from inboxfleet.dns.errors import Blocklisted, DnsConflict, DnsNotPropagated, NotDelegated
from inboxfleet.dns.records import (
    DeliverabilityPolicy,
    Record,
    desired_records,
    fqdn,
    quoted,
    unquoted,
)
from inboxfleet.dns.route53 import Route53, Zone
from inboxfleet.dns.verify import Nameserver, resolve_servers, spf_lookups, verify


@dataclass(frozen=True)
class DnsContext:
    route53: Route53
    resolvers: Sequence[Nameserver]
    authoritative: Sequence[Nameserver] | None = None  # None: the zone's own name servers
    parent: Sequence[Nameserver] | None = None  # None: the resolvers
    blocklist: Sequence[Nameserver] | None = None
    dqs_key: str | None = None
    timeout_s: float = 2.0
    concurrency: int = 32
    policy: DeliverabilityPolicy = field(default_factory=DeliverabilityPolicy)


def run(command: DnsCommand) -> dict[str, Any]:
    """Run a command with this container's settings (the Lambda's entry point)."""
    from inboxfleet.dns.runtime import default_context

    return handle(command, default_context())


def handle(command: DnsCommand, ctx: DnsContext) -> dict[str, Any]:
    match command:
        case CheckDelegation():
            zone = ctx.route53.ensure_zone(command.domain)
            found = asyncio.run(_check_delegation(ctx, command.domain, zone))
            if found.state == "unknown":
                raise DnsNotPropagated(f"{command.domain}: {found.instructions}")
            if found.state != "delegated":
                raise NotDelegated(f"{command.domain}: {found.instructions}")
            return {
                "zone_id": zone.id,
                "name_servers": list(zone.name_servers),
                "state": found.state,
            }
        case UpsertRecords():
            zone = ctx.route53.ensure_zone(command.domain)
            live = ctx.route53.records(zone)
            records = _desired(ctx, live, command)
            own = [r for r in records if r.name.endswith(fqdn(command.domain))]
            _refuse_conflicts(ctx, live, command.domain, own)
            ctx.route53.upsert(zone, own)
            _publish_elsewhere(ctx, [r for r in records if r not in own])
            return {"zone_id": zone.id, "records": len(records)}
        case VerifyDomain():
            return _verify(ctx, command)
        case DeleteRecords():
            return _delete(ctx, command)


def _publish_elsewhere(ctx: DnsContext, records: list[Record]) -> None:
    """Records that live in another zone we host: the DMARC report authorisation."""
    report_domain = ctx.policy.dmarc_report_domain
    if not records or report_domain is None:
        return
    zone = ctx.route53.find_zone(report_domain)
    if zone is None:
        raise DnsConflict(f"the DMARC report domain {report_domain} has no hosted zone here")
    ctx.route53.upsert(zone, records)


def _refuse_conflicts(
    ctx: DnsContext, live: list[Record], domain: str, records: list[Record]
) -> None:
    """Never clobber: a record the customer keeps at one of our names under another type (a
    CNAME where we need a TXT, an A where we need a CNAME) is a conflict for a human, and so
    is an SPF whose evaluation, nested includes counted, needs more than ten lookups."""
    ours = {(r.name, r.type) for r in records}
    names = {r.name for r in records}
    clashes = [
        f"{r.type} {r.name}"
        for r in live
        if r.name in names
        and (r.name, r.type) not in ours
        and (r.type == "CNAME" or (r.name, "CNAME") in ours)
    ]
    if clashes:
        raise DnsConflict(f"{domain}: existing records stand where ours go: {', '.join(clashes)}")
    apex = next((r for r in records if r.name == fqdn(domain) and r.type == "TXT"), None)
    spf_texts = [unquoted(v) for v in apex.values if spf.is_spf(unquoted(v))] if apex else []
    for text in spf_texts:
        needed = asyncio.run(spf_lookups(text, ctx.resolvers, ctx.timeout_s, spf.MAX_LOOKUPS))
        if needed > spf.MAX_LOOKUPS:
            raise DnsConflict(
                f"{domain}: the SPF record needs {needed} DNS lookups once its includes are "
                f"followed (at most {spf.MAX_LOOKUPS})"
            )


async def _check_delegation(ctx: DnsContext, domain: str, zone: Zone) -> Delegation:
    parent_servers = ctx.parent
    if parent_servers is None:
        # The parent zone's own servers, found through the resolvers: a cache cannot answer
        # a non-recursive NS question for a zone it does not serve.
        parent = domain.split(".", 1)[1]
        names = await _ask_names(ctx, parent, "NS")
        parent_servers = await resolve_servers(names, ctx.resolvers, ctx.timeout_s)
    return await check_delegation(domain, zone.name_servers, parent_servers, ctx.timeout_s)


async def _ask_names(ctx: DnsContext, name: str, rtype: str) -> list[str]:
    import dns.asyncresolver

    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [s.host for s in ctx.resolvers]
    resolver.port = ctx.resolvers[0].port if ctx.resolvers else 53
    resolver.lifetime = ctx.timeout_s * 2
    try:
        answer = await resolver.resolve(name, rtype)
    except Exception:
        return []
    return [str(r.target) for r in answer]


def _desired(
    ctx: DnsContext, live: list[Record], command: UpsertRecords | VerifyDomain
) -> list[Record]:
    """Our records, with the customer's apex TXT (their SPF terms, verification strings) kept."""
    apex = fqdn(command.domain)
    existing = [unquoted(v) for r in live if r.name == apex and r.type == "TXT" for v in r.values]
    try:
        return desired_records(
            command.domain,
            command.mail_host,
            command.ip,
            command.dkim_public_key,
            policy=ctx.policy,
            existing_apex_txt=existing,
        )
    except spf.SpfError as exc:
        raise DnsConflict(f"{command.domain}: {exc}") from None


def _verify(ctx: DnsContext, command: VerifyDomain) -> dict[str, Any]:
    zone = ctx.route53.find_zone(command.domain)
    if zone is None:
        raise DnsNotPropagated(f"{command.domain}: no hosted zone yet")
    records = _desired(ctx, ctx.route53.records(zone), command)
    authoritative = ctx.authoritative or asyncio.run(
        resolve_servers(zone.name_servers, ctx.resolvers, ctx.timeout_s)
    )
    report = asyncio.run(
        verify(
            records,
            domain=command.domain,
            mail_host=command.mail_host,
            ip=command.ip,
            authoritative=authoritative,
            recursive=ctx.resolvers,
            blocklist_servers=ctx.blocklist,
            dqs_key=ctx.dqs_key,
            timeout_s=ctx.timeout_s,
            concurrency=ctx.concurrency,
        )
    )
    summary = report.as_dict()
    _store(command, summary)
    if report.blocklisted:
        raise Blocklisted(
            f"{command.domain}: blocklisted "
            f"(ip {report.ip_blocklist}, domain {report.domain_blocklist})"
        )
    if not report.authoritative_ok or report.reverse_dns != "ok" or not report.contents_valid:
        failing = [
            f"{c.type} {c.name}: {c.authoritative}"
            for c in report.records
            if c.authoritative != "ok"
        ]
        if report.reverse_dns != "ok":
            failing.append(f"reverse DNS: {report.reverse_dns}")
        for what in ("spf", "dkim", "dmarc"):
            if getattr(report, what) != "valid":
                failing.append(f"{what}: {getattr(report, what)}")
        raise DnsNotPropagated(f"{command.domain}: " + "; ".join(failing[:5]))
    return summary


def _store(command: VerifyDomain, summary: dict[str, Any]) -> None:
    from inboxfleet.db import tenant_session
    from inboxfleet.db.repositories import Domains

    with tenant_session(command.tenant_id) as session:
        Domains(session).save_verification(command.domain_id, summary)


def _delete(ctx: DnsContext, command: DeleteRecords) -> dict[str, Any]:
    zone = ctx.route53.find_zone(command.domain)
    if zone is None:
        return {"deleted": 0, "zone_deleted": False}
    ours = desired_records(command.domain, command.mail_host, IPv4Address("192.0.2.1"), "A" * 200)
    apex_key = (fqdn(command.domain), "TXT")
    doomed = [r for r in ours if (r.name, r.type) != apex_key]
    if command.delete_zone:
        # The whole zone goes in one batch: no separate record deletion first.
        ctx.route53.delete_zone(zone)
        return {"deleted": len(doomed), "zone_deleted": True}
    live = ctx.route53.records(zone)
    kept = _customer_apex_txt(live, command.domain, command.mail_host)
    if kept:
        ctx.route53.upsert(
            zone, [Record(fqdn(command.domain), "TXT", tuple(quoted(t) for t in kept))]
        )
    else:
        doomed.append(Record(fqdn(command.domain), "TXT", ()))
    # The upsert above touched only the apex TXT, which is then not among the doomed.
    ctx.route53.delete(zone, doomed, live=live)
    return {"deleted": len(doomed), "zone_deleted": False}


def _customer_apex_txt(live: list[Record], domain: str, mail_host: str) -> list[str]:
    """The apex TXT values minus ours: their SPF terms survive, ours go."""
    ours = {"mx", f"a:{mail_host}"}
    kept: list[str] = []
    for record in live:
        if (record.name, record.type) != (fqdn(domain), "TXT"):
            continue
        for value in (unquoted(v) for v in record.values):
            if not spf.is_spf(value):
                kept.append(value)
                continue
            parsed = spf.parse(value)
            theirs = tuple(t for t in parsed.terms if t.lower() not in ours)
            if theirs:
                kept.append(spf.Spf(theirs, parsed.all).text())
    return kept
