"""/v1/domains over real HTTP in the local cloud, whose DNS gives each hosted zone its own name
servers and serves the world's view through the parent zone's delegation: a domain's life (add,
instructions, delegate, verified, delete), a squatter's pending claim worth nothing once the
owner delegates, the records a domain served before carried into its zone, the tenant's own
records beside ours, limits, bad names, and another tenant's domain answering like a missing
one."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import boto3
import dns.message
import dns.query
import httpx
import pytest

from inboxfleet.db import system_session, tenant_session
from inboxfleet.db.repositories import DomainClaims, Domains, Inboxes, TenantDirectory
from local.cloud import LocalCloud
from local.standing import set_standing
from tests.tenant_api_support import call, error, while_held


class Caller:
    def __init__(self, cloud: LocalCloud, standing: str = "entitled") -> None:
        with system_session("test.domains") as s:
            self.id = TenantDirectory(s).create(f"Co {uuid4().hex[:6]}", "ops@co.example").id
        if standing != "unpaid":
            set_standing(self.id, standing)
        self._cloud = cloud
        self.token = cloud.token(self.id)

    def __call__(
        self, method: str, path: str, body: Any = None, *, key: str | None = None
    ) -> httpx.Response:
        return call(self._cloud, method, path, self, body, key=key)

    def domains(self) -> list[dict[str, Any]]:
        with tenant_session(self.id) as s:
            return [d.model_dump(mode="json") for d in Domains(s).list()]


def fresh_name() -> str:
    return f"d{uuid4().hex[:10]}.example"


def route53() -> Any:
    return boto3.client("route53", region_name="us-east-1")


def zones_named(name: str) -> list[str]:
    listed = route53().list_hosted_zones_by_name(DNSName=f"{name}.")["HostedZones"]
    return [z["Id"] for z in listed if z["Name"] == f"{name}."]


def claims(name: str) -> list[tuple[str, str]]:
    with system_session("test.domains") as s:
        return [(str(c.claimant), c.state) for c in DomainClaims(s).of_name(name)]


def refusal(answer: httpx.Response) -> tuple[int, str, str | None]:
    detail = error(answer)
    return answer.status_code, detail["code"], detail["field"]


def resolve(cloud: LocalCloud, name: str, rtype: str = "A") -> set[str]:
    cloud.dns.resolver.flush()
    address = cloud.dns.resolver.address
    reply = dns.query.udp(
        dns.message.make_query(name, rtype), address[0], port=address[1], timeout=3
    )
    return {rd.to_text() for rrset in reply.answer for rd in rrset}


def delegate(cloud: LocalCloud, name: str, name_servers: list[str]) -> None:
    """What the registrar does when the domain's owner sets its name servers."""
    cloud.dns.delegate(name, name_servers)
    cloud.dns.resolver.flush()


def test_a_domain_is_added_delegated_verified_and_removed(cloud: LocalCloud) -> None:
    tenant = Caller(cloud)
    name = fresh_name()
    added = tenant("POST", "/v1/domains", {"name": name})
    assert added.status_code == 201, added.text
    body = added.json()
    servers = body["delegation"]["name_servers"]
    assert body["status"] == "pending_delegation"
    assert body["delegation"]["state"] == "not_delegated"
    assert len(servers) == 4
    assert all(".awsdns-" in ns for ns in servers)
    assert all(ns.rstrip(".") in body["delegation"]["instructions"] for ns in servers)
    assert [d["id"] for d in tenant("GET", "/v1/domains").json()["domains"]] == [body["id"]]

    delegate(cloud, name, servers)
    tenant(
        "PUT",
        f"/v1/domains/{body['id']}/records",
        {"records": [{"name": "www", "type": "A", "values": ["192.0.2.80"]}]},
    ).raise_for_status()
    verified = tenant("POST", f"/v1/domains/{body['id']}/verify")
    assert verified.status_code == 200, verified.text
    seen = verified.json()
    assert (seen["status"], seen["delegation"]["state"]) == ("delegated", "delegated")
    www = [r for r in seen["records"] if r["name"] == f"www.{name}."]
    assert www == [
        {
            "name": f"www.{name}.",
            "type": "A",
            "values": ["192.0.2.80"],
            "ttl": 300,
            "managed": False,
            "authoritative": "ok",
            "propagated": "ok",
        }
    ]
    assert seen["report"]["zone_check"]["authoritative_ok"] is True
    assert claims(name) == [(str(tenant.id), "delegated")]
    assert tenant("GET", f"/v1/domains/{body['id']}").json()["records"] == seen["records"]

    removed = tenant("DELETE", f"/v1/domains/{body['id']}")
    assert removed.status_code == 200, removed.text
    assert removed.json()["status"] == "removed"
    assert zones_named(name) == []
    assert claims(name) == []
    assert tenant("GET", f"/v1/domains/{body['id']}").status_code == 404
    # A removed domain can be added again: a new zone, new name servers.
    again = tenant("POST", "/v1/domains", {"name": name})
    assert again.status_code == 201, again.text
    assert again.json()["id"] != body["id"]


