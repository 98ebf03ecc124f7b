"""Verification with dnspython: authoritative truth, propagation, validity, reverse DNS and
blocklists. Timeouts are results ("unverified"/"unknown"), never crashes.

Queries run concurrently (asyncio) under a bound, so verifying a domain costs about one round
trip, not fifteen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from ipaddress import IPv4Address
from typing import Any, Literal

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.reversename

from inboxfleet import dkim
from inboxfleet.dns import spf
from inboxfleet.dns.commands import Listing, Presence, Propagation
from inboxfleet.dns.records import Record, fqdn, unquoted
from inboxfleet.mailpolicy import DKIM_SELECTOR


@dataclass(frozen=True)
class Nameserver:
    host: str
    port: int = 53

    @classmethod
    def parse(cls, text: str) -> Nameserver:
        host, _, port = text.strip().rpartition(":")
        return cls(host, int(port)) if host else cls(port)


@dataclass
class RecordCheck:
    name: str
    type: str
    authoritative: Presence
    propagated: Propagation
    detail: str = ""
    served: list[str] = field(default_factory=list)


@dataclass
class Report:
    records: list[RecordCheck] = field(default_factory=list)
    spf: str = "unverified"
    dkim: str = "unverified"
    dmarc: str = "unverified"
    reverse_dns: str = "unverified"
    ip_blocklist: Listing = "unknown"
    domain_blocklist: Listing = "unknown"

    @property
    def authoritative_ok(self) -> bool:
        return all(c.authoritative == "ok" for c in self.records)

    @property
    def propagated(self) -> bool:
        return all(c.propagated == "ok" for c in self.records)

    @property
    def contents_valid(self) -> bool:
        return (self.spf, self.dkim, self.dmarc) == ("valid", "valid", "valid")

    @property
    def blocklisted(self) -> bool:
        return "listed" in (self.ip_blocklist, self.domain_blocklist)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {
            "authoritative_ok": self.authoritative_ok,
            "propagated": self.propagated,
            "contents_valid": self.contents_valid,
            "blocklisted": self.blocklisted,
        }


@dataclass(frozen=True)
class Answer:
    status: Literal["ok", "nxdomain", "nodata", "timeout", "error"]
    values: frozenset[str] = frozenset()


class _Asker:
    def __init__(self, timeout_s: float, concurrency: int) -> None:
        self._timeout_s = timeout_s
        self._bound = asyncio.Semaphore(concurrency)

    async def ask(
        self, servers: Sequence[Nameserver], name: str, rtype: str, *, recursive: bool
    ) -> Answer:
        query = dns.message.make_query(name, rtype)
        if not recursive:
            query.flags &= ~dns.flags.RD
        for server in servers:  # the next server only when one does not answer
            async with self._bound:
                try:
                    response, _ = await dns.asyncquery.udp_with_fallback(
                        query, server.host, timeout=self._timeout_s, port=server.port
                    )
                except (dns.exception.Timeout, OSError, ValueError):
                    continue  # silent, unreachable or not an address: the next server
                except dns.exception.DNSException:
                    return Answer("error")
            if response.rcode() in (dns.rcode.REFUSED, dns.rcode.SERVFAIL):
                continue
            if not recursive and not response.flags & dns.flags.AA:
                # A referral or a cache's answer is not the zone's truth.
                return Answer("error")
            return _read(response, name, rtype)
        return Answer("timeout")


def _read(response: dns.message.Message, name: str, rtype: str) -> Answer:
    if response.rcode() == dns.rcode.NXDOMAIN:
        return Answer("nxdomain")
    if response.rcode() != dns.rcode.NOERROR:
        return Answer("error")
    wanted = dns.rdatatype.from_text(rtype)
    values = {
        _presentation(rdata)
        for rrset in response.answer
        if rrset.rdtype == wanted and rrset.name == dns.name.from_text(name)
        for rdata in rrset
    }
    return Answer("ok", frozenset(values)) if values else Answer("nodata")


def _presentation(rdata: Any) -> str:
    if rdata.rdtype == dns.rdatatype.TXT:
        return b"".join(rdata.strings).decode(errors="replace")
    return str(rdata.to_text()).lower()


def expected_values(record: Record) -> frozenset[str]:
    if record.type == "TXT":
        return frozenset(unquoted(v) for v in record.values)
    return frozenset(v.lower() for v in record.values)


async def verify(
    records: Sequence[Record],
    *,
    domain: str,
    mail_host: str,
    ip: IPv4Address,
    authoritative: Sequence[Nameserver],
    recursive: Sequence[Nameserver],
    blocklist_servers: Sequence[Nameserver] | None = None,
    dqs_key: str | None = None,
    timeout_s: float = 2.0,
    concurrency: int = 32,
) -> Report:
    asker = _Asker(timeout_s, concurrency)
    report = Report()
    checks = [_check_record(asker, r, authoritative, recursive) for r in records]
    blocklists = blocklist_servers if blocklist_servers is not None else recursive
    results = await asyncio.gather(
        asyncio.gather(*checks),
        _reverse_dns(asker, ip, mail_host, authoritative, recursive),
        _listing(asker, blocklists, _ip_query(ip, dqs_key)),
        _listing(asker, blocklists, _domain_query(domain, dqs_key)),
    )
    report.records, report.reverse_dns, report.ip_blocklist, report.domain_blocklist = results
    _validate_served(report, domain)
    return report


async def ip_listing(
    ip: IPv4Address,
    blocklist_servers: Sequence[Nameserver],
    *,
    dqs_key: str | None = None,
    timeout_s: float = 2.0,
) -> Listing:
    """The address alone on the blocklists, asked as `verify` asks about it."""
    return await _listing(_Asker(timeout_s, 1), blocklist_servers, _ip_query(ip, dqs_key))


async def check_records(
    records: Sequence[Record],
    *,
    authoritative: Sequence[Nameserver],
    recursive: Sequence[Nameserver],
    timeout_s: float = 2.0,
    concurrency: int = 32,
) -> list[RecordCheck]:
    """Each record set as the zone's own servers and the resolvers answer it (no content
    rules: any record, the customer's own included)."""
    asker = _Asker(timeout_s, concurrency)
    return list(
        await asyncio.gather(*(_check_record(asker, r, authoritative, recursive) for r in records))
    )


