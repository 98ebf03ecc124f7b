"""What reconcile reads across tenants (one query per kind of work, paged by key), the instances
it found with no row, and the lease that keeps two passes apart. Writes to tenant rows happen
elsewhere, in each tenant's own session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from ipaddress import IPv4Address, IPv6Address
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict

from inboxfleet.db.repositories.base import SystemRepository
from inboxfleet.db.repositories.mailbox_states import DRIFT
from inboxfleet.lifecycles import InboxStatus, ServerStatus

# A keyset over (tenant_id, id): where the next page starts.
After = tuple[UUID, UUID] | None


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True)


class ServerRow(_Row):
    """A server as reconcile compares it with Hostwinds."""

    tenant_id: UUID
    id: UUID
    domain_id: UUID
    name: str
    status: ServerStatus
    provider_instance_id: str | None
    ip: IPv4Address | IPv6Address | None
    provider_status: str | None
    failure_reason: str | None
    updated_at: datetime


class WorkRow(_Row):
    """An inbox whose workflow may be lost or stuck."""

    tenant_id: UUID
    id: UUID
    attempt: int
    execution_name: str | None
    failure_reason: str | None
    updated_at: datetime


class TenantInbox(_Row):
    tenant_id: UUID
    id: UUID


class RowlessInstance(_Row):
    serviceid: int
    name: str
    first_seen: datetime


class Estate(SystemRepository):
    """Cross-tenant reads, each one statement per page."""

    def servers(self, prefix: str, *, after: str | None, limit: int) -> list[ServerRow]:
        """This environment's servers (names `prefix`...) of every status, in name order."""
        return self._session.fetch_all(
            ServerRow,
            "SELECT tenant_id, id, domain_id, name, status, provider_instance_id, ip, "
            "provider_status, failure_reason, updated_at FROM servers "
            "WHERE name LIKE %s AND name > %s ORDER BY name LIMIT %s",
            (_like_prefix(prefix), after or "", limit),
        )

    def stale_inboxes(
        self, status: InboxStatus, *, before: datetime, after: After, limit: int
    ) -> list[WorkRow]:
        """Inboxes in `status` unchanged since before `before`."""
        return self._session.fetch_all(
            WorkRow,
            "SELECT tenant_id, id, attempt, execution_name, failure_reason, updated_at "
            "FROM inboxes WHERE status = %s AND updated_at < %s AND (tenant_id, id) > (%s, %s) "
            "ORDER BY tenant_id, id LIMIT %s",
            (status, before, *_keyset(after), limit),
        )

    def unfinished_undos(self, *, before: datetime, after: After, limit: int) -> list[WorkRow]:
        """Failed inboxes whose run's undoing ended incomplete (its last `compensate` entry
        failed, leaving work for the compensation entry), unchanged since before `before`."""
        return self._session.fetch_all(
            WorkRow,
            "SELECT i.tenant_id, i.id, i.attempt, i.execution_name, i.failure_reason, "
            "i.updated_at FROM inboxes i "
            # The last undoing of the inbox's current run: an earlier attempt's says nothing.
            "JOIN LATERAL (SELECT e.outcome FROM inbox_events e WHERE e.tenant_id = i.tenant_id"
            "  AND e.inbox_id = i.id AND e.step = 'compensate'"
            "  AND e.outcome IN ('succeeded', 'failed')"
            "  AND e.detail->>'execution' = i.execution_name"
            "  ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1) last ON last.outcome = 'failed' "
            "WHERE i.status = 'failed' AND i.updated_at < %s AND (i.tenant_id, i.id) > (%s, %s) "
            "ORDER BY i.tenant_id, i.id LIMIT %s",
            (before, *_keyset(after), limit),
        )

    def drifted_mailboxes(self, *, before: datetime, after: After, limit: int) -> list[TenantInbox]:
        """Inboxes whose mailbox differs from what is wanted, no run holding their lease, and
        unchanged since before `before` (a run just started has taken it)."""
        return self._session.fetch_all(
            TenantInbox,
            f"SELECT i.tenant_id, i.id FROM inboxes i WHERE {DRIFT} "
            "AND (i.mailbox_lease IS NULL OR i.mailbox_lease_until < now()) "
            "AND i.updated_at < %s AND (i.tenant_id, i.id) > (%s, %s) "
            "ORDER BY i.tenant_id, i.id LIMIT %s",
            (before, *_keyset(after), limit),
        )

    def domains_to_recheck(self, *, limit: int) -> list[DomainToRecheck]:
        """The next batch of domains in service to verify again: those checked longest ago
        (never checked first)."""
        return self._session.fetch_all(
            DomainToRecheck,
            "SELECT d.tenant_id, d.id, d.name, d.status, d.hosted_zone_id, d.name_servers, "
            "d.published, s.ip AS server_ip "
            "FROM domains d JOIN servers s ON s.tenant_id = d.tenant_id AND s.domain_id = d.id "
            "  AND s.status IN ('ready', 'suspended') AND s.ip IS NOT NULL "
            "WHERE d.status IN ('verified', 'degraded') AND d.published IS NOT NULL "
            "AND d.hosted_zone_id IS NOT NULL "
            "ORDER BY d.dns_checked_at NULLS FIRST, d.tenant_id, d.id LIMIT %s",
            (limit,),
        )

    def domains_in_service(self) -> int:
        """How many domains the DNS re-verification rotates through."""
        return int(
            self._session.scalar(
                "SELECT count(*) FROM domains WHERE status IN ('verified', 'degraded') "
                "AND published IS NOT NULL AND hosted_zone_id IS NOT NULL"
            )
        )

    def server_named(self, name: str) -> bool:
        return bool(
            self._session.scalar("SELECT EXISTS (SELECT 1 FROM servers WHERE name = %s)", (name,))
        )

    def tenants_with_expired_idempotency(
        self, now_s: int, *, after: UUID | None, limit: int
    ) -> list[UUID]:
        ids: list[UUID] = self._session.column(
            "SELECT DISTINCT tenant_id FROM idempotency_records WHERE expires_at < %s "
            "AND tenant_id > %s ORDER BY tenant_id LIMIT %s",
            (now_s, after or UUID(int=0), limit),
        )
        return ids


