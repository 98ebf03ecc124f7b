"""A tenant's billing account (one row per tenant). Billing features build on these calls."""

from __future__ import annotations

from inboxfleet.db.repositories.base import TenantRepository
from inboxfleet.records import BillingAccount

_COLUMNS = (
    "tenant_id, stripe_customer_id, stripe_subscription_id, subscription_status, plan, quantity, "
    "max_inboxes, max_domains, allowed_locations, current_period_end, payment_state, updated_at"
)


class BillingAccounts(TenantRepository):
    def get(self) -> BillingAccount | None:
        return self._session.fetch_one(
            BillingAccount,
            f"SELECT {_COLUMNS} FROM billing_accounts WHERE tenant_id = %s",
            (self.tenant_id,),
        )

    def link_customer(self, stripe_customer_id: str) -> BillingAccount:
        """Create the account for this tenant, or attach the customer id to the existing one."""
        row = self._session.fetch_one(
            BillingAccount,
            "INSERT INTO billing_accounts (tenant_id, stripe_customer_id) VALUES (%s, %s) "
            "ON CONFLICT (tenant_id) DO UPDATE "
            "SET stripe_customer_id = EXCLUDED.stripe_customer_id, updated_at = now() "
            f"RETURNING {_COLUMNS}",
            (self.tenant_id, stripe_customer_id),
        )
        assert row is not None
        return row
