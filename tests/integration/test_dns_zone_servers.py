"""Two tenants' zones for one name, each with its own name servers: the local DNS answers from
the zone the parent delegates to, and each zone's own servers answer from that zone only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import dns.message
import dns.query
import dns.rcode
import httpx
import pytest
from moto import mock_aws

from local.dns_sim import LocalDns
from local.dns_sim.name_servers import distinct_name_servers
from local.dns_sim.transport import Address


def zone(client: Any, name: str, reference: str, ip: str) -> tuple[str, list[str]]:
    made = client.create_hosted_zone(Name=name, CallerReference=reference)
    zone_id = made["HostedZone"]["Id"]
    client.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": f"www.{name}",
                        "Type": "A",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": ip}],
                    },
                }
            ]
        },
    )
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

    client.change_resource_record_sets(
        HostedZoneId=squatter_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "DELETE",
                    "ResourceRecordSet": {
                        "Name": "www.acme.example.",
                        "Type": "A",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": "192.0.2.66"}],
                    },
                }
            ]
        },
    )
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
