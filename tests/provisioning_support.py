"""Driving the provisioning workflow in the local cloud as a tenant would: a tenant with a
delegated domain asks for inboxes over HTTP, the real state machine runs, and the test reads
what every part of the world holds afterwards (the database, the Hostwinds simulator, Route 53,
the Mailu simulator, execution histories)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar
from uuid import UUID, uuid4

import boto3
import httpx

from inboxfleet.db import system_session, tenant_session
from inboxfleet.db.repositories import Domains, Inboxes, InboxEvents, Servers, TenantDirectory
from inboxfleet.kms import decrypt_text
from inboxfleet.records import Inbox, Server
from local.account import REGION
from local.cloud import LocalCloud
from local.hostwinds_sim.account import API_KEY as HOSTWINDS_API_KEY
from local.lambda_faults import LambdaFault
from local.platform_key import platform_key
from local.polling import poll
from local.provisioning_runs import ended, history, machine_arn, sfn
from local.standing import set_standing
from tests.tenant_api_support import call

DEADLINE_S = 60.0


def route53() -> Any:
    return boto3.client("route53", region_name=REGION)


@dataclass
class Tenant:
    cloud: LocalCloud
    id: UUID
    token: str
    # Every tenant made in this process, with the cloud (and database) it lives in: the scans
    # for secrets read the current cloud's.
    made: ClassVar[list[tuple[LocalCloud, UUID]]] = []

    @classmethod
    def entitled(cls, cloud: LocalCloud, max_inboxes: int = 10) -> Tenant:
        with system_session("test.provisioning") as s:
            tenant_id = TenantDirectory(s).create(f"Co {uuid4().hex[:6]}", "ops@co.example").id
        set_standing(tenant_id, "entitled", max_inboxes=max_inboxes)
        cls.made.append((cloud, tenant_id))
        return cls(cloud, tenant_id, cloud.token(tenant_id))

    @classmethod
    def mailbox_passwords(cls, cloud: LocalCloud) -> list[str]:
        """Every mailbox password the workflow has made for the cloud's tenants, decrypted."""
        found = []
        for tenant_id in (t for c, t in cls.made if c is cloud):
            with tenant_session(tenant_id) as s:
                inboxes = Inboxes(s).list()
            for inbox in inboxes:
                if inbox.password_ciphertext is not None:
                    context = {"tenant_id": str(tenant_id), "inbox_id": str(inbox.id)}
                    blob = base64.b64encode(inbox.password_ciphertext).decode()
                    found.append(decrypt_text(blob, context))
        return found

    def __call__(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return call(self.cloud, method, path, self, body)

    def add_domain(self, *, delegate: bool = True) -> str:
        name = f"d{uuid4().hex[:10]}.example"
        answer = self("POST", "/v1/domains", {"name": name})
        assert answer.status_code == 201, answer.text
        if delegate:
            # What the registrar does when the domain's owner sets its name servers.
            servers = answer.json()["delegation"]["name_servers"]
            self.cloud.dns.delegate(name, servers)
            self.cloud.dns.resolver.flush()
        return name

    def ask(self, *addresses: str) -> list[UUID]:
        answer = self("POST", "/v1/inboxes", {"addresses": list(addresses)})
        assert answer.status_code in (201, 202), answer.text
        return [UUID(i["id"]) for i in answer.json()["inboxes"]]

    def inbox(self, inbox_id: UUID) -> Inbox:
        with tenant_session(self.id) as s:
            found = Inboxes(s).get(inbox_id)
        assert found is not None
        return found

    def settled(self, inbox_id: UUID, deadline_s: float = DEADLINE_S) -> Inbox:
        """The inbox once its workflow has ended (active or failed) and its execution too."""

        def settled() -> Inbox | None:
            inbox = self.inbox(inbox_id)
            return inbox if inbox.status in ("active", "failed") else None

        inbox = poll(settled, f"inbox {inbox_id} to settle", deadline_s)
        assert inbox.execution_name is not None
        ended(self.cloud, inbox.execution_name, deadline_s)
        return self.inbox(inbox_id)

    def servers(self) -> list[Server]:
        with tenant_session(self.id) as s:
            return Servers(s).list()

    def timeline(self, inbox_id: UUID) -> list[tuple[str, str]]:
        with tenant_session(self.id) as s:
            return [(e.step, e.outcome) for e in InboxEvents(s).timeline(inbox_id)]

    def domain_status(self, name: str) -> str:
        with tenant_session(self.id) as s:
            (domain,) = [d for d in Domains(s).list() if d.name == name]
        return str(domain.status)


def instances(cloud: LocalCloud, name: str) -> list[dict[str, Any]]:
    """The simulator's instances (not terminated) carrying this server name."""
    return [i for i in cloud.hostwinds.instances() if i["srvrname"] == name]


def zone_records(cloud: LocalCloud, tenant: Tenant, domain: str) -> dict[tuple[str, str], Any]:
    with tenant_session(tenant.id) as s:
        (row,) = [d for d in Domains(s).list() if d.name == domain]
    assert row.hosted_zone_id is not None
    sets = route53().list_resource_record_sets(HostedZoneId=row.hosted_zone_id)
    return {
        (r["Name"], r["Type"]): sorted(v["Value"] for v in r.get("ResourceRecords", []))
        for r in sets["ResourceRecordSets"]
        if r["Type"] not in ("SOA", "NS")
    }


def payloads(events: list[dict[str, Any]]) -> str:
    """Every input and output the history holds, as one text to search: each detail as it
    is, and every string inside the JSON documents among them decoded (a document escapes a
    secret's newlines, so a multi-line key is found only in its decoded form)."""
    texts: list[str] = []
    for event in events:
        for details in event.values():
            if isinstance(details, dict):
                for value in details.values():
                    texts.extend(_strings(value))
    return "\n".join(texts)


def _strings(value: Any) -> list[str]:
    """The value's text, and the strings of the JSON document it holds, if it is one."""
    if isinstance(value, dict):
        return [text for v in value.values() for text in _strings(v)]
    if isinstance(value, list):
        return [text for v in value for text in _strings(v)]
    text = str(value)
    try:
        document = json.loads(text)
    except ValueError:
        return [text]
    return [text, *_strings(document)] if isinstance(document, dict | list) else [text]


def fail_step(
    cloud: LocalCloud,
    function: str,
    action: str,
    *,
    when: Callable[[dict[str, Any]], bool] | None = None,
    error: str = "InjectedFault",
    **options: Any,
) -> None:
    """The next invocation of `function`'s `action` (that `when` also accepts) answers `error`,
    a name no Retry lists: the workflow's Catch takes it."""
    cloud.lambdas.inject(
        LambdaFault(
            function=cloud.function(function).name,
            error=error,
            when=lambda e: e.get("action") == action and (when is None or when(e)),
            message=f"injected at {action}",
            **options,
        )
    )


def until_one_waits(tenant: Tenant, inbox_ids: list[UUID]) -> Callable[[], None]:
    """A fault's `before` hook: holds the builder's step until one of the inboxes (filled in
    once they are asked for) waits for the server being built."""

    def hold() -> None:
        poll(
            lambda: any(("wait_for_server", "started") in tenant.timeline(i) for i in inbox_ids),
            "one inbox to wait for the other's server",
        )

    return hold


def nothing_left(cloud: LocalCloud, tenant: Tenant, domain: str) -> None:
    """No instance at the simulator and none of our records in the zone: what a failed run
    must leave behind (the zone itself and its NS/SOA stay: the domain is still the tenant's)."""
    for server in tenant.servers():
        assert instances(cloud, server.name) == [], server.name
        assert server.status == "decommissioned", server.status
    assert zone_records(cloud, tenant, domain) == {}


def histories_text(cloud: LocalCloud, machines: list[str]) -> str:
    """Every input and output of every execution of these machines so far, as one text."""
    texts = []
    for machine in machines:
        pages = (
            sfn()
            .get_paginator("list_executions")
            .paginate(stateMachineArn=machine_arn(cloud, machine))
        )
        names = [e["name"] for page in pages for e in page["executions"]]
        assert names, machine
        texts += [payloads(history(cloud, name, machine)) for name in names]
    return "".join(texts)


def known_secrets(cloud: LocalCloud) -> list[str]:
    """Every mailbox password made (and changed to) for the tests' tenants, every root password
    Hostwinds handed out, every Mailu secret of a running server, the platform's own keys."""
    roots = cloud.hostwinds.root_passwords()
    mailu = [secret for host in cloud.fleet.hosts.values() for secret in host.mailu_secrets]
    assert mailu
    platform = [HOSTWINDS_API_KEY, cloud.secrets.stripe_api_key, platform_key().private_openssh]
    secrets = Tenant.mailbox_passwords(cloud) + roots + mailu + platform
    assert len(secrets) >= 3
    return secrets


def failed_with_undo_left(cloud: LocalCloud, tenant: Tenant) -> tuple[str, Inbox]:
    """An inbox whose install failed and whose undoing could not finish (Route 53 refuses to
    delete our records, until the faults are cleared): its domain and the settled inbox."""
    domain = tenant.add_domain()
    fail_step(cloud, "MailuInstallerFunction", "install")
    fail_step(cloud, "DnsFunction", "delete", error="ZoneRefused", times=None)
    (inbox_id,) = tenant.ask(f"sales@{domain}")
    return domain, tenant.settled(inbox_id)
