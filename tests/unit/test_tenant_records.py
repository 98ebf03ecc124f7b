"""The pure rules of a tenant's domain: which names can be claimed, which records are ours,
what is carried over, and a tenant record set validated into Route 53's form."""

from __future__ import annotations

import pytest

from inboxfleet.dns.records import DeliverabilityPolicy, Record
from inboxfleet.dns.tenant_records import (
    BadRecord,
    apex_txt,
    carried_records,
    clash,
    is_ours,
    tenant_record,
)
from inboxfleet.names import registrable_domain

POLICY = DeliverabilityPolicy()
D = "acme.example"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("acme.example", "acme.example"),
        (" Acme.CO.uk ", "acme.co.uk"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("someone.github.io", "someone.github.io"),  # github.io is a (private) public suffix
    ],
)
def test_registrable_domains_are_accepted_in_ascii(given: str, expected: str) -> None:
    assert registrable_domain(given) == expected


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("192.0.2.1", "IP address"),
        ("localhost", "not a valid domain"),
        ("co.uk", "public suffix"),
        ("github.io", "public suffix"),
        ("www.acme.co.uk", "below the registrable domain acme.co.uk"),
        ("xn--zz.example", "not a valid domain"),
        ("a" * 64 + ".example", "not a valid domain"),
        ("acme.example\n", "not a valid domain"),
    ],
)
def test_names_nobody_registers_whole_are_refused_saying_why(given: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        registrable_domain(given)


@pytest.mark.parametrize(
    ("name", "rtype", "ours"),
    [
        ("mail.acme.example.", "A", True),
        ("_dmarc.acme.example.", "TXT", True),
        ("dkim._domainkey.acme.example.", "TXT", True),
        ("mta-sts.acme.example.", "A", True),
        ("_submission._tcp.acme.example.", "SRV", True),
        ("acme.example.", "MX", True),
        ("acme.example.", "TXT", False),  # shared: the tenant's values beside our SPF
        ("acme.example.", "A", False),  # the website
        ("www.acme.example.", "CNAME", False),
        ("google._domainkey.acme.example.", "TXT", False),  # another selector is theirs
    ],
)
def test_ours_and_theirs(name: str, rtype: str, ours: bool) -> None:
    record = Record(name, rtype, ("x",))  # type: ignore[arg-type]
    assert is_ours(record, D, POLICY) is ours
    assert (clash(record, D, POLICY) is not None) is (ours and rtype != "SOA")


def test_carry_over_keeps_a_cname_alone_and_skips_our_names() -> None:
    found = [
        ("www.acme.example.", "CNAME", frozenset({"sites.host.test."})),
        ("www.acme.example.", "A", frozenset({"192.0.2.7"})),  # a resolver's chased answer
        ("acme.example.", "TXT", frozenset({"google-site-verification=1"})),
        ("acme.example.", "MX", frozenset({"1 aspmx.l.google.com."})),
        ("acme.example.", "AAAA", frozenset()),
    ]
    copied, skipped = carried_records(D, found, POLICY)
    assert copied == [
        Record("www.acme.example.", "CNAME", ("sites.host.test.",), 300),
        Record("acme.example.", "TXT", ('"google-site-verification=1"',), 300),
    ]
    assert [str(s) for s in skipped] == ["MX acme.example."]


def test_tenant_records_are_validated_into_route53_form() -> None:
    assert tenant_record(D, "@", "A", ["192.0.2.1 "], 300) == Record(
        "acme.example.", "A", ("192.0.2.1",), 300
    )
    assert tenant_record(D, "Track", "CNAME", ["Links.Tool.TEST"], 60).values == (
        "links.tool.test.",
    )
    assert tenant_record(D, "_acme-challenge.www", "TXT", ['say "hi"'], 300).values == (
        '"say \\"hi\\""',
    )
    assert tenant_record(D, "www", "TXT", [" padded "], 300).values == ('" padded "',)
    assert tenant_record(D, "acme.example.", "MX", ["5 mx.other.test"], 300).values == (
        "5 mx.other.test.",
    )
    for name, rtype, values in (
        ("www", "A", ["2001:db8::1"]),
        ("www", "AAAA", ["192.0.2.1"]),
        ("@", "CNAME", ["x.test"]),
        ("www", "CNAME", ["a.test", "b.test"]),
        ("www.other.test.", "A", ["192.0.2.1"]),
        ("bad label", "A", ["192.0.2.1"]),
        ("www", "TXT", ["line\nbreak"]),
        ("www", "MX", ["mx.test"]),
        ("@", "CAA", ["0 issue letsencrypt.org"]),
        ("www", "TXT", ["café"]),  # escapes Route 53 and DNS spell differently: ASCII only
    ):
        with pytest.raises(BadRecord):
            tenant_record(D, name, rtype, values, 300)


def test_the_tenants_spf_terms_merge_into_ours_at_the_apex() -> None:
    live = [Record("acme.example.", "TXT", ('"v=spf1 mx a:mail.acme.example ~all"',))]
    record = apex_txt(D, live, ["v=spf1 include:_spf.google.com ~all", "site=1"], POLICY)
    assert record is not None
    assert record.values == (
        '"v=spf1 mx a:mail.acme.example include:_spf.google.com ~all"',
        '"site=1"',
    )
    # Before our SPF is published, the tenant's values are kept as given.
    assert apex_txt(D, [], ["v=spf1 -all"], POLICY) == Record(
        "acme.example.", "TXT", ('"v=spf1 -all"',), 300
    )
    assert apex_txt(D, [], [], POLICY) is None
