"""The dns Lambda, invoked with the files in events/, against moto's Route 53 served by the
local DNS servers over real UDP/TCP, verified by the real dnspython verifier."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import boto3
import pytest

from inboxfleet.db import Database, tenant_session
from inboxfleet.db.repositories import Domains
from inboxfleet.dns.errors import (
    Blocklisted,
    DnsConflict,
    DnsNotPropagated,
    InvalidDnsCommand,
    IpBlocklisted,
    NotDelegated,
)
from inboxfleet.dns.records import Record, unquoted
from inboxfleet.dns.route53 import Route53
from inboxfleet.dns.verify import Nameserver, check_records
from local.dns_sim import LocalDns, StaticZone
from local.dns_sim import Record as SimRecord
from local.invoke import invoke
from local.samples import SAMPLE_DOMAIN, SAMPLE_SERVER_ID, SAMPLE_TENANT_ID, seed_sample
from local.template import REPO_ROOT
from tests.aws_support import moto_aws
from tests.sample_outputs import SampleOutputs

EVENTS = REPO_ROOT / "events" / "DnsFunction"
# Someone else's SPF includes, nested: 1 + 4 + 4 + 2 lookups behind one include.
SPF_CHAIN = StaticZone(
    "spfchain.test.",
    [
        SimRecord(
            "a.spfchain.test.",
            "TXT",
            ('"v=spf1 include:b.spfchain.test include:c.spfchain.test a mx ~all"',),
        ),
        SimRecord("b.spfchain.test.", "TXT", ('"v=spf1 a mx ptr exists:x.spfchain.test ~all"',)),
        SimRecord("c.spfchain.test.", "TXT", ('"v=spf1 a mx ~all"',)),
    ],
)
IP = "198.51.100.1"
MAIL_HOST = f"mail.{SAMPLE_DOMAIN}"


def event(file: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / f"{file}.json").read_text())
    return {**data, **changes}


@dataclass
class Dns:
    local: LocalDns
    route53: Any
    ptr: dict[str, str]
    domain_id: UUID

    def put(self, name: str, rtype: str, *values: str) -> None:
        """Set a record set in the zone directly, as the customer (or anyone) might."""
        self.route53.change_resource_record_sets(
            HostedZoneId=self.zone_id(),
            ChangeBatch={
                "Changes": [
                    {
                        "Action": "UPSERT",
                        "ResourceRecordSet": {
                            "Name": name,
                            "Type": rtype,
                            "TTL": 300,
                            "ResourceRecords": [{"Value": v} for v in values],
                        },
                    }
                ]
            },
        )

    def refresh(self) -> None:
        """The local server re-reads Route 53 now (instead of within its half-second)."""
        assert self.local.route53 is not None
        self.local.route53.refresh()

    def zone_id(self) -> str:
        with tenant_session(SAMPLE_TENANT_ID) as s:
            domain = Domains(s).get(self.domain_id)
        assert domain is not None
        assert domain.hosted_zone_id is not None
        return domain.hosted_zone_id

    def apex_txt(self) -> list[str]:
        sets = self.route53.list_resource_record_sets(HostedZoneId=self.zone_id())
        return [
            unquoted(r["Value"])
            for s in sets["ResourceRecordSets"]
            if s["Name"] == f"{SAMPLE_DOMAIN}." and s["Type"] == "TXT"
            for r in s["ResourceRecords"]
        ]

    def publish(self, **changes: Any) -> None:
        invoke("DnsFunction", event("upsert", **changes))
        self.refresh()
        self.local.resolver.flush()

    def verify(self, **changes: Any) -> dict[str, Any]:
        result: dict[str, Any] = invoke(
            "DnsFunction",
            event(
                "verify", tenant_id=str(SAMPLE_TENANT_ID), domain_id=str(self.domain_id), **changes
            ),
        )
        return result

    def stored_report(self) -> dict[str, Any]:
        with tenant_session(SAMPLE_TENANT_ID) as s:
            domain = Domains(s).get(self.domain_id)
        assert domain is not None
        assert domain.verification_report is not None
        return domain.verification_report


@pytest.fixture
def dns(fresh_app_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dns]:
    seed_sample()
    with tenant_session(SAMPLE_TENANT_ID) as s:
        (domain,) = Domains(s).list()
    ptr = {IP: f"{MAIL_HOST}."}
    with moto_aws(monkeypatch):
        route53 = boto3.client("route53")
        # The zone the tenant API made when the domain was added, stored on its row.
        zone = Route53(route53).create_zone(SAMPLE_DOMAIN, str(domain.id))
        with tenant_session(SAMPLE_TENANT_ID) as s:
            Domains(s).set_zone(domain.id, zone.id, zone.name_servers)
        with LocalDns(
            route53,
            reverse_records=lambda: ptr,
            parent_origins=("example.",),
            extra_sources=[SPF_CHAIN],
        ) as local:
            for var, server in {
                "DNS_AUTHORITATIVE_SERVERS": local.authoritative.address,
                "DNS_RESOLVERS": local.resolver.address,
                "DNS_PARENT_SERVERS": local.parent.address,
                "DNS_BLOCKLIST_RESOLVERS": local.authoritative.address,
            }.items():
                monkeypatch.setenv(var, f"{server[0]}:{server[1]}")
            # The default 2 s: a loaded machine must not turn a slow answer into "unverified".
            monkeypatch.setenv("DNS_TIMEOUT_S", "2")
            yield Dns(local, route53, ptr, domain.id)


def delegated(dns: Dns) -> Dns:
    zone = invoke_check(dns)
    dns.local.delegate(SAMPLE_DOMAIN, zone)
    return dns


def invoke_check(dns: Dns) -> list[str]:
    with contextlib.suppress(NotDelegated):
        invoke("DnsFunction", event("check_delegation"))
    zone = dns.route53.get_hosted_zone(Id=dns.zone_id())
    return [f"{ns.rstrip('.')}." for ns in zone["DelegationSet"]["NameServers"]]


def test_a_missing_delegation_is_an_actionable_error_until_it_is_fixed(dns: Dns) -> None:
    with pytest.raises(
        NotDelegated, match="At your registrar, set the domain's name servers"
    ) as info:
        invoke("DnsFunction", event("check_delegation"))
    assert "awsdns" in str(info.value)
    delegated(dns)
    result = invoke("DnsFunction", event("check_delegation"))
    assert result["state"] == "delegated"


def rsa_4096_public_key() -> str:
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=4096).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def test_published_records_verify_over_udp_and_tcp_and_the_report_is_stored(dns: Dns) -> None:
    # A 4096-bit DKIM key: its TXT answer no longer fits a plain UDP answer (512 bytes).
    key = rsa_4096_public_key()
    delegated(dns).publish(dkim_public_key=key)
    dns.local.authoritative.clear_queries()
    report = dns.verify(dkim_public_key=key)
    assert report["authoritative_ok"] is True
    assert report["propagated"] is True
    assert (report["spf"], report["dkim"], report["dmarc"]) == ("valid", "valid", "valid")
    assert report["reverse_dns"] == "ok"
    assert report["ip_blocklist"] == "clean"
    assert len(report["records"]) == 17
    protocols = {q[0] for q in dns.local.authoritative.queries}
    assert protocols == {"udp", "tcp"}  # truncated over UDP, retried over TCP
    assert dns.stored_report()["authoritative_ok"] is True


def test_a_tampered_record_is_reported_and_blocks_activation(dns: Dns) -> None:
    delegated(dns).publish()
    dns.put(f"{SAMPLE_DOMAIN}.", "MX", "10 mx.attacker.example.")
    dns.refresh()
    with pytest.raises(DnsNotPropagated, match="MX"):
        dns.verify()
    (mx,) = [c for c in dns.stored_report()["records"] if c["type"] == "MX"]
    assert mx["authoritative"] == "mismatch"
    assert "mx.attacker.example." in mx["detail"]


def test_a_missing_ptr_is_reported(dns: Dns) -> None:
    delegated(dns).publish()
    dns.ptr.clear()
    with pytest.raises(DnsNotPropagated, match="reverse DNS: missing PTR"):
        dns.verify()


def test_a_listed_ip_blocks_activation(dns: Dns) -> None:
    delegated(dns).publish()
    dns.local.dnsbl.list_ip(IP)
    with pytest.raises(Blocklisted, match="ip listed"):
        dns.verify()


def test_a_spamhaus_refusal_answer_is_unknown_not_listed(dns: Dns) -> None:
    delegated(dns).publish()
    dns.local.dnsbl.list_ip(IP)
    dns.local.dnsbl.refuse_public_resolvers(True)  # every answer is 127.255.255.254
    report = dns.verify()
    assert (report["ip_blocklist"], report["domain_blocklist"]) == ("unknown", "unknown")


def test_stale_caches_and_fresh_authority_are_reported_separately(dns: Dns) -> None:
    delegated(dns).publish(ip="198.51.100.9")
    dns.ptr["198.51.100.9"] = f"{MAIL_HOST}."
    dns.verify(ip="198.51.100.9")  # the resolver now caches the old address
    dns.local.resolver.serve_stale(True)
    invoke("DnsFunction", event("upsert"))
    dns.refresh()
    report = dns.verify()
    assert report["authoritative_ok"] is True
    assert report["propagated"] is False
    stale = {(c["name"], c["type"]) for c in report["records"] if c["propagated"] == "stale"}
    assert (f"{MAIL_HOST}.", "A") in stale


def test_the_customers_records_are_merged_and_survive_removal(dns: Dns) -> None:
    invoke_check(dns)
    dns.put(
        f"{SAMPLE_DOMAIN}.",
        "TXT",
        '"v=spf1 include:_spf.google.com ~all"',
        '"google-site-verification=abc"',
    )
    dns.publish()
    assert sorted(dns.apex_txt()) == [
        "google-site-verification=abc",
        f"v=spf1 mx a:{MAIL_HOST} include:_spf.google.com ~all",
    ]
    invoke("DnsFunction", event("delete", delete_zone=False))
    assert sorted(dns.apex_txt()) == [
        "google-site-verification=abc",
        "v=spf1 include:_spf.google.com ~all",
    ]
    remaining = dns.route53.list_resource_record_sets(HostedZoneId=dns.zone_id())
    assert {s["Type"] for s in remaining["ResourceRecordSets"]} == {"NS", "SOA", "TXT"}


def test_deleting_the_last_inbox_removes_the_zone(dns: Dns) -> None:
    delegated(dns).publish()
    assert invoke("DnsFunction", event("delete"))["zone_deleted"] is True
    zones = dns.route53.list_hosted_zones()["HostedZones"]
    assert [z for z in zones if z["Name"] == f"{SAMPLE_DOMAIN}."] == []
    assert invoke("DnsFunction", event("delete")) == {
        "deleted": 0,
        "zone_deleted": False,
        "kept_for_successor": False,
    }


def test_a_late_deletion_never_takes_the_records_of_the_domains_next_server(dns: Dns) -> None:
    delegated(dns).publish()
    before = record_sets(dns)
    # The sample domain's live server is another one than the server being given back.
    gone = str(uuid4())
    late = invoke("DnsFunction", event("delete", delete_zone=False, server_id=gone))
    assert late == {"deleted": 0, "zone_deleted": False, "kept_for_successor": True}
    assert record_sets(dns) == before
    # The live server's own run deletes them.
    own = invoke("DnsFunction", event("delete", delete_zone=False, server_id=str(SAMPLE_SERVER_ID)))
    assert own["deleted"] > 0
    assert own["kept_for_successor"] is False


def test_two_spf_records_are_a_conflict_not_a_clobber(dns: Dns) -> None:
    from inboxfleet.dns.errors import DnsConflict

    invoke_check(dns)
    dns.put(f"{SAMPLE_DOMAIN}.", "TXT", '"v=spf1 -all"', '"v=spf1 mx -all"')
    with pytest.raises(DnsConflict, match="more than one SPF"):
        invoke("DnsFunction", event("upsert"))
    assert sorted(dns.apex_txt()) == ["v=spf1 -all", "v=spf1 mx -all"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"domain": "bad domain.example"}, "domain"),
        ({"domain": "acme.example;rm -rf"}, "domain"),
        ({"ip": "not-an-ip"}, "ip"),
        ({"dkim_public_key": "short"}, "dkim_public_key"),
    ],
)
def test_bad_input_is_refused_before_anything_happens(
    dns: Dns, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidDnsCommand, match=field):
        invoke("DnsFunction", event("upsert", **changes))
    sets = dns.route53.list_resource_record_sets(HostedZoneId=dns.zone_id())
    assert {s["Type"] for s in sets["ResourceRecordSets"]} == {"SOA", "NS"}


def add_domain(dns: Dns, name: str) -> UUID:
    """A domain row of the sample tenant with its own zone, as the tenant API adds one."""
    with tenant_session(SAMPLE_TENANT_ID) as s:
        domain = Domains(s).add(name)
        zone = Route53(dns.route53).create_zone(name, str(domain.id))
        Domains(s).set_zone(domain.id, zone.id, zone.name_servers)
    return domain.id


def test_internationalised_domains_are_published_in_ascii(dns: Dns) -> None:
    domain_id = add_domain(dns, "xn--bcher-kva.example")
    result = invoke(
        "DnsFunction",
        event(
            "upsert",
            domain="Bücher.example",
            domain_id=str(domain_id),
            mail_host="mail.xn--bcher-kva.example",
        ),
    )
    zone = dns.route53.get_hosted_zone(Id=result["zone_id"])
    assert zone["HostedZone"]["Name"] == "xn--bcher-kva.example."


def test_the_stored_zone_is_used_never_another_zone_of_the_same_name(dns: Dns) -> None:
    from inboxfleet.dns.errors import ZoneMissing

    other = dns.route53.create_hosted_zone(Name=SAMPLE_DOMAIN, CallerReference="squatter")
    ours = dns.zone_id()
    result = invoke("DnsFunction", event("upsert"))
    assert result["zone_id"].rsplit("/", 1)[-1] == ours.rsplit("/", 1)[-1]
    squatted = dns.route53.list_resource_record_sets(HostedZoneId=other["HostedZone"]["Id"])
    assert {s["Type"] for s in squatted["ResourceRecordSets"]} == {"SOA", "NS"}

    # A command naming a domain that is not the row's (or another tenant's row) does nothing.
    with pytest.raises(ZoneMissing, match="not a domain of this tenant"):
        invoke(
            "DnsFunction", event("upsert", domain="other.example", mail_host="mail.other.example")
        )
    with pytest.raises(ZoneMissing):
        invoke("DnsFunction", event("check_delegation", domain_id=str(uuid4())))


def test_unanswered_queries_are_unverified_results_not_crashes(dns: Dns) -> None:
    delegated(dns).publish()
    dns.local.authoritative.drop(f"_dmarc.{SAMPLE_DOMAIN}.", times=1000)
    with pytest.raises(DnsNotPropagated, match=r"_dmarc.* unverified"):
        dns.verify()
    (dmarc,) = [c for c in dns.stored_report()["records"] if c["name"].startswith("_dmarc")]
    assert dmarc["authoritative"] == "unverified"
    others = [c for c in dns.stored_report()["records"] if not c["name"].startswith("_dmarc")]
    assert all(c["authoritative"] == "ok" for c in others)


def set_apex_txt(dns: Dns, *values: str) -> None:
    dns.put(f"{SAMPLE_DOMAIN}.", "TXT", *(f'"{v}"' for v in values))


def test_nested_spf_lookups_are_counted_before_publishing(dns: Dns) -> None:
    from inboxfleet.dns.errors import DnsConflict

    invoke_check(dns)
    set_apex_txt(dns, "v=spf1 include:a.spfchain.test ~all")
    with pytest.raises(DnsConflict, match="needs 13 DNS lookups"):
        invoke("DnsFunction", event("upsert"))
    assert dns.apex_txt() == ["v=spf1 include:a.spfchain.test ~all"]
    set_apex_txt(dns, "v=spf1 include:c.spfchain.test ~all")  # 2 + 1 + 2: fine
    invoke("DnsFunction", event("upsert"))
    assert dns.apex_txt() == [f"v=spf1 mx a:{MAIL_HOST} include:c.spfchain.test ~all"]


def test_a_customer_record_of_another_type_at_our_name_is_a_conflict(dns: Dns) -> None:
    from inboxfleet.dns.errors import DnsConflict

    invoke_check(dns)
    dns.put(f"autoconfig.{SAMPLE_DOMAIN}.", "A", "192.0.2.80")
    with pytest.raises(DnsConflict, match=f"A autoconfig.{SAMPLE_DOMAIN}"):
        invoke("DnsFunction", event("upsert"))


def test_reports_to_the_platform_domain_are_authorised_in_its_zone(
    dns: Dns, monkeypatch: pytest.MonkeyPatch
) -> None:
    report_zone = dns.route53.create_hosted_zone(Name="reports.example.", CallerReference="r")
    monkeypatch.setenv("DMARC_REPORT_DOMAIN", "reports.example")
    invoke_check(dns)
    invoke("DnsFunction", event("upsert"))
    sets = dns.route53.list_resource_record_sets(HostedZoneId=report_zone["HostedZone"]["Id"])
    names = {s["Name"] for s in sets["ResourceRecordSets"] if s["Type"] == "TXT"}
    assert names == {f"{SAMPLE_DOMAIN}._report._dmarc.reports.example."}


def test_deleting_the_zone_also_removes_records_of_any_type(dns: Dns) -> None:
    delegated(dns).publish()
    dns.put(f"{SAMPLE_DOMAIN}.", "CAA", '0 issue "letsencrypt.org"')
    dns.put(f"www.{SAMPLE_DOMAIN}.", "AAAA", "2001:db8::1")
    assert invoke("DnsFunction", event("delete"))["zone_deleted"] is True
    names = [z["Name"] for z in dns.route53.list_hosted_zones()["HostedZones"]]
    assert f"{SAMPLE_DOMAIN}." not in names


@pytest.mark.parametrize("delete_zone", [False, True])
def test_removal_takes_the_dmarc_report_authorisation_from_the_report_zone_too(
    dns: Dns, monkeypatch: pytest.MonkeyPatch, delete_zone: bool
) -> None:
    report_zone = dns.route53.create_hosted_zone(Name="reports.example.", CallerReference="r")
    zone_id = report_zone["HostedZone"]["Id"]
    monkeypatch.setenv("DMARC_REPORT_DOMAIN", "reports.example")
    other = "other.example._report._dmarc.reports.example."  # another domain's: stays
    dns.route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": other,
                        "Type": "TXT",
                        "TTL": 600,
                        "ResourceRecords": [{"Value": '"v=DMARC1;"'}],
                    },
                }
            ]
        },
    )
    invoke_check(dns)
    invoke("DnsFunction", event("upsert"))

    invoke("DnsFunction", event("delete", delete_zone=delete_zone))

    sets = dns.route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    assert {s["Name"] for s in sets if s["Type"] == "TXT"} == {other}


def test_sample_outputs_are_what_the_samples_answer(dns: Dns) -> None:
    delegated(dns)  # as the registrar would, once the tenant set our name servers
    outputs = SampleOutputs("DnsFunction", fields={"zone_id"})  # Route 53 makes it up
    for name in ("check_delegation", "publish_host", "upsert", "verify", "delete"):
        data = event(name)
        outputs.record(EVENTS / f"{name}.json", data, invoke("DnsFunction", data))
        dns.refresh()
        dns.local.resolver.flush()
    outputs.check()
    assert dns.stored_report()["authoritative_ok"] is True  # the sample's own domain row


def test_a_report_domain_that_merely_ends_like_the_domain_is_another_zone(
    dns: Dns, monkeypatch: pytest.MonkeyPatch
) -> None:
    look_alike = f"x{SAMPLE_DOMAIN}"  # a string suffix match would take it for the customer's
    report_zone = dns.route53.create_hosted_zone(Name=f"{look_alike}.", CallerReference="x")
    zone_id = report_zone["HostedZone"]["Id"]
    monkeypatch.setenv("DMARC_REPORT_DOMAIN", look_alike)
    invoke_check(dns)
    invoke("DnsFunction", event("upsert"))

    authorisation = f"{SAMPLE_DOMAIN}._report._dmarc.{look_alike}."
    reports = dns.route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    own = dns.route53.list_resource_record_sets(HostedZoneId=dns.zone_id())["ResourceRecordSets"]
    assert authorisation in {s["Name"] for s in reports}
    assert authorisation not in {s["Name"] for s in own}

    invoke("DnsFunction", event("delete", delete_zone=False))
    reports = dns.route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    assert authorisation not in {s["Name"] for s in reports}


# --- publish_host: the certificate's names' A records alone, before Mailu installs --------------


def host_records(ip: str) -> dict[tuple[str, str], list[str]]:
    """What publish_host puts in the zone for a server at `ip`."""
    return {(f"{MAIL_HOST}.", "A"): [ip], (f"mta-sts.{SAMPLE_DOMAIN}.", "A"): [ip]}


def record_sets(dns: Dns) -> dict[tuple[str, str], list[str]]:
    """The zone's record sets besides its own SOA and NS: (name, type) -> values."""
    sets = dns.route53.list_resource_record_sets(HostedZoneId=dns.zone_id())["ResourceRecordSets"]
    return {
        (s["Name"], s["Type"]): sorted(r["Value"] for r in s["ResourceRecords"])
        for s in sets
        if s["Type"] not in ("SOA", "NS")
    }


