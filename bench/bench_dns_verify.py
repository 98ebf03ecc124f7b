"""Verifying 1,000 domains (17 records each) against the local DNS servers.

Each domain's full record set (the one the dns function publishes) is served by the local
authoritative server (StaticZone per domain, real UDP/TCP on loopback); a caching resolver in
front of it plays the recursive resolver; reverse DNS and the DNSBL zones are local too. The
real verifier checks every record at the authoritative server and through the resolver, the
forward-confirmed reverse DNS and both blocklists: about 38 queries per domain. Domains are
verified N at a time, each with the verifier's own bounded query concurrency.

Run: .venv/bin/python -m bench.bench_dns_verify
"""

from __future__ import annotations

import asyncio
import base64
import statistics
import sys
import time
from ipaddress import IPv4Address

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from inboxfleet.dns.records import desired_records
from inboxfleet.dns.verify import Nameserver, verify
from local.dns_sim import (
    AuthoritativeServer,
    CachingResolver,
    Dnsbl,
    ReverseZone,
    StaticZone,
)

DOMAINS = 1_000
DOMAINS_AT_ONCE = 16
QUERY_CONCURRENCY = 32


def dkim_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def main() -> int:
    key = dkim_key()
    domains = [f"d{i:04d}.example" for i in range(DOMAINS)]
    # RFC 2544's benchmarking range: one address per domain (only DNS data, never contacted).
    ips = {d: IPv4Address("198.18.0.1") + i for i, d in enumerate(domains)}
    ptr = {str(ips[d]): f"mail.{d}." for d in domains}
    zones = []
    record_count = 0
    for d in domains:
        records = desired_records(d, f"mail.{d}", ips[d], key)
        record_count += len(records)
        zones.append(StaticZone(f"{d}.", records))
    with (
        AuthoritativeServer([*zones, ReverseZone(lambda: ptr), Dnsbl()]) as auth,
        CachingResolver([auth.address]) as resolver,
    ):
        authoritative = [Nameserver(*auth.address)]
        recursive = [Nameserver(*resolver.address)]
        latencies: list[float] = []
        failures = 0

        async def one(domain: str, bound: asyncio.Semaphore) -> None:
            nonlocal failures
            async with bound:
                started = time.perf_counter()
                report = await verify(
                    desired_records(domain, f"mail.{domain}", ips[domain], key),
                    domain=domain,
                    mail_host=f"mail.{domain}",
                    ip=ips[domain],
                    authoritative=authoritative,
                    recursive=recursive,
                    blocklist_servers=authoritative,
                    concurrency=QUERY_CONCURRENCY,
                )
                latencies.append(time.perf_counter() - started)
                if not (report.authoritative_ok and report.reverse_dns == "ok"):
                    failures += 1

        async def all_of_them() -> None:
            bound = asyncio.Semaphore(DOMAINS_AT_ONCE)
            await asyncio.gather(*(one(d, bound) for d in domains))

        started = time.perf_counter()
        asyncio.run(all_of_them())
        wall = time.perf_counter() - started
        queries = len(auth.queries) + len(resolver.queries)

    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    print("DNS verification: real dnspython verifier vs local authoritative + caching resolver")
    print(
        f"{'domains':>9}{'records':>9}{'queries':>10}{'wall s':>9}{'domains/s':>11}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'failed':>8}"
    )
    print("-" * 74)
    print(
        f"{DOMAINS:>9,}{record_count:>9,}{queries:>10,}{wall:>9.2f}{DOMAINS / wall:>11.1f}"
        f"{statistics.median(latencies) * 1000:>9.1f}{p99 * 1000:>9.1f}{failures:>8}"
    )
    print("-" * 74)
    print(
        f"{DOMAINS_AT_ONCE} domains at a time, {QUERY_CONCURRENCY} queries in flight per domain, "
        "UDP with TCP fallback; queries = received by both servers"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
