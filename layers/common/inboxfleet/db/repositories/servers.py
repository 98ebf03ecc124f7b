"""A tenant's mail servers (Hostwinds instances)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from inboxfleet.db.repositories.base import TenantTable
from inboxfleet.lifecycles import LIVE_SERVER, SERVER_TRANSITIONS, ServerStatus, predecessors
from inboxfleet.names import server_name
from inboxfleet.records import Server, ServerInUse

_COLUMNS = (
    "tenant_id, id, domain_id, name, location, provider_instance_id, ip, host_key_fingerprint, "
    "status, created_at, ordered_at, ordered_for, ordered_by, failure_reason, updated_at"
)
_LIVE = sorted(LIVE_SERVER)


class Servers(TenantTable[Server]):
    table = "servers"
    columns = _COLUMNS
    record = Server

    def page(self, *, limit: int, after: tuple[datetime, UUID] | None = None) -> list[ServerInUse]:
        """Up to `limit` servers in (created_at, id) order after the keyset `after`, each with
        its domain's name and how many inboxes (not deleted) it holds."""
        keyset = "AND (s.created_at, s.id) > (%s, %s) " if after is not None else ""
        return self._session.fetch_all(
            ServerInUse,
            "SELECT s.id, s.ip, s.location, s.status, s.created_at, d.name AS domain, "
            "  (SELECT count(*) FROM inboxes i WHERE i.tenant_id = s.tenant_id "
            "   AND i.server_id = s.id AND i.status <> 'deleted') AS inboxes "
            "FROM servers s JOIN domains d ON d.tenant_id = s.tenant_id AND d.id = s.domain_id "
            f"WHERE s.tenant_id = %s {keyset}ORDER BY s.created_at, s.id LIMIT %s",
            (self.tenant_id, *(after or ()), limit),
        )

    def pin_host_key(self, server_id: UUID, fingerprint: str) -> Server | None:
        """Store the host key seen on first contact, once: the same fingerprint again is a
        no-op, a different one changes nothing and returns None (the caller raises)."""
        return self._session.fetch_one(
            Server,
            "UPDATE servers SET host_key_fingerprint = %s, updated_at = now() "
            "WHERE tenant_id = %s AND id = %s "
            "AND (host_key_fingerprint IS NULL OR host_key_fingerprint = %s) "
            f"RETURNING {_COLUMNS}",
            (fingerprint, self.tenant_id, server_id, fingerprint),
        )

    def add(
        self,
        domain_id: UUID,
        location: str,
        environment: str,
        server_id: UUID | None = None,
        *,
        ordered_for: UUID | None = None,
        ordered_by: str | None = None,
    ) -> Server:
        """A new server row (`creating`). With `ordered_for` (the inbox whose workflow buys it,
        `ordered_by` that workflow's execution) the order counts as sent from now: written
        before Hostwinds is called, so a retry that never saw the answer looks the name up
        before it buys."""
        server_id = server_id or uuid4()
        row = self._session.fetch_one(
            Server,
            "INSERT INTO servers (tenant_id, id, domain_id, name, location, ordered_for, "
            "ordered_by, ordered_at) VALUES (%s, %s, %s, %s, %s, %s, %s, "
            f"CASE WHEN %s::uuid IS NULL THEN NULL ELSE now() END) RETURNING {_COLUMNS}",
            (
                self.tenant_id,
                server_id,
                domain_id,
                server_name(environment, server_id),
                location,
                ordered_for,
                ordered_by,
                ordered_for,
            ),
        )
        assert row is not None
        return row

    def live_on_domain(self, domain_id: UUID) -> Server | None:
        """The domain's server being built or in service (at most one: a unique index)."""
        return self._session.fetch_one(
            Server,
            f"SELECT {_COLUMNS} FROM servers WHERE tenant_id = %s AND domain_id = %s "
            "AND status = ANY(%s)",
            (self.tenant_id, domain_id, _LIVE),
        )

    def being_given_back(self, domain_id: UUID) -> Server | None:
        """The domain's server whose compensation is still under way (`decommissioning`): its
        records may still be deleted, so no new server's go in beside them yet."""
        return self._session.fetch_one(
            Server,
            f"SELECT {_COLUMNS} FROM servers WHERE tenant_id = %s AND domain_id = %s "
            "AND status = 'decommissioning' ORDER BY updated_at DESC LIMIT 1",
            (self.tenant_id, domain_id),
        )

    def live_per_location(self) -> dict[str, int]:
        """How many of the tenant's servers are being built or in service, per location."""
        counts = self._session.scalar(
            "SELECT coalesce(jsonb_object_agg(location, n), '{}'::jsonb) FROM ("
            "  SELECT location, count(*) AS n FROM servers"
            "  WHERE tenant_id = %s AND status = ANY(%s) GROUP BY location) per_location",
            (self.tenant_id, _LIVE),
        )
        return {str(location): int(n) for location, n in counts.items()}

    def record_instance(self, server_id: UUID, serviceid: int, ip: str) -> Server | None:
        """The Hostwinds instance is ACTIVE with its address: the server is `installing`."""
        return self._session.fetch_one(
            Server,
            "UPDATE servers SET provider_instance_id = %s, ip = %s, updated_at = now(), "
            "status = CASE status WHEN 'creating' THEN 'installing' ELSE status END "
            "WHERE tenant_id = %s AND id = %s AND status IN ('creating', 'installing') "
            f"RETURNING {_COLUMNS}",
            (str(serviceid), ip, self.tenant_id, server_id),
        )

    def record_order(self, server_id: UUID) -> datetime | None:
        """Another order of a server still being created may be sent from now (a create step
        tried again): the time recorded, None when the server is no longer being created."""
        recorded: datetime | None = self._session.scalar(
            "UPDATE servers SET ordered_at = now(), updated_at = now() "
            "WHERE tenant_id = %s AND id = %s AND status = 'creating' RETURNING ordered_at",
            (self.tenant_id, server_id),
        )
        return recorded

    def ordered_by(self, execution: str) -> int:
        """How many servers one workflow execution has ordered (any status)."""
        return int(
            self._session.scalar(
                "SELECT count(*) FROM servers WHERE tenant_id = %s AND ordered_by = %s",
                (self.tenant_id, execution),
            )
        )

    def move(
        self, server_id: UUID, target: ServerStatus, *, failure_reason: str | None = None
    ) -> Server | None:
        """To `target` if the lifecycle allows it from the current status (compare-and-set);
        None when it does not move. `failed` keeps the reason for the inboxes waiting on it."""
        allowed = sorted(predecessors(SERVER_TRANSITIONS, target))
        return self._session.fetch_one(
            Server,
            "UPDATE servers SET status = %s, updated_at = now(), "
            "failure_reason = coalesce(%s, failure_reason) "
            f"WHERE tenant_id = %s AND id = %s AND status = ANY(%s) RETURNING {_COLUMNS}",
            (target, failure_reason, self.tenant_id, server_id, allowed),
        )

    def observe(self, server_id: UUID, *, ip: str | None, provider_status: str) -> Server | None:
        """What reconcile saw of the server's instance at Hostwinds: its address (when it has
        one) and its status. None when nothing differed (or the row is gone)."""
        return self._session.fetch_one(
            Server,
            "UPDATE servers SET ip = coalesce(%(ip)s::inet, ip), "
            "provider_status = %(status)s, provider_status_at = now(), updated_at = now() "
            "WHERE tenant_id = %(tenant)s AND id = %(id)s AND ("
            "  (%(ip)s::inet IS NOT NULL AND ip IS DISTINCT FROM %(ip)s::inet)"
            "  OR coalesce(provider_status, 'ACTIVE') <> %(status)s) "
            f"RETURNING {_COLUMNS}",
            {"ip": ip, "status": provider_status, "tenant": self.tenant_id, "id": server_id},
        )
