"""Two tenants' zones for one name, each with its own name servers: the local DNS answers from
the zone the parent delegates to, and each zone's own servers answer from that zone only. With
`route53_by_delegation` (the local cloud) a zone is seen only through a delegation, under any
TLD; the name-server index answers from memory once a zone is known."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import boto3
import dns.message
import dns.query
import dns.rcode
import httpx
import pytest
from moto import mock_aws

from local.dns_sim import Dnsbl, LocalDns, Route53Zones
from local.dns_sim.name_servers import distinct_name_servers
from local.dns_sim.transport import Address

PARENTS = ("example.", "com.", "org.", "uk.", "co.uk.")


def change(client: Any, zone_id: str, action: str, name: str, ip: str) -> None:
    """One A record set of the zone upserted or deleted (TTL 60)."""
    record_set = {"Name": name, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": ip}]}
    client.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": record_set}]},
    )


def zone(client: Any, name: str, reference: str, ip: str) -> tuple[str, list[str]]:
    made = client.create_hosted_zone(Name=name, CallerReference=reference)
    zone_id = made["HostedZone"]["Id"]
    change(client, zone_id, "UPSERT", f"www.{name}", ip)
    return zone_id, list(made["DelegationSet"]["NameServers"])


def a_record(address: Address, name: str) -> tuple[int, set[str]]:
    request = dns.message.make_query(name, "A")
    response = dns.query.udp(request, address[0], port=address[1], timeout=2.0)
    values = {rd.to_text() for rrset in response.answer for rd in rrset}
    return response.rcode(), values


@pytest.fixture
def local() -> Iterator[tuple[LocalDns, Any]]:
    with mock_aws(), distinct_name_servers():
        client = boto3.client("route53", region_name="us-east-1")
        with LocalDns(client) as stack:
            yield stack, client


@pytest.fixture
def by_delegation() -> Iterator[tuple[LocalDns, Any]]:
    """The local cloud's arrangement: Route 53 zones only through delegations, TLD parents."""
    with mock_aws(), distinct_name_servers():
        client = boto3.client("route53", region_name="us-east-1")
        dnsbl = Dnsbl()
        dnsbl.list_ip("203.0.113.66")
        with LocalDns(
            client, parent_origins=PARENTS, dnsbl=dnsbl, route53_by_delegation=True
        ) as stack:
            yield stack, client


def indexed(client: Any, name: str, reference: str) -> tuple[str, list[str]]:
    """A zone as `Route53Zones.zone_served_by` names it: its short id, normalized names."""
    zone_id, name_servers = zone(client, name, reference, "192.0.2.1")
    return zone_id.rsplit("/", 1)[-1], [f"{ns.rstrip('.')}." for ns in name_servers]


class CountingRoute53:
    """A boto3 route53 client that notes which paginated operations were read."""

    def __init__(self, client: Any) -> None:
        self.inner = client
        self.reads: list[str] = []

    def get_paginator(self, operation: str) -> Any:
        self.reads.append(operation)
        return self.inner.get_paginator(operation)


def test_each_zone_has_its_own_name_servers_and_answers_only_for_itself(
    local: tuple[LocalDns, Any],
) -> None:
    dns_stack, client = local
    squatter_id, squatter_ns = zone(client, "acme.example", "squatter", "192.0.2.66")
    owner_id, owner_ns = zone(client, "acme.example", "owner", "192.0.2.10")
    assert not set(squatter_ns) & set(owner_ns)
    assert all(ns.startswith("ns-") and ".awsdns-" in ns for ns in owner_ns)

    owner_at = dns_stack.name_server_address(owner_ns[0])
    squatter_at = dns_stack.name_server_address(squatter_ns[2])
    assert owner_at is not None
    assert squatter_at is not None
    assert owner_at != squatter_at
    assert a_record(owner_at, "www.acme.example.") == (dns.rcode.NOERROR, {"192.0.2.10"})
    assert a_record(squatter_at, "www.acme.example.") == (dns.rcode.NOERROR, {"192.0.2.66"})
    assert a_record(owner_at, "www.other.example.")[0] == dns.rcode.REFUSED

    # The book publishes the same addresses over HTTP; an unknown name server is a 404.
    page = httpx.get(dns_stack.book.url + owner_ns[1].rstrip("."), timeout=5.0)
    assert (page.status_code, page.json()) == (200, {"host": owner_at[0], "port": owner_at[1]})
    assert httpx.get(dns_stack.book.url + "ns-1.nowhere.test", timeout=5.0).status_code == 404

    change(client, squatter_id, "DELETE", "www.acme.example.", "192.0.2.66")
    client.delete_hosted_zone(Id=squatter_id)
    assert dns_stack.route53 is not None
    dns_stack.route53.refresh()
    assert a_record(squatter_at, "www.acme.example.")[0] == dns.rcode.REFUSED
    assert owner_id


def test_the_resolver_follows_the_delegation_to_the_delegated_zone_only(
    local: tuple[LocalDns, Any],
) -> None:
    dns_stack, client = local
    _, squatter_ns = zone(client, "acme.example", "squatter", "192.0.2.66")
    _, owner_ns = zone(client, "acme.example", "owner", "192.0.2.10")
    resolver = dns_stack.resolver.address

    dns_stack.delegate("acme.example", owner_ns)
    assert a_record(resolver, "www.acme.example.") == (dns.rcode.NOERROR, {"192.0.2.10"})

    dns_stack.delegate("acme.example", squatter_ns)
    dns_stack.resolver.flush()
    assert a_record(resolver, "www.acme.example.") == (dns.rcode.NOERROR, {"192.0.2.66"})


