"""A tenant's sending domains, and the platform-wide claims on their names."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from inboxfleet.db.repositories.base import SystemRepository, TenantTable
from inboxfleet.records import Domain, DomainClaim

_COLUMNS = (
    "tenant_id, id, name, status, hosted_zone_id, name_servers, verification_report, "
    "delegation_checked_at, delegation_found, created_at, updated_at"
)
_CLAIM_COLUMNS = "name, claimant, domain_id, zone_id, name_servers, state, created_at"


class Domains(TenantTable[Domain]):
    table = "domains"
    columns = _COLUMNS
    record = Domain

    def count_live(self) -> int:
        """The tenant's domains that are not removed (what max_domains bounds)."""
        return int(
            self._session.scalar(
                "SELECT count(*) FROM domains WHERE tenant_id = %s AND status <> 'removed'",
                (self.tenant_id,),
            )
        )

    def count_pending(self) -> int:
        """Domains still waiting for their delegation (each one's zone costs money)."""
        return int(
            self._session.scalar(
                "SELECT count(*) FROM domains WHERE tenant_id = %s "
                "AND status = 'pending_delegation'",
                (self.tenant_id,),
            )
        )

    def named(self, names: list[str], *, lock: bool = False) -> list[Domain]:
        """The tenant's domains (not removed) with these names; `lock` holds them (shared) to
        the end of the transaction, so none is removed meanwhile."""
        return self._session.fetch_all(
            Domain,
            f"SELECT {_COLUMNS} FROM domains WHERE tenant_id = %s AND name = ANY(%s) "
            f"AND status <> 'removed' ORDER BY name{' FOR SHARE' if lock else ''}",
            (self.tenant_id, names),
        )

    def page(self, *, limit: int, after: tuple[datetime, UUID] | None = None) -> list[Domain]:
        """Up to `limit` live domains in (created_at, id) order after the keyset `after`."""
        keyset = "AND (created_at, id) > (%s, %s) " if after is not None else ""
        return self._session.fetch_all(
            Domain,
            f"SELECT {_COLUMNS} FROM domains WHERE tenant_id = %s AND status <> 'removed' "
            f"{keyset}ORDER BY created_at, id LIMIT %s",
            (self.tenant_id, *(after or ()), limit),
        )

    def live(self, domain_id: UUID, *, lock: bool = False) -> Domain | None:
        """The domain unless removed; `lock` holds its row to the end of the transaction."""
        return self._session.fetch_one(
            Domain,
            f"SELECT {_COLUMNS} FROM domains WHERE tenant_id = %s AND id = %s "
            f"AND status <> 'removed'{' FOR UPDATE' if lock else ''}",
            (self.tenant_id, domain_id),
        )

    def merge_verification(self, domain_id: UUID, part: dict[str, Any]) -> Domain | None:
        """Set some keys of the verification report, keeping the others."""
        return self._session.fetch_one(
            Domain,
            "UPDATE domains SET verification_report = "
            "coalesce(verification_report, '{}'::jsonb) || %s, updated_at = now() "
            f"WHERE tenant_id = %s AND id = %s AND status <> 'removed' RETURNING {_COLUMNS}",
            (Jsonb(part), self.tenant_id, domain_id),
        )

    def record_published(self, domain_id: UUID, facts: dict[str, str]) -> None:
        """What our records in its zone were last published from (mail host, address, DKIM
        public key), for reconcile to check them against."""
        self._session.execute(
            "UPDATE domains SET published = %s, updated_at = now() "
            "WHERE tenant_id = %s AND id = %s AND status <> 'removed'",
            (Jsonb(facts), self.tenant_id, domain_id),
        )

    def rechecked(self, domain_id: UUID) -> None:
        """Reconcile re-verified it now (the rotation goes on from the oldest)."""
        self._session.execute(
            "UPDATE domains SET dns_checked_at = now() WHERE tenant_id = %s AND id = %s",
            (self.tenant_id, domain_id),
        )

    def add(self, name: str, domain_id: UUID | None = None) -> Domain:
        row = self._session.fetch_one(
            Domain,
            "INSERT INTO domains (tenant_id, id, name) "
            f"VALUES (%s, coalesce(%s, gen_random_uuid()), %s) RETURNING {_COLUMNS}",
            (self.tenant_id, domain_id, name),
        )
        assert row is not None
        return row

    def set_zone(self, domain_id: UUID, zone_id: str, name_servers: Sequence[str]) -> Domain | None:
        """Store the domain's zone; None when the domain was removed meanwhile."""
        return self._session.fetch_one(
            Domain,
            "UPDATE domains SET hosted_zone_id = %s, name_servers = %s, updated_at = now() "
            f"WHERE tenant_id = %s AND id = %s AND status <> 'removed' RETURNING {_COLUMNS}",
            (zone_id, list(name_servers), self.tenant_id, domain_id),
        )

    def touch(self, domain_id: UUID) -> Domain | None:
        """Mark the domain as worked on now (a lease on finishing its add)."""
        return self._session.fetch_one(
            Domain,
            "UPDATE domains SET updated_at = now() "
            f"WHERE tenant_id = %s AND id = %s AND status <> 'removed' RETURNING {_COLUMNS}",
            (self.tenant_id, domain_id),
        )

    def record_delegation(
        self, domain_id: UUID, *, delegated: bool, found: Sequence[str]
    ) -> Domain | None:
        """What the parent zone said now. Delegated: a pending domain becomes `delegated`.
        Not (any more): a delegated domain is pending again, a configured or verified one
        `degraded` (its mail no longer resolves to us)."""
        if delegated:
            status = "CASE status WHEN 'pending_delegation' THEN 'delegated' ELSE status END"
        else:
            status = (
                "CASE WHEN status = 'delegated' THEN 'pending_delegation' "
                "WHEN status IN ('configured', 'verified') THEN 'degraded' ELSE status END"
            )
        return self._session.fetch_one(
            Domain,
            f"UPDATE domains SET status = {status}, delegation_found = %s, "
            "delegation_checked_at = now(), updated_at = now() "
            "WHERE tenant_id = %s AND id = %s AND status <> 'removed' "
            f"RETURNING {_COLUMNS}",
            (list(found), self.tenant_id, domain_id),
        )

    def mark_verified(self, domain_id: UUID) -> Domain | None:
        """Its mail server's records are published and verified: a delegated domain is
        `configured`, then (as a configured or degraded one) `verified`."""
        self._session.execute(
            "UPDATE domains SET status = 'configured', updated_at = now() "
            "WHERE tenant_id = %s AND id = %s AND status = 'delegated'",
            (self.tenant_id, domain_id),
        )
        return self._session.fetch_one(
            Domain,
            "UPDATE domains SET status = 'verified', updated_at = now() "
            "WHERE tenant_id = %s AND id = %s "
            f"AND status IN ('configured', 'degraded') RETURNING {_COLUMNS}",
            (self.tenant_id, domain_id),
        )

    def mark_degraded(self, domain_id: UUID) -> Domain | None:
        """Our records are gone from its zone (their server was given back): a configured or
        verified domain is `degraded` until a new server's records are verified."""
        return self._session.fetch_one(
            Domain,
            "UPDATE domains SET status = 'degraded', updated_at = now() "
            "WHERE tenant_id = %s AND id = %s "
            f"AND status IN ('configured', 'verified') RETURNING {_COLUMNS}",
            (self.tenant_id, domain_id),
        )

    def remove(self, domain_id: UUID) -> Domain | None:
        return self._session.fetch_one(
            Domain,
            "UPDATE domains SET status = 'removed', updated_at = now() "
            f"WHERE tenant_id = %s AND id = %s AND status <> 'removed' RETURNING {_COLUMNS}",
            (self.tenant_id, domain_id),
        )

    def users(self, domain_id: UUID) -> int:
        """Inboxes (not deleted) and servers (not decommissioned) on the domain."""
        return int(
            self._session.scalar(
                "SELECT (SELECT count(*) FROM inboxes WHERE tenant_id = %s AND domain_id = %s "
                "        AND status <> 'deleted') "
                "     + (SELECT count(*) FROM servers WHERE tenant_id = %s AND domain_id = %s "
                "        AND status <> 'decommissioned')",
                (self.tenant_id, domain_id, self.tenant_id, domain_id),
            )
        )


