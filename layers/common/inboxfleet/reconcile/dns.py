"""Part 5: domains in service verified again, a rotating batch per pass (those checked longest
ago first; at least every domain once a day at the schedule's rate), a few at once. The whole
batch is verified before anything is acted on: a batch that mostly gets no answer is a DNS
outage, nothing is decided on it and the part says so. Otherwise records of ours missing or
altered are put back; a blocklisting or a failed check moves the domain to `degraded` (a metric,
and the API shows it); a domain well again is `verified`."""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from pydantic import ValidationError

from inboxfleet.db.repositories.reconcile import DomainToRecheck, Estate
from inboxfleet.dns.commands import VerifyDomain
from inboxfleet.dns.recheck import Applied, Checked, apply, check, stamp
from inboxfleet.dns.records import fqdn
from inboxfleet.dns.route53 import Zone
from inboxfleet.dns.service import DnsDeps
from inboxfleet.observability import logger
from inboxfleet.reconcile.ports import Scope

T = TypeVar("T")
R = TypeVar("R")
_DAY_MINUTES = 1440


def reconcile_dns(scope: Scope) -> None:
    if scope.deps.dns is None:
        scope.tally.skip("DNS is not configured")
        return
    domains = scope.read("dns", lambda session: _batch(scope, Estate(session)))
    if not domains:
        return
    dns = scope.deps.dns()
    checked = _in_turns(scope, domains, lambda d: _check(dns, d))
    unknown = [d for d, c in zip(domains, checked, strict=True) if _unknown(c)]
    if len(unknown) * 2 > len(domains):
        for domain, result in zip(domains, checked, strict=True):
            if _unknown(result):
                scope.tally.found("dns_unverifiable", _item(domain) | {"why": _why(result)})
        scope.tally.incomplete(
            f"{len(unknown)} of {len(domains)} domains got no answer (a DNS outage?): "
            "nothing was decided; the next pass checks them again"
        )
        return
    pairs = list(zip(domains, checked, strict=True))
    results = _in_turns(scope, pairs, lambda pair: _act(scope, dns, *pair))
    for (domain, result), applied in zip(pairs, results, strict=True):
        _tally(scope, domain, result, applied)


def _batch(scope: Scope, estate: Estate) -> list[DomainToRecheck]:
    settings = scope.settings
    passes_a_day = max(_DAY_MINUTES // settings.rate_minutes, 1)
    daily = math.ceil(estate.domains_in_service() / passes_a_day)
    return estate.domains_to_recheck(limit=max(settings.dns_batch, daily))


def _in_turns(scope: Scope, items: list[T], work: Callable[[T], R]) -> list[R]:
    """`work` on every item, `dns_workers` at a time; the time is checked between turns."""
    workers = scope.settings.dns_workers
    done: list[R] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reconcile-dns") as pool:
        for start in range(0, len(items), workers):
            scope.deadline.check()
            done += pool.map(work, items[start : start + workers])
    return done


def _command(domain: DomainToRecheck) -> VerifyDomain:
    return VerifyDomain(
        action="verify",
        tenant_id=domain.tenant_id,
        domain_id=domain.id,
        domain=domain.name,
        mail_host=domain.published.get("mail_host"),
        ip=domain.server_ip,
        dkim_public_key=domain.published.get("dkim_public_key"),
    )


def _check(dns: DnsDeps, domain: DomainToRecheck) -> Checked | str:
    """The domain verified (nothing written), or why it could not be."""
    try:
        command = _command(domain)
    except ValidationError:
        return "what was published is not on record in full"
    # The zone as the domain's row holds it (a verified domain's zone was made with it): no
    # second read of the row, no Route 53 call to find it.
    zone = Zone(domain.hosted_zone_id, fqdn(domain.name), tuple(domain.name_servers))
    try:
        return check(dns, command, zone)
    except Exception as exc:
        logger.warning(
            "domain re-verification failed",
            extra={"domain_id": str(domain.id), "error": type(exc).__name__},
        )
        return f"failed: {type(exc).__name__}"


def _unknown(result: Checked | str) -> bool:
    return isinstance(result, str) or result.verdict.outcome == "unknown"


def _why(result: Checked | str) -> str | None:
    return result if isinstance(result, str) else result.verdict.reason


def _act(
    scope: Scope, dns: DnsDeps, domain: DomainToRecheck, result: Checked | str
) -> Applied | None:
    if scope.dry_run:
        return None
    try:
        if isinstance(result, str):
            # Nothing decided; checked all the same, so the rotation moves past it.
            stamp(dns, domain.tenant_id, domain.id)
            return None
        return apply(dns, result)
    except Exception as exc:
        logger.warning(
            "domain repair failed; the next pass tries again",
            extra={"domain_id": str(domain.id), "error": type(exc).__name__},
        )
        return None


def _item(domain: DomainToRecheck) -> dict[str, object]:
    return {"tenant_id": domain.tenant_id, "domain_id": domain.id, "domain": domain.name}


def _tally(
    scope: Scope, domain: DomainToRecheck, result: Checked | str, applied: Applied | None
) -> None:
    item = _item(domain)
    if isinstance(result, str):
        scope.tally.found("dns_unverifiable", item | {"why": result})
        return
    verdict = applied.verdict if applied is not None else result.verdict
    if result.verdict.broken:
        scope.tally.found(
            "dns_records_altered",
            item | {"records": ", ".join(result.verdict.broken)},
            repaired=applied is not None and applied.repaired,
        )
    moved = applied is not None and applied.moved
    if verdict.outcome == "degraded" and domain.status != "degraded":
        if moved:
            scope.metric("DomainsDegraded")
        scope.tally.found("domain_degraded", item | {"why": verdict.reason}, repaired=moved)
    if verdict.outcome == "verified" and domain.status == "degraded":
        scope.tally.found("domain_recovered", item, repaired=moved)
    if verdict.outcome == "unknown" and not result.verdict.broken:
        scope.tally.found("dns_unverifiable", item | {"why": verdict.reason})
