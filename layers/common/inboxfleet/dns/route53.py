"""Route 53 through boto3: hosted zones, our record sets, their removal. The only module here
that imports boto3 (on first use)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from inboxfleet.dns.records import Record, fqdn

_OWNED_TYPES = frozenset({"A", "AAAA", "MX", "TXT", "CNAME", "SRV", "CAA"})


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    name_servers: tuple[str, ...]


def _caller_reference(reference: str) -> str:
    return f"inboxfleet-{reference}"


@cache
def _client() -> Any:
    import boto3
    from botocore.config import Config

    # Bounded: the tenant API answers within its 15 s, and the dns steps retry by their ASL.
    config = Config(
        connect_timeout=3, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"}
    )
    return boto3.client("route53", config=config)


class Route53:
    def __init__(
        self, client: Any | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._client = client if client is not None else _client()
        self._sleep = sleep

    def platform_zone(self, domain: str) -> Zone | None:
        """A zone of the platform's own (the DMARC report domain), found by name. Never for a
        tenant's domain: several tenants may hold zones of one name, and only the stored id
        says whose is whose."""
        name = fqdn(domain)
        listed = self._client.list_hosted_zones_by_name(DNSName=name, MaxItems="20")["HostedZones"]
        public = [z for z in listed if z["Name"] == name and not z["Config"].get("PrivateZone")]
        return self._zone(public[0]["Id"]) if public else None

    def zone(self, zone_id: str) -> Zone | None:
        """The zone with this id, or None when it no longer exists."""
        from botocore.exceptions import ClientError

        try:
            return self._zone(zone_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchHostedZone":
                return None
            raise

    def create_zone(self, domain: str, reference: str) -> Zone:
        """A new public hosted zone for `domain`, once per `reference` (the domain row's id):
        Route 53 refuses a caller reference used before, so a retried create (its answer lost
        to a timeout) finds the zone it made instead of paying for a second one."""
        from botocore.exceptions import ClientError

        caller_reference = _caller_reference(reference)
        # Looked for first, too: moto does not refuse a caller reference used before.
        made = self.zone_made_for(domain, reference)
        if made is not None:
            return made
        try:
            created = self._client.create_hosted_zone(
                Name=fqdn(domain),
                CallerReference=caller_reference,
                HostedZoneConfig={"Comment": "inboxfleet sending domain", "PrivateZone": False},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "HostedZoneAlreadyExists":
                raise
            made = self.zone_made_for(domain, reference)
            if made is None:
                raise
            return made
        servers = created.get("DelegationSet", {}).get("NameServers", [])
        hosted = created["HostedZone"]
        return Zone(hosted["Id"], hosted["Name"], tuple(fqdn(ns) for ns in servers))

    def zone_made_for(self, domain: str, reference: str) -> Zone | None:
        """The zone `create_zone(domain, reference)` made, if it did (zones listed by name
        start at the name: only that name's zones are read)."""
        caller_reference = _caller_reference(reference)
        name = fqdn(domain)
        listed = self._client.list_hosted_zones_by_name(DNSName=name, MaxItems="100")
        for zone in listed["HostedZones"]:
            if fqdn(zone["Name"]) != name:
                break
            if zone.get("CallerReference") == caller_reference:
                return self._zone(zone["Id"])
        return None

    def _zone(self, zone_id: str) -> Zone:
        answer = self._client.get_hosted_zone(Id=zone_id)
        servers = tuple(fqdn(ns) for ns in answer.get("DelegationSet", {}).get("NameServers", []))
        return Zone(answer["HostedZone"]["Id"], answer["HostedZone"]["Name"], servers)

    def _rrsets(self, zone: Zone) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("list_resource_record_sets")
        for page in paginator.paginate(HostedZoneId=zone.id):
            yield from page["ResourceRecordSets"]

    def records(self, zone: Zone) -> list[Record]:
        return [
            Record(
                fqdn(rrset["Name"]),
                rrset["Type"],
                tuple(r["Value"] for r in rrset["ResourceRecords"]),
                int(rrset.get("TTL", 0)),
            )
            for rrset in self._rrsets(zone)
            if rrset["Type"] in _OWNED_TYPES and "ResourceRecords" in rrset
        ]

    def upsert(
        self, zone: Zone, records: Sequence[Record], *, timeout_s: float = 120.0, wait: bool = True
    ) -> None:
        """One change batch of UPSERTs (atomic in Route 53), then wait until INSYNC (`wait`:
        a caller answering a person right away does not wait the minute propagation takes)."""
        self._change(zone, [("UPSERT", r) for r in records], timeout_s, wait)

    def replace(
        self,
        zone: Zone,
        upserts: Sequence[Record],
        deletes: Sequence[Record],
        *,
        timeout_s: float = 120.0,
        wait: bool = True,
    ) -> None:
        """One atomic change batch: the `deletes` (as they are live) go, the `upserts` are set."""
        changes = [("DELETE", r) for r in deletes] + [("UPSERT", r) for r in upserts]
        if changes:
            self._change(zone, changes, timeout_s, wait)

    def delete(
        self,
        zone: Zone,
        keys: Sequence[tuple[str, str]],
        *,
        live: Sequence[Record] | None = None,
        timeout_s: float = 120.0,
    ) -> int:
        """Delete the record sets named by (name, type), as they currently are (Route 53
        refuses a DELETE whose values differ, so the live values are used: `live` when the
        caller has just read them, else read now); absent ones are skipped. Returns how many
        went."""
        current = {(r.name, r.type): r for r in (self.records(zone) if live is None else live)}
        doomed = [current[key] for key in keys if key in current]
        if doomed:
            self._change(zone, [("DELETE", r) for r in doomed], timeout_s)
        return len(doomed)

    def delete_zone(self, zone: Zone, *, wait: bool = True) -> None:
        """Remove the zone (a zone costs money every month). Every record set goes first, of
        any type, aliases included: Route 53 refuses to delete a zone holding anything but
        its apex SOA and NS (a change is applied to the zone when accepted: `wait` only waits
        for the name servers to have it too)."""
        leftovers = [
            {"Action": "DELETE", "ResourceRecordSet": rrset}
            for rrset in self._rrsets(zone)
            if not (fqdn(rrset["Name"]) == fqdn(zone.name) and rrset["Type"] in ("SOA", "NS"))
        ]
        if leftovers:
            change = self._client.change_resource_record_sets(
                HostedZoneId=zone.id, ChangeBatch={"Comment": "inboxfleet", "Changes": leftovers}
            )
            if wait:
                self._wait(change, 60.0)
        self._client.delete_hosted_zone(Id=zone.id)

    def _change(
        self, zone: Zone, changes: list[tuple[str, Record]], timeout_s: float, wait: bool = True
    ) -> None:
        batch = {
            "Comment": "inboxfleet",
            "Changes": [
                {
                    "Action": action,
                    "ResourceRecordSet": {
                        "Name": r.name,
                        "Type": r.type,
                        "TTL": r.ttl,
                        "ResourceRecords": [{"Value": v} for v in r.values],
                    },
                }
                for action, r in changes
            ],
        }
        from botocore.exceptions import ClientError

        try:
            change = self._client.change_resource_record_sets(
                HostedZoneId=zone.id, ChangeBatch=batch
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") not in ("InvalidChangeBatch", "InvalidInput"):
                raise
            from inboxfleet.dns.errors import ChangeRefused

            raise ChangeRefused(str(error.get("Message", ""))[:500]) from None
        if wait:
            self._wait(change, timeout_s)

    def _wait(self, change: dict[str, Any], timeout_s: float) -> None:
        change_id = change["ChangeInfo"]["Id"]
        deadline = time.monotonic() + timeout_s
        delay = 1.0
        while change["ChangeInfo"]["Status"] != "INSYNC":
            if time.monotonic() > deadline:
                from inboxfleet.dns.errors import DnsNotPropagated

                raise DnsNotPropagated(
                    f"Route 53 change {change_id} not INSYNC after {timeout_s} s"
                )
            self._sleep(delay)
            delay = min(delay * 2, 10.0)
            change = self._client.get_change(Id=change_id)