class DomainClaims(SystemRepository):
    """The shared claims table: several pending claims per name, at most one delegated (a
    partial unique index). Written only in a system session, never beside tenant rows."""

    def of_name(self, name: str) -> list[DomainClaim]:
        return self._session.fetch_all(
            DomainClaim,
            f"SELECT {_CLAIM_COLUMNS} FROM domain_claims WHERE name = %s ORDER BY created_at",
            (name,),
        )

    def claim(
        self, name: str, claimant: UUID, domain_id: UUID, zone_id: str, name_servers: Sequence[str]
    ) -> None:
        """A pending claim (a re-added domain replaces the tenant's earlier claim)."""
        self._session.execute(
            "INSERT INTO domain_claims (name, claimant, domain_id, zone_id, name_servers) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name, claimant) DO UPDATE "
            "SET domain_id = excluded.domain_id, zone_id = excluded.zone_id, "
            "name_servers = excluded.name_servers, state = 'pending', delegated_at = NULL",
            (name, claimant, domain_id, zone_id, list(name_servers)),
        )

    def ensure(
        self, name: str, claimant: UUID, domain_id: UUID, zone_id: str, name_servers: Sequence[str]
    ) -> None:
        """The claimant's claim as it is, or a pending one if it has none."""
        self._session.execute(
            "INSERT INTO domain_claims (name, claimant, domain_id, zone_id, name_servers) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name, claimant) DO NOTHING",
            (name, claimant, domain_id, zone_id, list(name_servers)),
        )

    def mark(self, name: str, claimant: UUID, *, delegated: bool) -> None:
        """The claimant's claim becomes delegated (any other's delegated claim on the name
        drops to pending first: the parent delegates to one zone only), or pending again. The
        name's claims are locked first, so two marks of one name never interleave."""
        self._session.execute(
            "SELECT 1 FROM domain_claims WHERE name = %s ORDER BY claimant FOR UPDATE", (name,)
        )
        if delegated:
            self._session.execute(
                "UPDATE domain_claims SET state = 'pending', delegated_at = NULL "
                "WHERE name = %s AND claimant <> %s AND state = 'delegated'",
                (name, claimant),
            )
        self._session.execute(
            "UPDATE domain_claims SET state = %s, "
            "delegated_at = CASE WHEN %s THEN now() END WHERE name = %s AND claimant = %s",
            ("delegated" if delegated else "pending", delegated, name, claimant),
        )

    def release(self, name: str, claimant: UUID) -> None:
        self._session.execute(
            "DELETE FROM domain_claims WHERE name = %s AND claimant = %s", (name, claimant)
        )
