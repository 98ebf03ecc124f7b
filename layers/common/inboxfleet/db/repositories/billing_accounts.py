"""A tenant's billing account (one row per tenant). Billing features build on these calls."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from inboxfleet.db.repositories.base import SystemRepository, TenantRepository
from inboxfleet.entitlement import Entitlement
from inboxfleet.records import BillingAccount

_COLUMNS = (
    "tenant_id, stripe_customer_id, stripe_subscription_id, subscription_status, plan, quantity, "
    "max_inboxes, max_domains, allowed_locations, current_period_end, payment_state, "
    "teardown_after, updated_at"
)


class BillingAccounts(TenantRepository):
    def get(self) -> BillingAccount | None:
        return self._session.fetch_one(
            BillingAccount,
            f"SELECT {_COLUMNS} FROM billing_accounts WHERE tenant_id = %s",
            (self.tenant_id,),
        )

    def lock(self) -> BillingAccount:
        """The account, locked until the session ends (created, unlinked and unentitled, if the
        tenant has none yet). Whatever counts inboxes against the plan holds this lock: the API's
        requests and retries, and billing applying an event (which may release waiting inboxes),
        so two of them never both take the last slot."""
        self._session.execute(
            "INSERT INTO billing_accounts (tenant_id) VALUES (%s) "
            "ON CONFLICT (tenant_id) DO NOTHING",
            (self.tenant_id,),
        )
        row = self._session.fetch_one(
            BillingAccount,
            f"SELECT {_COLUMNS} FROM billing_accounts WHERE tenant_id = %s FOR UPDATE",
            (self.tenant_id,),
        )
        assert row is not None
        return row

    def link_customer(self, stripe_customer_id: str) -> BillingAccount | None:
        """Create the account for this tenant with the customer, or attach the customer to the
        existing account; None when the account is linked to another customer (a link is
        never moved: one statement, so two first events cannot both win)."""
        return self._session.fetch_one(
            BillingAccount,
            "INSERT INTO billing_accounts (tenant_id, stripe_customer_id) VALUES (%s, %s) "
            "ON CONFLICT (tenant_id) DO UPDATE "
            "SET stripe_customer_id = EXCLUDED.stripe_customer_id, updated_at = now() "
            "WHERE billing_accounts.stripe_customer_id IS NULL "
            "OR billing_accounts.stripe_customer_id = EXCLUDED.stripe_customer_id "
            f"RETURNING {_COLUMNS}",
            (self.tenant_id, stripe_customer_id),
        )

    def save_entitlement(self, entitlement: Entitlement) -> BillingAccount:
        """Write what the tenant's subscriptions and invoices add up to (the row must exist:
        it is created when the customer is linked)."""
        limits = entitlement.limits
        row = self._session.fetch_one(
            BillingAccount,
            "UPDATE billing_accounts SET stripe_subscription_id = %s, subscription_status = %s, "
            "plan = %s, quantity = %s, max_inboxes = %s, max_domains = %s, "
            "allowed_locations = %s, current_period_end = %s, payment_state = %s, "
            "teardown_after = %s, updated_at = now() "
            f"WHERE tenant_id = %s RETURNING {_COLUMNS}",
            (
                entitlement.subscription_id,
                entitlement.subscription_status,
                entitlement.plan,
                entitlement.quantity,
                limits.max_inboxes,
                limits.max_domains,
                list(limits.allowed_locations),
                entitlement.current_period_end,
                entitlement.payment_state,
                entitlement.teardown_after,
                self.tenant_id,
            ),
        )
        assert row is not None, "the billing account is created when the customer is linked"
        return row


class BillingDirectory(SystemRepository):
    """Cross-tenant billing lookups (system sessions): customer -> tenant, metered accounts."""

    def tenants_for_customer(self, stripe_customer_id: str) -> list[UUID]:
        return [
            UUID(str(value))
            for value in self._session.column(
                "SELECT tenant_id FROM billing_accounts WHERE stripe_customer_id = %s "
                "ORDER BY tenant_id",
                (stripe_customer_id,),
            )
        ]

    def accounts_on_plans(
        self, plans: list[str], *, unreported_on: date | None = None
    ) -> list[BillingAccount]:
        """Linked accounts on these plans; with `unreported_on`, only those whose usage of
        that day is not reported yet."""
        unreported = (
            "AND NOT EXISTS (SELECT 1 FROM usage_reports u "
            "WHERE u.tenant_id = billing_accounts.tenant_id AND u.day = %s) "
            if unreported_on is not None
            else ""
        )
        return self._session.fetch_all(
            BillingAccount,
            f"SELECT {_COLUMNS} FROM billing_accounts WHERE plan = ANY(%s) "
            f"AND stripe_customer_id IS NOT NULL {unreported}ORDER BY tenant_id",
            (plans, *(() if unreported_on is None else (unreported_on,))),
        )
