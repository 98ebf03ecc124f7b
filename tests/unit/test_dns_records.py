"""The deliverability record set, SPF merging, TXT quoting and domain names. Pure."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from inboxfleet.dns.records import (
    DeliverabilityPolicy,
    NameTooLong,
    desired_records,
    in_zone,
    quoted,
    unquoted,
)
from inboxfleet.dns.spf import SpfError, lookups, merge, parse
from inboxfleet.mtasts import policy_id, policy_text
from inboxfleet.names import MAX_NAME_LENGTH, SENDING_DOMAIN_MAX_LENGTH, customer_domain

IP = IPv4Address("198.51.100.7")
KEY = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + "x" * 348 + "IDAQAB"


def by_key(
    domain: str = "acme.example", **kwargs: object
) -> dict[tuple[str, str], tuple[str, ...]]:
    records = desired_records(domain, f"mail.{domain}", IP, KEY, **kwargs)  # type: ignore[arg-type]
    return {(r.name, r.type): r.values for r in records}


def test_every_record_deliverability_needs_is_there() -> None:
    got = by_key()
    expected = {
        ("mail.acme.example.", "A"),
        ("mta-sts.acme.example.", "A"),
        ("acme.example.", "MX"),
        ("acme.example.", "TXT"),
        ("dkim._domainkey.acme.example.", "TXT"),
        ("_dmarc.acme.example.", "TXT"),
        ("autoconfig.acme.example.", "CNAME"),
        ("autodiscover.acme.example.", "CNAME"),
        ("_submission._tcp.acme.example.", "SRV"),
        ("_submissions._tcp.acme.example.", "SRV"),
        ("_imaps._tcp.acme.example.", "SRV"),
        ("_autodiscover._tcp.acme.example.", "SRV"),
        ("_imap._tcp.acme.example.", "SRV"),
        ("_pop3._tcp.acme.example.", "SRV"),
        ("_pop3s._tcp.acme.example.", "SRV"),
        ("_smtp._tls.acme.example.", "TXT"),
        ("_mta-sts.acme.example.", "TXT"),
    }
    assert set(got) == expected
    assert got[("acme.example.", "MX")] == ("10 mail.acme.example.",)
    assert got[("mail.acme.example.", "A")] == ("198.51.100.7",)
    assert got[("_imap._tcp.acme.example.", "SRV")] == ("0 0 0 .",)


def test_dkim_is_split_into_255_byte_strings() -> None:
    (value,) = by_key()[("dkim._domainkey.acme.example.", "TXT")]
    strings = value.split('" "')
    assert len(strings) == 2
    assert all(len(s.strip('"')) <= 255 for s in strings)
    assert unquoted(value) == f"v=DKIM1; k=rsa; p={KEY}"


def test_dmarc_starts_at_none_with_reports_and_ramps_by_policy() -> None:
    start = unquoted(by_key()[("_dmarc.acme.example.", "TXT")][0])
    assert start.startswith("v=DMARC1; p=none; rua=mailto:dmarc-reports@acme.example")
    ramped = by_key(policy=DeliverabilityPolicy(dmarc="quarantine"))
    assert "p=quarantine" in unquoted(ramped[("_dmarc.acme.example.", "TXT")][0])


def test_mta_sts_id_matches_the_policy_the_server_serves() -> None:
    txt = unquoted(by_key()[("_mta-sts.acme.example.", "TXT")][0])
    assert txt == f"v=STSv1; id={policy_id(policy_text(['mail.acme.example']))}"
    testing = by_key(policy=DeliverabilityPolicy(mta_sts_mode="testing"))
    assert unquoted(testing[("_mta-sts.acme.example.", "TXT")][0]) != txt


def test_customer_spf_and_other_txt_are_merged_never_clobbered() -> None:
    existing = ["v=spf1 include:_spf.google.com -all", "google-site-verification=abc"]
    apex = [unquoted(v) for v in by_key(existing_apex_txt=existing)[("acme.example.", "TXT")]]
    assert apex == [
        "v=spf1 mx a:mail.acme.example include:_spf.google.com -all",
        "google-site-verification=abc",
    ]


def test_merging_twice_is_stable() -> None:
    once = [unquoted(v) for v in by_key()[("acme.example.", "TXT")]]
    twice = [unquoted(v) for v in by_key(existing_apex_txt=once)[("acme.example.", "TXT")]]
    assert once == twice


@pytest.mark.parametrize(
    ("existing", "problem"),
    [
        (["v=spf1 -all", "v=spf1 mx -all"], "more than one SPF"),
        (["v=spf1 " + " ".join(f"include:s{i}.example" for i in range(9)) + " ~all"], "lookups"),
        (["v=spf1 -all mx"], "after 'all'"),
    ],
)
def test_unmergeable_spf_is_a_clear_error(existing: list[str], problem: str) -> None:
    with pytest.raises(SpfError, match=problem):
        by_key(existing_apex_txt=existing)


def test_spf_lookup_counting() -> None:
    spf = parse("v=spf1 ip4:192.0.2.0/24 mx a a:x.example include:y.example exists:%{i}.z ptr -all")
    assert lookups(spf) == 6
    assert merge(parse("v=spf1 mx ~all"), ["v=spf1 ?all"]).all == "~all"


def test_quoting_round_trips_quotes_and_backslashes() -> None:
    text = 'a "quoted" \\ value ' + "y" * 300
    assert unquoted(quoted(text)) == text


@pytest.mark.parametrize(
    ("raw", "ascii_name"),
    [
        ("Bücher.example", "xn--bcher-kva.example"),
        ("ACME.Example.", "acme.example"),
        ("straße.example", "xn--strae-oqa.example"),  # IDNA 2008 keeps ß (2003 mapped it to ss)
    ],
)
def test_internationalised_domains_become_ascii(raw: str, ascii_name: str) -> None:
    assert customer_domain(raw) == ascii_name


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "localhost",
        "a..example",
        "-a.example",
        "a" * 64 + ".example",
        "bad_name.example",
        "exa mple.com",
        "example.com;rm",
    ],
)
def test_bad_domains_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="not a valid"):
        customer_domain(raw)


def test_a_customers_redirect_survives_as_an_include() -> None:
    merged = merge(parse("v=spf1 mx ~all"), ["v=spf1 redirect=_spf.example.net"])
    assert merged.text() == "v=spf1 mx include:_spf.example.net ~all"


def test_non_ascii_txt_is_split_between_characters() -> None:
    text = "é" * 200
    assert unquoted(quoted(text)) == text
    assert all(len(part.strip('"').encode()) <= 255 for part in quoted(text).split('" "'))


def test_reports_to_another_domain_come_with_its_authorisation_record() -> None:
    got = by_key(policy=DeliverabilityPolicy(dmarc_report_domain="reports.inboxfleet.example"))
    dmarc = unquoted(got[("_dmarc.acme.example.", "TXT")][0])
    assert "rua=mailto:dmarc-reports@reports.inboxfleet.example" in dmarc
    auth = got[("acme.example._report._dmarc.reports.inboxfleet.example.", "TXT")]
    assert [unquoted(v) for v in auth] == ["v=DMARC1;"]
    assert not any("_report._dmarc" in name for name, _ in by_key())


def _longest_domain(length: int) -> str:
    """A valid domain of exactly `length` characters (labels of at most 63)."""
    labels, left = [], length - len(".example")
    while left > 0:
        size = min(63, left if left <= 63 else left - 2)  # never leave a 1-character remainder
        labels.append("a" * size)
        left -= size + 1
    return ".".join(labels) + ".example"


def test_the_longest_sending_domain_leaves_every_record_a_valid_name() -> None:
    domain = _longest_domain(SENDING_DOMAIN_MAX_LENGTH)
    assert customer_domain(domain) == domain
    records = desired_records(domain, f"mail.{domain}", IPv4Address("192.0.2.1"), KEY)
    assert max(len(r.name.rstrip(".")) for r in records) == MAX_NAME_LENGTH
    with pytest.raises(ValueError, match="too long to send from"):
        customer_domain(_longest_domain(SENDING_DOMAIN_MAX_LENGTH + 1))


def test_a_report_authorisation_too_long_for_dns_is_refused_not_sent() -> None:
    domain = _longest_domain(220)
    policy = DeliverabilityPolicy(dmarc_report_domain="reports-for-every-customer.example")
    with pytest.raises(NameTooLong, match=r"\._report\._dmarc\."):
        desired_records(domain, f"mail.{domain}", IPv4Address("192.0.2.1"), KEY, policy=policy)


@pytest.mark.parametrize(
    ("name", "zone", "inside"),
    [
        ("fleet.com.", "fleet.com", True),
        ("_dmarc.fleet.com.", "fleet.com.", True),
        ("x._report._dmarc.inboxfleet.com.", "fleet.com", False),
        ("inboxfleet.com.", "fleet.com", False),
    ],
)
def test_a_name_is_in_a_zone_by_labels_not_by_suffix(name: str, zone: str, inside: bool) -> None:
    assert in_zone(name, zone) is inside
