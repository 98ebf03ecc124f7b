"""Running reconcile passes in the local cloud and reading their drift reports."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from inboxfleet.db import tenant_session
from inboxfleet.db.repositories import Servers
from inboxfleet.lifecycles import ServerStatus
from inboxfleet.names import server_name
from local.account import ENVIRONMENT
from local.cloud import LocalCloud

FUNCTION = "ReconcileFunction"
SCHEDULE = f"inboxfleet-{ENVIRONMENT}-reconcile"


def reconcile(cloud: LocalCloud, **event: Any) -> dict[str, Any]:
    """One pass, invoked as Lambda's Invoke API does; its drift report."""
    result = cloud.invoke(FUNCTION, event)
    assert result.ok, result.payload
    report: dict[str, Any] = result.payload
    return report


def part(report: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [p for p in report["parts"] if p["part"] == name]
    (one,) = found
    return one


def items(report: dict[str, Any], kind: str, **match: Any) -> list[dict[str, Any]]:
    """The report's items of one kind of drift whose fields equal `match` (ids as text)."""
    wanted = {k: str(v) if isinstance(v, UUID) else v for k, v in match.items()}
    return [
        item
        for p in report["parts"]
        for item in p["drift"].get(kind, {}).get("items", [])
        if all(item.get(k) == v for k, v in wanted.items())
    ]


def counts(report: dict[str, Any], kind: str) -> tuple[int, int]:
    """(found, repaired) of one kind of drift."""
    for p in report["parts"]:
        if kind in p["drift"]:
            return p["drift"][kind]["found"], p["drift"][kind]["repaired"]
    return 0, 0


def server_row(tenant_id: UUID, domain_id: UUID, status: ServerStatus) -> tuple[UUID, str]:
    """A server row of this environment moved to `status` through its lifecycle; its id and
    its Hostwinds name."""
    server_id = uuid4()
    path = {
        ServerStatus.FAILED: [ServerStatus.FAILED],
        ServerStatus.DECOMMISSIONING: [ServerStatus.DECOMMISSIONING],
        ServerStatus.DECOMMISSIONED: [ServerStatus.DECOMMISSIONING, ServerStatus.DECOMMISSIONED],
        ServerStatus.CREATING: [],
    }[status]
    with tenant_session(tenant_id) as s:
        servers = Servers(s)
        servers.add(domain_id, "seattle", ENVIRONMENT, server_id)
        for step in path:
            assert servers.move(server_id, step) is not None
    return server_id, server_name(ENVIRONMENT, server_id)


def listed(cloud: LocalCloud) -> dict[str, list[int]]:
    """The Hostwinds account's instances by name: their serviceids."""
    found: dict[str, list[int]] = {}
    for instance in cloud.hostwinds.instances():
        found.setdefault(str(instance["srvrname"]), []).append(int(str(instance["serviceid"])))
    return found
