"""Every public hosted zone of a Route 53 (moto, in-process or server) as a zone source.

Reading Route 53 on every query is far too slow, so zones are snapshots:
- `refresh()` re-reads the zone list and every zone at once;
- otherwise reads are lazy: the zone list is re-read when older than `max_age_s`, and a zone's
  record sets when that zone's copy is older than `max_age_s` and a query reaches it (a
  benchmark over 1,000 zones costs one read per zone per `max_age_s`, not a full re-read).
  One thread reads Route 53 at a time; while it does, other queries are answered from the
  copies at hand (a zone never read before waits for its first read).
`max_age_s=math.inf` never refreshes on its own. The clock is injectable. Each read of a zone
costs moto ~3 ms: under heavy load over many zones, use a larger `max_age_s` (or `math.inf` and
`refresh()` after changes).

What is served: A, AAAA, MX, TXT, SPF, CNAME, SRV, NS, SOA, CAA, PTR record sets; aliases to a
record in the same zone (with the target's data); the first of several routing-policy record
sets of one name and type. Private zones are skipped unless asked for. Of two public zones with
one name (Route 53 allows that, each with its own name servers), `find_zone` serves the first
listed; `zone_by_id` serves any one, as the zone's own name servers do (`ZoneServers`), and
`zone_served_by` names the zone a name server belongs to (from an index built as zones are
first read: a zone's name servers never change). Values Route 53 would not accept are skipped
with a warning.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from local.dns_sim.names import is_within, parent, route53_name
from local.dns_sim.zone import RecordZone, RRset, default_soa

DEFAULT_MAX_AGE_S = 0.5
# moto 5 stores the default SOA's value as the repr of a dict: "{'Value': 'ns-2048... 86400'}".
_MOTO_SOA = re.compile(r"^\{'Value': '(.*)'\}$")

log = logging.getLogger("local.dns_sim")


@dataclass
class _Hosted:
    zone_id: str
    origin: str
    zone: RecordZone | None = None
    loaded_at: float = -math.inf
    # The apex NS names read at the first load: a zone's delegation set never changes in
    # Route 53, so they are indexed once (name server -> zone id).
    name_servers: tuple[str, ...] | None = None


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        error = response.get("Error")
        if isinstance(error, Mapping):
            code = error.get("Code")
            return code if isinstance(code, str) else None
    return None


class Route53Zones:
    """A ZoneSource over a boto3 `route53` client (thread-safe; boto3 clients are)."""

    def __init__(
        self,
        client: Any,
        *,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
        include_private: bool = False,
    ) -> None:
        if max_age_s < 0:
            raise ValueError("max_age_s must not be negative")
        self._client = client
        self._max_age_s = max_age_s
        self._clock = clock
        self._include_private = include_private
        self._read_lock = threading.RLock()  # one reader of Route 53 at a time
        self._hosted: dict[str, _Hosted] = {}  # origin -> zone; replaced whole, never mutated
        self._by_id: dict[str, _Hosted] = {}  # every zone, by id; replaced whole likewise
        self._by_name_server: dict[str, str] = {}  # NS name -> zone id; replaced whole likewise
        self._listed_at = -math.inf

    # ---- public ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read the zone list and every zone now."""
        with self._read_lock:
            now = self._clock()
            self._list(now)
            for hosted in list(self._hosted.values()):
                self._load(hosted, now)

    def find_zone(self, qname: str) -> RecordZone | None:
        now = self._clock()
        self._fresh_list(now)
        hosted = self._closest(qname)
        return None if hosted is None else self._served(hosted, now)

    def zone_by_id(self, zone_id: str) -> RecordZone | None:
        """The hosted zone with this id (either form: "Z1" or "/hostedzone/Z1"), or None."""
        now = self._clock()
        self._fresh_list(now)
        hosted = self._by_id.get(short_zone_id(zone_id))
        return None if hosted is None else self._served(hosted, now)

    def zone_served_by(self, name_server: str) -> str | None:
        """The id of the zone whose apex NS set names `name_server` (normalized), if any (of
        zones sharing a name server, the first indexed). A dict read, except for a name no
        zone indexed so far has: then the zone list is read again and the zones not indexed
        yet are loaded (name servers are asked for right after their zone is made)."""
        now = self._clock()
        self._fresh_list(now)
        found = self._by_name_server.get(name_server)
        if found is None:
            with self._read_lock:
                self._list(now)
                for hosted in list(self._by_id.values()):
                    if hosted.name_servers is None:
                        self._load(hosted, now)
            found = self._by_name_server.get(name_server)
        return found

    def _served(self, hosted: _Hosted, now: float) -> RecordZone | None:
        if hosted.zone is None:
            with self._read_lock:
                if hosted.zone is None:
                    self._load(hosted, now)
        elif self._stale(hosted.loaded_at, now) and self._read_lock.acquire(blocking=False):
            # Busy reading already? Then the copy at hand is served meanwhile: under load only
            # one thread at a time waits for Route 53.
            try:
                if self._stale(hosted.loaded_at, now):
                    self._load(hosted, now)
            finally:
                self._read_lock.release()
        return hosted.zone

    # ---- reading Route 53 ------------------------------------------------------------------

    def _stale(self, at: float, now: float) -> bool:
        return now - at > self._max_age_s

    def _fresh_list(self, now: float) -> None:
        if not self._stale(self._listed_at, now):
            return
        never_listed = self._listed_at == -math.inf
        if self._read_lock.acquire(blocking=never_listed):
            try:
                if self._stale(self._listed_at, now):
                    self._list(now)
            finally:
                self._read_lock.release()

    def _closest(self, qname: str) -> _Hosted | None:
        hosted = self._hosted
        name = qname
        while True:
            found = hosted.get(name)
            if found is not None:
                return found
            if name == ".":
                return None
            name = parent(name)

    def _pages(self, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator(operation)
        for page in paginator.paginate(**kwargs):
            yield from page.get(key, [])

    def _list(self, now: float) -> None:
        by_id = self._by_id
        fresh: dict[str, _Hosted] = {}
        every: dict[str, _Hosted] = {}
        for summary in self._pages("list_hosted_zones", "HostedZones"):
            if summary.get("Config", {}).get("PrivateZone") and not self._include_private:
                continue
            origin = route53_name(summary["Name"])
            zone_id = short_zone_id(summary["Id"])
            kept = by_id.get(zone_id)
            hosted = kept if kept is not None else _Hosted(zone_id, origin)
            every[zone_id] = hosted
            fresh.setdefault(origin, hosted)  # of several zones of one name, the first
        self._hosted, self._by_id = fresh, every
        self._forget_name_servers_of_unlisted()
        self._listed_at = now

    def _forget_name_servers_of_unlisted(self) -> None:
        listed = self._by_id
        if any(zone_id not in listed for zone_id in self._by_name_server.values()):
            # Rebuilt from the zones still listed: a name a deleted zone shared with another
            # (moto's default set) now leads to that other zone.
            index: dict[str, str] = {}
            for hosted in listed.values():
                for name_server in hosted.name_servers or ():
                    index.setdefault(name_server, hosted.zone_id)
            self._by_name_server = index

    def _index_name_servers(self, hosted: _Hosted) -> None:
        zone = hosted.zone
        ns = None if zone is None else zone.get(hosted.origin, "NS")
        targets = () if ns is None else tuple(t for rd in ns.rdatas if (t := rd.target()))
        hosted.name_servers = targets
        index = self._by_name_server
        if any(t not in index for t in targets):
            added = {t: hosted.zone_id for t in targets if t not in index}
            self._by_name_server = {**index, **added}

    def _load(self, hosted: _Hosted, now: float) -> None:
        try:
            sets = list(
                self._pages(
                    "list_resource_record_sets", "ResourceRecordSets", HostedZoneId=hosted.zone_id
                )
            )
        except Exception as exc:
            if _error_code(exc) != "NoSuchHostedZone":
                raise
            self._hosted = {o: h for o, h in self._hosted.items() if h is not hosted}
            self._by_id = {i: h for i, h in self._by_id.items() if h is not hosted}
            self._forget_name_servers_of_unlisted()
            hosted.zone, hosted.loaded_at = None, now
            return
        hosted.zone = build_zone(hosted.origin, sets)
        hosted.loaded_at = now
        if hosted.name_servers is None:
            self._index_name_servers(hosted)


def short_zone_id(zone_id: str) -> str:
    return zone_id.rsplit("/", 1)[-1]


def _value(rtype: str, raw: str) -> str:
    if rtype == "SOA":
        quirk = _MOTO_SOA.match(raw)
        if quirk:
            return quirk.group(1)
    return raw


def build_zone(origin: str, record_sets: list[dict[str, Any]]) -> RecordZone:
    """A RecordZone from ListResourceRecordSets output."""
    zone = RecordZone(origin)
    aliases: list[tuple[str, str, str]] = []
    for entry in record_sets:
        name, rtype = route53_name(entry["Name"]), str(entry["Type"]).upper()
        if not is_within(name, origin) or zone.get(name, rtype) is not None:
            continue  # outside the zone, or a second routing-policy set of this name and type
        alias = entry.get("AliasTarget")
        if alias:
            aliases.append((name, rtype, route53_name(alias.get("DNSName", ""))))
            continue
        values = [_value(rtype, r["Value"]) for r in entry.get("ResourceRecords", [])]
        try:
            zone.put(RRset.parse(name, rtype, values, int(entry.get("TTL", 300))))
        except ValueError as exc:
            log.warning("dns simulator: skipping %s %s in %s: %s", name, rtype, origin, exc)
    for name, rtype, target in aliases:
        found = zone.get(target, rtype)
        if found is not None:
            zone.put(RRset(name, rtype, found.ttl, found.rdatas))
        else:
            log.debug("dns simulator: alias %s %s -> %s not in the zone", name, rtype, target)
    if zone.get(origin, "SOA") is None:
        zone.put(default_soa(origin))
    return zone
