"""The local DNS servers over real UDP and TCP on loopback, queried with dnspython.

Route 53 is moto in-process; time is a fake clock wherever caching is involved. Nothing sleeps:
the only waits are the client timeouts that the drop/slow faults are meant to cause.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import boto3
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.reversename
import httpx
import pytest
from moto import mock_aws

from local.dns_sim import (
    PUBLIC_RESOLVER_CODE,
    AuthoritativeServer,
    CachingResolver,
    Dnsbl,
    DnsServer,
    LocalDns,
    ParentZone,
    Record,
    ReverseZone,
    Route53Zones,
    StaticZone,
)
from local.fake_clock import FakeClock
from local.hostwinds_sim import HostwindsSimulator

HOST = "127.0.0.1"
DOMAIN = "acme.example."
MOTO_NS = {
    "ns-2048.awsdns-64.com.",
    "ns-2049.awsdns-65.net.",
    "ns-2050.awsdns-66.org.",
    "ns-2051.awsdns-67.co.uk.",
}
MOTO_SOA = "ns-2048.awsdns-64.com. hostmaster.example.com. 1 7200 900 1209600 86400"
DKIM_KEY = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + "x" * 340 + "IDAQAB"
API_KEY = "hwkey-dns-sim-test-0001"


@dataclass
class Route53:
    client: Any
    zone_id: str

    def upsert(self, name: str, rtype: str, values: list[str], ttl: int = 300) -> None:
        upsert(self.client, self.zone_id, name, rtype, values, ttl)


def upsert(client: Any, zone_id: str, name: str, rtype: str, values: list[str], ttl: int) -> None:
    record_set = {
        "Name": name,
        "Type": rtype,
        "TTL": ttl,
        "ResourceRecords": [{"Value": v} for v in values],
    }
    client.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record_set}]},
    )


def create_zone(client: Any, name: str) -> str:
    zone = client.create_hosted_zone(Name=name, CallerReference=f"test-{name}")
    return str(zone["HostedZone"]["Id"])


@pytest.fixture
def route53() -> Iterator[Route53]:
    """moto's Route 53 with acme.example holding one record set of every served type."""
    with mock_aws():
        client = boto3.client("route53", region_name="us-east-1")
        r53 = Route53(client, create_zone(client, "acme.example"))
        r53.upsert("acme.example.", "MX", ["10 mail.acme.example."])
        r53.upsert("acme.example.", "TXT", ['"v=spf1 mx ~all"'])
        r53.upsert("acme.example.", "CAA", ['0 issue "letsencrypt.org"'])
        r53.upsert("mail.acme.example.", "A", ["203.0.113.7"])
        r53.upsert("mail.acme.example.", "AAAA", ["2001:db8::7"])
        r53.upsert("autoconfig.acme.example.", "CNAME", ["mail.acme.example."])
        r53.upsert("_imaps._tcp.acme.example.", "SRV", ["0 1 993 mail.acme.example."])
        reverse_id = create_zone(client, "113.0.203.in-addr.arpa")
        upsert(client, reverse_id, "7.113.0.203.in-addr.arpa.", "PTR", ["mail.acme.example."], 300)
        yield r53


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def query(
    server: DnsServer | int,
    name: str,
    rtype: str,
    *,
    tcp: bool = False,
    timeout: float = 2.0,
    payload: int | None = None,
) -> dns.message.Message:
    """One query; checks the id and the question come back as sent."""
    port = server if isinstance(server, int) else server.port
    if payload is None:
        request = dns.message.make_query(name, rtype)
    else:
        request = dns.message.make_query(name, rtype, use_edns=0, payload=payload)
    send = dns.query.tcp if tcp else dns.query.udp
    response = send(request, HOST, port=port, timeout=timeout)
    assert response.id == request.id
    assert [q.to_text() for q in response.question] == [q.to_text() for q in request.question]
    return response


def rdata_texts(response: dns.message.Message, name: str, rtype: str) -> set[str]:
    rrset = response.get_rrset(
        response.answer, dns.name.from_text(name), dns.rdataclass.IN, dns.rdatatype.from_text(rtype)
    )
    return set() if rrset is None else {rd.to_text() for rd in rrset}


