"""Driving the saga's inventory steps as the ASL does, against the real database: one tenant with
one delegated domain (tests/integration/test_saga_inventory.py, test_teardown_inventory.py)."""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

from inboxfleet.db import Database, tenant_session
from inboxfleet.db.repositories import Domains, Inboxes, InboxEvents, Servers
from inboxfleet.inventory.commands import (
    CompensationPlan,
    InboxTransitioned,
    Reserved,
    parse_command,
)
from inboxfleet.inventory.service import InventoryDeps, handle
from inboxfleet.lifecycles import InboxStatus, ServerStatus
from inboxfleet.names import execution_name
from inboxfleet.records import Inbox, Server
from local.standing import set_standing
from tests.factories import new_tenant


def _encrypt(tenant_id: UUID, inbox_id: UUID, password: str) -> str:
    # KMS is not what these tests are about: a reversible stand-in keeps the shape.
    return base64.b64encode(f"{tenant_id}:{inbox_id}:{password}".encode()).decode()


class Saga:
    """One tenant with one delegated domain, driving inventory commands as the ASL does."""

    def __init__(self, database: Database, max_inboxes: int = 10) -> None:
        self.deps = InventoryDeps(database=database, environment="test", encrypt=_encrypt)
        self.tenant_id = new_tenant("saga")
        set_standing(self.tenant_id, "entitled", max_inboxes)
        with tenant_session(self.tenant_id) as s:
            domains = Domains(s)
            domain = domains.add(f"saga-{self.tenant_id.hex[:8]}.example")
            domains.record_delegation(domain.id, delegated=True, found=[])
        self.domain_id = domain.id
        self.name = domain.name

    def ask(self, local: str) -> Inbox:
        with tenant_session(self.tenant_id) as s:
            (inbox,) = Inboxes(s).request(
                [(self.domain_id, f"{local}@{self.name}")], InboxStatus.QUEUED, why="test"
            )
        return inbox

    def run(self, action: str, inbox: Inbox, **fields: Any) -> Any:
        command = {"action": action, "tenant_id": str(self.tenant_id), "inbox_id": str(inbox.id)}
        return handle(parse_command(command | fields), self.deps)

    def execution(self, inbox: Inbox) -> str:
        current = self.inbox(inbox.id)
        return execution_name(current.id, current.attempt)

    def reserve(self, inbox: Inbox) -> Reserved:
        result = self.run("reserve", inbox, execution=self.execution(inbox))
        assert isinstance(result, Reserved)
        return result

    def created(self, inbox: Inbox, server: Server, serviceid: int, ip: str) -> None:
        self.run("server_created", inbox, server_id=str(server.id), serviceid=serviceid, ip=ip)

    def ready(self, inbox: Inbox, server: Server) -> None:
        with tenant_session(self.tenant_id) as s:
            Servers(s).move(server.id, ServerStatus.INSTALLING)
        self.run("server_ready", inbox, server_id=str(server.id), records=9)

    def plan(self, inbox: Inbox, execution: str | None = None) -> CompensationPlan:
        failure = {"Error": "MailuNotHealthy", "Cause": "not healthy"}
        ran = execution or self.execution(inbox)
        result = self.run("plan_compensation", inbox, execution=ran, failure=failure)
        assert isinstance(result, CompensationPlan)
        return result

    def finish(self, inbox: Inbox, plan: CompensationPlan, **fields: Any) -> InboxTransitioned:
        result = self.run(
            "finish_compensation",
            inbox,
            execution=plan.execution,
            reason=plan.reason,
            server_id=str(plan.server_id) if plan.server_id else None,
            **({"terminated": plan.terminate} | fields),
        )
        assert isinstance(result, InboxTransitioned)
        return result

    def inbox(self, inbox_id: UUID) -> Inbox:
        with tenant_session(self.tenant_id) as s:
            found = Inboxes(s).get(inbox_id)
        assert found is not None
        return found

    def server(self, server_id: UUID) -> Server:
        with tenant_session(self.tenant_id) as s:
            found = Servers(s).get(server_id)
        assert found is not None
        return found

    def timeline(self, inbox: Inbox) -> list[tuple[str, str, dict[str, Any]]]:
        with tenant_session(self.tenant_id) as s:
            return [(e.step, e.outcome, e.detail) for e in InboxEvents(s).timeline(inbox.id)]

    def age_server(self, server_id: UUID, hours: float, column: str = "updated_at") -> None:
        assert column in ("updated_at", "created_at", "ordered_at")
        with tenant_session(self.tenant_id) as s:
            s.execute(
                f"UPDATE servers SET {column} = now() - make_interval(secs => %s) "
                "WHERE tenant_id = %s AND id = %s",
                (hours * 3600, self.tenant_id, server_id),
            )
