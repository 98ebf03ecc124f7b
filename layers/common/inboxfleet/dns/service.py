"""The dns Lambda's actions: delegation, publishing, verification, removal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from inboxfleet.dns import spf
from inboxfleet.dns.commands import (
    CheckDelegation,
    DelegationChecked,
    DeleteRecords,
    DnsCommand,
    DnsResult,
    DomainVerified,
    HostPublished,
    PublishHost,
    RecordsDeleted,
    RecordsPublished,
    UpsertRecords,
    VerifyDomain,
)
from inboxfleet.dns.delegation import Delegation, check_delegation
from inboxfleet.dns.errors import (
    Blocklisted,
    DnsConflict,
    DnsNotPropagated,
    IpBlocklisted,
    NotDelegated,
    ZoneMissing,
)
from inboxfleet.dns.records import (
    DeliverabilityPolicy,
    NameTooLong,
    Record,
    RecordType,
    desired_records,
    fqdn,
    host_records,
    in_zone,
    our_record_keys,
    quoted,
    unquoted,
)
from inboxfleet.dns.route53 import Route53, Zone
from inboxfleet.dns.verify import (
    Nameserver,
    Report,
    ip_listing,
    name_servers_of,
    resolve_servers,
    spf_lookups,
    verify,
)

if TYPE_CHECKING:
    from inboxfleet.db import Database


@dataclass(frozen=True)
class DnsDeps:
    route53: Route53
    # Opened on first use: only a verification report is stored, and psycopg stays off the
    # cold start of every other action.
    database: Callable[[], Database]
    resolvers: Sequence[Nameserver]
    authoritative: Sequence[Nameserver] | None = None  # None: the zone's own name servers
    parent: Sequence[Nameserver] | None = None  # None: the resolvers
    blocklist: Sequence[Nameserver] | None = None
    dqs_key: str | None = None
    timeout_s: float = 2.0
    concurrency: int = 32
    policy: DeliverabilityPolicy = field(default_factory=DeliverabilityPolicy)
    # Local mode only: where the local DNS says which address plays which name server.
    name_server_book: str | None = None

    def zone_servers(self, zone: Zone) -> list[Nameserver]:
        """Where to ask the zone itself: the configured servers, else the zone's own name
        servers (by the local book, or resolved like any name)."""
        if self.authoritative:
            return list(self.authoritative)
        if self.name_server_book:
            from inboxfleet.dns.name_server_book import book_addresses

            return book_addresses(self.name_server_book, zone.name_servers, self.timeout_s)
        return asyncio.run(resolve_servers(zone.name_servers, self.resolvers, self.timeout_s))


def handle(command: DnsCommand, deps: DnsDeps) -> DnsResult:
    match command:
        case CheckDelegation():
            zone = zone_of(deps, command)
            found = asyncio.run(delegation_of(deps, command.domain, zone.name_servers))
            if found.state == "unknown":
                raise DnsNotPropagated(f"{command.domain}: {found.instructions}")
            if found.state != "delegated":
                raise NotDelegated(f"{command.domain}: {found.instructions}")
            return DelegationChecked(
                zone_id=zone.id, name_servers=list(zone.name_servers), state="delegated"
            )
        case PublishHost():
            return _publish_host(deps, command)
        case UpsertRecords():
            zone = zone_of(deps, command)
            own, elsewhere = planned_records(deps, zone, command)
            deps.route53.upsert(zone, own)
            publish_elsewhere(deps, elsewhere)
            _remember_published(deps, command)
            return RecordsPublished(zone_id=zone.id, records=len(own) + len(elsewhere))
        case VerifyDomain():
            return _verify(deps, command)
        case DeleteRecords():
            return _delete(deps, command)


def planned_records(
    deps: DnsDeps, zone: Zone, command: UpsertRecords | VerifyDomain
) -> tuple[list[Record], list[Record]]:
    """Our records for the domain: those of its own zone and those that live elsewhere (the
    DMARC report authorisation). DnsConflict where the customer keeps another record at one
    of our names."""
    live = deps.route53.records(zone)
    records = _desired(deps, live, command)
    own = [r for r in records if in_zone(r.name, command.domain)]
    _refuse_conflicts(deps, live, command.domain, own)
    return own, [r for r in records if r not in own]


def zone_of(deps: DnsDeps, command: DnsCommand) -> Zone:
    """The domain's hosted zone, by the id stored on its row (read in the tenant's session)."""
    from inboxfleet.db import tenant_session
    from inboxfleet.db.repositories import Domains

    with tenant_session(command.tenant_id, database=deps.database()) as session:
        row = Domains(session).get(command.domain_id)
    if row is None or row.name != command.domain or row.status == "removed":
        raise ZoneMissing(f"{command.domain}: not a domain of this tenant")
    zone = None if row.hosted_zone_id is None else deps.route53.zone(row.hosted_zone_id)
    if zone is None:
        raise ZoneMissing(f"{command.domain}: the domain has no hosted zone (add it again)")
    return zone


def _publish_host(deps: DnsDeps, command: PublishHost) -> HostPublished:
    """The A records of the names the server's TLS certificate covers (the mail host and
    mta-sts.<domain>: Mailu asks Let's Encrypt for both shortly after it starts, and a name
    that does not resolve then is left out until the next daily renewal), once the blocklists
    do not list the address: a listed address gets nothing published (the workflow gives the
    server back and buys another)."""
    blocklists = deps.blocklist if deps.blocklist is not None else deps.resolvers
    listing = asyncio.run(
        ip_listing(command.ip, blocklists, dqs_key=deps.dqs_key, timeout_s=deps.timeout_s)
    )
    if listing == "listed":
        raise IpBlocklisted(
            f"{command.ip}: listed by a blocklist; {command.mail_host} not published"
        )
    zone = zone_of(deps, command)
    # As upsert publishes them later, which then changes nothing here.
    records = host_records(command.domain, command.mail_host, command.ip, deps.policy)
    _refuse_conflicts(deps, deps.route53.records(zone), command.domain, records)
    deps.route53.upsert(zone, records)
    return HostPublished(zone_id=zone.id, ip_blocklist=listing)


def _report_zone(deps: DnsDeps) -> Zone | None:
    """The DMARC report domain's zone, where each domain's report authorisation lives: None
    when reports go to each domain itself, or its zone is not hosted here."""
    report_domain = deps.policy.dmarc_report_domain
    return None if report_domain is None else deps.route53.platform_zone(report_domain)


def publish_elsewhere(deps: DnsDeps, records: list[Record]) -> None:
    """Records that live in another zone we host: the DMARC report authorisation."""
    if not records:
        return
    zone = _report_zone(deps)
    if zone is None:
        raise DnsConflict(
            f"the DMARC report domain {deps.policy.dmarc_report_domain} has no hosted zone here"
        )
    deps.route53.upsert(zone, records)


def _refuse_conflicts(
    deps: DnsDeps, live: list[Record], domain: str, records: list[Record]
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
        needed = asyncio.run(spf_lookups(text, deps.resolvers, deps.timeout_s, spf.MAX_LOOKUPS))
        if needed > spf.MAX_LOOKUPS:
            raise DnsConflict(
                f"{domain}: the SPF record needs {needed} DNS lookups once its includes are "
                f"followed (at most {spf.MAX_LOOKUPS})"
            )


async def delegation_of(deps: DnsDeps, domain: str, name_servers: Sequence[str]) -> Delegation:
    """Whether the parent zone delegates `domain` to exactly these name servers."""
    parent_servers = deps.parent
    if parent_servers is None:
        # The parent zone's own servers, found through the resolvers: a cache cannot answer
        # a non-recursive NS question for a zone it does not serve.
        parent = domain.split(".", 1)[1]
        names = await name_servers_of(parent, deps.resolvers, deps.timeout_s)
        parent_servers = await resolve_servers(names, deps.resolvers, deps.timeout_s)
    return await check_delegation(domain, name_servers, parent_servers, deps.timeout_s)


def _desired(
    deps: DnsDeps, live: list[Record], command: UpsertRecords | VerifyDomain
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
            policy=deps.policy,
            existing_apex_txt=existing,
        )
    except (spf.SpfError, NameTooLong) as exc:
        raise DnsConflict(f"{command.domain}: {exc}") from None


def _remember_published(deps: DnsDeps, command: UpsertRecords) -> None:
    """What the records were published from, on the domain: reconcile checks them later."""
    from inboxfleet.db import tenant_session
    from inboxfleet.db.repositories import Domains

    facts = {
        "mail_host": command.mail_host,
        "ip": str(command.ip),
        "dkim_public_key": command.dkim_public_key,
    }
    with tenant_session(command.tenant_id, database=deps.database()) as session:
        Domains(session).record_published(command.domain_id, facts)


def _verify(deps: DnsDeps, command: VerifyDomain) -> DomainVerified:
    summary, report = verification(deps, command)
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


def verification(
    deps: DnsDeps, command: VerifyDomain, *, store: bool = True, zone: Zone | None = None
) -> tuple[DomainVerified, Report]:
    """The domain verified as it stands, whatever it says (the report stored on it unless
    `store` is off). `zone`: its hosted zone as a caller already read it from the domain's
    row (else read here)."""
    zone = zone or zone_of(deps, command)
    records = _desired(deps, deps.route53.records(zone), command)
    authoritative = deps.zone_servers(zone)
    report = asyncio.run(
        verify(
            records,
            domain=command.domain,
            mail_host=command.mail_host,
            ip=command.ip,
            authoritative=authoritative,
            recursive=deps.resolvers,
            blocklist_servers=deps.blocklist,
            dqs_key=deps.dqs_key,
            timeout_s=deps.timeout_s,
            concurrency=deps.concurrency,
        )
    )
    summary = DomainVerified.model_validate(report.as_dict())
    if store:
        _store(deps, command, summary)
    return summary, report


def _store(deps: DnsDeps, command: VerifyDomain, summary: DomainVerified) -> None:
    from inboxfleet.db import tenant_session
    from inboxfleet.db.repositories import Domains

    with tenant_session(command.tenant_id, database=deps.database()) as session:
        # The tenant API's zone check stays beside the mail checks.
        Domains(session).merge_verification(command.domain_id, summary.model_dump(mode="json"))


def _delete(deps: DnsDeps, command: DeleteRecords) -> RecordsDeleted:
    """Our record sets go, wherever they are; the customer's stay (their apex TXT values and
    their SPF terms among ours are written back)."""
    if command.server_id is not None and _succeeded(deps, command):
        return RecordsDeleted(deleted=0, zone_deleted=False, kept_for_successor=True)
    keys = our_record_keys(command.domain, command.mail_host, deps.policy)
    apex = fqdn(command.domain)
    own = [k for k in keys if in_zone(k[0], apex)]
    deleted = _delete_elsewhere(deps, [k for k in keys if k not in own])
    try:
        zone = zone_of(deps, command)
    except ZoneMissing:
        return RecordsDeleted(deleted=deleted, zone_deleted=False)  # nothing left to delete
    if command.delete_zone:
        # The whole zone goes in one batch: no separate record deletion first.
        deps.route53.delete_zone(zone)
        return RecordsDeleted(deleted=deleted + len(own), zone_deleted=True)
    live = deps.route53.records(zone)
    kept = _customer_apex_txt(live, command.domain, command.mail_host)
    if kept:
        deps.route53.upsert(zone, [Record(apex, "TXT", tuple(quoted(t) for t in kept))])
        own.remove((apex, "TXT"))  # rewritten with the customer's values only
    deleted += deps.route53.delete(zone, own, live=live)
    return RecordsDeleted(deleted=deleted, zone_deleted=False)


def _succeeded(deps: DnsDeps, command: DeleteRecords) -> bool:
    """Whether a server other than the one being given back is live on the domain: a late
    deletion (a retried step, a run that lost a race) must not take its successor's records.
    A successor is ordered only once the old server is decommissioned, so while the old one
    is still decommissioning this answers no."""
    from inboxfleet.db import tenant_session
    from inboxfleet.db.repositories import Servers

    with tenant_session(command.tenant_id, database=deps.database()) as session:
        live = Servers(session).live_on_domain(command.domain_id)
    return live is not None and live.id != command.server_id


def _delete_elsewhere(deps: DnsDeps, keys: list[tuple[str, RecordType]]) -> int:
    """Our records in other zones we host: the DMARC report authorisation."""
    zone = _report_zone(deps) if keys else None
    return 0 if zone is None else deps.route53.delete(zone, keys)


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
