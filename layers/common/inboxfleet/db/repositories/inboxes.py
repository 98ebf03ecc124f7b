"""A tenant's inboxes. Every status change goes through `transition`: compare-and-set against
the lifecycle's predecessors, with its timeline entry."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from inboxfleet.db.repositories.base import TenantTable
from inboxfleet.lifecycles import (
    INBOXES_IN_USE,
    Actor,
    InboxStatus,
    SuspensionReason,
    inbox_predecessors,
)
from inboxfleet.records import Inbox

_COLUMNS = (
    "tenant_id, id, domain_id, server_id, address, status, execution_name, attempt, "
    "failure_reason, suspension_reason, suspend_at, password_ciphertext, created_at, updated_at"
)
_QUALIFIED = ", ".join(f"i.{c}" for c in _COLUMNS.split(", "))


class Inboxes(TenantTable[Inbox]):
    table = "inboxes"
    columns = _COLUMNS
    record = Inbox

    def add(
        self,
        domain_id: UUID,
        address: str,
        status: InboxStatus = InboxStatus.AWAITING_PAYMENT,
        server_id: UUID | None = None,
        inbox_id: UUID | None = None,
    ) -> Inbox:
        row = self._session.fetch_one(
            Inbox,
            "INSERT INTO inboxes (tenant_id, id, domain_id, server_id, address, status) "
            f"VALUES (%s, coalesce(%s, gen_random_uuid()), %s, %s, %s, %s) RETURNING {_COLUMNS}",
            (self.tenant_id, inbox_id, domain_id, server_id, address, status),
        )
        assert row is not None
        return row

    def request(
        self, wanted: list[tuple[UUID, str]], status: InboxStatus, *, why: str
    ) -> list[Inbox]:
        """New inboxes (domain id, address) in `status`, in the given order, each with its
        timeline's first entry: one statement for the lot (the addresses must differ). Queued
        ones start their first attempt (as the move from awaiting_payment does)."""
        domain_ids = [domain_id for domain_id, _ in wanted]
        addresses = [address for _, address in wanted]
        return self._session.fetch_all(
            Inbox,
            "WITH wanted AS ("
            "  SELECT domain_id, address, ord"
            "  FROM unnest(%(domains)s::uuid[], %(addresses)s::text[])"
            "  WITH ORDINALITY AS w(domain_id, address, ord)"
            "), added AS ("
            "  INSERT INTO inboxes (tenant_id, domain_id, address, status, attempt)"
            "  SELECT %(tenant)s, domain_id, address, %(status)s,"
            "    CASE WHEN %(status)s = 'queued' THEN 1 ELSE 0 END FROM wanted ORDER BY ord"
            f"  RETURNING {_COLUMNS}"
            "), logged AS ("
            "  INSERT INTO inbox_events (tenant_id, inbox_id, step, outcome, detail)"
            "  SELECT tenant_id, id, 'request', 'info', jsonb_build_object("
            "    'to', status, 'by', 'tenant', 'why', %(why)s::text) FROM added"
            f") SELECT {_QUALIFIED} FROM added i JOIN wanted w ON w.address = i.address"
            " ORDER BY w.ord",
            {
                "tenant": self.tenant_id,
                "domains": domain_ids,
                "addresses": addresses,
                "status": status,
                "why": why,
            },
        )

    def live_with_addresses(self, addresses: list[str]) -> list[Inbox]:
        """The tenant's inboxes (not deleted) holding any of these addresses."""
        return self._session.fetch_all(
            Inbox,
            f"SELECT {_COLUMNS} FROM inboxes WHERE tenant_id = %s AND address = ANY(%s) "
            "AND status <> 'deleted' ORDER BY address",
            (self.tenant_id, addresses),
        )

    def count_in(self, statuses: frozenset[InboxStatus]) -> int:
        return int(
            self._session.scalar(
                "SELECT count(*) FROM inboxes WHERE tenant_id = %s AND status = ANY(%s)",
                (self.tenant_id, sorted(statuses)),
            )
        )

    def list_by_status(self, status: InboxStatus) -> list[Inbox]:
        return self._session.fetch_all(
            Inbox,
            f"SELECT {_COLUMNS} FROM inboxes WHERE tenant_id = %s AND status = %s "
            "ORDER BY created_at, id",
            (self.tenant_id, status),
        )

    def page(
        self,
        *,
        limit: int,
        after: tuple[datetime, UUID] | None = None,
        status: InboxStatus | None = None,
        domain: str | None = None,
    ) -> list[Inbox]:
        """Up to `limit` inboxes in (created_at, id) order after the keyset `after`: a row that
        existed when paging began is listed exactly once, whatever is inserted meanwhile."""
        conditions = ["i.tenant_id = %s"]
        params: list[object] = [self.tenant_id]
        if status is not None:
            conditions.append("i.status = %s")
            params.append(status)
        if domain is not None:
            # One domain id, not a join: the page then reads one index range in keyset order
            # (a join would read every inbox of the tenant and sort them). A name removed and
            # added again has one live row, which comes first.
            conditions.append(
                "i.domain_id = (SELECT d.id FROM domains d WHERE d.tenant_id = %s AND d.name = %s"
                " ORDER BY d.status = 'removed', d.created_at DESC LIMIT 1)"
            )
            params.extend((self.tenant_id, domain))
        if after is not None:
            conditions.append("(i.created_at, i.id) > (%s, %s)")
            params.extend(after)
        # The conditions are this method's constant fragments; values go as parameters.
        return self._session.fetch_all(
            Inbox,
            f"SELECT {_QUALIFIED} FROM inboxes i "
            f"WHERE {' AND '.join(conditions)} ORDER BY i.created_at, i.id LIMIT %s",
            (*params, limit),
        )

    def count_by_status(self, status: InboxStatus) -> int:
        return int(
            self._session.scalar(
                "SELECT count(*) FROM inboxes WHERE tenant_id = %s AND status = %s",
                (self.tenant_id, status),
            )
        )

    def transition(
        self,
        inbox_id: UUID,
        target: InboxStatus,
        *,
        by: Actor,
        why: str,
        expected: InboxStatus | None = None,
        suspension_reason: SuspensionReason | None = None,
    ) -> Inbox | None:
        """The one way an inbox's status changes: to `target` if the lifecycle allows it from
        the current status (and that equals `expected`, when given), with a timeline entry
        naming who moved it and why. None when it does not move (or does not exist).

        Check, write and timeline entry are one statement: no race between them, and no
        status change without its entry. What goes with a status goes with it here: `failed`
        keeps `why` as the failure reason, `queued` starts a new workflow attempt, a
        suspension carries billing's reason (if any) and ends a scheduled one, billing
        only ever lifts a suspension it made itself (one with a reason), and only reconcile
        fails an inbox in service (its server lost)."""
        allowed = sorted(inbox_predecessors(target))
        if expected is not None:
            allowed = [s for s in allowed if s == expected]
        return self._session.fetch_one(
            Inbox,
            "WITH prior AS ("
            "  SELECT id, status FROM inboxes WHERE tenant_id = %(tenant)s AND id = %(id)s"
            "  FOR UPDATE"
            "), moved AS ("
            "  UPDATE inboxes i SET status = %(target)s, updated_at = now(),"
            "    failure_reason = CASE WHEN %(target)s = 'failed' THEN %(why)s END,"
            "    suspension_reason = CASE WHEN %(target)s = 'suspended' THEN %(suspension)s END,"
            "    suspend_at = CASE WHEN %(target)s = 'suspended' THEN NULL ELSE i.suspend_at END,"
            "    attempt = i.attempt + CASE WHEN %(target)s = 'queued' THEN 1 ELSE 0 END,"
            "    execution_name = CASE WHEN %(target)s = 'queued' THEN NULL"
            "      ELSE i.execution_name END"
            "  FROM prior WHERE i.tenant_id = %(tenant)s AND i.id = prior.id"
            "    AND prior.status = ANY(%(allowed)s)"
            "    AND NOT (%(by)s = 'billing' AND prior.status = 'suspended'"
            "             AND i.suspension_reason IS NULL)"
            # An inbox in service fails only when reconcile finds its server gone.
            "    AND NOT (%(target)s = 'failed' AND prior.status IN ('active', 'suspended')"
            "             AND %(by)s <> 'reconcile')"
            f"  RETURNING {_QUALIFIED}, prior.status AS previous"
            "), logged AS ("
            "  INSERT INTO inbox_events (tenant_id, inbox_id, step, outcome, detail)"
            "  SELECT tenant_id, id, 'status', 'info', jsonb_build_object("
            "    'from', previous, 'to', status, 'by', %(by)s::text, 'why', %(why)s::text)"
            "  FROM moved"
            f") SELECT {_COLUMNS} FROM moved",
            {
                "tenant": self.tenant_id,
                "id": inbox_id,
                "target": target,
                "why": why,
                "suspension": suspension_reason,
                "allowed": allowed,
                "by": by,
            },
        )

    def schedule_suspension(self, inbox_id: UUID, at: datetime | None) -> None:
        self._session.execute(
            "UPDATE inboxes SET suspend_at = %s, updated_at = now() "
            "WHERE tenant_id = %s AND id = %s",
            (at, self.tenant_id, inbox_id),
        )

    def queued_without_execution(self) -> list[Inbox]:
        """Released inboxes whose workflow has not been started (or not recorded as started)."""
        return self._session.fetch_all(
            Inbox,
            f"SELECT {_COLUMNS} FROM inboxes WHERE tenant_id = %s AND status = 'queued' "
            "AND execution_name IS NULL ORDER BY created_at, id",
            (self.tenant_id,),
        )

    def set_execution_name(self, inbox_id: UUID, execution_name: str) -> None:
        """Record the started execution of the inbox's current attempt (a slow start of an
        earlier attempt names nothing)."""
        self._session.execute(
            "UPDATE inboxes SET execution_name = %s, updated_at = now() "
            "WHERE tenant_id = %s AND id = %s AND execution_name IS NULL "
            # names.execution_name, spelt in SQL: only the current attempt's start counts.
            "AND id::text || '-' || attempt::text = %s",
            (execution_name, self.tenant_id, inbox_id, execution_name),
        )

    def assign(self, inbox_id: UUID, server_id: UUID | None, execution_name: str) -> Inbox | None:
        """The server a provisioning inbox goes on, and the execution that provisions it."""
        return self._session.fetch_one(
            Inbox,
            "UPDATE inboxes SET server_id = %s, execution_name = %s, updated_at = now() "
            "WHERE tenant_id = %s AND id = %s AND status = 'provisioning' "
            f"RETURNING {_COLUMNS}",
            (server_id, execution_name, self.tenant_id, inbox_id),
        )

    def in_use_before(self, inbox: Inbox) -> int:
        """The tenant's inboxes counted against its plan that were asked for before `inbox`."""
        return int(
            self._session.scalar(
                "SELECT count(*) FROM inboxes WHERE tenant_id = %s AND status = ANY(%s) "
                "AND (created_at, id) < (%s, %s)",
                (self.tenant_id, sorted(INBOXES_IN_USE), inbox.created_at, inbox.id),
            )
        )

    def relying_on(self, server_id: UUID, *, besides: UUID) -> int:
        """Other inboxes that use the server now: in service, or being set up on it (not one
        whose workflow is failing, nor one being deleted: their compensation or teardown is
        under way, and the last of those to decide gives the server back)."""
        return int(
            self._session.scalar(
                "SELECT count(*) FROM inboxes WHERE tenant_id = %s AND server_id = %s "
                "AND id <> %s AND status IN ('provisioning', 'active', 'suspended') "
                "AND failure_reason IS NULL",
                (self.tenant_id, server_id, besides),
            )
        )

    def mark_failing(self, inbox_id: UUID, reason: str) -> None:
        """Its workflow failed and is being undone: the reason is kept now, the status moves
        to `failed` when the undoing ends (Inboxes.transition)."""
        self._session.execute(
            "UPDATE inboxes SET failure_reason = %s, updated_at = now() "
            "WHERE tenant_id = %s AND id = %s AND status IN ('queued', 'provisioning')",
            (reason, self.tenant_id, inbox_id),
        )

    def mark_stuck(self, inbox_id: UUID, reason: str) -> bool:
        """Its teardown could not finish: the inbox stays `deleting` with the reason (teardown
        entered again, or reconcile, finishes it). False when it is not being deleted."""
        return (
            self._session.execute(
                "UPDATE inboxes SET failure_reason = %s, updated_at = now() "
                "WHERE tenant_id = %s AND id = %s AND status = 'deleting'",
                (reason, self.tenant_id, inbox_id),
            )
            == 1
        )

    def in_service_on(self, server_id: UUID) -> list[UUID]:
        """The inboxes in service (active or suspended) on a server."""
        ids: list[UUID] = self._session.column(
            "SELECT id FROM inboxes WHERE tenant_id = %s AND server_id = %s "
            "AND status IN ('active', 'suspended') ORDER BY created_at, id",
            (self.tenant_id, server_id),
        )
        return ids

    def new_attempt(self, inbox_id: UUID, attempt: int) -> Inbox | None:
        """A queued inbox whose attempt's run ended without taking it (it can never run under
        that name again) gets the next attempt; None when it has moved on meanwhile."""
        return self._session.fetch_one(
            Inbox,
            "UPDATE inboxes SET attempt = attempt + 1, execution_name = NULL, updated_at = now() "
            "WHERE tenant_id = %s AND id = %s AND status = 'queued' AND attempt = %s "
            "AND failure_reason IS NULL "
            f"RETURNING {_COLUMNS}",
            (self.tenant_id, inbox_id, attempt),
        )

    def record_execution(self, inbox_id: UUID, attempt: int, execution_name: str) -> bool:
        """The run of the inbox's current attempt was found started: its name recorded."""
        return (
            self._session.execute(
                "UPDATE inboxes SET execution_name = %s, updated_at = now() "
                "WHERE tenant_id = %s AND id = %s AND attempt = %s AND execution_name IS NULL",
                (execution_name, self.tenant_id, inbox_id, attempt),
            )
            == 1
        )
