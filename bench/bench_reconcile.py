"""One reconcile pass over a generated estate: 10,000 tenants, 20,000 domains and servers,
100,000 inboxes, with the Hostwinds simulator holding the 20,000 instances.

The estate is written in bulk as the database owner (set-based SQL, one statement per table);
the instances are seeded into the simulator with the servers' names, ACTIVE with addresses
from RFC 2544's benchmarking range. Every tenant pays (a stored subscription, an entitled
account), every inbox is active, every domain verified with what its records were published
from. The domains checked longest ago, one DNS batch of them (a 96th of the domains, at
least BENCH_RECONCILE_DNS_BATCH; DNS_BATCH below says why not the setting's 1,100), have real
hosted zones (moto Route 53, our records published by the dns function's upsert, the PTR set
at Hostwinds): that batch is
really verified over UDP/TCP against the local DNS. Drift is sown in: servers whose instance
vanished, row-less instances, instances of failed servers (more than the termination cap),
instances Hostwinds suspended.

The real pass (`inboxfleet.reconcile.service.handle`, deps from settings as in Lambda) runs
three times: the first repairs the drift (terminations go on over the next passes: more
failed servers than the cap), the second and third find little left, the third is measured
for memory (tracemalloc: every Python allocation of the pass). Counted: wall time per part,
database round trips (a session's preamble, each statement with its context check, the
commit: the number grows with pages, not rows), Hostwinds API calls, peak memory.

Run: .venv/bin/python -m bench.bench_reconcile
     BENCH_RECONCILE_TENANTS=2500 for a quarter of the estate (the round trips scale by pages).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import logging
import os
import resource
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any
from uuid import UUID

import psycopg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from inboxfleet.db import sessions
from inboxfleet.dns.commands import UpsertRecords
from inboxfleet.dns.runtime import deps as dns_deps
from inboxfleet.dns.service import handle as dns_handle
from inboxfleet.hostwinds.client import HostwindsClient
from inboxfleet.names import mail_host_of, server_name
from inboxfleet.reconcile import service
from inboxfleet.reconcile.commands import ReconcileCommand, ReconcileReport
from inboxfleet.reconcile.runtime import deps as reconcile_deps
from inboxfleet.settings import reconcile_settings_from_env
from local.account import ENVIRONMENT
from local.cloud import LocalCloud
from local.hostwinds_sim.account import API_KEY
from local.hostwinds_sim.ips import BENCHMARKING_RANGE

TENANTS = int(os.environ.get("BENCH_RECONCILE_TENANTS", "10000"))
DOMAINS_PER_TENANT = 2  # one server each
INBOXES_PER_SERVER = 5
LOST, ROWLESS, FAILED_WITH_INSTANCE, SUSPENDED_BY_HOSTWINDS = 8, 20, 25, 30  # lost: within the cap
LAMBDA_BUDGET_MS = 900_000
LAMBDA_MEMORY_MB = 1024
# Domains of the DNS batch given real hosted zones and verified each pass. The setting's default
# (1,100) against the local DNS would measure the simulator: every zone's name servers are a
# Python UDP/TCP listener of their own in this process (1,100 zones: over 3,000 threads on the
# benchmark's cores). The per-domain cost is measured here and the default batch extrapolated;
# bench_dns_verify measures the verifier itself over 1,000 domains.
DNS_BATCH = int(os.environ.get("BENCH_RECONCILE_DNS_BATCH", "100"))
DEFAULT_DNS_BATCH = 1100
PASSES_A_DAY = 96  # every 15 minutes: a batch is never smaller than a 96th of the domains


@dataclass
class Pass:
    report: ReconcileReport
    wall_s: float
    round_trips: Counter[str]  # per part
    hostwinds: Counter[str]  # calls per action
    peak_mb: float | None = None


def _uuid(kind: str, n: int) -> str:
    """The id SQL's md5('bench-<kind>:' || n)::uuid gives (ids, not security)."""
    return str(UUID(hashlib.md5(f"bench-{kind}:{n}".encode()).hexdigest()))  # noqa: S324


def _tenant(n: int) -> str:
    return _uuid("tenant", n)


def _domain(k: int) -> str:
    return _uuid("domain", k)


def _dkim_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def main() -> int:
    logging.disable(logging.WARNING)  # the drift is sown on purpose: its warnings are noise
    os.environ["RECONCILE_DNS_BATCH"] = str(DNS_BATCH)
    servers = TENANTS * DOMAINS_PER_TENANT
    print(
        f"reconcile over {TENANTS:,} tenants, {servers:,} servers and domains, "
        f"{servers * INBOXES_PER_SERVER:,} inboxes; {servers:,} instances at the simulator"
    )
    with (
        contextlib.redirect_stdout(io.StringIO()),  # the functions' JSON log lines
        LocalCloud(
            time_scale=0.001,
            event_sources=False,
            hostwinds_ip_ranges=[str(BENCHMARKING_RANGE)],
            log_level="ERROR",
        ) as cloud,
    ):
        seeded = _seed(cloud)
        passes = [_measure(cloud, "first"), _measure(cloud, "second")]
        passes.append(_measure(cloud, "traced", traced=True))
    _print(seeded, passes)
    return 0


