"""`make demo`: the local cloud's main job, for real, step by step.

Until the provisioning workflow lands this runs what exists, on the local cloud (local.cloud:
template.yaml deployed into moto, an embedded PostgreSQL server, the simulators, the HTTP API):
the migrations, two tenants, the inventory Lambda invoked with the files in events/ through
Lambda's Invoke API, the database refusing every attempt to cross from one tenant to the other,
and a tenant paying through (simulated) Stripe, the signed webhook reaching the HTTP API, and the
billing Lambda releasing its inbox.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from inboxfleet.db import system_session, tenant_session
from inboxfleet.db.connection import app_conninfo, resolve_flavor
from inboxfleet.db.migrator import migrate
from inboxfleet.db.repositories import Domains, Inboxes, InboxEvents, Servers, TenantDirectory
from inboxfleet.observability import logger
from local.billing_demo import demo_billing
from local.cloud import LocalCloud
from local.samples import SAMPLE_TENANT_NAME, seed_sample

REPO = Path(__file__).resolve().parent.parent
EVENTS = REPO / "events" / "InventoryFunction"


def step(number: int, title: str) -> None:
    print(f"\n[{number}/7] {title}", flush=True)


def say(line: str) -> None:
    print(f"      {line}", flush=True)


def run() -> None:
    print("inboxfleet local demo - everything below really happens, on this machine")
    # The functions' JSON logs and EMF metrics are for CloudWatch; here they would bury the story.
    logger.setLevel("ERROR")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    # Billing events are delivered one step at a time (no background poller): the story's order.
    with LocalCloud(event_sources=False, log_level="ERROR") as cloud:
        owner_url = cloud.database_url
        step(1, "PostgreSQL, and template.yaml deployed into the local cloud")
        with psycopg.connect(owner_url) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        say(f"server {version[0] if version else '?'} is up; scratch database created")
        if socket := conninfo_to_dict(owner_url).get("host"):
            say(f"socket {socket}")
        say(f"functions: {', '.join(cloud.functions)}; HTTP API at {cloud.api_url}")

        step(2, "Migrations")
        first = cloud.migration
        again = migrate(owner_url, resolve_flavor("auto", owner_url))
        say(f"applied {', '.join(first.applied)} -> schema version {first.current_version}")
        say(f"second run applied {len(again.applied)} files (idempotent)")

        demo_tenants(cloud)
    print("\nthe local cloud stopped, its database folder removed: nothing left running.")


def demo_tenants(cloud: LocalCloud) -> None:
    owner_url = cloud.database_url
    step(3, "Tenants (system session: the only place a tenant is created)")
    acme = seed_sample()
    with system_session("demo.signup") as s:
        globex = TenantDirectory(s).create("Globex Mail", "billing@globex.example")
    say(f"{SAMPLE_TENANT_NAME:<14} {acme.tenant_id}")
    say(f"{'Globex Mail':<14} {globex.id}")

    step(4, "Each tenant's rows, written in its own tenant session")
    with tenant_session(globex.id) as s:
        domain = Domains(s).add("globex-mail.example")
        server = Servers(s).add(domain.id, "amsterdam", "local")
        globex_inbox = Inboxes(s).add(domain.id, "hello@globex-mail.example", server_id=server.id)
        InboxEvents(s).append(globex_inbox.id, "request", "info", {"source": "demo"})
    say(f"Acme:   {acme.inbox.address} ({acme.inbox.status})")
    say(f"Globex: {globex_inbox.address} on server {server.name} ({globex_inbox.status})")

    step(5, "The inventory Lambda, invoked with the files in events/InventoryFunction/")
    for name in ("transition_inbox", "record_step", "describe_inbox"):
        result = cloud.invoke("InventoryFunction", load_event(name))
        say(f"{name}.json -> {summarise(name, result.payload)}")

    step(6, "Isolation, enforced by PostgreSQL row-level security")
    with tenant_session(acme.tenant_id) as s:
        visible = [i.address for i in Inboxes(s).list()]
        say(f"Acme's session lists inboxes: {visible}")
        say(f"Acme's session looks up Globex's inbox by id: {Inboxes(s).get(globex_inbox.id)}")
        touched = s.execute("UPDATE inboxes SET attempt = 99 WHERE id = %s", (globex_inbox.id,))
        say(f"Acme's session updates Globex's inbox: {touched} rows touched")
    try:
        with tenant_session(acme.tenant_id) as s:
            s.execute(
                "INSERT INTO domains (tenant_id, name) VALUES (%s, 'stolen.example')", (globex.id,)
            )
    except psycopg.errors.InsufficientPrivilege as exc:
        say(f"Acme's session inserts a Globex row: refused ({str(exc).strip()})")
    with psycopg.connect(app_conninfo(owner_url)) as raw:
        count = raw.execute("SELECT count(*) FROM inboxes").fetchone()
    say(f"the app role with no tenant context counts inboxes: {count[0] if count else '?'}")

    step(7, "Billing: Stripe Checkout, the signed webhook, the FIFO queue, the billing worker")
    demo_billing(cloud, globex.id, say)


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


def summarise(name: str, result: dict[str, Any]) -> str:
    if name == "describe_inbox":
        steps = [f"{e['step']}:{e['outcome']}" for e in result["timeline"]]
        return f"status {result['inbox']['status']}, timeline {steps}"
    if name == "record_step":
        return f"recorded {result['event']['step']}:{result['event']['outcome']}"
    return f"status {result['inbox']['status']} (changed: {result['changed']})"


def main() -> int:
    try:
        run()
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
