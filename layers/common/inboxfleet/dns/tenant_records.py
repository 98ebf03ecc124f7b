"""The tenant's own records beside ours in its zone: which names are ours, what is carried
over from the domain's previous DNS, and the change a new tenant record set makes. Pure.

Ours: every name the deliverability record set uses (`records._layout`: the mail host, DKIM,
DMARC, MTA-STS, autoconfig, the SRV names...) and, at the apex, MX. The apex TXT is shared: the
tenant's values (its site verifications, its SPF terms) sit beside our SPF, merged into one SPF
record. The apex SOA and NS belong to Route 53.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from inboxfleet.dns import spf
from inboxfleet.dns.records import (
    DeliverabilityPolicy,
    Record,
    RecordType,
    fqdn,
    in_zone,
    our_record_keys,
    quoted,
    unquoted,
)
from inboxfleet.names import mail_host_of, normalise_hostname

# What a tenant may keep in its zone (and what is carried over).
TENANT_TYPES: tuple[RecordType, ...] = ("A", "AAAA", "CNAME", "TXT", "MX", "CAA")
# Looked up before delegation: the website and the common verification and tracking names.
CARRIED_NAMES = ("", "www")


@dataclass(frozen=True)
class Clash:
    name: str
    type: str

    def __str__(self) -> str:
        return f"{self.type} {self.name}"


def managed_names(domain: str, policy: DeliverabilityPolicy) -> frozenset[str]:
    """The names below the apex that are ours whole (any type there clashes)."""
    apex = fqdn(domain)
    return frozenset(
        name
        for name, _ in our_record_keys(domain, mail_host_of(domain), policy)
        if name != apex and in_zone(name, domain)
    )


def clash(record: Record, domain: str, policy: DeliverabilityPolicy) -> Clash | None:
    """Whether a tenant record stands where one of ours goes."""
    apex = fqdn(domain)
    if record.name == apex:
        return Clash(record.name, record.type) if record.type in ("MX", "CNAME") else None
    if record.name in managed_names(domain, policy):
        return Clash(record.name, record.type)
    return None


def is_ours(record: Record, domain: str, policy: DeliverabilityPolicy) -> bool:
    """A record of the zone we publish (the shared apex TXT counts as the tenant's)."""
    if record.type in ("SOA", "NS") and record.name == fqdn(domain):
        return True
    if record.name == fqdn(domain):
        return record.type == "MX"
    return record.name in managed_names(domain, policy)


def carried_queries(domain: str, extra: Sequence[str]) -> list[tuple[str, str]]:
    """(name, type) to ask of the domain's current DNS: apex A/AAAA/TXT, www and each extra
    name's CNAME/A/AAAA/TXT (a CNAME at the apex is not possible in any zone); and the apex MX
    and mail host, which ours replace: the tenant is told what stops being served."""
    apex, mail_host = fqdn(domain), fqdn(mail_host_of(domain))
    asks: list[tuple[str, str]] = [(apex, "A"), (apex, "AAAA"), (apex, "TXT"), (apex, "MX")]
    asks += [(mail_host, "CNAME"), (mail_host, "A")]
    for label in ("www", *extra):
        name = fqdn(f"{label}.{domain}")
        asks += [(name, "CNAME"), (name, "A"), (name, "AAAA"), (name, "TXT")]
    return asks


def carried_records(
    domain: str,
    found: Sequence[tuple[str, str, frozenset[str]]],
    policy: DeliverabilityPolicy,
) -> tuple[list[Record], list[Clash]]:
    """What to copy from what the domain serves today: (name, type, values) found, minus our
    names (reported as skipped) and minus A/AAAA/TXT beside a CNAME (a CNAME stands alone)."""
    cnames = {name for name, rtype, values in found if rtype == "CNAME" and values}
    copied: list[Record] = []
    skipped: list[Clash] = []
    for name, rtype, values in found:
        if not values or (rtype != "CNAME" and name in cnames):
            continue
        if rtype == "TXT":
            shown: tuple[str, ...] = tuple(sorted(quoted(v) for v in values))
        else:
            shown = tuple(sorted(values))
        record = Record(name, rtype, shown, 300)  # type: ignore[arg-type]
        found_clash = clash(record, domain, policy)
        if found_clash is not None:
            skipped.append(found_clash)
        else:
            copied.append(record)
    return copied, skipped


def apex_txt(
    domain: str, live: Sequence[Record], wanted: Sequence[str], policy: DeliverabilityPolicy
) -> Record | None:
    """The apex TXT record set for the tenant's `wanted` values (unquoted): when our SPF is
    published there, the tenant's SPF terms are merged into it rather than replacing it."""
    apex = fqdn(domain)
    ours_live = [
        unquoted(v)
        for r in live
        if (r.name, r.type) == (apex, "TXT")
        for v in r.values
        if spf.is_spf(unquoted(v)) and f"a:{mail_host_of(domain)}" in unquoted(v).lower().split()
    ]
    values = [v for v in wanted if not spf.is_spf(v)]
    theirs = [v for v in wanted if spf.is_spf(v)]
    if ours_live:
        merged = spf.merge(spf.parse(ours_live[0]), theirs)
        values.insert(0, merged.text())
    else:
        values = list(wanted)
    return Record(apex, "TXT", tuple(quoted(v) for v in values), 300) if values else None


_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_CAA = re.compile(r'^(0|128) (issue|issuewild|iodef) "[!-~ ]{0,255}"$')
_MX = re.compile(r"^(\d{1,5}) (\S+)$")


class BadRecord(ValueError):
    """A tenant record that cannot be published: the message says which and why."""


def record_name(domain: str, name: str) -> str:
    """`@` or a relative name (`www`, `_acme-challenge.www`) or an absolute one inside the
    domain, as an absolute lower-case name."""
    apex = fqdn(domain)
    if name == "@":
        return apex
    text = name.lower()
    absolute = fqdn(text) if text.endswith(".") else fqdn(f"{text}.{domain}")
    if not in_zone(absolute, domain):
        raise BadRecord(f"{name!r} is not inside {domain}")
    relative = absolute[: -len(apex)].rstrip(".")
    if relative and not all(_LABEL.match(label) for label in relative.split(".")):
        raise BadRecord(f"{name!r} is not a valid record name")
    if len(absolute) > 254:
        raise BadRecord(f"{name!r} is longer than DNS allows")
    return absolute


def _value(rtype: str, value: str) -> str:
    if rtype == "A":
        return str(IPv4Address(value))
    if rtype == "AAAA":
        return str(IPv6Address(value))
    if rtype == "CNAME":
        return fqdn(normalise_hostname(value))
    if rtype == "MX":
        match = _MX.match(value)
        if match is None or int(match.group(1)) > 65535:
            raise ValueError("an MX value is `<preference> <host>`")
        return f"{int(match.group(1))} {fqdn(normalise_hostname(match.group(2)))}"
    if rtype == "CAA":
        if _CAA.match(value) is None:
            raise ValueError('a CAA value is `<flags> <tag> "<value>"`')
        return value
    if any(unicodedata.category(c)[0] == "C" for c in value):
        raise ValueError("a TXT value holds no control characters")
    return quoted(value)


def tenant_record(domain: str, name: str, rtype: str, values: Sequence[str], ttl: int) -> Record:
    """A tenant's record set, validated and in Route 53's presentation (BadRecord if not)."""
    absolute = record_name(domain, name)
    if rtype == "CNAME" and (absolute == fqdn(domain) or len(values) != 1):
        raise BadRecord(f"CNAME {absolute}: one value, and never at the apex")
    try:
        shown = tuple(sorted({_value(rtype, v.strip(" ")) for v in values}))
    except ValueError as exc:
        raise BadRecord(f"{rtype} {absolute}: {exc}") from None
    return Record(absolute, rtype, shown, ttl)  # type: ignore[arg-type]