# ---- the estate ------------------------------------------------------------------------------


def _seed(cloud: LocalCloud) -> dict[str, float]:
    steps: dict[str, float] = {}

    @contextlib.contextmanager
    def timed(step: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        steps[step] = time.perf_counter() - started

    servers = TENANTS * DOMAINS_PER_TENANT
    server_ids = [_uuid("server", n) for n in range(servers)]
    lost = set(range(LOST))  # never seeded: their instance vanished
    with timed("instances seeded"):
        names = [server_name(ENVIRONMENT, UUID(server_ids[n])) for n in range(servers)]
        alive = [n for n in range(servers) if n not in lost]
        made = cloud.hostwinds.seed_instances(names=[names[n] for n in alive])
        instance = {n: made[k] for k, n in enumerate(alive)}
        rowless = cloud.hostwinds.seed_instances(
            names=[f"ifl-{ENVIRONMENT}-{_uuid('rowless', k)}" for k in range(ROWLESS)]
        )
        failed = [_uuid("failed-server", k) for k in range(FAILED_WITH_INSTANCE)]
        cloud.hostwinds.seed_instances(names=[server_name(ENVIRONMENT, UUID(s)) for s in failed])
        for n in range(LOST, LOST + SUSPENDED_BY_HOSTWINDS):
            cloud.hostwinds.set_instance_status(instance[n][0], "SUSPENDED")
    assert len(rowless) == ROWLESS
    dkim = _dkim_key()
    with timed("database written"):
        _write_estate(cloud.database_url, server_ids, instance, failed, dkim)
    batch = max(DNS_BATCH, -(-servers // PASSES_A_DAY))
    with timed(f"DNS batch: {batch} zones published"):
        _publish_batch(cloud, instance, dkim, batch)
    return steps


def _write_estate(
    owner_url: str,
    server_ids: list[str],
    instance: dict[int, tuple[int, str | None]],
    failed: list[str],
    dkim: str,
) -> None:
    tenants, per = TENANTS, DOMAINS_PER_TENANT
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute("SET work_mem = '256MB'")
        conn.execute(
            "INSERT INTO tenants (id, name) SELECT md5('bench-tenant:' || n)::uuid, "
            "'Bench tenant ' || n FROM generate_series(0, %s - 1) n",
            (tenants,),
        )
        conn.execute(
            "INSERT INTO billing_accounts (tenant_id, stripe_customer_id, stripe_subscription_id,"
            " subscription_status, plan, quantity, max_inboxes, max_domains, allowed_locations,"
            " current_period_end) SELECT md5('bench-tenant:' || n)::uuid, 'cus_b' || n,"
            " 'sub_b' || n, 'active', 'growth_monthly', 1, 25, 10,"
            " ARRAY['seattle', 'dallas', 'amsterdam'], now() + interval '20 days'"
            " FROM generate_series(0, %s - 1) n",
            (tenants,),
        )
        conn.execute(
            "INSERT INTO billing_subscriptions (tenant_id, subscription_id, status, items,"
            " current_period_end, subscription_created, event_created, event_id)"
            " SELECT md5('bench-tenant:' || n)::uuid, 'sub_b' || n, 'active',"
            ' \'[{"lookup_key": "growth_monthly", "quantity": 1}]\','
            " now() + interval '20 days', now() - interval '10 days', now() - interval '1 day',"
            " 'evt_b' || n FROM generate_series(0, %s - 1) n",
            (tenants,),
        )
        # Domain d of tenant n is server n * per + d's; published as its records were.
        conn.execute(
            "INSERT INTO domains (tenant_id, id, name, status, hosted_zone_id, published,"
            " dns_checked_at)"
            " SELECT md5('bench-tenant:' || n)::uuid,"
            " md5('bench-domain:' || (n * %(per)s + d))::uuid,"
            " 't' || n || '-' || d || '.example', 'verified',"
            # Checked an hour ago: never in the batch (which has real zones, made below).
            " '/hostedzone/ZBENCH' || (n * %(per)s + d),"
            " jsonb_build_object('mail_host', 'mail.t' || n || '-' || d || '.example',"
            "   'ip', '198.18.0.1', 'dkim_public_key', %(dkim)s::text),"
            " now() - interval '1 hour'"
            " FROM generate_series(0, %(tenants)s - 1) n, generate_series(0, %(per)s - 1) d",
            {"per": per, "tenants": tenants, "dkim": dkim},
        )
        with conn.cursor().copy(
            "COPY servers (tenant_id, id, domain_id, name, location, provider_instance_id, ip,"
            " status, created_at, updated_at) FROM STDIN"
        ) as copy:
            for k, server_id in enumerate(server_ids):
                serviceid, ip = instance.get(k, (900_000 + k, "198.19.255.1"))
                copy.write_row(
                    (
                        _tenant(k // per),
                        server_id,
                        _domain(k),
                        server_name(ENVIRONMENT, UUID(server_id)),
                        "seattle",
                        str(serviceid),
                        ip,
                        "ready",
                        "2026-01-01T00:00:00Z",
                        "2026-01-02T00:00:00Z",  # ready long before any pass
                    )
                )
        for k, server_id in enumerate(failed):
            # Failed servers of tenant k's second domain, long past their undoing.
            conn.execute(
                "INSERT INTO servers (tenant_id, id, domain_id, name, location, status,"
                " failure_reason, updated_at) VALUES (%s, %s, %s, %s, 'seattle', 'failed',"
                " 'bench: install failed', now() - interval '1 day')",
                (
                    _tenant(k),
                    server_id,
                    _domain(k * per + 1),
                    server_name(ENVIRONMENT, UUID(server_id)),
                ),
            )
        conn.execute(
            "INSERT INTO inboxes (tenant_id, id, domain_id, server_id, address, status,"
            " execution_name, attempt, created_at, updated_at)"
            " SELECT s.tenant_id, md5('bench-inbox:' || s.id || ':' || i)::uuid, s.domain_id,"
            " s.id, 'sender' || i || '@' || d.name, 'active',"
            " md5('bench-inbox:' || s.id || ':' || i)::uuid || '-1', 1,"
            " now() - interval '30 days', now() - interval '29 days'"
            " FROM servers s JOIN domains d ON d.tenant_id = s.tenant_id AND d.id = s.domain_id,"
            " generate_series(0, %s - 1) i WHERE s.status = 'ready'",
            (INBOXES_PER_SERVER,),
        )
        conn.execute(
            "VACUUM (ANALYZE) tenants, billing_accounts, billing_subscriptions, "
            "domains, servers, inboxes"
        )


def _publish_batch(
    cloud: LocalCloud, instance: dict[int, tuple[int, str | None]], dkim: str, batch: int
) -> None:
    """The next DNS batch: real zones with our records, served by the local DNS, the PTR set."""
    from inboxfleet.dns.route53 import Route53

    route53 = Route53()
    dns = dns_deps()
    first = list(range(LOST + SUSPENDED_BY_HOSTWINDS, TENANTS * DOMAINS_PER_TENANT))[:batch]
    client = HostwindsClient(lambda: API_KEY, url=cloud.hostwinds.url, timeout_s=10)

    def publish(k: int) -> None:
        n, d = divmod(k, DOMAINS_PER_TENANT)
        name = f"t{n}-{d}.example"
        serviceid, ip = instance[k]
        assert ip is not None
        zone = route53.create_zone(name, _domain(k))
        with psycopg.connect(cloud.database_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE domains SET hosted_zone_id = %s, name_servers = %s, dns_checked_at = NULL"
                " WHERE id = %s",
                (zone.id, list(zone.name_servers), _domain(k)),
            )
        cloud.dns.delegate(name, list(zone.name_servers))
        dns_handle(
            UpsertRecords(
                action="upsert",
                tenant_id=UUID(_tenant(n)),
                domain_id=UUID(_domain(k)),
                domain=name,
                mail_host=mail_host_of(name),
                ip=IPv4Address(ip),
                dkim_public_key=dkim,
            ),
            dns,
        )
        client.set_rdns(serviceid, IPv4Address(ip), mail_host_of(name))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(publish, first))
    client.close()
    assert cloud.dns.route53 is not None
    cloud.dns.route53.refresh()
    cloud.dns.resolver.flush()


# ---- one measured pass -----------------------------------------------------------------------


@contextlib.contextmanager
def _counted() -> Iterator[Counter[str]]:
    """Database round trips of every session opened meanwhile, by the part running then."""
    counts: Counter[str] = Counter()
    current = {"part": "lease"}
    lock = threading.Lock()
    originals = {
        name: getattr(sessions, name)
        for name in ("_send_preamble", "_in_one_round_trip", "_commit", "_rollback")
    }

    def counting(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with lock:
                counts[current["part"]] += 1
            return original(*args, **kwargs)

        return wrapped

    runners = dict(service.RUNNERS)

    def in_part(part: str, run: Callable[[Any], None]) -> Callable[[Any], None]:
        def wrapped(scope: Any) -> None:
            current["part"] = part
            try:
                run(scope)
            finally:
                current["part"] = "lease"

        return wrapped

    for name, original in originals.items():
        setattr(sessions, name, counting(original))
    for part, run in runners.items():
        service.RUNNERS[part] = in_part(part, run)
    try:
        yield counts
    finally:
        for name, original in originals.items():
            setattr(sessions, name, original)
        service.RUNNERS.update(runners)


def _measure(cloud: LocalCloud, label: str, *, traced: bool = False) -> Pass:
    # Each pass re-verifies the batch that has real zones (the rotation would move on to
    # domains whose zones this benchmark did not make).
    with psycopg.connect(cloud.database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE domains SET dns_checked_at = NULL "
            "WHERE hosted_zone_id NOT LIKE '/hostedzone/ZBENCH%'"
        )
    before = Counter(r.action or "" for r in cloud.hostwinds.requests)
    started = time.perf_counter()
    deadline = started + LAMBDA_BUDGET_MS / 1000
    if traced:
        tracemalloc.start()
    with _counted() as trips:
        report = service.handle(
            ReconcileCommand(),
            reconcile_deps(),
            lambda: int((deadline - time.perf_counter()) * 1000),
        )
    peak = None
    if traced:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    wall = time.perf_counter() - started
    after = Counter(r.action or "" for r in cloud.hostwinds.requests)
    if report.outcome != "complete":
        statuses = [(p.part, p.status, p.reason) for p in report.parts]
        raise RuntimeError(f"{label} pass ended {report.outcome}: {statuses}")
    return Pass(report, wall, trips, after - before, peak)


# ---- the table -------------------------------------------------------------------------------


def _found(report: ReconcileReport) -> dict[str, tuple[int, int]]:
    return {kind: (k.found, k.repaired) for part in report.parts for kind, k in part.drift.items()}


def _print(seeded: dict[str, float], passes: list[Pass]) -> None:
    settings = reconcile_settings_from_env()
    print("set-up: " + ", ".join(f"{step} {s:.1f} s" for step, s in seeded.items()))
    drift = _found(passes[0].report)
    print(
        "drift found (repaired) by the first pass: "
        + ", ".join(
            f"{kind} {found} ({repaired})" for kind, (found, repaired) in sorted(drift.items())
        )
    )
    parts = [p.part for p in passes[0].report.parts]
    labels = ["first", "second", "traced"]
    print()
    print("one pass: wall seconds per part, database round trips per part")
    header = f"{'pass':<7} {'wall s':>7} " + " ".join(f"{p:>12}" for p in parts)
    header += f" {'DB trips':>9} {'peak MiB':>9}  Hostwinds calls"
    print(header)
    print("-" * len(header))
    for label, p in zip(labels, passes, strict=True):
        calls = ", ".join(f"{a} {n}" for a, n in sorted(p.hostwinds.items())) or "none"
        peak = f"{p.peak_mb:.1f}" if p.peak_mb is not None else "-"
        walls = {r.part: r.elapsed_ms / 1000 for r in p.report.parts}
        print(
            f"{label:<7} {p.wall_s:>7.1f} "
            + " ".join(f"{walls[part]:>5.1f}s {p.round_trips[part]:>5}" for part in parts)
            + f" {sum(p.round_trips.values()):>9} {peak:>9}  {calls}"
        )
    second = passes[1]
    dns_s = next(r.elapsed_ms for r in second.report.parts if r.part == "dns") / 1000
    rest_s = second.wall_s - dns_s
    batch = max(settings.dns_batch, -(-TENANTS * DOMAINS_PER_TENANT // PASSES_A_DAY))
    full_dns_s = dns_s / batch * DEFAULT_DNS_BATCH
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pages = -(-TENANTS * DOMAINS_PER_TENANT // settings.page_size)
    print()
    print(
        f"server rows read in {pages} pages of {settings.page_size}; DNS batch "
        f"{batch} domains ({settings.dns_workers} at once), {dns_s / batch * 1000:.0f} ms a domain"
    )
    full = rest_s + full_dns_s
    print(
        f"a full pass with the default DNS batch of {DEFAULT_DNS_BATCH} (extrapolated from "
        f"this one's DNS part): {full:.0f} s of the Lambda's {LAMBDA_BUDGET_MS // 1000} s "
        f"({full / (LAMBDA_BUDGET_MS / 1000):.0%}); Python peak of a pass "
        f"{passes[2].peak_mb or 0:.0f} MiB of {LAMBDA_MEMORY_MB} MiB (the whole benchmark "
        f"process, simulators, moto and {TENANTS * DOMAINS_PER_TENANT:,} instances included: "
        f"{rss:.0f} MiB max RSS)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