def a_values(response: dns.message.Message) -> set[str]:
    return {
        rd.to_text() for rrset in response.answer if rrset.rdtype == dns.rdatatype.A for rd in rrset
    }


def stub_resolver(server: DnsServer, *, timeout: float = 2.0) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [HOST]
    resolver.port = server.port
    resolver.lifetime = timeout
    resolver.timeout = timeout
    return resolver


def flags(response: dns.message.Message) -> set[str]:
    return set(dns.flags.to_text(response.flags).split())


def soa_of(response: dns.message.Message) -> list[str]:
    return [
        f"{rrset.name} {rrset.ttl} {rd.to_text()}"
        for rrset in response.authority
        if rrset.rdtype == dns.rdatatype.SOA
        for rd in rrset
    ]


# ---- Route 53 zones -------------------------------------------------------------------------

RECORD_CASES = [
    ("mail.acme.example.", "A", {"203.0.113.7"}),
    ("mail.acme.example.", "AAAA", {"2001:db8::7"}),
    ("acme.example.", "MX", {"10 mail.acme.example."}),
    ("acme.example.", "TXT", {'"v=spf1 mx ~all"'}),
    ("autoconfig.acme.example.", "CNAME", {"mail.acme.example."}),
    ("_imaps._tcp.acme.example.", "SRV", {"0 1 993 mail.acme.example."}),
    ("acme.example.", "NS", MOTO_NS),
    ("acme.example.", "SOA", {MOTO_SOA}),
    ("acme.example.", "CAA", {'0 issue "letsencrypt.org"'}),
    ("7.113.0.203.in-addr.arpa.", "PTR", {"mail.acme.example."}),
]


@pytest.mark.parametrize(("name", "rtype", "expected"), RECORD_CASES)
def test_every_record_type_of_a_route53_zone_is_served_over_udp_and_tcp(
    route53: Route53, name: str, rtype: str, expected: set[str]
) -> None:
    with AuthoritativeServer([Route53Zones(route53.client)]) as server:
        for tcp in (False, True):
            response = query(server, name, rtype, tcp=tcp)
            assert response.rcode() == dns.rcode.NOERROR
            assert "AA" in flags(response)
            assert "RA" not in flags(response)
            assert rdata_texts(response, name, rtype) == expected
        assert [q.protocol for q in server.queries] == ["udp", "tcp"]


def test_txt_values_become_separate_character_strings(route53: Route53) -> None:
    first, rest = f"v=DKIM1; k=rsa; p={DKIM_KEY}"[:255], f"v=DKIM1; k=rsa; p={DKIM_KEY}"[255:]
    route53.upsert("dkim._domainkey.acme.example.", "TXT", [f'"{first}" "{rest}"'])
    route53.upsert("quoted.acme.example.", "TXT", ['"say \\"hi\\"" "semi\\073colon" bare'])
    with AuthoritativeServer([Route53Zones(route53.client)]) as server:
        dkim = query(server, "dkim._domainkey.acme.example.", "TXT", tcp=True)
        quoted = query(server, "quoted.acme.example.", "TXT")
    (rdata,) = dkim.answer[0]
    assert len(first.encode()) == 255
    assert rdata.strings == (first.encode(), rest.encode())
    (escaped,) = quoted.answer[0]
    assert escaped.strings == (b'say "hi"', b"semi;colon", b"bare")


def test_an_upsert_is_served_after_refresh_or_once_the_snapshot_is_old(
    route53: Route53, clock: FakeClock
) -> None:
    zones = Route53Zones(route53.client, clock=clock, max_age_s=0.5)
    with AuthoritativeServer([zones]) as server:
        assert a_values(query(server, "mail.acme.example.", "A")) == {"203.0.113.7"}
        route53.upsert("mail.acme.example.", "A", ["203.0.113.8"])
        assert a_values(query(server, "mail.acme.example.", "A")) == {"203.0.113.7"}  # snapshot
        zones.refresh()
        assert a_values(query(server, "mail.acme.example.", "A")) == {"203.0.113.8"}

        route53.upsert("mail.acme.example.", "A", ["203.0.113.9"])
        clock.advance(0.4)
        assert a_values(query(server, "mail.acme.example.", "A")) == {"203.0.113.8"}
        clock.advance(0.2)
        assert a_values(query(server, "mail.acme.example.", "A")) == {"203.0.113.9"}

        beta = create_zone(route53.client, "beta.example")
        upsert(route53.client, beta, "beta.example.", "A", ["198.51.100.1"], 60)
        assert query(server, "beta.example.", "A").rcode() == dns.rcode.REFUSED
        zones.refresh()
        assert a_values(query(server, "beta.example.", "A")) == {"198.51.100.1"}


