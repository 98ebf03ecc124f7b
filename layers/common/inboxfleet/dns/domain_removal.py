"""Removing a domain: its hosted zone, its row and its claim on the name. The one executor of
that, for `DELETE /v1/domains/{id}` and for a tenant whose retention has ended (reconcile, once
every inbox of the domain has been torn down): an inbox's teardown never removes the zone."""

from __future__ import annotations

from uuid import UUID

from inboxfleet.db import Database, system_session, tenant_session
from inboxfleet.db.repositories import BillingAccounts, DomainClaims, Domains
from inboxfleet.dns.errors import DomainStillUsed
from inboxfleet.dns.service import DnsDeps
from inboxfleet.records import Domain


def remove_domain(
    tenant_id: UUID, domain_id: UUID, dns: DnsDeps, database: Database | None = None
) -> Domain | None:
    """The domain `removed`, its zone deleted (found by its stored id, or by the caller
    reference of an add stopped half-way) and its claim released; None when there is no such
    live domain. DomainStillUsed while inboxes (not deleted) or servers (not decommissioned)
    remain on it."""
    with tenant_session(tenant_id, database=database) as s:
        # The account lock first: an inbox request on this domain (which holds it while it
        # counts and inserts) is either in before the count below or sees the domain removed.
        BillingAccounts(s).lock()
        domains = Domains(s)
        row = domains.live(domain_id, lock=True)
        if row is None:
            return None
        users = domains.users(domain_id)
        if users:
            raise DomainStillUsed(
                f"{row.name} still has {users} inboxes or servers: delete them first"
            )
        zone = (
            dns.route53.zone_made_for(row.name, str(row.id))  # an add stopped half-way
            if row.hosted_zone_id is None
            else dns.route53.zone(row.hosted_zone_id)
        )
        if zone is not None:
            dns.route53.delete_zone(zone, wait=False)  # first: a retry finds it gone
        removed = domains.remove(domain_id) or row
    with system_session("dns.domain_claims", database=database) as s:
        DomainClaims(s).release(row.name, tenant_id)
    return removed
