"""The customer the demo plays and `up` makes ready: one company, its domains, its mailbox names.
Its domain is added through the tenant API and delegated as its registrar would do it, so the
local parent zone points at the tenant's own hosted zone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from inboxfleet.billing.plans import default_catalogue
from inboxfleet.db import system_session
from inboxfleet.db.repositories import TenantDirectory
from local.customer_api import Customer
from local.standing import set_standing

if TYPE_CHECKING:
    from local.cloud import LocalCloud

NAME = "Northwind Outreach"
EMAIL = "ops@northwind-outreach.example"
PLAN = "growth_monthly"
MAILBOX_NAMES = ("sales", "hello", "team", "info", "contact", "growth", "partners", "outreach")


def domain_names(count: int) -> list[str]:
    return ["northwind-outreach.example"] + [f"northwind-{n}.example" for n in range(2, count + 1)]


def mailbox_name(index: int) -> str:
    """The index-th mailbox name on a domain (sales, hello, ..., then inbox9, inbox10...)."""
    return MAILBOX_NAMES[index] if index < len(MAILBOX_NAMES) else f"inbox{index + 1}"


def plan_limits() -> tuple[int, int]:
    """The plan's (max inboxes, max domains), as the catalogue says."""
    plan = default_catalogue().plan(PLAN)
    return plan.max_inboxes, plan.max_domains


def create_tenant() -> UUID:
    """What an operator does (`python -m inboxfleet.admin`): the only step outside the API."""
    with system_session("local.sample_customer") as s:
        return TenantDirectory(s).create(NAME, EMAIL).id


def add_delegated_domain(cloud: LocalCloud, customer: Customer, name: str) -> dict[str, Any]:
    """POST /v1/domains, then the registrar's part: the parent zone delegates the domain to the
    name servers the API named. The API's answer."""
    added = customer.add_domain(name)
    cloud.dns.delegate(name, added["delegation"]["name_servers"])
    cloud.dns.resolver.flush()
    return added


def ready_tenant(cloud: LocalCloud) -> tuple[UUID, str]:
    """The customer entitled on its plan (its standing set as billing sets it from Stripe) with
    its first domain added and delegated: (tenant id, domain)."""
    tenant_id = create_tenant()
    set_standing(tenant_id, "entitled", plan=PLAN, limits=default_catalogue().limits([(PLAN, 1)]))
    (domain,) = domain_names(1)
    customer = Customer(cloud.api_url, cloud.token(tenant_id))
    try:
        add_delegated_domain(cloud, customer, domain)
    finally:
        customer.close()
    return tenant_id, domain
