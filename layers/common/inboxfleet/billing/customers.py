"""Which tenant a Stripe customer belongs to: a system session maps linked customers; a first
event links one through `metadata.tenant_id` (the subscription's, the invoice's subscription
details', or the Stripe customer's own)."""

from __future__ import annotations

import threading
import weakref
from uuid import UUID

from inboxfleet.billing.errors import CustomerConflict, UnknownCustomer
from inboxfleet.billing.ports import BillingDeps
from inboxfleet.billing.stripe_objects import (
    StripeCustomer,
    StripeEvent,
    StripeObject,
    parse_stripe,
)
from inboxfleet.db.connection import Database, default_database
from inboxfleet.db.errors import InvalidTenantId, UnknownTenant
from inboxfleet.db.repositories import BillingAccounts, BillingDirectory
from inboxfleet.db.sessions import parse_tenant_id, system_session, tenant_session
from inboxfleet.observability import logger


class CustomerLinks:
    """customer -> tenant per database, remembered once linked (a link never changes); a
    database that is gone takes its links with it."""

    def __init__(self, limit: int = 50_000) -> None:
        self._lock = threading.Lock()
        self._links: weakref.WeakKeyDictionary[Database, dict[str, UUID]] = (
            weakref.WeakKeyDictionary()
        )
        self._limit = limit

    def get(self, database: Database, customer_id: str) -> UUID | None:
        with self._lock:
            return self._links.get(database, {}).get(customer_id)

    def remember(self, database: Database, customer_id: str, tenant_id: UUID) -> None:
        with self._lock:
            links = self._links.setdefault(database, {})
            if len(links) >= self._limit:
                links.clear()
            links[customer_id] = tenant_id


_links = CustomerLinks()


def resolve_tenant(event: StripeEvent, obj: StripeObject, deps: BillingDeps) -> UUID:
    customer_id = event.customer_id
    if customer_id is None:
        raise UnknownCustomer(f"{event.type} {event.id} names no customer")
    database = deps.database or default_database()
    known = _links.get(database, customer_id)
    if known is not None:
        return known
    with system_session("billing.customer-lookup", database=database) as session:
        tenants = BillingDirectory(session).tenants_for_customer(customer_id)
    if len(tenants) > 1:
        raise CustomerConflict(f"Stripe customer {customer_id} is linked to {len(tenants)} tenants")
    if tenants:
        _links.remember(database, customer_id, tenants[0])
        return tenants[0]
    hint = obj.tenant_hint or _customer_hint(customer_id, deps)
    if hint is None:
        raise UnknownCustomer(
            f"no tenant is linked to Stripe customer {customer_id}, and neither the event nor "
            "the customer's metadata names one (metadata.tenant_id)"
        )
    tenant_id = _link(customer_id, hint, database)
    _links.remember(database, customer_id, tenant_id)
    return tenant_id


def _customer_hint(customer_id: str, deps: BillingDeps) -> str | None:
    customer = parse_stripe(StripeCustomer, deps.stripe.customer(customer_id))
    return customer.metadata.get("tenant_id")


def _link(customer_id: str, hint: str, database: Database) -> UUID:
    try:
        tenant_id = parse_tenant_id(hint)
        with tenant_session(tenant_id, database=database) as session:
            linked = BillingAccounts(session).link_customer(customer_id)
    except (InvalidTenantId, UnknownTenant):
        raise UnknownCustomer(
            f"Stripe customer {customer_id}'s metadata.tenant_id names no tenant"
        ) from None
    if linked is None:
        raise CustomerConflict(
            f"Stripe customer {customer_id} names tenant {tenant_id}, which is linked to "
            "another customer"
        )
    logger.info("linked Stripe customer to tenant", extra={"tenant_id": str(tenant_id)})
    return tenant_id