def test_nxdomain_and_nodata_carry_the_zone_soa(route53: Route53) -> None:
    negative_soa = f"{DOMAIN} 900 {MOTO_SOA}"  # RFC 2308: min(SOA TTL 900, MINIMUM 86400)
    with AuthoritativeServer([Route53Zones(route53.client)]) as server:
        missing = query(server, "nothing-here.acme.example.", "A")
        nodata = query(server, "mail.acme.example.", "MX")
        empty_non_terminal = query(server, "_tcp.acme.example.", "SRV")
        wrong_type_at_cname = query(server, "autoconfig.acme.example.", "CNAME")
    assert missing.rcode() == dns.rcode.NXDOMAIN
    assert missing.answer == []
    assert soa_of(missing) == [negative_soa]
    for response in (nodata, empty_non_terminal):
        assert response.rcode() == dns.rcode.NOERROR
        assert response.answer == []
        assert soa_of(response) == [negative_soa]
        assert "AA" in flags(response)
    assert rdata_texts(wrong_type_at_cname, "autoconfig.acme.example.", "CNAME") == {
        "mail.acme.example."
    }


def test_names_outside_every_zone_are_refused(route53: Route53) -> None:
    with AuthoritativeServer([Route53Zones(route53.client)]) as server:
        for name in ("example.", "other.example.", "acme.example.com."):
            response = query(server, name, "A")
            assert response.rcode() == dns.rcode.REFUSED
            assert response.answer == []
            assert "AA" not in flags(response)


def test_names_match_case_insensitively_and_the_question_is_echoed(route53: Route53) -> None:
    with AuthoritativeServer([Route53Zones(route53.client)]) as server:
        response = query(server, "MAIL.Acme.EXAMPLE.", "A")
    assert response.question[0].name.to_text() == "MAIL.Acme.EXAMPLE."
    assert a_values(response) == {"203.0.113.7"}
    assert response.answer[0].name.to_text() == "MAIL.Acme.EXAMPLE."  # owner as asked


def test_a_cname_is_answered_with_its_target_from_the_zone(route53: Route53) -> None:
    with AuthoritativeServer([Route53Zones(route53.client)]) as server:
        response = query(server, "autoconfig.acme.example.", "A")
        answer = stub_resolver(server).resolve("autoconfig.acme.example.", "A")
    assert [(r.name.to_text(), dns.rdatatype.to_text(r.rdtype)) for r in response.answer] == [
        ("autoconfig.acme.example.", "CNAME"),
        ("mail.acme.example.", "A"),
    ]
    assert answer.canonical_name.to_text() == "mail.acme.example."
    assert {rd.to_text() for rd in answer} == {"203.0.113.7"}


# ---- transport --------------------------------------------------------------------------------


def test_a_long_answer_is_truncated_over_udp_and_the_client_retries_over_tcp() -> None:
    strings = " ".join(f'"{chr(97 + i) * 255}"' for i in range(6))  # ~1.5 kB
    zone = StaticZone(DOMAIN, [Record("big.acme.example.", "TXT", (strings,))])
    with AuthoritativeServer([zone]) as server:
        plain = query(server, "big.acme.example.", "TXT")
        request = dns.message.make_query("big.acme.example.", "TXT")
        fallback, used_tcp = dns.query.udp_with_fallback(request, HOST, port=server.port, timeout=2)
        large_edns = query(server, "big.acme.example.", "TXT", payload=4096)
        server.clear_queries()
        resolved = stub_resolver(server).resolve("big.acme.example.", "TXT")
        log = server.queries
    assert "TC" in flags(plain)
    assert plain.answer == []
    assert used_tcp
    assert "TC" not in flags(fallback)
    assert fallback.answer[0][0].strings == tuple(chr(97 + i).encode() * 255 for i in range(6))
    assert "TC" not in flags(large_edns)
    assert large_edns.answer[0][0].strings == fallback.answer[0][0].strings
    assert resolved.rrset is not None
    assert resolved.rrset[0].strings == fallback.answer[0][0].strings
    assert log == [("udp", "big.acme.example.", "TXT"), ("tcp", "big.acme.example.", "TXT")]