def test_a_squatters_pending_claim_is_worth_nothing_once_the_owner_delegates(
    cloud: LocalCloud,
) -> None:
    squatter, owner, latecomer = Caller(cloud, "unpaid"), Caller(cloud), Caller(cloud)
    name = fresh_name()
    squatted = squatter("POST", "/v1/domains", {"name": name}).json()
    owned = owner("POST", "/v1/domains", {"name": name}).json()
    theirs, ours = squatted["delegation"]["name_servers"], owned["delegation"]["name_servers"]
    assert not set(theirs) & set(ours)
    for who, domain, ip in ((squatter, squatted, "192.0.2.66"), (owner, owned, "192.0.2.10")):
        who(
            "PUT",
            f"/v1/domains/{domain['id']}/records",
            {"records": [{"name": "www", "type": "A", "values": [ip]}]},
        ).raise_for_status()

    delegate(cloud, name, ours)
    assert owner("POST", f"/v1/domains/{owned['id']}/verify").json()["status"] == "delegated"
    still = squatter("POST", f"/v1/domains/{squatted['id']}/verify").json()
    assert still["status"] == "pending_delegation"
    assert still["delegation"]["state"] == "not_delegated"
    assert sorted(still["delegation"]["found"]) == sorted(ours)
    assert resolve(cloud, f"www.{name}.") == {"192.0.2.10"}  # the world sees the owner's zone
    assert sorted(claims(name)) == sorted(
        [(str(squatter.id), "pending"), (str(owner.id), "delegated")]
    )

    before = zones_named(name)
    refused = latecomer("POST", "/v1/domains", {"name": name})
    assert refusal(refused) == (409, "domain_taken", "name")
    assert latecomer.domains() == []
    assert zones_named(name) == before


def test_what_the_domain_served_before_is_carried_into_its_zone(cloud: LocalCloud) -> None:
    name = fresh_name()
    old = route53().create_hosted_zone(Name=name, CallerReference=f"old-host-{name}")
    changes = [
        (name, "A", ["192.0.2.1"]),
        (f"www.{name}", "CNAME", [f"sites.host.{name}."]),
        (
            name,
            "TXT",
            ['"google-site-verification=abc123"', '"v=spf1 include:_spf.host.test ~all"'],
        ),
        (f"track.{name}", "CNAME", ["links.sequencer.test."]),
        (f"mail.{name}", "A", ["192.0.2.25"]),  # where our mail host goes: not carried
    ]
    route53().change_resource_record_sets(
        HostedZoneId=old["HostedZone"]["Id"],
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": n,
                        "Type": t,
                        "TTL": 300,
                        "ResourceRecords": [{"Value": v} for v in values],
                    },
                }
                for n, t, values in changes
            ]
        },
    )
    assert cloud.dns.route53 is not None
    cloud.dns.route53.refresh()  # the local DNS reads Route 53 twice a second; now, here
    delegate(cloud, name, list(old["DelegationSet"]["NameServers"]))

    tenant = Caller(cloud)
    added = tenant("POST", "/v1/domains", {"name": name, "carry_over": ["track"]})
    assert added.status_code == 201, added.text
    carried = added.json()["carried_over"]
    assert sorted(carried["copied"]) == sorted(
        [f"A {name}.", f"TXT {name}.", f"CNAME www.{name}.", f"CNAME track.{name}."]
    )
    assert carried["skipped"] == [f"A mail.{name}."]
    records = {
        (r["name"], r["type"]): r["values"]
        for r in tenant("GET", f"/v1/domains/{added.json()['id']}/records").json()["records"]
    }
    assert records[(f"www.{name}.", "CNAME")] == [f"sites.host.{name}."]
    assert records[(f"track.{name}.", "CNAME")] == ["links.sequencer.test."]
    assert records[(f"{name}.", "A")] == ["192.0.2.1"]
    assert sorted(records[(f"{name}.", "TXT")]) == sorted(
        ["google-site-verification=abc123", "v=spf1 include:_spf.host.test ~all"]
    )
    assert (f"mail.{name}.", "A") not in records


