"""The record set a sending domain needs, computed from what we know about it. Pure.

Values are in zone-file presentation, as Route 53 takes them: names absolute with a trailing
dot, TXT data as one or more quoted strings of at most 255 bytes each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Literal

from inboxfleet import dkim
from inboxfleet.dns.spf import Spf, is_spf, merge
from inboxfleet.mailpolicy import (
    DKIM_SELECTOR,
    DMARC_REPORT_MAILBOX,
    MTA_STS_MAX_AGE_S,
    MTA_STS_MODE,
)
from inboxfleet.mtasts import Mode, policy_id, policy_text
from inboxfleet.names import MAX_NAME_LENGTH

TTL = 600
TXT_CHUNK = 255
RecordType = Literal["A", "AAAA", "MX", "TXT", "CNAME", "SRV", "CAA"]
DmarcPolicy = Literal["none", "quarantine", "reject"]


@dataclass(frozen=True, order=True)
class Record:
    name: str  # absolute, lower-case, trailing dot
    type: RecordType
    values: tuple[str, ...]
    ttl: int = TTL


@dataclass(frozen=True)
class DeliverabilityPolicy:
    """What we publish beyond the facts. DMARC starts at `none` with reports and is ramped by
    configuration once the reports look clean: none -> quarantine -> reject."""

    dmarc: DmarcPolicy = "none"
    dmarc_rua: str = DMARC_REPORT_MAILBOX  # local part of the report address
    # Reports to another domain (e.g. the platform's own) need that domain's consent, a
    # "<domain>._report._dmarc.<report domain>" record (RFC 7489 7.1). None: the domain itself.
    dmarc_report_domain: str | None = None
    tls_rpt: str = "tls-reports"
    spf_all: Literal["~all", "-all"] = "~all"
    # Must match what the mail server serves (inboxfleet.mailu.render): the id derives from it.
    mta_sts_mode: Mode = MTA_STS_MODE
    mta_sts_max_age_s: int = MTA_STS_MAX_AGE_S


def quoted(text: str) -> str:
    """TXT data as presentation-format strings, split at 255 bytes (RFC 1035 3.3.14)."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:  # split between characters, never inside a multi-byte one
        width = len(char.encode())
        if size + width > TXT_CHUNK:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    chunks.append("".join(current))
    return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)


def unquoted(value: str) -> str:
    """The reverse of `quoted`: one TXT value's strings joined."""
    parts = []
    i = 0
    while i < len(value):
        if value[i] == '"':
            j, chunk = i + 1, []
            while j < len(value) and value[j] != '"':
                if value[j] == "\\" and j + 1 < len(value):
                    j += 1
                chunk.append(value[j])
                j += 1
            parts.append("".join(chunk))
            i = j + 1
        else:
            i += 1
    return "".join(parts)


def fqdn(name: str) -> str:
    return name.lower().rstrip(".") + "."


def in_zone(name: str, zone: str) -> bool:
    """Whether `name` is the zone's apex or below it (a label boundary, not a string suffix:
    x.inboxfleet.com is not in fleet.com)."""
    apex = fqdn(zone)
    return fqdn(name) == apex or fqdn(name).endswith("." + apex)


class NameTooLong(ValueError):
    """A record name we would publish is longer than DNS allows."""


@dataclass(frozen=True)
class _Facts:
    """What record values are made of, beyond the names."""

    ip: IPv4Address
    dkim_public_key: str
    apex_txt: tuple[str, ...]  # ours (SPF, merged with the customer's) and the customer's others


Values = Callable[[_Facts], tuple[str, ...]]


