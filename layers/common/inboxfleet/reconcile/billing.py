"""Part 3: billing work, called for exactly the tenants that have it (one query per kind):
downgrade suspensions that are due, accounts whose inboxes disagree with them, accounts whose
stored state looks inconsistent (re-read from Stripe: a lost webhook), canceled tenants whose
retention has ended (re-read from Stripe first, then torn down with the deprovision workflow
and their domains removed), payment reminders still owed, and yesterday's usage of metered
plans. One tenant's failure is reported and never stops the others; Stripe failing for
several tenants in a row is an outage: what needs Stripe waits for the next pass, and the part
says so."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from uuid import UUID

from inboxfleet.billing.errors import StripeUnavailable
from inboxfleet.billing.ledger import (
    converge_tenant,
    refresh_from_stripe,
    send_due_reminders,
    suspend_due_inboxes,
)
from inboxfleet.billing.ports import BillingDeps
from inboxfleet.billing.retention import tear_down_after_retention
from inboxfleet.billing.usage import report_daily_usage
from inboxfleet.db.repositories import BillingDirectory, Domains
from inboxfleet.db.repositories.reconcile import TenantsWithWork
from inboxfleet.db.sessions import SystemSession, tenant_session
from inboxfleet.dns.domain_removal import remove_domain
from inboxfleet.dns.errors import DomainStillUsed
from inboxfleet.lifecycles import DomainStatus
from inboxfleet.observability import logger
from inboxfleet.reconcile.ports import Scope
from inboxfleet.reconcile.scope import OutOfTime

Query = Callable[[TenantsWithWork, UUID | None, int], list[UUID]]
# Stripe failing for this many tenants in a row is an outage, not one tenant's problem.
OUTAGE_AFTER = 3


class StripeDown(Exception):
    """Stripe does not answer: what needs it waits for the next pass."""


def reconcile_billing(scope: Scope) -> None:
    if scope.deps.billing is None:
        scope.tally.skip("billing is not configured (BILLING_REMINDER_SENDER)")
        return
    deps = scope.deps.billing()
    now = scope.now
    quiet_since = now - timedelta(days=scope.settings.billing_quiet_days)

    def suspend(tenant_id: UUID) -> dict[str, object]:
        suspended = (
            [] if scope.dry_run else suspend_due_inboxes(tenant_id, lambda: now, deps.database)
        )
        return {"inboxes": len(suspended)}

    def converge(tenant_id: UUID) -> dict[str, object]:
        plan = None if scope.dry_run else converge_tenant(tenant_id, deps)
        return {"changed": bool(plan)}

    def reread(tenant_id: UUID) -> dict[str, object]:
        if not scope.dry_run:
            refresh_from_stripe(tenant_id, deps, now)
        return {}

    def reminders(tenant_id: UUID) -> dict[str, object]:
        # A reminder whose send fails for a passing reason stays due: the next pass retries.
        return {"sent": 0 if scope.dry_run else send_due_reminders(tenant_id, deps)}

    outages: list[str] = []
    _each(
        scope, "due_suspension", lambda t, a, n: t.due_suspensions(now, after=a, limit=n), suspend
    )
    _each(scope, "account_out_of_step", lambda t, a, n: t.out_of_step(after=a, limit=n), converge)
    stripe_up = _with_stripe(
        outages,
        lambda: _each(
            scope,
            "billing_reread",
            lambda t, a, n: t.to_reread(quiet_since, after=a, limit=n),
            reread,
            stripe=True,
        ),
    )
    if stripe_up:
        # Only after the re-reads, and each tenant re-read first: a resubscription whose
        # webhooks were all lost must never be torn down.
        _with_stripe(outages, lambda: _retention(scope, deps))
    else:
        outages.append("retention waits for it")
    _each(scope, "reminder_due", lambda t, a, n: t.due_reminders(after=a, limit=n), reminders)
    _with_stripe(outages, lambda: _usage(scope, deps))
    failed = scope.tally.kinds.get("billing_failed")
    if outages:
        scope.tally.incomplete(f"Stripe unreachable ({'; '.join(outages)}): the next pass retries")
    elif failed is not None:
        scope.tally.incomplete(
            f"billing work failed for {failed.found} tenants (billing_failed): the next pass "
            "tries them again"
        )


def _with_stripe(outages: list[str], step: Callable[[], None]) -> bool:
    try:
        step()
    except StripeDown as exc:
        outages.append(str(exc))
        return False
    return True


def _each(
    scope: Scope,
    kind: str,
    query: Query,
    act: Callable[[UUID], dict[str, object]],
    *,
    stripe: bool = False,
) -> None:
    """`act` for each tenant the query finds, in its own try: a failure is an item of the
    report (`billing_failed`), not the end of the part."""
    in_a_row = 0
    for tenant_id in _tenants(scope, kind, query):
        try:
            detail = act(tenant_id)
        except OutOfTime:
            raise
        except Exception as exc:
            logger.warning(
                "billing work failed for a tenant; the next pass tries again",
                extra={"kind": kind, "tenant_id": str(tenant_id), "error": type(exc).__name__},
            )
            scope.tally.found(
                "billing_failed",
                {"kind": kind, "tenant_id": tenant_id, "error": type(exc).__name__},
            )
            in_a_row = in_a_row + 1 if isinstance(exc, StripeUnavailable) else 0
            if stripe and in_a_row >= OUTAGE_AFTER:
                raise StripeDown(f"{kind}: {OUTAGE_AFTER} tenants in a row") from exc
            continue
        in_a_row = 0
        scope.tally.found(kind, {"tenant_id": tenant_id, **detail}, repaired=not scope.dry_run)


def _tenants(scope: Scope, reason: str, query: Query) -> Iterator[UUID]:
    limit = scope.settings.page_size

    def page(session: SystemSession, after: UUID | None) -> list[UUID]:
        return query(TenantsWithWork(session), after, limit)

    for ids in scope.pages(f"billing-{reason}", page, key=lambda tenant_id: tenant_id):
        for tenant_id in ids:
            scope.deadline.check()
            yield tenant_id


def _usage(scope: Scope, deps: BillingDeps) -> None:
    """Yesterday's usage, for the metered accounts that have not reported it."""
    day = scope.now.date() - timedelta(days=1)
    item = {"day": day.isoformat()}
    if scope.dry_run:
        metered = [key for key, plan in deps.catalogue.plans.items() if plan.metered]
        accounts = scope.read(
            "billing-usage",
            lambda session: BillingDirectory(session).accounts_on_plans(metered, unreported_on=day),
        )
        for account in accounts:
            scope.tally.found("usage_unreported", item | {"tenant_id": account.tenant_id})
        return
    if scope.deps.meter is None:
        return  # no Stripe key: nothing can be reported
    run = report_daily_usage(
        scope.deps.meter(),
        deps.catalogue,
        day,
        scope.now,
        deps.database,
        only_unreported=True,
        before_each=scope.deadline.check,
    )
    for tenant_id in run.reported:
        scope.tally.found("usage_unreported", item | {"tenant_id": tenant_id}, repaired=True)
    for tenant_id, why in run.failed.items():
        scope.tally.found("usage_unreported", item | {"tenant_id": tenant_id, "error": why})
    if len(run.failed) >= OUTAGE_AFTER and not run.reported:
        raise StripeDown("usage: every meter event refused")


