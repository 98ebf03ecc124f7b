"""A fleet provisioned and torn down in the local cloud: what each inbox costs in Step Functions
transitions, Lambda invocations and dollars, on a new server and on its domain's existing one,
and what deleting them takes.

BENCH_FLEET_DOMAINS domains (10), BENCH_FLEET_PER_DOMAIN inboxes each (2): an entitled tenant
adds and delegates every domain through the tenant API, then asks for all the inboxes at once
(one request per domain, sent together). Per domain one inbox orders the server (the whole
saga) and the others wait for it and take the mailbox-only path. Once every inbox is active,
all are deleted at once (DELETE /v1/inboxes/{id}, the teardown workflow) and the benchmark
checks that no instance and none of our records are left. Each run's transitions, Lambda calls
and price come from its execution history (inboxfleet.provisioning.costs); the month's share of
the VPS (the simulator's plan price) and of the hosted zone is per inbox.

The local cloud runs at BENCH_FLEET_TIME_SCALE (0.001): Waits and the simulated VPS and Mailu
delays shrink, so wall time is the machinery's own (handlers, database, simulators), not AWS's,
and handler GB-seconds are a floor (a real install waits minutes for apt and docker).

Run: .venv/bin/python -m bench.bench_provisioning
"""

from __future__ import annotations

import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from uuid import UUID, uuid4

import httpx

from inboxfleet.billing.plans import default_catalogue
from inboxfleet.db import system_session, tenant_session
from inboxfleet.db.repositories import Domains, Inboxes, Servers, TenantDirectory
from inboxfleet.provisioning.costs import ExecutionCost, inbox_cost
from local.cloud import LocalCloud
from local.hostwinds_sim.account import PLAN
from local.hostwinds_sim.catalogue import plan_price
from local.polling import poll
from local.provisioning_runs import (
    TEARDOWN,
    ended,
    record_sets_beyond_the_zones_own,
    run_cost,
)
from local.standing import set_standing

BILLING_PLAN = "growth_monthly"
HTTP_TIMEOUT_S = 60


@dataclass(frozen=True)
class Run:
    path: str  # new server, existing server, teardown (last inbox), teardown (mailbox)
    cost: ExecutionCost
    month_usd: float = 0.0


def _tenant(cloud: LocalCloud, inboxes: int) -> UUID:
    with system_session("bench.fleet") as s:
        tenant_id = TenantDirectory(s).create("Fleet Co", "ops@fleet.example").id
    limits = (
        default_catalogue()
        .limits([(BILLING_PLAN, 1)])
        .model_copy(update={"max_inboxes": inboxes, "max_domains": inboxes})
    )
    set_standing(tenant_id, "entitled", plan=BILLING_PLAN, limits=limits)
    return tenant_id


def _statuses(tenant_id: UUID) -> dict[UUID, str]:
    with tenant_session(tenant_id) as s:
        return {i.id: str(i.status) for i in Inboxes(s).list()}


def _wait_all(tenant_id: UUID, wanted: set[str], what: str, deadline_s: float) -> None:
    def done() -> bool:
        return all(status in wanted for status in _statuses(tenant_id).values())

    poll(done, what, deadline_s)


@dataclass(frozen=True)
class Fleet:
    domains: int
    per_domain: int
    scale: float

    @property
    def inboxes(self) -> int:
        return self.domains * self.per_domain


def main() -> int:
    fleet = Fleet(
        domains=int(os.environ.get("BENCH_FLEET_DOMAINS", "10")),
        per_domain=int(os.environ.get("BENCH_FLEET_PER_DOMAIN", "2")),
        scale=float(os.environ.get("BENCH_FLEET_TIME_SCALE", "0.001")),
    )
    with LocalCloud(time_scale=fleet.scale, event_sources=False, log_level="ERROR") as cloud:
        tenant_id = _tenant(cloud, fleet.inboxes)
        headers = {"Authorization": f"Bearer {cloud.token(tenant_id)}"}
        with httpx.Client(base_url=cloud.api_url, headers=headers, timeout=HTTP_TIMEOUT_S) as api:
            names = _domains(cloud, api, fleet.domains)
            asked, provision_wall, runs = _provision(cloud, api, tenant_id, names, fleet)
            teardown_wall, teardowns = _tear_down(cloud, api, tenant_id, asked)
        left = _leftovers(cloud, tenant_id)
    print(
        f"a fleet in the local cloud: {fleet.inboxes} inboxes on {fleet.domains} domains, asked "
        f"for at once, then deleted at once (time scale {fleet.scale})"
    )
    print(f"provisioned in {provision_wall:.1f} s wall, torn down in {teardown_wall:.1f} s wall")
    _print(runs + teardowns)
    print(f"left afterwards: {left[0]} instances, {left[1]} record sets in the tenant's zones")
    return 0 if left == (0, 0) else 1