def test_one_tcp_connection_carries_several_queries() -> None:
    zone = StaticZone(
        DOMAIN, [Record(f"h{i}.acme.example.", "A", (f"192.0.2.{i}",)) for i in range(3)]
    )
    with AuthoritativeServer([zone]) as server:
        with socket.create_connection((HOST, server.port), timeout=2) as sock:
            answers = []
            for i in range(3):
                request = dns.message.make_query(f"h{i}.acme.example.", "A")
                dns.query.send_tcp(sock, request)
                response, _ = dns.query.receive_tcp(sock, expiration=time.time() + 2)
                assert response.id == request.id
                answers.append(a_values(response))
        assert [q.protocol for q in server.queries] == ["tcp"] * 3
    assert answers == [{"192.0.2.0"}, {"192.0.2.1"}, {"192.0.2.2"}]


def test_a_malformed_query_gets_formerr_and_a_stray_fragment_no_answer() -> None:
    with AuthoritativeServer([StaticZone(DOMAIN)]) as server:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(2)
            # A header announcing one question, then a label running past the end.
            sock.sendto(b"\xbe\xef\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x09abc", server.address)
            reply = sock.recv(512)
            sock.settimeout(0.2)
            sock.sendto(b"\x00\x01", server.address)
            with pytest.raises(TimeoutError):
                sock.recv(512)
        good = query(server, "acme.example.", "SOA")  # still serving
    assert reply[:2] == b"\xbe\xef"
    assert reply[2] & 0x80  # QR
    assert reply[3] & 0x0F == dns.rcode.FORMERR
    assert good.rcode() == dns.rcode.NOERROR


def test_concurrent_clients_each_get_their_own_answer() -> None:
    records = [Record(f"h{i}.acme.example.", "A", (f"192.0.2.{i}",)) for i in range(200)]
    results: dict[int, set[str]] = {}
    with AuthoritativeServer([StaticZone(DOMAIN, records)]) as server:

        def worker(first: int) -> None:
            for i in range(first, 200, 16):
                results[i] = a_values(query(server, f"h{i}.acme.example.", "A", tcp=i % 3 == 0))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results == {i: {f"192.0.2.{i}"} for i in range(200)}


# ---- reverse DNS, delegation, DNSBL ---------------------------------------------------------


def test_ptr_records_come_from_the_hostwinds_simulator() -> None:
    with HostwindsSimulator(api_keys={API_KEY}) as sim, httpx.Client(timeout=5) as http:
        sim.seed_instances(2)
        listing = http.post(sim.url, data={"API": API_KEY, "action": "get_instances"}).json()
        named, unnamed = listing["success"]
        rdns = {
            "API": API_KEY,
            "action": "set_rdns",
            "serviceid": str(named["serviceid"]),
            "ip": named["main_ip"],
            "rdns": "mail.acme.example",
        }
        assert http.post(sim.url, data=rdns).json()["result"] == "success"
        with AuthoritativeServer([ReverseZone(sim.reverse_records)]) as server:
            ptr_name = dns.reversename.from_address(named["main_ip"]).to_text()
            found = query(server, ptr_name, "PTR")
            absent = query(
                server, dns.reversename.from_address(unnamed["main_ip"]).to_text(), "PTR"
            )
            by_resolver = stub_resolver(server).resolve_address(named["main_ip"])

            renamed = {**rdns, "rdns": "smtp.acme.example"}
            assert http.post(sim.url, data=renamed).json()["result"] == "success"
            changed = query(server, ptr_name, "PTR")
    assert rdata_texts(found, ptr_name, "PTR") == {"mail.acme.example."}
    assert "AA" in flags(found)
    assert absent.rcode() == dns.rcode.NXDOMAIN
    assert soa_of(absent)
    assert {rd.to_text() for rd in by_resolver} == {"mail.acme.example."}
    assert rdata_texts(changed, ptr_name, "PTR") == {"smtp.acme.example."}


