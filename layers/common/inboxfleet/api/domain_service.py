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
from datetime import UTC, datetime, timedelta
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
from inboxfleet.api.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    RequestInProgress,
    Unavailable,
)

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


# A person waits for each answer, within the function's 15 s: a silent DNS server makes a check
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
    _refuse_reserved(request.name, dns)
    _refuse_if_taken(tenant_id, request.name, dns, deps)
    with tenant_session(tenant_id, database=deps.database) as s:
        account = BillingAccounts(s).lock()  # one count of the tenant's domains at a time
        domains = Domains(s)
        existing = next(iter(domains.named([request.name])), None)
        if existing is None:
            admit_domain(account, DomainCount(domains.count_live(), domains.count_pending()))
            row = domains.add(request.name)
        elif existing.hosted_zone_id is None and _abandoned(existing):
            # An add that stopped half-way (the function was killed, or its undo could not
            # remove the zone): resumed, and leased to this request so no other resumes it too.
            row = domains.touch(existing.id) or existing
        elif existing.hosted_zone_id is None:
            raise RequestInProgress(
                f"{request.name} is being added, or its last add stopped half-way: send it "
                "again in a minute",
                field="name",
            )
        else:
            raise DomainExists(f"{request.name} is already one of your domains", field="name")
    try:
        zone = dns.route53.create_zone(row.name, str(row.id))
        with tenant_session(tenant_id, database=deps.database) as s:
            stored = Domains(s).set_zone(row.id, zone.id, zone.name_servers)
        if stored is None:
            raise RuntimeError("the domain was removed while it was being added")
        row = stored
        _claim(tenant_id, row, zone, deps)
    except Exception:
        if _undo_add(tenant_id, row, dns, deps):
            raise Unavailable(
                "the domain could not be set up; nothing was kept: try again"
            ) from None
        raise Unavailable(
            "the domain could not be set up, and its zone could not be removed yet: the domain "
            "is kept without it; add it again in a minute to finish, or delete it"
        ) from None
    carried = _carry_over(dns, zone, row.name, request.carry_over)
    row = _record_delegation(tenant_id, row, dns, deps)
    return _view(row).model_copy(update={"carried_over": carried})


# Longer than the function may run: a row untouched this long without its zone is no request in
# progress.
_ABANDONED_AFTER = timedelta(seconds=60)


def _abandoned(row: Domain) -> bool:
    return datetime.now(UTC) - (row.updated_at or row.created_at) > _ABANDONED_AFTER


def _refuse_reserved(name: str, dns: DnsDeps) -> None:
    """The platform's own domains (the DMARC report domain) are no tenant's."""
    from inboxfleet.dns.records import in_zone

    own = dns.policy.dmarc_report_domain
    if own is not None and (in_zone(own, name) or in_zone(name, own)):
        raise DomainTaken(f"{name} is one of the platform's own domains", field="name")


def _refuse_if_taken(tenant_id: UUID, name: str, dns: DnsDeps, deps: ApiDeps) -> None:
    """409 when the parent zone delegates the name to another tenant's zone, whether or not
    that tenant has verified it yet (its claim is marked delegated then). A claim marked
    delegated whose delegation moved away is pending again: the name is free."""
    from inboxfleet.db import system_session
    from inboxfleet.db.repositories import DomainClaims

    with system_session("api.domain_claims", database=deps.database) as s:
        others = [c for c in DomainClaims(s).of_name(name) if c.claimant != tenant_id]
    if not others:
        return
    found = _delegation(dns, name, ())  # what the parent delegates to, whoever's it is
    if found.state == "unknown":
        if any(c.state == "delegated" for c in others):
            # Temporary: who holds the name cannot be told now, and it may be taken.
            raise Unavailable(f"{name}: the registry cannot be reached to check who holds it")
        return
    for claim in others:
        holds = bool(found.found) and set(found.found) == set(claim.name_servers)
        if holds and dns.route53.zone(claim.zone_id) is None:
            # A claim left behind by a zone that is gone holds nothing.
            with system_session("api.domain_claims", database=deps.database) as s:
                DomainClaims(s).release(name, claim.claimant)
            continue
        if holds or claim.state == "delegated":
            with system_session("api.domain_claims", database=deps.database) as s:
                DomainClaims(s).mark(name, claim.claimant, delegated=holds)
        if holds:
            raise DomainTaken(
                f"{name} is delegated to another account's zone; if the domain is yours, "
                "contact support",
                field="name",
            )


def _claim(tenant_id: UUID, row: Domain, zone: Zone, deps: ApiDeps) -> None:
    from inboxfleet.db import system_session
    from inboxfleet.db.repositories import DomainClaims

    with system_session("api.domain_claims", database=deps.database) as s:
        DomainClaims(s).claim(row.name, tenant_id, row.id, zone.id, zone.name_servers)


