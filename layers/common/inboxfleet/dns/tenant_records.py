"""The tenant's own records beside ours in its zone: which names are ours, what is carried
over from the domain's previous DNS, and the change a new tenant record set makes. Pure.

Ours: every name the deliverability record set uses (`records._layout`: the mail host, DKIM,
DMARC, MTA-STS, autoconfig, the SRV names...) and, at the apex, MX. The apex TXT is shared: the
tenant's values (its site verifications, its SPF terms) sit beside our SPF, merged into one SPF
record. The apex SOA and NS belong to Route 53.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
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
from inboxfleet.names import MAX_NAME_LENGTH, mail_host_of, normalise_hostname

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


@cache  # asked once per record checked: the layout is worked out once per domain
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
    and the names of ours a domain commonly has already (its mail host, DMARC, Microsoft's and
    Thunderbird's autodiscovery), which ours replace: the tenant is told what stops being served."""
    apex, mail_host = fqdn(domain), fqdn(mail_host_of(domain))
    asks: list[tuple[str, str]] = [(apex, "A"), (apex, "AAAA"), (apex, "TXT"), (apex, "MX")]
    asks += [(mail_host, "CNAME"), (mail_host, "A"), (f"_dmarc.{apex}", "TXT")]
    asks += [(f"autodiscover.{apex}", "CNAME"), (f"autoconfig.{apex}", "CNAME")]
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
            shown: tuple[str, ...] = tuple(sorted(quoted(v) for v in values if _printable_ascii(v)))
        else:
            shown = tuple(sorted(values))
        if not shown:
            continue  # nothing that can be written back as it was read
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
    """The apex TXT record set for the tenant's `wanted` values (unquoted). When our SPF is
    published there, the tenant's SPF terms are merged into our own terms (never into the live
    record, which holds the tenant's earlier terms: what the tenant drops goes)."""
    apex, mail_host = fqdn(domain), mail_host_of(domain)
    ours_live = any(
        spf.is_spf(text) and f"a:{mail_host}" in text.lower().split()
        for r in live
        if (r.name, r.type) == (apex, "TXT")
        for text in (unquoted(v) for v in r.values)
    )
    theirs = [v for v in wanted if spf.is_spf(v)]
    if len(theirs) > 1:
        raise BadRecord(f"TXT {apex}: one SPF record at most (RFC 7208)")
    values = list(wanted)
    if ours_live:
        ours = spf.Spf(("mx", f"a:{mail_host}"), policy.spf_all)
        try:
            merged = spf.merge(ours, theirs).text()
        except spf.SpfError as exc:
            raise BadRecord(f"TXT {apex}: {exc}") from None
        values = [merged, *(v for v in wanted if not spf.is_spf(v))]
    return Record(apex, "TXT", tuple(quoted(v) for v in values), 300) if values else None


_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_CAA = re.compile(r'^(0|128) (issue|issuewild|iodef) "[!-~ ]{0,255}"$')
_MX = re.compile(r"^(\d{1,5}) (\S+)$")