class DomainToRecheck(_Row):
    """A domain in service, with what its records were published from and the address of
    its server now."""

    tenant_id: UUID
    id: UUID
    name: str
    status: str
    hosted_zone_id: str
    name_servers: list[str]
    published: dict[str, Any]
    server_ip: IPv4Address | IPv6Address


class TenantsWithWork(SystemRepository):
    """The tenants that have one kind of billing work: one statement per page each, keyed on
    the tenant id."""

    def _ids(
        self, query: str, params: tuple[Any, ...], after: UUID | None, limit: int
    ) -> list[UUID]:
        ids: list[UUID] = self._session.column(
            f"SELECT t.tenant_id FROM ({query}) t WHERE t.tenant_id > %s "
            "ORDER BY t.tenant_id LIMIT %s",
            (*params, after or UUID(int=0), limit),
        )
        return ids

    def due_suspensions(self, now: datetime, *, after: UUID | None, limit: int) -> list[UUID]:
        """Active inboxes a downgrade marked for suspension at a time that has come."""
        return self._ids(
            "SELECT DISTINCT tenant_id FROM inboxes WHERE status = 'active' AND suspend_at <= %s",
            (now,),
            after,
            limit,
        )

    def due_reminders(self, *, after: UUID | None, limit: int) -> list[UUID]:
        """Owed invoices whose latest failed attempt has had no reminder yet."""
        return self._ids(
            "SELECT DISTINCT tenant_id FROM billing_invoices WHERE status = 'open' "
            "AND attempt_count > 0 AND reminded_attempt < attempt_count",
            (),
            after,
            limit,
        )

    def out_of_step(self, *, after: UUID | None, limit: int) -> list[UUID]:
        """Accounts whose inboxes disagree with what the account allows: active inboxes with
        no entitlement; inboxes waiting or suspended by billing while the plan has room; more
        inboxes in use than the plan allows without their suspension marked; marks left on
        inboxes the plan has room for."""
        return self._ids(
            "SELECT a.tenant_id FROM billing_accounts a JOIN ("
            "  SELECT tenant_id,"
            "    count(*) FILTER (WHERE status = 'active') AS active,"
            "    count(*) FILTER (WHERE status = 'awaiting_payment'"
            "      OR (status = 'suspended' AND suspension_reason IS NOT NULL)) AS held_back,"
            "    count(*) FILTER (WHERE status IN ('queued', 'provisioning', 'active')) AS in_use,"
            "    count(*) FILTER (WHERE status IN ('queued', 'provisioning', 'active')"
            "      AND suspend_at IS NULL) AS unmarked,"
            "    count(*) FILTER (WHERE suspend_at IS NOT NULL) AS marked"
            "  FROM inboxes GROUP BY tenant_id) c ON c.tenant_id = a.tenant_id "
            "WHERE (a.max_inboxes = 0 AND c.active > 0)"
            " OR (a.max_inboxes > c.in_use AND c.held_back > 0)"
            " OR (a.max_inboxes > 0 AND a.current_period_end IS NOT NULL"
            "     AND c.unmarked > a.max_inboxes)"
            " OR c.marked > CASE WHEN a.max_inboxes = 0 THEN 0"
            "               ELSE greatest(c.in_use - a.max_inboxes, 0) END",
            (),
            after,
            limit,
        )

    def past_retention(self, now: datetime, *, after: UUID | None, limit: int) -> list[UUID]:
        """Canceled accounts whose retention has ended with inboxes or domains still there."""
        return self._ids(
            "SELECT a.tenant_id FROM billing_accounts a WHERE a.teardown_after < %s AND ("
            "  EXISTS (SELECT 1 FROM inboxes i WHERE i.tenant_id = a.tenant_id"
            "          AND i.status <> 'deleted')"
            "  OR EXISTS (SELECT 1 FROM domains d WHERE d.tenant_id = a.tenant_id"
            "             AND d.status <> 'removed'))",
            (now,),
            after,
            limit,
        )

    def to_reread(self, quiet_since: datetime, *, after: UUID | None, limit: int) -> list[UUID]:
        """Accounts whose stored state looks inconsistent: inboxes in service under a
        subscription stored as ended, or an entitled subscription no event has touched since
        `quiet_since` (a renewal sends some every period: their webhooks may be lost)."""
        return self._ids(
            "SELECT a.tenant_id FROM billing_accounts a WHERE a.stripe_subscription_id IS NOT NULL"
            " AND ((a.subscription_status IN ('canceled', 'incomplete_expired', 'unpaid')"
            "       AND EXISTS (SELECT 1 FROM inboxes i WHERE i.tenant_id = a.tenant_id"
            "                   AND i.status = 'active'))"
            "  OR (a.subscription_status IN ('active', 'trialing', 'past_due')"
            "      AND EXISTS (SELECT 1 FROM billing_subscriptions s"
            "                  WHERE s.tenant_id = a.tenant_id)"
            "      AND NOT EXISTS (SELECT 1 FROM billing_subscriptions s"
            "                      WHERE s.tenant_id = a.tenant_id AND s.event_created >= %s)"
            "      AND NOT EXISTS (SELECT 1 FROM billing_invoices v"
            "                      WHERE v.tenant_id = a.tenant_id AND v.event_created >= %s)))",
            (quiet_since, quiet_since),
            after,
            limit,
        )


