"""Hostwinds client against the simulator over real HTTP on loopback.

1. Listing: page through 20,000 instances with the real client (pydantic parsing included);
   target <= 2 s on this machine. Median of 5 runs.
2. Creation: 50 servers ordered concurrently (threads, one shared client) with the idempotent
   find-or-create, then polled until ACTIVE with an IP; the simulator activates each instance a
   fixed delay after its order. Reports per-server order latency and order-to-active time,
   total wall time, and checks exactly one add_instance per server.

Run: .venv/bin/python -m bench.bench_hostwinds
"""

from __future__ import annotations

import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

from inboxfleet.hostwinds.client import HostwindsClient
from inboxfleet.hostwinds.instances import InstanceOrder, ensure_instance, find_by_name
from inboxfleet.names import server_name
from inboxfleet.settings import HostwindsSettings
from local.hostwinds_sim import HostwindsSimulator
from local.hostwinds_sim.account import API_KEY, IMAGE, PLAN, SSH_KEY_NAME
from local.platform_key import platform_key

LIST_SIZE = 20_000
LIST_RUNS = 5
CREATIONS = 50
ACTIVATION_DELAY_S = 0.5
POLL_INTERVAL_S = 0.05


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_listing() -> list[str]:
    with HostwindsSimulator(api_keys={API_KEY}) as sim:
        for location in (1, 2, 3):
            share = LIST_SIZE // 3 + (1 if location <= LIST_SIZE % 3 else 0)
            sim.seed_instances(share, location_id=location)
        with HostwindsClient(lambda: API_KEY, url=sim.url) as client:
            runs = []
            for _ in range(LIST_RUNS):
                started = time.perf_counter()
                count = sum(1 for _ in client.iter_instances())
                runs.append(time.perf_counter() - started)
        pages = sum(1 for r in sim.requests if r.action == "get_instances") // LIST_RUNS
    median = statistics.median(runs)
    verdict = "ok" if median <= 2.0 else "OVER TARGET"
    return [
        f"{'list instances':<28}{count:>10,}{pages:>8}{min(runs):>10.3f}{median:>10.3f}"
        f"{max(runs):>10.3f}{count / median:>12,.0f}  {verdict} (target <= 2 s)",
    ]


def bench_creation() -> list[str]:
    with (
        HostwindsSimulator(
            api_keys={API_KEY},
            activation_delay_s=ACTIVATION_DELAY_S,
            ssh_keys={SSH_KEY_NAME: platform_key().public_openssh},
        ) as sim,
        HostwindsClient(lambda: API_KEY, url=sim.url) as client,
    ):

        def one(index: int) -> tuple[float, float]:
            wanted = InstanceOrder(
                name=server_name("bench", uuid4()),
                location_id=1 + index % 3,
                template=IMAGE,
                rid=PLAN,
                ssh_key_names=[SSH_KEY_NAME],
            )
            started = time.perf_counter()
            ensure_instance(client, wanted, grace=HostwindsSettings().order_grace)
            ordered = time.perf_counter() - started
            while True:
                found = find_by_name(client, wanted.name)
                if found is not None and found.ready:
                    return ordered, time.perf_counter() - started
                time.sleep(POLL_INTERVAL_S)  # a benchmark's poll interval, as the ASL Wait

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=CREATIONS) as pool:
            results = list(pool.map(one, range(CREATIONS)))
        wall = time.perf_counter() - started
        orders = sum(1 for r in sim.requests if r.action == "add_instance")
        total_requests = len(sim.requests)
    order_ms = [o * 1000 for o, _ in results]
    active_s = [a for _, a in results]
    return [
        f"{'order (find-or-create)':<28}{CREATIONS:>10}{'':>8}{min(order_ms) / 1000:>10.3f}"
        f"{statistics.median(order_ms) / 1000:>10.3f}{percentile(order_ms, 0.99) / 1000:>10.3f}",
        f"{'order -> ACTIVE with IP':<28}{CREATIONS:>10}{'':>8}{min(active_s):>10.3f}"
        f"{statistics.median(active_s):>10.3f}{percentile(active_s, 0.99):>10.3f}",
        f"{'all 50 active (wall)':<28}{CREATIONS:>10}{'':>8}{'':>10}{wall:>10.3f}",
        f"add_instance calls: {orders} for {CREATIONS} servers "
        f"({'exactly one each' if orders == CREATIONS else 'DUPLICATES'}); "
        f"{total_requests} API requests in all; activation delay {ACTIVATION_DELAY_S} s, "
        f"poll every {POLL_INTERVAL_S} s",
    ]


def main() -> int:
    header = f"{'what':<28}{'count':>10}{'pages':>8}{'min s':>10}{'median s':>10}{'max/p99 s':>10}"
    print("Hostwinds client vs simulator (real HTTP on loopback)")
    print(header + f"{'items/s':>12}")
    print("-" * 100)
    lines = bench_listing() + bench_creation()
    for line in lines:
        print(line)
    print("-" * 100)
    print("list: median of 5 full listings (20 pages of 1,000); creation: 50 threads, one client")
    # A duplicate order or a missed target is a failed run, not just a line in the table.
    return 1 if any("DUPLICATES" in line or "OVER TARGET" in line for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