def _undo_add(tenant_id: UUID, row: Domain, dns: DnsDeps, deps: ApiDeps) -> bool:
    """Compensation: the zone (if it was made: found by the row's reference), then the claim
    and the row. A zone that cannot be removed keeps its row, so it is never lost: a DELETE, or
    adding the name again later, finds it by the same reference. Whether nothing was kept."""
    from inboxfleet.db import system_session, tenant_session
    from inboxfleet.db.repositories import DomainClaims, Domains

    log.warning("adding domain %s failed; undoing", row.id, exc_info=True)
    try:
        zone = dns.route53.zone_made_for(row.name, str(row.id))
        if zone is not None:
            dns.route53.delete_zone(zone, wait=False)
    except Exception:
        log.exception("domain %s: its zone could not be removed; the row keeps it", row.id)
        return False
    try:
        with system_session("api.domain_claims", database=deps.database) as s:
            DomainClaims(s).release(row.name, tenant_id)
        with tenant_session(tenant_id, database=deps.database) as s:
            Domains(s).remove(row.id)
    except Exception:
        log.exception("domain %s: its row could not be removed", row.id)
        return False
    return True


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
    delegated only when the parent delegates to this tenant's own zone (a domain without its
    zone yet has no name servers to be delegated to: nothing is asked)."""
    from inboxfleet.db import system_session, tenant_session
    from inboxfleet.db.repositories import DomainClaims, Domains

    if not row.name_servers or row.hosted_zone_id is None:
        return row
    found = _delegation(dns, row.name, row.name_servers)
    if found.state == "unknown":
        return row  # the registry did not answer: nothing learnt, nothing changed
    delegated = found.state == "delegated"
    with tenant_session(tenant_id, database=deps.database) as s:
        updated = Domains(s).record_delegation(row.id, delegated=delegated, found=found.found)
    with system_session("api.domain_claims", database=deps.database) as s:
        claims = DomainClaims(s)
        # A claim lost on the way (its add failed after the zone was stored) is made again.
        claims.ensure(row.name, tenant_id, row.id, row.hosted_zone_id, row.name_servers)
        claims.mark(row.name, tenant_id, delegated=delegated)
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
    # Beside the mail checks the workflow stores (SPF, DKIM, DMARC, reverse DNS, blocklists),
    # never over them: this check is of every record of the zone, the tenant's own included.
    zone_check = {
        "checked_at": datetime.now(UTC).isoformat(),
        "delegated": _delegation_state(row) == "delegated",
        "records": [asdict(c) for c in checks],
        "authoritative_ok": all(c.authoritative == "ok" for c in checks),
        "propagated": all(c.propagated == "ok" for c in checks),
    }
    with tenant_session(tenant_id, database=deps.database) as s:
        row = Domains(s).merge_verification(row.id, {"zone_check": zone_check}) or row
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
        raise Unavailable(
            f"{row.name}: its hosted zone is missing; delete the domain and add it again"
        )
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
    if row.delegation_checked_at is None or not row.name_servers:
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
    """Each record as the tenant writes it back (TXT as plain text, not DNS quoting), with its
    state at the last check: the zone check, else the workflow's verification."""
    from inboxfleet.dns.records import unquoted
    from inboxfleet.dns.tenant_records import is_ours

    report = row.verification_report or {}
    checked = report.get("zone_check", {}).get("records") or report.get("records") or []
    checks = {(c.get("name"), c.get("type")): c for c in checked if isinstance(c, dict)}
    views = []
    for record in sorted(records):
        check = checks.get((record.name, record.type), {})
        shown = [unquoted(v) for v in record.values] if record.type == "TXT" else record.values
        views.append(
            RecordView(
                name=record.name,
                type=record.type,
                values=list(shown),
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
    """The tenant's own records become exactly `wanted`, in one atomic change; ours are
    untouched. A record where ours go is a 409 naming it; the apex TXT keeps our SPF, merged
    with the tenant's terms."""
    from inboxfleet.db import tenant_session
    from inboxfleet.db.repositories import Domains
    from inboxfleet.dns.tenant_records import BadRecord, ManagedRecord, plan_records

    dns = _dns()
    items = [(r.name, r.type, r.values, r.ttl) for r in wanted.records]
    with tenant_session(tenant_id, database=deps.database) as s:
        row = Domains(s).live(domain_id, lock=True)  # one edit of a domain's records at a time
        if row is None:
            raise NotFound(f"no domain {domain_id}")
        zone = _zone(dns, row)
        try:
            upserts, deletes = plan_records(row.name, items, dns.route53.records(zone), dns.policy)
        except ManagedRecord as exc:
            raise RecordClash(str(exc), field=f"body.records[{exc.index}]") from None
        except BadRecord as exc:
            field = "body.records" if exc.index is None else f"body.records[{exc.index}]"
            raise InvalidRequest(str(exc), field=field) from None
        _change(dns, zone, upserts, deletes)
    # The row and the zone at hand: only the records are read again, as they are now.
    return RecordList(records=_record_views(row, dns.route53.records(zone), dns))


def _change(dns: DnsDeps, zone: Zone, upserts: list[Record], deletes: list[Record]) -> None:
    """Route 53's refusal of a change it finds invalid is the request's fault: a 422 with
    Route 53's reason."""
    from inboxfleet.dns.errors import ChangeRefused

    try:
        dns.route53.replace(zone, upserts, deletes, wait=False)
    except ChangeRefused as exc:
        raise InvalidRequest(f"Route 53 refused the change: {exc}", field="body.records") from None


# ---- removing ---------------------------------------------------------------------------------


def remove_domain(tenant_id: UUID, domain_id: UUID, deps: ApiDeps) -> DomainView:
    """409 while inboxes or servers use it; else the zone, the row and the claim go."""
    from inboxfleet.dns.domain_removal import remove_domain as remove
    from inboxfleet.dns.errors import DomainStillUsed

    try:
        removed = remove(tenant_id, domain_id, _dns(), deps.database)
    except DomainStillUsed as exc:
        raise DomainInUse(str(exc)) from None
    if removed is None:
        raise NotFound(f"no domain {domain_id}")
    return _view(removed)