def _retention(scope: Scope, deps: BillingDeps) -> None:
    teardown = scope.deps.starters.get("deprovision")
    now = scope.now

    def tear_down(tenant_id: UUID) -> dict[str, object]:
        if scope.dry_run:
            return {}
        # Stripe is the truth: a subscription started since (its webhooks lost) cancels the
        # teardown date, which tear_down_after_retention reads again under the account lock.
        refresh_from_stripe(tenant_id, deps, now)
        going = tear_down_after_retention(tenant_id, teardown, lambda: now, scope.deps.database)
        return {"inboxes_going": len(going), "domains_removed": _remove_domains(scope, tenant_id)}

    _each(
        scope,
        "retention_ended",
        lambda t, a, n: t.past_retention(now, after=a, limit=n),
        tear_down,
        stripe=True,
    )


def _remove_domains(scope: Scope, tenant_id: UUID) -> int:
    """The tenant's domains with nothing left on them: zone, row and claim removed. Those
    whose inboxes are still being torn down wait for a later pass."""
    if scope.deps.dns is None:
        return 0
    with tenant_session(tenant_id, database=scope.deps.database) as session:
        domains = Domains(session).list()
    live = [d.id for d in domains if d.status != DomainStatus.REMOVED]
    dns = scope.deps.dns()
    removed = 0
    for domain_id in live:
        try:
            removed += remove_domain(tenant_id, domain_id, dns, scope.deps.database) is not None
        except DomainStillUsed:
            continue
    return removed