async def look_up(
    servers: Sequence[Nameserver], names_and_types: Sequence[tuple[str, str]], timeout_s: float
) -> list[Answer]:
    """What the resolvers answer today for each (name, type), in order."""
    asker = _Asker(timeout_s, 16)
    return list(
        await asyncio.gather(
            *(asker.ask(servers, fqdn(n), t, recursive=True) for n, t in names_and_types)
        )
    )


async def _check_record(
    asker: _Asker,
    record: Record,
    authoritative: Sequence[Nameserver],
    recursive: Sequence[Nameserver],
) -> RecordCheck:
    expected = expected_values(record)
    truth, seen = await asyncio.gather(
        asker.ask(authoritative, record.name, record.type, recursive=False),
        asker.ask(recursive, record.name, record.type, recursive=True),
    )
    check = RecordCheck(
        record.name,
        record.type,
        _presence(truth, expected),
        _propagation(seen, expected),
        served=sorted(truth.values),
    )
    if check.authoritative == "mismatch":
        check.detail = f"served {sorted(truth.values)}"
    return check


def _presence(answer: Answer, expected: frozenset[str]) -> Presence:
    if answer.status in ("timeout", "error"):
        return "unverified"
    if answer.status != "ok":
        return "missing"
    return "ok" if answer.values == expected else "mismatch"


def _propagation(answer: Answer, expected: frozenset[str]) -> Propagation:
    if answer.status in ("timeout", "error"):
        return "unverified"
    if answer.status != "ok":
        return "missing"
    return "ok" if answer.values == expected else "stale"


async def _reverse_dns(
    asker: _Asker,
    ip: IPv4Address,
    mail_host: str,
    authoritative: Sequence[Nameserver],
    recursive: Sequence[Nameserver],
) -> str:
    """Forward-confirmed reverse DNS: PTR(ip) is the mail host, and the mail host's A is ip."""
    ptr = await asker.ask(
        recursive, dns.reversename.from_address(str(ip)).to_text(), "PTR", recursive=True
    )
    if ptr.status in ("timeout", "error"):
        return "unverified"
    if ptr.status != "ok":
        return "missing PTR"
    if ptr.values != {fqdn(mail_host)}:
        return f"PTR is {', '.join(sorted(ptr.values))}, not {fqdn(mail_host)}"
    forward = await asker.ask(authoritative, fqdn(mail_host), "A", recursive=False)
    if forward.status in ("timeout", "error"):
        return "unverified"
    return "ok" if str(ip) in forward.values else f"{mail_host} does not resolve to {ip}"


def _ip_query(ip: IPv4Address, dqs_key: str | None) -> str:
    reversed_ip = ".".join(reversed(str(ip).split(".")))
    zone = f"{dqs_key}.zen.dq.spamhaus.net" if dqs_key else "zen.spamhaus.org"
    return f"{reversed_ip}.{zone}."


def _domain_query(domain: str, dqs_key: str | None) -> str:
    zone = f"{dqs_key}.dbl.dq.spamhaus.net" if dqs_key else "dbl.spamhaus.org"
    return f"{domain}.{zone}."


