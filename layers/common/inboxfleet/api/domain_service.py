"""/v1/domains: a tenant's domains, owned by delegation.

Each domain gets its own hosted zone, with its own name servers. Several tenants may hold a
pending claim on one name; the claim that counts is the one whose zone the parent zone (the
registry, set by whoever controls the registrar account) delegates to. So a squatter who adds a
customer's domain first gains nothing: the owner's delegation makes the owner's claim the
delegated one, and nobody else can add the name while it stands.

Writes follow Nile's rule: tenant rows in the tenant's session, the shared claims table in a
system session, never both in one transaction. The zone is made after the row (keyed by the
row's id, so a retry finds it instead of buying another), and a failure after the row was
written removes the row again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import TYPE_CHECKING
from uuid import UUID

from inboxfleet.api.admission import DomainCount, admit_domain
from inboxfleet.api.domain_views import (
    CarriedOver,
    Delegation,
    DelegationState,
    DomainPage,
    DomainRequest,
    DomainView,
    RecordList,
    RecordSet,
    RecordView,
)
from inboxfleet.api.errors import Conflict, InvalidRequest, NotFound, Unavailable

if TYPE_CHECKING:
    from inboxfleet.api.runtime import ApiDeps
    from inboxfleet.dns.delegation import Delegation as Found
    from inboxfleet.dns.records import Record
    from inboxfleet.dns.route53 import Zone
    from inboxfleet.dns.service import DnsDeps
    from inboxfleet.records import Domain

log = logging.getLogger(__name__)


class DomainTaken(Conflict):
    code = "domain_taken"


class DomainExists(Conflict):
    code = "domain_exists"


class DomainInUse(Conflict):
    code = "domain_in_use"


class RecordClash(Conflict):
    code = "record_managed"


# A person waits for each answer, within the function's 10 s: a silent DNS server makes a check
# "unverified" or "unknown" after this long, never a timeout of the whole request.
API_DNS_TIMEOUT_S = 1.0


def _dns() -> DnsDeps:
    from inboxfleet.dns.runtime import deps

    dns = deps()
    return replace(dns, timeout_s=min(dns.timeout_s, API_DNS_TIMEOUT_S))


# ---- adding -----------------------------------------------------------------------------------


def add_domain(tenant_id: UUID, request: DomainRequest, deps: ApiDeps) -> DomainView:
    from inboxfleet.db import tenant_session
    from inboxfleet.db.repositories import BillingAccounts, Domains

    dns = _dns()
    _refuse_if_taken(tenant_id, request.name, dns, deps)
    with tenant_session(tenant_id, database=deps.database) as s:
        account = BillingAccounts(s).lock()  # one count of the tenant's domains at a time
        domains = Domains(s)
        if domains.named([request.name]):
            raise DomainExists(f"{request.name} is already one of your domains", field="name")
        admit_domain(account, DomainCount(domains.count_live(), domains.count_pending()))
        row = domains.add(request.name)
    try:
        zone = dns.route53.create_zone(row.name, str(row.id))
        with tenant_session(tenant_id, database=deps.database) as s:
            row = Domains(s).set_zone(row.id, zone.id, zone.name_servers)
        _claim(tenant_id, row, zone.id, deps)
    except Exception:
        _undo_add(tenant_id, row, dns, deps)
        raise Unavailable("the domain could not be set up; nothing was kept: try again") from None
    carried = _carry_over(dns, zone, row.name, request.carry_over)
    row = _record_delegation(tenant_id, row, dns, deps)
    return _view(row).model_copy(update={"carried_over": carried})


def _refuse_if_taken(tenant_id: UUID, name: str, dns: DnsDeps, deps: ApiDeps) -> None:
    """409 when another tenant's zone is the one the parent delegates to. A delegated claim is
    re-checked first: a domain that moved away since is free again."""
    from inboxfleet.db import system_session
    from inboxfleet.db.repositories import DomainClaims

    with system_session("api.domain_claims", database=deps.database) as s:
        held = [
            c
            for c in DomainClaims(s).of_name(name)
            if c.state == "delegated" and c.claimant != tenant_id
        ]
    for claim in held:
        zone = dns.route53.zone(claim.zone_id)
        found = None if zone is None else _delegation(dns, name, zone.name_servers)
        if found is not None and found.state in ("delegated", "unknown"):
            raise DomainTaken(
                f"{name} is delegated to another account's zone; if the domain is yours, "
                "set its name servers at your registrar after adding it from that account, "
                "or contact support",
                field="name",
            )
        with system_session("api.domain_claims", database=deps.database) as s:
            DomainClaims(s).mark(name, claim.claimant, delegated=False)


def _claim(tenant_id: UUID, row: Domain, zone_id: str, deps: ApiDeps) -> None:
    from inboxfleet.db import system_session
    from inboxfleet.db.repositories import DomainClaims

    with system_session("api.domain_claims", database=deps.database) as s:
        DomainClaims(s).claim(row.name, tenant_id, row.id, zone_id)


def _undo_add(tenant_id: UUID, row: Domain, dns: DnsDeps, deps: ApiDeps) -> None:
    """Compensation: the zone (if it was made: found by the row's reference), the claim, the
    row. Each step on its own, so one failing does not keep the others from running."""
    from inboxfleet.db import system_session, tenant_session
    from inboxfleet.db.repositories import DomainClaims, Domains

    log.warning("adding domain %s failed; undoing", row.id, exc_info=True)
    try:
        zone = dns.route53.zone_made_for(row.name, str(row.id))
        if zone is not None:
            dns.route53.delete_zone(zone, wait=False)
    except Exception:
        log.exception("domain %s: its zone could not be removed (reconcile will)", row.id)
    try:
        with system_session("api.domain_claims", database=deps.database) as s:
            DomainClaims(s).release(row.name, tenant_id)
        with tenant_session(tenant_id, database=deps.database) as s:
            Domains(s).remove(row.id)
    except Exception:
        log.exception("domain %s: its row could not be removed", row.id)


def _carry_over(dns: DnsDeps, zone: Zone, name: str, extra: Sequence[str]) -> CarriedOver:
    """Copy what the domain serves today into the new zone, except where our records go, so
    delegating does not break its website or tracking. Best effort: a lookup that fails is
    reported, never a reason to refuse the domain."""
    from inboxfleet.dns.tenant_records import carried_queries, carried_records
    from inboxfleet.dns.verify import look_up

    asks = carried_queries(name, extra)
    try:
        answers = asyncio.run(look_up(dns.resolvers, asks, dns.timeout_s))
        found = [(n, t, a.values) for (n, t), a in zip(asks, answers, strict=True)]
        copied, skipped = carried_records(name, found, dns.policy)
        if copied:
            dns.route53.upsert(zone, copied, wait=False)
    except Exception:
        log.warning("domain %s: carrying existing records over failed", name, exc_info=True)
        return CarriedOver(copied=[], skipped=["(the current DNS could not be read)"])
    return CarriedOver(
        copied=[f"{r.type} {r.name}" for r in copied], skipped=[str(c) for c in skipped]
    )


# ---- delegation ------------------------------------------------------------------------------


def _delegation(dns: DnsDeps, name: str, name_servers: Sequence[str]) -> Found:
    from inboxfleet.dns.service import delegation_of

    return asyncio.run(delegation_of(dns, name, name_servers))


def _record_delegation(tenant_id: UUID, row: Domain, dns: DnsDeps, deps: ApiDeps) -> Domain:
    """Ask the parent zone now; the row and the claim say what it answered. A claim becomes
    delegated only when the parent delegates to this tenant's own zone."""
    from inboxfleet.db import system_session, tenant_session
    from inboxfleet.db.repositories import DomainClaims, Domains

    found = _delegation(dns, row.name, row.name_servers)
    if found.state == "unknown":
        return row  # the registry did not answer: nothing learnt, nothing changed
    delegated = found.state == "delegated"
    with tenant_session(tenant_id, database=deps.database) as s:
        updated = Domains(s).record_delegation(row.id, delegated=delegated, found=found.found)
    with system_session("api.domain_claims", database=deps.database) as s:
        DomainClaims(s).mark(row.name, tenant_id, delegated=delegated)
    return updated or row


def verify_domain(tenant_id: UUID, domain_id: UUID, deps: ApiDeps) -> DomainView:
    """Re-check now: the delegation, then every record of the zone as its own name servers and
    the resolvers answer it; the report is stored on the domain."""
    from inboxfleet.db import tenant_session
    from inboxfleet.db.repositories import Domains
    from inboxfleet.dns.verify import check_records

    dns = _dns()
    row = _live(tenant_id, domain_id, deps)
    row = _record_delegation(tenant_id, row, dns, deps)
    zone = _zone(dns, row)
    records = dns.route53.records(zone)
    checks = asyncio.run(
        check_records(
            records,
            authoritative=dns.zone_servers(zone),
            recursive=dns.resolvers,
            timeout_s=dns.timeout_s,
            concurrency=dns.concurrency,
        )
    )
    report = {
        "kind": "records",
        "delegation": row.status != "pending_delegation",
        "records": [asdict(c) for c in checks],
        "authoritative_ok": all(c.authoritative == "ok" for c in checks),
        "propagated": all(c.propagated == "ok" for c in checks),
    }
    with tenant_session(tenant_id, database=deps.database) as s:
        Domains(s).save_verification(row.id, report)
        row = Domains(s).live(row.id) or row
    return _view(row, records=records, dns=dns)


# ---- reading ----------------------------------------------------------------------------------


def list_domains(tenant_id: UUID, deps: ApiDeps, *, limit: int, cursor: str | None) -> DomainPage:
    from inboxfleet.api.cursor import decode_cursor, split_page
    from inboxfleet.db import tenant_session
    from inboxfleet.db.repositories import Domains

    with tenant_session(tenant_id, database=deps.database) as s:
        after = decode_cursor(cursor) if cursor else None
        rows = Domains(s).page(limit=limit + 1, after=after)
    page, next_cursor = split_page(rows, limit)
    return DomainPage(domains=[_view(row) for row in page], next_cursor=next_cursor)


def describe_domain(tenant_id: UUID, domain_id: UUID, deps: ApiDeps) -> DomainView:
    dns = _dns()
    row = _live(tenant_id, domain_id, deps)
    return _view(row, records=dns.route53.records(_zone(dns, row)), dns=dns)


def _live(tenant_id: UUID, domain_id: UUID, deps: ApiDeps) -> Domain:
    from inboxfleet.db import tenant_session
    from inboxfleet.db.repositories import Domains

    with tenant_session(tenant_id, database=deps.database) as s:
        row = Domains(s).live(domain_id)
    if row is None:
        raise NotFound(f"no domain {domain_id}")
    return row


def _zone(dns: DnsDeps, row: Domain) -> Zone:
    zone = None if row.hosted_zone_id is None else dns.route53.zone(row.hosted_zone_id)
    if zone is None:
        raise Unavailable(f"{row.name}: its hosted zone is missing; reconcile repairs it")
    return zone


def _view(
    row: Domain, *, records: Sequence[Record] | None = None, dns: DnsDeps | None = None
) -> DomainView:
    delegation = Delegation(
        state=_delegation_state(row),
        name_servers=list(row.name_servers),
        found=list(row.delegation_found),
        checked_at=row.delegation_checked_at,
        instructions=_instructions(row),
    )
    views = None
    if records is not None and dns is not None:
        views = _record_views(row, records, dns)
    return DomainView(
        id=row.id,
        name=row.name,
        status=row.status,
        delegation=delegation,
        records=views,
        report=row.verification_report,
        created_at=row.created_at,
    )


def _delegation_state(row: Domain) -> DelegationState:
    """What the parent zone said when last asked (`unknown`: never asked, or no answer)."""
    if row.delegation_checked_at is None:
        return "unknown"
    found, wanted = set(row.delegation_found), set(row.name_servers)
    if found == wanted:
        return "delegated"
    return "partial" if found & wanted else "not_delegated"


def _instructions(row: Domain) -> str:
    wanted = ", ".join(n.rstrip(".") for n in row.name_servers)
    if _delegation_state(row) == "delegated":
        return f"Delegation is in place (name servers: {wanted})."
    return f"At your registrar, set the domain's name servers to exactly: {wanted}."


def _record_views(row: Domain, records: Sequence[Record], dns: DnsDeps) -> list[RecordView]:
    from inboxfleet.dns.tenant_records import is_ours

    checks = {
        (c.get("name"), c.get("type")): c
        for c in (row.verification_report or {}).get("records", [])
        if isinstance(c, dict)
    }
    views = []
    for record in sorted(records):
        check = checks.get((record.name, record.type), {})
        views.append(
            RecordView(
                name=record.name,
                type=record.type,
                values=list(record.values),
                ttl=record.ttl,
                managed=is_ours(record, row.name, dns.policy),
                authoritative=str(check.get("authoritative", "unverified")),
                propagated=str(check.get("propagated", "unverified")),
            )
        )
    return views


# ---- the tenant's own records -----------------------------------------------------------------


def list_records(tenant_id: UUID, domain_id: UUID, deps: ApiDeps) -> RecordList:
    view = describe_domain(tenant_id, domain_id, deps)
    return RecordList(records=view.records or [])


def replace_records(
    tenant_id: UUID, domain_id: UUID, wanted: RecordSet, deps: ApiDeps
) -> RecordList:
    """The tenant's own records become exactly `wanted`; ours are untouched. A record where
    ours go is a 409 naming it; the apex TXT keeps our SPF, merged with the tenant's terms."""
    from inboxfleet.db import tenant_session
    from inboxfleet.db.repositories import Domains
    from inboxfleet.dns import spf
    from inboxfleet.dns.records import fqdn, unquoted
    from inboxfleet.dns.tenant_records import (
        BadRecord,
        apex_txt,
        clash,
        is_ours,
        tenant_record,
    )

    dns = _dns()
    with tenant_session(tenant_id, database=deps.database) as s:
        row = Domains(s).live(domain_id, lock=True)
        if row is None:
            raise NotFound(f"no domain {domain_id}")
        apex = fqdn(row.name)
        new: list[Record] = []
        seen: set[tuple[str, str]] = set()
        txt_at_apex: list[str] = []
        for i, item in enumerate(wanted.records):
            try:
                record = tenant_record(row.name, item.name, item.type, item.values, item.ttl)
            except BadRecord as exc:
                raise InvalidRequest(str(exc), field=f"records[{i}]") from None
            key = (record.name, record.type)
            if key in seen:
                raise InvalidRequest(f"{record.type} {record.name} twice", field=f"records[{i}]")
            seen.add(key)
            found = clash(record, row.name, dns.policy)
            if found is not None:
                raise RecordClash(
                    f"{found} is managed by inboxfleet (mail delivery needs it)",
                    field=f"records[{i}]",
                )
            if key == (apex, "TXT"):
                txt_at_apex = [unquoted(v) for v in record.values]
            else:
                new.append(record)
        if any((r.name, "CNAME") in seen and r.type != "CNAME" for r in new):
            raise InvalidRequest(
                "a CNAME stands alone: no other record at its name", field="records"
            )
        zone = _zone(dns, row)
        live = dns.route53.records(zone)
        try:
            apex_record = apex_txt(row.name, live, txt_at_apex, dns.policy)
        except spf.SpfError as exc:
            raise InvalidRequest(f"TXT {apex}: {exc}", field="records") from None
        if apex_record is not None:
            new.append(apex_record)
        theirs = [r for r in live if not is_ours(r, row.name, dns.policy)]
        keys = {(r.name, r.type) for r in new}
        gone = [r for r in theirs if (r.name, r.type) not in keys]
        dns.route53.replace(zone, new, gone, wait=False)
    return list_records(tenant_id, domain_id, deps)


# ---- removing ---------------------------------------------------------------------------------


def remove_domain(tenant_id: UUID, domain_id: UUID, deps: ApiDeps) -> DomainView:
    """409 while inboxes or servers use it; else the zone, the row and the claim go."""
    from inboxfleet.db import system_session, tenant_session
    from inboxfleet.db.repositories import DomainClaims, Domains

    dns = _dns()
    with tenant_session(tenant_id, database=deps.database) as s:
        domains = Domains(s)
        row = domains.live(domain_id, lock=True)
        if row is None:
            raise NotFound(f"no domain {domain_id}")
        users = domains.users(domain_id)
        if users:
            raise DomainInUse(f"{row.name} still has {users} inboxes or servers: delete them first")
        zone = None if row.hosted_zone_id is None else dns.route53.zone(row.hosted_zone_id)
        if zone is not None:
            dns.route53.delete_zone(zone, wait=False)  # first: a retry finds it gone
        removed = domains.remove(domain_id) or row
    with system_session("api.domain_claims", database=deps.database) as s:
        DomainClaims(s).release(row.name, tenant_id)
    return _view(removed)