def _layout(
    domain: str, mail_host: str, policy: DeliverabilityPolicy
) -> list[tuple[str, RecordType, Values]]:
    """Every record set we publish for a domain: name, type and how its values are made. The
    one list both publishing (`desired_records`) and removal (`our_record_keys`) read."""
    d, mx = fqdn(domain), fqdn(mail_host)
    report_domain = policy.dmarc_report_domain or domain
    rua = f"mailto:{policy.dmarc_rua}@{report_domain}"
    dmarc = f"v=DMARC1; p={policy.dmarc}; rua={rua}; ruf={rua}; fo=1; adkim=s; aspf=s"
    tls_rpt = f"v=TLSRPTv1; rua=mailto:{policy.tls_rpt}@{domain}"
    sts = policy_text([mail_host], policy.mta_sts_mode, policy.mta_sts_max_age_s)

    def fixed(*values: str) -> Values:
        return lambda _: values

    layout: list[tuple[str, RecordType, Values]] = [
        (mx, "A", lambda f: (str(f.ip),)),
        (f"mta-sts.{d}", "A", lambda f: (str(f.ip),)),
        (d, "MX", fixed(f"10 {mx}")),
        (d, "TXT", lambda f: tuple(quoted(t) for t in f.apex_txt)),
        (
            f"{DKIM_SELECTOR}._domainkey.{d}",
            "TXT",
            lambda f: (quoted(dkim.record_text(f.dkim_public_key)),),
        ),
        (f"_dmarc.{d}", "TXT", fixed(quoted(dmarc))),
        (f"autoconfig.{d}", "CNAME", fixed(mx)),
        (f"autodiscover.{d}", "CNAME", fixed(mx)),
        (f"_submission._tcp.{d}", "SRV", fixed(f"0 1 587 {mx}")),
        (f"_submissions._tcp.{d}", "SRV", fixed(f"0 1 465 {mx}")),
        (f"_imaps._tcp.{d}", "SRV", fixed(f"0 1 993 {mx}")),
        (f"_autodiscover._tcp.{d}", "SRV", fixed(f"0 1 443 {mx}")),
        # Closed ports say so (RFC 6186: target "." means "not available here").
        (f"_imap._tcp.{d}", "SRV", fixed("0 0 0 .")),
        (f"_pop3._tcp.{d}", "SRV", fixed("0 0 0 .")),
        (f"_pop3s._tcp.{d}", "SRV", fixed("0 0 0 .")),
        (f"_smtp._tls.{d}", "TXT", fixed(quoted(tls_rpt))),
        (f"_mta-sts.{d}", "TXT", fixed(quoted(f"v=STSv1; id={policy_id(sts)}"))),
    ]
    if fqdn(report_domain) != d:
        # In the report domain's zone: its consent to receive this domain's reports.
        authorisation = f"{d}_report._dmarc.{fqdn(report_domain)}"
        layout.append((authorisation, "TXT", fixed(quoted("v=DMARC1;"))))
    return layout


def desired_records(
    domain: str,
    mail_host: str,
    ip: IPv4Address,
    dkim_public_key: str,
    *,
    policy: DeliverabilityPolicy = DeliverabilityPolicy(),
    existing_apex_txt: Sequence[str] = (),
) -> list[Record]:
    """Every record deliverability needs. `existing_apex_txt` are the customer's TXT values at
    the apex (unquoted): an SPF among them is merged with ours, the rest are kept."""
    ours = Spf(("mx", f"a:{mail_host}"), policy.spf_all)
    spf = merge(ours, list(existing_apex_txt)).text()
    others = tuple(t for t in existing_apex_txt if not is_spf(t))
    facts = _Facts(ip, dkim_public_key, (spf, *others))
    layout = _layout(domain, mail_host, policy)
    for name, _, _ in layout:
        if len(name.rstrip(".")) > MAX_NAME_LENGTH:
            raise NameTooLong(f"{name} is longer than DNS allows ({MAX_NAME_LENGTH} characters)")
    return sorted(Record(name, rtype, values(facts)) for name, rtype, values in layout)


def host_records(
    domain: str,
    mail_host: str,
    ip: IPv4Address,
    policy: DeliverabilityPolicy = DeliverabilityPolicy(),
) -> list[Record]:
    """The address records among ours (the names the server's TLS certificate covers): what
    can be published as soon as the server has its address, before anything else is known."""
    facts = _Facts(ip, "", ())
    layout = _layout(domain, mail_host, policy)
    return sorted(
        Record(name, rtype, values(facts)) for name, rtype, values in layout if rtype == "A"
    )


def our_record_keys(
    domain: str, mail_host: str, policy: DeliverabilityPolicy = DeliverabilityPolicy()
) -> list[tuple[str, RecordType]]:
    """The (name, type) of every record set we publish for a domain, in its own zone or
    elsewhere (the DMARC report authorisation): what removal deletes."""
    return sorted((name, rtype) for name, rtype, _ in _layout(domain, mail_host, policy))