def test_the_parent_zone_answers_a_referral_until_the_domain_is_undelegated() -> None:
    parent = ParentZone("example.")
    with AuthoritativeServer([parent]) as server:
        before = query(server, "acme.example.", "NS")
        parent.delegate("acme.example", sorted(MOTO_NS))
        referral = query(server, "acme.example.", "NS")
        below = query(server, "mail.acme.example.", "A", tcp=True)
        ds = query(server, "acme.example.", "DS")
        parent.undelegate("acme.example.")
        after = query(server, "acme.example.", "NS")
        apex = query(server, "example.", "NS")
    assert before.rcode() == dns.rcode.NXDOMAIN
    assert soa_of(before)
    assert soa_of(before)[0].startswith("example. ")
    for response in (referral, below):
        assert response.rcode() == dns.rcode.NOERROR
        assert "AA" not in flags(response)
        assert response.answer == []
        (ns,) = response.authority
        assert ns.name.to_text() == "acme.example."
        assert ns.rdtype == dns.rdatatype.NS
        assert {rd.to_text() for rd in ns} == MOTO_NS
    assert ds.rcode() == dns.rcode.NOERROR
    assert "AA" in flags(ds)
    assert ds.answer == []
    assert after.rcode() == dns.rcode.NXDOMAIN
    assert "AA" in flags(apex)
    assert rdata_texts(apex, "example.", "NS") == {"a.nic.example."}
    assert parent.delegations() == {}
    with pytest.raises(ValueError, match="not below"):
        parent.delegate("acme.test", ["ns1.acme.test"])


def test_dnsbl_answers_listed_entries_and_nxdomain_for_the_rest() -> None:
    dnsbl = Dnsbl()
    dnsbl.list_ip("203.0.113.7")
    dnsbl.list_ip("198.51.100.9", code="127.0.0.4")
    dnsbl.list_domain("spammy.example")
    with AuthoritativeServer([dnsbl]) as server:
        listed = query(server, "7.113.0.203.zen.spamhaus.org.", "A")
        xbl = query(server, "9.100.51.198.zen.spamhaus.org.", "A")
        clean = query(server, "8.113.0.203.zen.spamhaus.org.", "A")
        domain = query(server, "spammy.example.dbl.spamhaus.org.", "A")
        clean_domain = query(server, "acme.example.dbl.spamhaus.org.", "A")
        reason = query(server, "7.113.0.203.zen.spamhaus.org.", "TXT")
        test_point = query(server, "2.0.0.127.zen.spamhaus.org.", "A")
        never = query(server, "1.0.0.127.zen.spamhaus.org.", "A")
        dnsbl.delist_ip("203.0.113.7")
        delisted = query(server, "7.113.0.203.zen.spamhaus.org.", "A")
    assert a_values(listed) == {"127.0.0.2"}
    assert a_values(xbl) == {"127.0.0.4"}
    assert a_values(domain) == {"127.0.1.2"}
    assert a_values(test_point) == {"127.0.0.2"}
    assert "spamhaus" in reason.answer[0][0].to_text()
    for response in (clean, clean_domain, never, delisted):
        assert response.rcode() == dns.rcode.NXDOMAIN
        assert soa_of(response)


def test_dnsbl_refuses_public_resolvers_with_127_255_255_254() -> None:
    dnsbl = Dnsbl()
    dnsbl.list_ip("203.0.113.7")
    names = [
        "7.113.0.203.zen.spamhaus.org.",
        "8.113.0.203.zen.spamhaus.org.",
        "acme.example.dbl.spamhaus.org.",
    ]
    with AuthoritativeServer([dnsbl]) as server:
        dnsbl.refuse_public_resolvers(True)
        refused = [query(server, name, "A") for name in names]
        dnsbl.refuse_public_resolvers(False)
        normal = [query(server, name, "A") for name in names]
    assert [a_values(r) for r in refused] == [{PUBLIC_RESOLVER_CODE}] * 3
    assert all(r.rcode() == dns.rcode.NOERROR for r in refused)
    assert a_values(normal[0]) == {"127.0.0.2"}
    assert [r.rcode() for r in normal[1:]] == [dns.rcode.NXDOMAIN] * 2