def test_records_where_ours_go_are_refused_by_name_and_nothing_changes(cloud: LocalCloud) -> None:
    tenant = Caller(cloud)
    name = fresh_name()
    domain = tenant("POST", "/v1/domains", {"name": name}).json()
    path = f"/v1/domains/{domain['id']}/records"
    tenant(
        "PUT", path, {"records": [{"name": "@", "type": "TXT", "values": ["site-verification=1"]}]}
    ).raise_for_status()
    before = tenant("GET", path).json()
    for record, named in (
        ({"name": "mail", "type": "A", "values": ["192.0.2.9"]}, f"A mail.{name}."),
        ({"name": "_dmarc", "type": "TXT", "values": ["v=DMARC1; p=none"]}, f"TXT _dmarc.{name}."),
        ({"name": "@", "type": "MX", "values": ["10 mx.other.test"]}, f"MX {name}."),
        ({"name": "dkim._domainkey", "type": "TXT", "values": ["v=DKIM1; p=x"]}, "dkim._domainkey"),
    ):
        refused = tenant("PUT", path, {"records": [record]})
        assert refusal(refused) == (409, "record_managed", "body.records[0]")
        assert named in refused.json()["error"]["message"]
    for bad in (
        {"name": "www", "type": "A", "values": ["not-an-ip"]},
        {"name": "www.other.test.", "type": "A", "values": ["192.0.2.1"]},
        {"name": "@", "type": "CNAME", "values": ["x.test"]},
        {"name": "www", "type": "NS", "values": ["ns1.test"]},
    ):
        assert tenant("PUT", path, {"records": [bad]}).status_code == 422
    assert tenant("GET", path).json() == before


@pytest.mark.parametrize(
    "name",
    [
        "192.0.2.1",
        "localhost",
        "co.uk",
        "www.acme.example",
        "xn--zz.example",
        "bad domain.example",
        "a" * 64 + ".example",
        ("x." * 120) + "example",
        "",
        "acme.localhost",
        "acme.invalid",
        "xn--bcher-kva.xn--zz",
        "bücher..example",
    ],
)
def test_names_that_are_not_registrable_domains_are_refused(cloud: LocalCloud, name: str) -> None:
    tenant = Caller(cloud)
    refused = tenant("POST", "/v1/domains", {"name": name})
    assert refusal(refused) == (422, "invalid_request", "body.name")
    assert tenant.domains() == []


def test_an_internationalised_domain_is_one_domain_in_both_forms(cloud: LocalCloud) -> None:
    tenant = Caller(cloud)
    label = uuid4().hex[:6]
    first = tenant("POST", "/v1/domains", {"name": f"bücher{label}.example"})
    assert first.status_code == 201, first.text
    ascii_name = first.json()["name"]
    assert ascii_name.startswith("xn--")
    assert ascii_name.endswith(".example")
    second = tenant("POST", "/v1/domains", {"name": ascii_name})
    assert refusal(second) == (409, "domain_exists", "name")
    assert len(tenant.domains()) == 1