async def resolve_servers(
    names: Sequence[str], resolvers: Sequence[Nameserver], timeout_s: float = 2.0
) -> list[Nameserver]:
    """Name servers by name -> by address, through the resolvers (dnspython queries need IPs)."""
    asker = _Asker(timeout_s, 8)
    answers = await asyncio.gather(
        *(asker.ask(resolvers, fqdn(n), "A", recursive=True) for n in names)
    )
    return [Nameserver(ip) for answer in answers for ip in sorted(answer.values)]


async def name_servers_of(
    zone: str, resolvers: Sequence[Nameserver], timeout_s: float = 2.0
) -> list[str]:
    """The zone's NS names, as the resolvers answer (empty when they cannot say)."""
    answer = await _Asker(timeout_s, 1).ask(resolvers, fqdn(zone), "NS", recursive=True)
    return sorted(answer.values)


async def _listing(asker: _Asker, servers: Sequence[Nameserver], name: str) -> Listing:
    answer = await asker.ask(servers, name, "A", recursive=True)
    if answer.status == "nxdomain":
        return "clean"
    if answer.status != "ok":
        return "unknown"
    # Only real return codes count (zen 127.0.0.x, dbl 127.0.1.2-254); Spamhaus's error
    # answers (127.255.255.x, e.g. "you are using a public resolver", and dbl's 127.0.1.255)
    # mean "we could not find out", never "listed".
    real = [v for v in answer.values if _is_listing(v)]
    return "listed" if real else "unknown"


def _is_listing(value: str) -> bool:
    if value.startswith("127.0.0.") and value != "127.0.0.1":
        return True
    return value.startswith("127.0.1.") and value not in ("127.0.1.255", "127.0.1.1")


def _validate_served(report: Report, domain: str) -> None:
    """SPF, DKIM and DMARC as the authoritative servers serve them (not as we meant them)."""
    served = {(c.name, c.type): c.served for c in report.records if c.authoritative != "unverified"}
    apex = served.get((fqdn(domain), "TXT"))
    if apex is not None:
        report.spf = _judge(lambda: _spf_ok([t for t in apex if spf.is_spf(t)]))
    dkim = served.get((f"{DKIM_SELECTOR}._domainkey.{fqdn(domain)}", "TXT"))
    if dkim is not None:
        report.dkim = _judge(lambda: _one_then(dkim, _dkim_ok))
    dmarc = served.get((f"_dmarc.{fqdn(domain)}", "TXT"))
    if dmarc is not None:
        report.dmarc = _judge(lambda: _one_then(dmarc, _dmarc_ok))


def _one_then(values: list[str], check: Any) -> None:
    if len(values) != 1:
        raise ValueError(f"{len(values)} records where exactly one belongs")
    check(values[0])


def _judge(check: Any) -> str:
    try:
        check()
    except ValueError as exc:
        return f"invalid: {exc}"
    return "valid"


def _spf_ok(values: list[str]) -> None:
    if len(values) != 1:
        raise ValueError(f"{len(values)} SPF records (exactly one allowed)")
    parsed = spf.parse(values[0])
    if spf.lookups(parsed) > spf.MAX_LOOKUPS:
        raise ValueError("more than ten DNS lookups")
    if parsed.all is None:
        raise ValueError("no 'all' term")


def _dkim_ok(text: str) -> None:
    dkim.public_key_from_record(f'"{text}"')


def _dmarc_ok(text: str) -> None:
    tags = dict(part.strip().split("=", 1) for part in text.split(";") if "=" in part)
    if not text.startswith("v=DMARC1"):
        raise ValueError("does not start with v=DMARC1")
    if tags.get("p") not in ("none", "quarantine", "reject"):
        raise ValueError("p= must be none, quarantine or reject")
    for key in ("rua", "ruf"):
        if key in tags and not all(u.strip().startswith("mailto:") for u in tags[key].split(",")):
            raise ValueError(f"{key}= must list mailto: URIs")


async def spf_lookups(
    record: str, resolvers: Sequence[Nameserver], timeout_s: float = 2.0, limit: int = 10
) -> int:
    """DNS lookups an SPF record costs when evaluated (RFC 7208 4.6.4), nested includes and
    redirects followed through the resolvers. Stops counting once past `limit`."""
    asker = _Asker(timeout_s, 8)
    total = 0
    pending = [record]
    while pending and total <= limit:
        parsed = spf.parse(pending.pop())
        total += spf.lookups(parsed)
        targets = [
            t.split(":", 1)[1] if ":" in t else t.split("=", 1)[1]
            for t in parsed.terms
            if t.lower().lstrip("+-~?").startswith(("include:", "redirect="))
        ]
        answers = await asyncio.gather(
            *(asker.ask(resolvers, fqdn(target), "TXT", recursive=True) for target in targets)
        )
        pending += [v for a in answers for v in a.values if spf.is_spf(v)]
    return total
