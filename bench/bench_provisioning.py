"""Provisioning runs in the local cloud: what one inbox costs in Step Functions transitions and
Lambda invocations, on a new server and on a ready one (the mailbox-only path).

For BENCH_PROVISION_DOMAINS domains (5), one after another: an entitled tenant adds the domain
through the tenant API, the local registrar delegates it, the tenant asks for one inbox (a new
server: the whole saga) and, once it is active, a second (the fast path). Each run's execution
history gives its transitions (states entered) and Lambda tasks (retries included); the local
dispatcher gives the handlers' time. The local cloud runs at BENCH_PROVISION_TIME_SCALE (0.001):
Waits and the simulated VPS and Mailu delays shrink, so wall time here is the machinery's own
(handlers, database, simulators), not AWS's. Printed, not judged: the figures are read from
histories, and a change to the workflow shows here first.

AWS cost per run: transitions x $0.000025 (standard workflows), Lambda requests x $0.20 per
million, and the handlers' GB-seconds (memory from template.yaml) x $0.0000133334 (arm64). The
handlers' time is local time against simulators (a real install waits minutes for apt and
docker), so that part is a floor.

Run: .venv/bin/python -m bench.bench_provisioning
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from uuid import UUID, uuid4

import httpx

from inboxfleet.billing.plans import default_catalogue
from inboxfleet.db import system_session, tenant_session
from inboxfleet.db.repositories import Inboxes, TenantDirectory
from local.cloud import LocalCloud
from local.polling import poll
from local.provisioning_runs import ended, history, lambda_invocations, transitions
from local.standing import set_standing

PLAN = "growth_monthly"
TRANSITION_USD = 0.000025
REQUEST_USD = 0.20 / 1_000_000
GB_SECOND_USD = 0.0000133334


@dataclass(frozen=True)
class Run:
    path: str
    wall_s: float
    transitions: int
    invocations: int
    gb_s: float

    @property
    def usd(self) -> float:
        return (
            self.transitions * TRANSITION_USD
            + self.invocations * REQUEST_USD
            + self.gb_s * GB_SECOND_USD
        )


def provision(
    cloud: LocalCloud, api: httpx.Client, tenant_id: UUID, address: str, path: str
) -> Run:
    before = len(cloud.lambdas.invocations)
    started = time.perf_counter()
    answer = api.post("/v1/inboxes", json={"addresses": [address]})
    answer.raise_for_status()
    inbox_id = UUID(answer.json()["inboxes"][0]["id"])

    def settled() -> str | None:
        with tenant_session(tenant_id) as s:
            inbox = Inboxes(s).get(inbox_id)
        done = inbox is not None and inbox.status in ("active", "failed")
        return inbox.execution_name if done and inbox is not None else None

    name = poll(settled, f"{address} to settle", 120)
    if ended(cloud, name)["status"] != "SUCCEEDED":
        raise RuntimeError(f"{address}: the run did not succeed")
    wall = time.perf_counter() - started
    events = history(cloud, name)
    handled = cloud.lambdas.invocations[before:]
    gb_s = sum(i.duration_s * i.memory_mb / 1024 for i in handled)
    return Run(path, wall, transitions(events), lambda_invocations(events), gb_s)


def main() -> int:
    domains = int(os.environ.get("BENCH_PROVISION_DOMAINS", "5"))
    scale = float(os.environ.get("BENCH_PROVISION_TIME_SCALE", "0.001"))
    runs: list[Run] = []
    with LocalCloud(time_scale=scale, event_sources=False, log_level="ERROR") as cloud:
        with system_session("bench.provisioning") as s:
            tenant_id = TenantDirectory(s).create("Bench Co", "ops@bench.example").id
        set_standing(
            tenant_id, "entitled", plan=PLAN, limits=default_catalogue().limits([(PLAN, 1)])
        )
        headers = {"Authorization": f"Bearer {cloud.token(tenant_id)}"}
        with httpx.Client(base_url=cloud.api_url, headers=headers, timeout=30) as api:
            for _ in range(domains):
                name = f"b{uuid4().hex[:10]}.example"
                added = api.post("/v1/domains", json={"name": name})
                added.raise_for_status()
                cloud.dns.delegate(name, added.json()["delegation"]["name_servers"])
                cloud.dns.resolver.flush()
                runs.append(provision(cloud, api, tenant_id, f"one@{name}", "new server"))
                runs.append(provision(cloud, api, tenant_id, f"two@{name}", "existing server"))
    print(f"provisioning runs in the local cloud (time scale {scale}, {domains} domains)")
    header = (
        f"{'path':<16} {'runs':>4} {'wall s':>7} {'transitions':>11} {'Lambda calls':>12} "
        f"{'handler GB-s':>12} {'AWS $ / inbox':>13}"
    )
    print(header)
    print("-" * len(header))
    for path in ("new server", "existing server"):
        of = [r for r in runs if r.path == path]
        print(
            f"{path:<16} {len(of):>4} {statistics.median(r.wall_s for r in of):>7.2f} "
            f"{statistics.median(r.transitions for r in of):>11.0f} "
            f"{statistics.median(r.invocations for r in of):>12.0f} "
            f"{statistics.median(r.gb_s for r in of):>12.3f} "
            f"{statistics.median(r.usd for r in of):>13.6f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