def test_domain_limits_hold(cloud: LocalCloud) -> None:
    unpaid = Caller(cloud, "unpaid")
    for _ in range(2):
        assert unpaid("POST", "/v1/domains", {"name": fresh_name()}).status_code == 201
    refused = unpaid("POST", "/v1/domains", {"name": fresh_name()})
    assert refusal(refused) == (409, "limit_reached", "pending_domains")
    assert len(unpaid.domains()) == 2

    entitled = Caller(cloud)  # the plan allows 5
    for _ in range(5):
        assert entitled("POST", "/v1/domains", {"name": fresh_name()}).status_code == 201
    assert refusal(entitled("POST", "/v1/domains", {"name": fresh_name()})) == (
        409,
        "limit_reached",
        "max_domains",
    )
    suspended = Caller(cloud, "suspended")
    assert suspended("POST", "/v1/domains", {"name": fresh_name()}).status_code == 402


def test_a_domain_in_use_stays_and_another_tenants_domain_is_not_found(
    cloud: LocalCloud,
) -> None:
    tenant, stranger = Caller(cloud), Caller(cloud)
    domain = tenant("POST", "/v1/domains", {"name": fresh_name()}).json()
    with tenant_session(tenant.id) as s:
        Inboxes(s).add(UUID(domain["id"]), f"ann@{domain['name']}")
    refused = tenant("DELETE", f"/v1/domains/{domain['id']}")
    assert refusal(refused) == (409, "domain_in_use", None)
    assert zones_named(domain["name"])

    missing = str(uuid4())
    for method, suffix, body in (
        ("GET", "", None),
        ("POST", "/verify", None),
        ("DELETE", "", None),
        ("GET", "/records", None),
        ("PUT", "/records", {"records": []}),
    ):
        probe = stranger(method, f"/v1/domains/{domain['id']}{suffix}", body)
        absent = stranger(method, f"/v1/domains/{missing}{suffix}", body)
        assert probe.status_code == absent.status_code == 404
        assert probe.json()["error"]["code"] == absent.json()["error"]["code"]
    assert tenant("GET", f"/v1/domains/{domain['id']}").status_code == 200