# ---- the caching resolver ---------------------------------------------------------------------


def test_the_resolver_caches_then_serves_stale_data_until_flushed(clock: FakeClock) -> None:
    zone = StaticZone(DOMAIN, [Record("mail.acme.example.", "A", ("192.0.2.1",), ttl=300)])
    with (
        AuthoritativeServer([zone]) as auth,
        CachingResolver([auth.address], clock=clock) as resolver,
    ):
        stub = stub_resolver(resolver)

        def current() -> set[str]:
            return {rd.to_text() for rd in stub.resolve("mail.acme.example.", "A")}

        first = query(resolver, "mail.acme.example.", "A")
        assert "RA" in flags(first)
        assert "AA" not in flags(first)
        assert current() == {"192.0.2.1"}

        zone.put_record(Record("mail.acme.example.", "A", ("192.0.2.2",), ttl=300))
        clock.advance(100)
        assert current() == {"192.0.2.1"}  # cached
        assert query(resolver, "mail.acme.example.", "A").answer[0].ttl == 200
        assert len(auth.queries) == 1
        clock.advance(201)
        assert current() == {"192.0.2.2"}  # expired: asked again
        assert len(auth.queries) == 2

        resolver.serve_stale(True)
        zone.put_record(Record("mail.acme.example.", "A", ("192.0.2.3",), ttl=300))
        clock.advance(3600)
        assert current() == {"192.0.2.2"}  # stale, the authoritative server says .3
        assert query(resolver, "mail.acme.example.", "A").answer[0].ttl == 30
        assert a_values(query(auth, "mail.acme.example.", "A")) == {"192.0.2.3"}
        resolver.flush()
        assert current() == {"192.0.2.3"}


def test_the_resolver_caches_a_negative_answer_for_the_soa_minimum(clock: FakeClock) -> None:
    zone = StaticZone(DOMAIN)  # default SOA: MINIMUM 300
    with (
        AuthoritativeServer([zone]) as auth,
        CachingResolver([auth.address], clock=clock) as resolver,
    ):
        assert query(resolver, "new.acme.example.", "A").rcode() == dns.rcode.NXDOMAIN
        zone.put_record(Record("new.acme.example.", "A", ("192.0.2.5",)))
        clock.advance(299)
        assert query(resolver, "new.acme.example.", "A").rcode() == dns.rcode.NXDOMAIN
        clock.advance(2)
        assert a_values(query(resolver, "new.acme.example.", "A", tcp=True)) == {"192.0.2.5"}
        outside = query(resolver, "other.test.", "A")
    assert outside.rcode() == dns.rcode.SERVFAIL  # nobody serves it: not cached, not refused


def test_local_dns_resolves_a_domain_only_through_its_delegation(route53: Route53) -> None:
    with LocalDns(route53.client) as local:
        local.dnsbl.list_ip("203.0.113.66")
        stub = stub_resolver(local.resolver)
        undelegated = query(local.resolver, "mail.acme.example.", "A")
        direct = query(local.authoritative, "mail.acme.example.", "A")

        local.delegate("acme.example", sorted(MOTO_NS))
        local.resolver.flush()
        delegated = {rd.to_text() for rd in stub.resolve("mail.acme.example.", "A")}
        dkim_less = query(local.resolver, "dkim._domainkey.acme.example.", "TXT")
        ptr = {rd.to_text() for rd in stub.resolve_address("203.0.113.7")}
        listed = {rd.to_text() for rd in stub.resolve("66.113.0.203.zen.spamhaus.org.", "A")}

        local.delegate("acme.example", ["ns1.other-provider.net."])
        local.resolver.flush()
        elsewhere = query(local.resolver, "mail.acme.example.", "A")
    assert undelegated.rcode() == dns.rcode.NXDOMAIN
    assert a_values(direct) == {"203.0.113.7"}
    assert delegated == {"203.0.113.7"}
    assert dkim_less.rcode() == dns.rcode.NXDOMAIN
    assert ptr == {"mail.acme.example."}
    assert listed == {"127.0.0.2"}
    assert elsewhere.rcode() == dns.rcode.SERVFAIL