def _domains(cloud: LocalCloud, api: httpx.Client, count: int) -> list[str]:
    """Domains added through the API and delegated (what each registrar would do)."""
    names = [f"f{uuid4().hex[:10]}.example" for _ in range(count)]
    for name in names:
        added = api.post("/v1/domains", json={"name": name})
        added.raise_for_status()
        cloud.dns.delegate(name, added.json()["delegation"]["name_servers"])
    cloud.dns.resolver.flush()
    return names


def _provision(
    cloud: LocalCloud, api: httpx.Client, tenant_id: UUID, names: list[str], fleet: Fleet
) -> tuple[list[UUID], float, list[Run]]:
    """Every inbox asked for at once; the wall time until all are active, and each run."""

    def ask(name: str) -> list[str]:
        body = {"addresses": [f"i{n}@{name}" for n in range(fleet.per_domain)]}
        answer = api.post("/v1/inboxes", json=body)
        answer.raise_for_status()
        return [i["id"] for i in answer.json()["inboxes"]]

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        asked = [UUID(i) for ids in pool.map(ask, names) for i in ids]
    _wait_all(tenant_id, {"active", "failed"}, "every inbox to settle", 600)
    wall = time.perf_counter() - started
    failed = sorted(str(i) for i, status in _statuses(tenant_id).items() if status != "active")
    if failed:
        raise RuntimeError(f"inboxes failed: {failed}")
    vps_month = plan_price(PLAN)
    runs = []
    with tenant_session(tenant_id) as s:
        inboxes = Inboxes(s).list()
    for inbox in inboxes:
        assert inbox.execution_name is not None
        ended(cloud, inbox.execution_name)
        cost = run_cost(cloud, inbox.execution_name)
        month = inbox_cost(cost, vps_month, fleet.per_domain).month_usd
        runs.append(Run("new server" if _bought(cost) else "existing server", cost, month))
    return asked, wall, runs


def _tear_down(
    cloud: LocalCloud, api: httpx.Client, tenant_id: UUID, asked: list[UUID]
) -> tuple[float, list[Run]]:
    """Every inbox deleted at once; the wall time until all are deleted, and each teardown."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda i: api.delete(f"/v1/inboxes/{i}"), asked))
    if any(a.status_code != 202 for a in answers):
        raise RuntimeError("a DELETE was refused")
    _wait_all(tenant_id, {"deleted"}, "every inbox to be deleted", 600)
    wall = time.perf_counter() - started
    runs = []
    for inbox_id in asked:
        name = f"{inbox_id}-delete"
        ended(cloud, name, machine=TEARDOWN)
        cost = run_cost(cloud, name, machine=TEARDOWN)
        runs.append(Run("teardown, server" if _bought(cost) else "teardown, mailbox", cost))
    return wall, runs


def _bought(cost: ExecutionCost) -> bool:
    """Whether the run called Hostwinds (ordered a server, or gave one back)."""
    return any(i.function.endswith("HostwindsFunction") for i in cost.invocations)


def _leftovers(cloud: LocalCloud, tenant_id: UUID) -> tuple[int, int]:
    """Instances still at the simulator, and record sets of ours left in the tenant's zones."""
    with tenant_session(tenant_id) as s:
        servers = Servers(s).list()
        zones = [d.hosted_zone_id for d in Domains(s).list() if d.hosted_zone_id]
    names = {server.name for server in servers}
    instances = [i for i in cloud.hostwinds.instances() if i["srvrname"] in names]
    return len(instances), sum(record_sets_beyond_the_zones_own(zone) for zone in zones)


def _print(runs: list[Run]) -> None:
    header = (
        f"{'run (per inbox)':<18} {'runs':>4} {'transitions':>11} {'Lambda calls':>12} "
        f"{'handler GB-s':>12} {'AWS $ once':>10} {'VPS+zone $/month':>16}"
    )
    print(header)
    print("-" * len(header))
    for path in ("new server", "existing server", "teardown, server", "teardown, mailbox"):
        of = [r for r in runs if r.path == path]
        if not of:
            continue
        print(
            f"{path:<18} {len(of):>4} "
            f"{statistics.median(r.cost.transitions for r in of):>11.0f} "
            f"{statistics.median(r.cost.lambda_calls for r in of):>12.0f} "
            f"{statistics.median(r.cost.gb_seconds for r in of):>12.3f} "
            f"{statistics.median(r.cost.usd for r in of):>10.6f} "
            f"{statistics.median(r.month_usd for r in of):>16.2f}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