def test_a_zone_made_but_not_answered_is_undone_with_everything_else(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inboxfleet.dns.route53 import Route53

    made = Route53.create_zone

    def lost_answer(self: Route53, domain: str, reference: str) -> Any:
        made(self, domain, reference)  # Route 53 made it; the answer never arrived
        raise TimeoutError("read timed out")

    monkeypatch.setattr(Route53, "create_zone", lost_answer)
    tenant = Caller(cloud)
    name = fresh_name()
    failed = tenant("POST", "/v1/domains", {"name": name})
    assert refusal(failed) == (503, "unavailable", None)
    assert zones_named(name) == []
    assert claims(name) == []
    assert [d["status"] for d in tenant.domains()] == ["removed"]
    monkeypatch.undo()
    assert tenant("POST", "/v1/domains", {"name": name}).status_code == 201


def test_a_domain_the_parent_delegates_to_another_tenant_is_taken_even_unverified(
    cloud: LocalCloud,
) -> None:
    owner, latecomer = Caller(cloud), Caller(cloud)
    name = fresh_name()
    owned = owner("POST", "/v1/domains", {"name": name}).json()
    delegate(cloud, name, owned["delegation"]["name_servers"])  # the owner never calls verify
    before = zones_named(name)
    refused = latecomer("POST", "/v1/domains", {"name": name})
    assert refusal(refused) == (409, "domain_taken", "name")
    assert latecomer.domains() == []
    assert zones_named(name) == before
    assert claims(name) == [(str(owner.id), "delegated")]


def test_a_domain_removed_while_an_inbox_is_asked_for_on_it_takes_no_inbox(
    cloud: LocalCloud,
) -> None:
    tenant = Caller(cloud)
    domain = tenant("POST", "/v1/domains", {"name": fresh_name()}).json()

    def remove(s: Any) -> None:
        assert Domains(s).remove(UUID(domain["id"])) is not None

    answer = while_held(
        tenant.id,
        remove,
        lambda: tenant("POST", "/v1/inboxes", {"address": f"ann@{domain['name']}"}),
        cloud.database_url,
        waits_on="domains",
    )
    assert refusal(answer) == (422, "invalid_request", "body.address")
    with tenant_session(tenant.id) as s:
        assert Inboxes(s).list() == []


def test_an_add_stopped_half_way_is_resumed_and_its_zone_never_lost(cloud: LocalCloud) -> None:
    import psycopg

    from inboxfleet.dns.route53 import Route53

    tenant = Caller(cloud)
    name = fresh_name()
    with tenant_session(tenant.id) as s:
        row = Domains(s).add(name)  # the function was killed after this ...
    Route53(route53()).create_zone(name, str(row.id))  # ... and after Route 53 made the zone
    with psycopg.connect(cloud.database_url, autocommit=True) as owner:
        owner.execute(
            "UPDATE domains SET created_at = created_at - interval '5 minutes', "
            "updated_at = updated_at - interval '5 minutes' WHERE id = %s",
            (row.id,),
        )
    resumed = tenant("POST", "/v1/domains", {"name": name})
    assert resumed.status_code == 201, resumed.text
    assert resumed.json()["id"] == str(row.id)
    assert len(zones_named(name)) == 1
    assert claims(name) == [(str(tenant.id), "pending")]

    # Deleting a half-added domain finds its zone by the row's reference, too.
    other = fresh_name()
    with tenant_session(tenant.id) as s:
        half = Domains(s).add(other)
    Route53(route53()).create_zone(other, str(half.id))
    assert tenant("DELETE", f"/v1/domains/{half.id}").status_code == 200
    assert zones_named(other) == []


def test_records_read_back_are_written_back_unchanged_and_spf_terms_do_not_pile_up(
    cloud: LocalCloud,
) -> None:
    tenant = Caller(cloud)
    name = fresh_name()
    domain = tenant("POST", "/v1/domains", {"name": name}).json()
    path = f"/v1/domains/{domain['id']}/records"
    ours = '"v=spf1 mx a:mail.' + name + ' ~all"'
    route53().change_resource_record_sets(  # the workflow published our SPF at the apex
        HostedZoneId=zones_named(name)[0],
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": f"{name}.",
                        "Type": "TXT",
                        "TTL": 300,
                        "ResourceRecords": [{"Value": ours}],
                    },
                }
            ]
        },
    )

    def apex_txt() -> list[str]:
        listed = tenant("GET", path).json()["records"]
        return sorted(
            v for r in listed if (r["name"], r["type"]) == (f"{name}.", "TXT") for v in r["values"]
        )

    def put(*records: dict[str, Any]) -> httpx.Response:
        return tenant("PUT", path, {"records": list(records)})

    assert (
        put(
            {"name": "@", "type": "TXT", "values": ["v=spf1 include:_spf.google.com ~all", "x=1"]},
            {"name": "www", "type": "TXT", "values": ['say "hi"']},
        ).status_code
        == 200
    )
    assert (
        put(
            {"name": "@", "type": "TXT", "values": ["v=spf1 include:sendgrid.net ~all"]}
        ).status_code
        == 200
    )
    assert apex_txt() == [f"v=spf1 mx a:mail.{name} include:sendgrid.net ~all"]
    assert put().status_code == 200
    assert apex_txt() == [f"v=spf1 mx a:mail.{name} ~all"]

    put({"name": "www", "type": "TXT", "values": ['say "hi"']}).raise_for_status()
    before = tenant("GET", path).json()["records"]
    theirs = [
        {"name": r["name"], "type": r["type"], "values": r["values"], "ttl": r["ttl"]}
        for r in before
        if not r["managed"] and r["name"] != f"{name}."
    ]
    assert put(*theirs).status_code == 200
    assert tenant("GET", path).json()["records"] == before