def test_an_undelegated_zone_is_invisible_until_the_parent_delegates_to_it(
    by_delegation: tuple[LocalDns, Any],
) -> None:
    dns_stack, client = by_delegation
    _, squatter_ns = zone(client, "acme-xyz.com", "squatter", "192.0.2.66")
    _, owner_ns = zone(client, "acme-xyz.com", "owner", "192.0.2.10")
    resolver = dns_stack.resolver.address

    # Not delegated: the TLD says the name does not exist; no server answers from either zone.
    assert a_record(resolver, "www.acme-xyz.com.") == (dns.rcode.NXDOMAIN, set())
    assert a_record(dns_stack.authoritative.address, "www.acme-xyz.com.") == (
        dns.rcode.REFUSED,
        set(),
    )

    dns_stack.delegate("acme-xyz.com", owner_ns)
    dns_stack.resolver.flush()
    assert a_record(resolver, "www.acme-xyz.com.") == (dns.rcode.NOERROR, {"192.0.2.10"})
    assert a_record(dns_stack.authoritative.address, "www.acme-xyz.com.")[0] == dns.rcode.REFUSED

    dns_stack.undelegate("acme-xyz.com")
    dns_stack.resolver.flush()
    assert a_record(resolver, "www.acme-xyz.com.") == (dns.rcode.NXDOMAIN, set())
    # A zone under no local parent zone is not reached at all (nor is the shared server asked
    # for it): nobody delegates to it.
    zone(client, "acme.xyz", "elsewhere", "192.0.2.99")
    assert a_record(resolver, "www.acme.xyz.")[0] == dns.rcode.SERVFAIL
    # A Route 53-shaped name no zone has leads nowhere (the shared server serves no zone);
    # the squatter's zone is served, but only at its own name servers, which nobody named.
    assert dns_stack.name_server_address("ns-1.awsdns-01.com") is None
    squatter_at = dns_stack.name_server_address(squatter_ns[0])
    assert squatter_at is not None
    assert a_record(squatter_at, "www.acme-xyz.com.") == (dns.rcode.NOERROR, {"192.0.2.66"})


def test_a_public_suffix_parent_is_chosen_over_its_tld_and_blocklists_still_resolve(
    by_delegation: tuple[LocalDns, Any],
) -> None:
    dns_stack, client = by_delegation
    assert dns_stack.parent_zone("acme.co.uk").origin == "co.uk."
    assert dns_stack.parent_zone("acme.uk").origin == "uk."
    assert dns_stack.parent_zone("www.acme.co.uk").origin == "co.uk."
    _, owner_ns = zone(client, "acme.co.uk", "owner", "192.0.2.10")
    resolver = dns_stack.resolver.address
    assert a_record(resolver, "www.acme.co.uk.")[0] == dns.rcode.NXDOMAIN

    dns_stack.delegate("acme.co.uk", owner_ns)
    dns_stack.resolver.flush()
    assert a_record(resolver, "www.acme.co.uk.") == (dns.rcode.NOERROR, {"192.0.2.10"})
    assert "acme.co.uk." in dns_stack.parent_zone("acme.co.uk").delegations()
    assert "acme.co.uk." not in dns_stack.parent_zone("acme.uk").delegations()

    # The blocklist zones sit under `org.`: the parent delegates them to the shared server.
    assert a_record(resolver, "66.113.0.203.zen.spamhaus.org.") == (
        dns.rcode.NOERROR,
        {"127.0.0.2"},
    )
    assert a_record(resolver, "67.113.0.203.zen.spamhaus.org.")[0] == dns.rcode.NXDOMAIN
    assert a_record(resolver, "dbltest.com.dbl.spamhaus.org.") == (
        dns.rcode.NOERROR,
        {"127.0.1.2"},
    )


def test_name_servers_are_found_from_an_index_read_only_for_new_zones() -> None:
    with mock_aws(), distinct_name_servers():
        client = CountingRoute53(boto3.client("route53", region_name="us-east-1"))
        raw = client.inner
        made = [indexed(raw, f"d{i}.example", f"ref-{i}") for i in range(3)]
        zones = Route53Zones(client, max_age_s=math.inf)

        assert zones.zone_served_by(made[1][1][2]) == made[1][0]
        assert client.reads.count("list_resource_record_sets") == 3  # each zone read once

        client.reads.clear()
        for zone_id, name_servers in made:
            for name_server in name_servers:
                assert zones.zone_served_by(name_server) == zone_id
        assert client.reads == []  # answered from the index

        new_id, new_ns = indexed(raw, "d3.example", "ref-3")
        assert zones.zone_served_by(new_ns[0]) == new_id
        assert client.reads == ["list_hosted_zones", "list_resource_record_sets"]

        client.reads.clear()
        assert zones.zone_served_by("ns-1.nowhere.test.") is None
        assert client.reads == ["list_hosted_zones"]  # every listed zone is indexed already

        gone_id, gone_ns = made[0]
        change(raw, gone_id, "DELETE", "www.d0.example", "192.0.2.1")
        raw.delete_hosted_zone(Id=gone_id)
        zones.refresh()
        assert zones.zone_served_by(gone_ns[0]) is None
        assert zones.zone_served_by(made[2][1][3]) == made[2][0]