class RowlessInstances(SystemRepository):
    """Instances named like this environment's servers that have no row (shared table)."""

    def seen(self, instances: Sequence[tuple[int, str, str | None, str]]) -> list[RowlessInstance]:
        """Record (serviceid, name, ip, status) as listed now; the first sighting is kept."""
        if not instances:
            return []
        ids, names, ips, statuses = (list(column) for column in zip(*instances, strict=True))
        return self._session.fetch_all(
            RowlessInstance,
            "INSERT INTO rowless_instances (serviceid, name, ip, status) "
            "SELECT * FROM unnest(%s::bigint[], %s::text[], %s::inet[], %s::text[]) "
            "ON CONFLICT (serviceid) DO UPDATE SET name = EXCLUDED.name, ip = EXCLUDED.ip, "
            "status = EXCLUDED.status, last_seen = now(), resolved_at = NULL, resolution = NULL "
            "RETURNING serviceid, name, first_seen",
            (ids, names, ips, statuses),
        )

    def resolve_others(self, rowless_now: Sequence[int], *, listed: Sequence[int]) -> int:
        """Those no longer row-less after a complete listing: still listed (a row was found
        for them since) or gone."""
        return self._session.execute(
            "UPDATE rowless_instances SET resolved_at = now(), resolution = CASE "
            "WHEN serviceid = ANY(%s::bigint[]) THEN 'row_found' ELSE 'gone' END "
            "WHERE resolved_at IS NULL AND NOT (serviceid = ANY(%s::bigint[]))",
            (list(listed), list(rowless_now)),
        )

    def get(self, serviceid: int) -> RowlessInstance | None:
        return self._session.fetch_one(
            RowlessInstance,
            "SELECT serviceid, name, first_seen FROM rowless_instances "
            "WHERE serviceid = %s AND resolved_at IS NULL",
            (serviceid,),
        )

    def open(self) -> list[RowlessInstance]:
        return self._session.fetch_all(
            RowlessInstance,
            "SELECT serviceid, name, first_seen FROM rowless_instances "
            "WHERE resolved_at IS NULL ORDER BY first_seen, serviceid",
        )

    def mark_terminated(self, serviceid: int) -> None:
        self._session.execute(
            "UPDATE rowless_instances SET resolved_at = now(), resolution = 'terminated' "
            "WHERE serviceid = %s",
            (serviceid,),
        )


class Lease(_Row):
    acquired: bool
    resume_part: str | None


class ReconcileLeases(SystemRepository):
    """A lease per job (shared table): held by one pass until it releases it or it runs out."""

    def acquire(self, name: str, holder: str, hold: timedelta) -> Lease:
        row = self._session.fetch_one(
            Lease,
            "INSERT INTO reconcile_leases AS l (name, holder, held_until) "
            "VALUES (%(name)s, %(holder)s, now() + %(hold)s) "
            "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, "
            "held_until = EXCLUDED.held_until, updated_at = now() "
            "WHERE l.held_until IS NULL OR l.held_until < now() OR l.holder = EXCLUDED.holder "
            "RETURNING true AS acquired, l.resume_part",
            {"name": name, "holder": holder, "hold": hold},
        )
        return row or Lease(acquired=False, resume_part=None)

    def release(
        self, name: str, holder: str, *, resume_part: str | None, last_pass: dict[str, Any]
    ) -> bool:
        return (
            self._session.execute(
                "UPDATE reconcile_leases SET holder = NULL, held_until = NULL, "
                "resume_part = %s, last_pass = %s, updated_at = now() "
                "WHERE name = %s AND holder = %s",
                (resume_part, Jsonb(last_pass), name, holder),
            )
            == 1
        )


def _keyset(after: After) -> tuple[UUID, UUID]:
    zero = UUID(int=0)
    return after if after is not None else (zero, zero)


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"
