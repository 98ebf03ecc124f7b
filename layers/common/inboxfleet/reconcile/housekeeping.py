"""Part 6: expired idempotency records purged (for exactly the tenants that have some), and a
warning metric once the Hostwinds API key is about to expire."""

from __future__ import annotations

from inboxfleet.db.repositories import IdempotencyRecords
from inboxfleet.db.repositories.reconcile import Estate
from inboxfleet.db.sessions import tenant_session
from inboxfleet.observability import logger
from inboxfleet.reconcile.ports import Scope


def housekeeping(scope: Scope) -> None:
    _key_expiry(scope)
    _purge_idempotency(scope)


def _key_expiry(scope: Scope) -> None:
    expires_on = scope.settings.hostwinds_key_expires_on
    if expires_on is None:
        return
    days_left = (expires_on - scope.now.date()).days
    if days_left > scope.settings.key_expiry_warning_days:
        return
    scope.metric("HostwindsApiKeyExpiringSoon")
    logger.warning("the Hostwinds API key expires soon", extra={"days_left": days_left})
    scope.tally.found(
        "hostwinds_key_expiring", {"expires_on": expires_on.isoformat(), "days_left": days_left}
    )


def _purge_idempotency(scope: Scope) -> None:
    now_s = int(scope.now.timestamp())
    limit = scope.settings.page_size
    for tenants in scope.pages(
        "idempotency",
        lambda session, after: Estate(session).tenants_with_expired_idempotency(
            now_s, after=after, limit=limit
        ),
        key=lambda tenant_id: tenant_id,
    ):
        for tenant_id in tenants:
            scope.deadline.check()
            purged = 0
            if not scope.dry_run:
                with tenant_session(tenant_id, database=scope.deps.database) as session:
                    purged = IdempotencyRecords(session).purge_expired(now_s)
            # Counted per tenant: a dry run does not know how many records it would purge.
            scope.tally.found(
                "expired_idempotency",
                {"tenant_id": tenant_id, "purged": purged},
                repaired=not scope.dry_run,
            )
