"""What DNS answers for an inbox's domain, asked as `dig @<server>` asks: the deliverability
records at one of the domain's own name servers (the ones the parent zone delegates to), the PTR
at the reverse zone's server. Authoritative answers: a recursive resolver asked before the
records existed may still hold the negative answer for the zone's negative TTL (RFC 2308); the
records table shows what the resolvers said at verification."""

from __future__ import annotations

from dataclasses import dataclass

import dns.exception
import dns.resolver
import dns.reversename

from local.dns_sim.client import resolver_at

QUERY_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Answer:
    what: str  # MX, SPF, DKIM, ...
    name: str
    type: str
    values: tuple[str, ...]  # empty: no answer (the error says why)
    error: str = ""


def _ask(
    resolver: dns.resolver.Resolver, what: str, name: str, rdtype: str, starts: str = ""
) -> Answer:
    try:
        rrset = resolver.resolve(name, rdtype, tcp=False, raise_on_no_answer=True)
    except (dns.exception.DNSException, OSError) as exc:
        return Answer(what, name, rdtype, (), type(exc).__name__)
    values = sorted(_text(r) for r in rrset)
    if starts:
        values = [v for v in values if v.startswith(starts)]
    return Answer(what, name, rdtype, tuple(values), "" if values else "no such value")


def _text(rdata: object) -> str:
    strings = getattr(rdata, "strings", None)
    if strings is not None:  # TXT: the strings joined, as a mail server reads them
        return b"".join(strings).decode()
    return str(rdata)


def deliverability_answers(
    name_server: tuple[str, int],
    reverse_server: tuple[str, int],
    domain: str,
    dkim_name: str,
    ip: str | None,
) -> list[Answer]:
    """MX, SPF, DKIM, DMARC, MTA-STS (its TXT policy id and the policy host's A) and TLS-RPT as
    the domain's name server answers them now, and the PTR of `ip` as the reverse zone does."""
    resolver = resolver_at(name_server, QUERY_TIMEOUT_S)
    answers = [
        _ask(resolver, "MX", domain, "MX"),
        _ask(resolver, "SPF", domain, "TXT", starts="v=spf1"),
        _ask(resolver, "DKIM", dkim_name, "TXT"),
        _ask(resolver, "DMARC", f"_dmarc.{domain}", "TXT"),
        _ask(resolver, "MTA-STS", f"_mta-sts.{domain}", "TXT"),
        _ask(resolver, "MTA-STS host", f"mta-sts.{domain}", "A"),
        _ask(resolver, "TLS-RPT", f"_smtp._tls.{domain}", "TXT"),
    ]
    if ip:
        reverse = dns.reversename.from_address(ip).to_text()
        answers.append(_ask(resolver_at(reverse_server, QUERY_TIMEOUT_S), "PTR", reverse, "PTR"))
    return answers