# ---- faults and lifecycle -------------------------------------------------------------------


def test_drop_makes_the_client_time_out_then_answers_again() -> None:
    zone = StaticZone(DOMAIN, [Record("mail.acme.example.", "A", ("192.0.2.1",))])
    with AuthoritativeServer([zone]) as server:
        server.drop("MAIL.acme.example", times=1)
        assert query(server, "acme.example.", "SOA").rcode() == dns.rcode.NOERROR  # unaffected
        with pytest.raises(dns.exception.Timeout):
            query(server, "mail.acme.example.", "A", timeout=0.2)
        assert a_values(query(server, "mail.acme.example.", "A")) == {"192.0.2.1"}
        server.drop(times=1)
        with pytest.raises(dns.exception.Timeout):
            query(server, "mail.acme.example.", "A", tcp=True, timeout=0.2)
        assert a_values(query(server, "mail.acme.example.", "A", tcp=True)) == {"192.0.2.1"}
        assert [q.qname.lower() for q in server.queries].count("mail.acme.example.") == 4


def test_slow_delays_answers_without_blocking_other_queries() -> None:
    zone = StaticZone(DOMAIN, [Record("mail.acme.example.", "A", ("192.0.2.1",))])
    with AuthoritativeServer([zone], udp_workers=1) as server:
        server.slow(0.3)
        with pytest.raises(dns.exception.Timeout):
            query(server, "mail.acme.example.", "A", timeout=0.1)
        started = time.monotonic()
        assert a_values(query(server, "mail.acme.example.", "A", timeout=5)) == {"192.0.2.1"}
        assert time.monotonic() - started >= 0.3
        server.clear_faults()

        server.slow(30, qname="slow.acme.example.", times=1)
        slow = dns.message.make_query("slow.acme.example.", "A")
        fast = dns.message.make_query("mail.acme.example.", "A")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(1)
            sock.sendto(slow.to_wire(), server.address)
            sock.sendto(fast.to_wire(), server.address)  # queued behind the slow one
            # The single UDP worker took the slow query first and is free again at once:
            # the held-back answer waits elsewhere.
            reply = dns.message.from_wire(sock.recv(512))
    assert reply.id == fast.id
    assert a_values(reply) == {"192.0.2.1"}


def _dns_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("dns-")}


def test_nothing_is_left_running_after_exit(route53: Route53) -> None:
    before = _dns_threads()
    held = dns.message.make_query("held.acme.example.", "A").to_wire()
    # The servers stop first (the innermost context), the clients are still connected then.
    with ExitStack() as clients, LocalDns(route53.client) as local:
        servers: list[DnsServer] = [local.authoritative, local.parent, local.resolver]
        ports = [s.port for s in servers]
        assert len(_dns_threads()) >= len(before) + 3 * 4
        address = local.authoritative.address
        udp = clients.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        idle = clients.enter_context(socket.create_connection(address, timeout=2))
        waiting = clients.enter_context(socket.create_connection(address, timeout=2))
        local.authoritative.slow(30, qname="held.acme.example.")
        udp.sendto(held, address)  # an answer held back over UDP...
        waiting.sendall(len(held).to_bytes(2, "big") + held)  # ...and one over TCP
        dns.query.send_tcp(idle, dns.message.make_query("acme.example.", "SOA"))
        assert dns.query.receive_tcp(idle, expiration=time.time() + 2)[0].answer
        leaving = time.monotonic()
    assert time.monotonic() - leaving < 5  # nothing waited for the 30 s answers
    assert _dns_threads() == before
    assert not any(s.running for s in servers)
    for port in ports:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((HOST, port), timeout=2).close()
        with pytest.raises((dns.exception.Timeout, ConnectionRefusedError)):
            query(port, "acme.example.", "SOA", timeout=0.2)