def test_publish_host_publishes_only_the_certificates_names_and_the_zone_serves_them(
    dns: Dns,
) -> None:
    delegated(dns)
    result = invoke("DnsFunction", event("publish_host"))
    assert result == {"zone_id": dns.zone_id(), "ip_blocklist": "clean"}
    assert record_sets(dns) == host_records(IP)
    dns.refresh()
    (served,) = asyncio.run(
        check_records(
            [Record(f"{MAIL_HOST}.", "A", (IP,))],
            authoritative=[Nameserver(*dns.local.authoritative.address)],
            recursive=[Nameserver(*dns.local.resolver.address)],
        )
    )
    assert (served.authoritative, served.propagated) == ("ok", "ok")


def test_publish_host_refuses_a_listed_address_and_publishes_nothing(dns: Dns) -> None:
    dns.local.dnsbl.list_ip(IP)
    with pytest.raises(IpBlocklisted, match=IP):
        invoke("DnsFunction", event("publish_host"))
    assert record_sets(dns) == {}
    # The workflow's replacement server, at another address, is published.
    replacement = "198.51.100.7"
    assert invoke("DnsFunction", event("publish_host", ip=replacement))["ip_blocklist"] == "clean"
    assert record_sets(dns) == host_records(replacement)


def test_publish_host_takes_an_unanswered_blocklist_for_unknown_not_listed(dns: Dns) -> None:
    dns.local.dnsbl.list_ip(IP)
    dns.local.dnsbl.refuse_public_resolvers(True)  # every answer is 127.255.255.254
    assert invoke("DnsFunction", event("publish_host"))["ip_blocklist"] == "unknown"
    assert record_sets(dns) == host_records(IP)


def test_publish_host_again_changes_nothing_and_upsert_keeps_its_record(dns: Dns) -> None:
    first = invoke("DnsFunction", event("publish_host"))
    published = record_sets(dns)
    assert invoke("DnsFunction", event("publish_host")) == first
    assert record_sets(dns) == published
    invoke("DnsFunction", event("upsert"))
    assert record_sets(dns)[(f"{MAIL_HOST}.", "A")] == published[(f"{MAIL_HOST}.", "A")]


def test_publish_host_never_clobbers_a_customers_cname_at_the_mail_host(dns: Dns) -> None:
    dns.put(f"{MAIL_HOST}.", "CNAME", "mail.provider.example.")
    with pytest.raises(DnsConflict, match=f"CNAME {MAIL_HOST}"):
        invoke("DnsFunction", event("publish_host"))
    assert record_sets(dns) == {(f"{MAIL_HOST}.", "CNAME"): ["mail.provider.example."]}


def test_publish_host_refuses_a_mail_host_outside_the_domain(dns: Dns) -> None:
    with pytest.raises(InvalidDnsCommand, match="mail_host"):
        invoke("DnsFunction", event("publish_host", mail_host="mail.elsewhere.example"))
    assert record_sets(dns) == {}