class BadRecord(ValueError):
    """A tenant record that cannot be published: the message says which and why; `index` is
    the record's place in the request, when one record is to blame."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


class ManagedRecord(ValueError):
    """A tenant record where one of ours goes."""

    def __init__(self, clash: Clash, index: int) -> None:
        super().__init__(f"{clash} is managed by inboxfleet (mail delivery needs it)")
        self.index = index


# Route 53's limits on one change batch (deletes count too).
MAX_CHANGE_VALUES = 1000
MAX_CHANGE_CHARACTERS = 32000
_CAA_ISSUE = re.compile(r'^\d+ issue "([^";]*)')
# The mail host's certificate comes from Let's Encrypt (Mailu's TLS_FLAVOR=letsencrypt).
CERTIFICATE_AUTHORITY = "letsencrypt.org"


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
    if len(absolute.rstrip(".")) > MAX_NAME_LENGTH:
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
    if not _printable_ascii(value):
        # Anything else needs escapes Route 53 and DNS spell differently (octal, decimal).
        raise ValueError("a TXT value is printable ASCII")
    return quoted(value)


def _printable_ascii(text: str) -> bool:
    return text.isascii() and text.isprintable()


def tenant_record(domain: str, name: str, rtype: str, values: Sequence[str], ttl: int) -> Record:
    """A tenant's record set, validated and in Route 53's presentation (BadRecord if not)."""
    absolute = record_name(domain, name)
    if rtype == "CNAME" and (absolute == fqdn(domain) or len(values) != 1):
        raise BadRecord(f"CNAME {absolute}: one value, and never at the apex")
    try:
        # Edge spaces are a paste's, but in a TXT value they are the value's own.
        shown = tuple(
            sorted({_value(rtype, v if rtype == "TXT" else v.strip(" ")) for v in values})
        )
    except ValueError as exc:
        raise BadRecord(f"{rtype} {absolute}: {exc}") from None
    return Record(absolute, rtype, shown, ttl)  # type: ignore[arg-type]


def plan_records(
    domain: str,
    wanted: Sequence[tuple[str, str, Sequence[str], int]],
    live: Sequence[Record],
    policy: DeliverabilityPolicy,
) -> tuple[list[Record], list[Record]]:
    """What makes the tenant's own records exactly `wanted` (name, type, values, ttl): the
    record sets to set and those to delete, ours untouched. BadRecord or ManagedRecord (with
    the index of the record to blame) when it cannot be."""
    apex = fqdn(domain)
    new: list[Record] = []
    seen: set[tuple[str, str]] = set()
    apex_values: list[str] = []
    for index, (name, rtype, values, ttl) in enumerate(wanted):
        try:
            record = tenant_record(domain, name, rtype, values, ttl)
        except BadRecord as exc:
            raise BadRecord(str(exc), index) from None
        key = (record.name, record.type)
        if key in seen:
            raise BadRecord(f"{record.type} {record.name} twice", index)
        seen.add(key)
        found = clash(record, domain, policy)
        if found is not None:
            raise ManagedRecord(found, index)
        _refuse_harmful(record, apex, index)
        if key == (apex, "TXT"):
            apex_values = [unquoted(v) for v in record.values]
        else:
            new.append(record)
    alone = [r for r in new if (r.name, "CNAME") in seen and r.type != "CNAME"]
    if alone:
        raise BadRecord(f"CNAME {alone[0].name}: a CNAME stands alone, no other record beside it")
    apex_record = apex_txt(domain, live, apex_values, policy)
    if apex_record is not None:
        new.append(apex_record)
    keys = {(r.name, r.type) for r in new}
    gone = [r for r in live if not is_ours(r, domain, policy) and (r.name, r.type) not in keys]
    # Route 53 counts an UPSERT twice (a delete and a create), a DELETE once.
    changed = [*new, *new, *gone]
    if (
        sum(len(r.values) for r in changed) > MAX_CHANGE_VALUES
        or sum(len(v) for r in changed for v in r.values) > MAX_CHANGE_CHARACTERS
    ):
        raise BadRecord(
            f"too much at once for one atomic change (Route 53 takes {MAX_CHANGE_VALUES} values "
            f"and {MAX_CHANGE_CHARACTERS} characters, a replaced record counting twice)"
        )
    return new, gone


def _refuse_harmful(record: Record, apex: str, index: int) -> None:
    """Records that would break the domain's own mail: a CNAME to itself, a CAA at the apex
    that keeps Let's Encrypt from issuing the mail host's certificate."""
    if record.type == "CNAME" and record.values == (record.name,):
        raise BadRecord(f"CNAME {record.name} points at itself", index)
    if record.type == "CAA" and record.name == apex:  # the mail host's CAA is the apex's
        issuers = [m.group(1).strip() for v in record.values if (m := _CAA_ISSUE.match(v))]
        if issuers and CERTIFICATE_AUTHORITY not in issuers:
            raise BadRecord(
                f"CAA {record.name}: {CERTIFICATE_AUTHORITY} must be allowed to issue (the mail "
                "server's certificate comes from it)",
                index,
            )