def test_record_sets_that_would_break_mail_or_route_53_are_refused(cloud: LocalCloud) -> None:
    tenant = Caller(cloud)
    name = fresh_name()
    domain = tenant("POST", "/v1/domains", {"name": name}).json()
    path = f"/v1/domains/{domain['id']}/records"
    before = tenant("GET", path).json()
    too_many = [
        {"name": f"h{i}", "type": "A", "values": [f"192.0.2.{v}" for v in range(1, 51)]}
        for i in range(40)
    ]
    for records, field in (
        (
            [{"name": "@", "type": "TXT", "values": ["v=spf1 -all", "v=spf1 mx -all"]}],
            "body.records",
        ),
        ([{"name": "@", "type": "CAA", "values": ['0 issue "digicert.com"']}], "body.records[0]"),
        ([{"name": "loop", "type": "CNAME", "values": [f"loop.{name}"]}], "body.records[0]"),
        (too_many, "body.records"),
    ):
        refused = tenant("PUT", path, {"records": records})
        assert refusal(refused) == (422, "invalid_request", field), refused.text
    assert tenant("GET", path).json() == before


def test_verifying_keeps_the_workflows_mail_checks_beside_the_zone_check(
    cloud: LocalCloud,
) -> None:
    tenant = Caller(cloud)
    domain = tenant("POST", "/v1/domains", {"name": fresh_name()}).json()
    with tenant_session(tenant.id) as s:
        Domains(s).merge_verification(UUID(domain["id"]), {"spf": "valid", "dkim": "valid"})
    report = tenant("POST", f"/v1/domains/{domain['id']}/verify").json()["report"]
    assert (report["spf"], report["dkim"]) == ("valid", "valid")
    assert "records" in report["zone_check"]


def test_a_claim_whose_zone_is_gone_holds_nothing(cloud: LocalCloud) -> None:
    owner, newcomer = Caller(cloud), Caller(cloud)
    name = fresh_name()
    owned = owner("POST", "/v1/domains", {"name": name}).json()
    delegate(cloud, name, owned["delegation"]["name_servers"])
    assert owner("POST", f"/v1/domains/{owned['id']}/verify").json()["status"] == "delegated"
    route53().delete_hosted_zone(Id=zones_named(name)[0])  # out of band, records and all
    added = newcomer("POST", "/v1/domains", {"name": name})
    assert added.status_code == 201, added.text
    assert claims(name) == [(str(newcomer.id), "pending")]


def test_who_holds_a_name_unknown_is_a_503_not_a_verdict(cloud: LocalCloud) -> None:
    owner, newcomer = Caller(cloud), Caller(cloud)
    name = fresh_name()
    owned = owner("POST", "/v1/domains", {"name": name}).json()
    delegate(cloud, name, owned["delegation"]["name_servers"])
    owner("POST", f"/v1/domains/{owned['id']}/verify").raise_for_status()
    cloud.dns.parent.drop(f"{name}.", times=None)  # the registry stops answering for it
    try:
        refused = newcomer("POST", "/v1/domains", {"name": name})
    finally:
        cloud.dns.parent.clear_faults()
    assert refusal(refused) == (503, "unavailable", None)
    assert newcomer.domains() == []


def test_an_add_whose_undo_cannot_remove_the_zone_keeps_the_domain_and_says_so(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inboxfleet.dns.route53 import Route53

    made = Route53.create_zone

    def lost_answer(self: Route53, domain: str, reference: str) -> Any:
        made(self, domain, reference)
        raise TimeoutError("read timed out")

    def unreachable(self: Route53, zone: Any, *, wait: bool = True) -> None:
        raise TimeoutError("connect timed out")

    monkeypatch.setattr(Route53, "create_zone", lost_answer)
    monkeypatch.setattr(Route53, "delete_zone", unreachable)
    tenant = Caller(cloud)
    name = fresh_name()
    failed = tenant("POST", "/v1/domains", {"name": name})
    assert refusal(failed) == (503, "unavailable", None)
    assert "kept" in failed.json()["error"]["message"]
    assert [(d["name"], d["hosted_zone_id"]) for d in tenant.domains()] == [(name, None)]
    assert len(zones_named(name)) == 1  # never lost: the row keeps its reference
    monkeypatch.undo()
    # Straight away: it may still be in progress; after the function's time: finished.
    assert refusal(tenant("POST", "/v1/domains", {"name": name})) == (
        409,
        "request_in_progress",
        "name",
    )
