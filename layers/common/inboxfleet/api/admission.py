"""Whether a tenant's account takes new inboxes, and in which state they wait. Pure.

- Never subscribed (no subscription, or a first checkout not completed): requests are accepted
  as `awaiting_payment`, up to a bound, and billing releases them once a subscription entitles
  the tenant.
- Suspended for payment (unpaid, canceled, paused): refused with 402 — nothing is queued behind
  a debt.
- Entitled: queued, while the inboxes in use stay within the plan's `max_inboxes`.
"""

from __future__ import annotations

from dataclasses import dataclass

from inboxfleet.api.errors import LimitReached, PaymentRequired
from inboxfleet.lifecycles import InboxStatus, PaymentState, SubscriptionStatus
from inboxfleet.records import BillingAccount

# Requests a tenant may leave waiting for its first payment: enough for a launch, not a way to
# fill the database before paying.
MAX_AWAITING_PAYMENT = 200
CHECKOUT_PATH = "/v1/billing/checkout"

_NEVER_PAID = frozenset(
    {None, SubscriptionStatus.INCOMPLETE, SubscriptionStatus.INCOMPLETE_EXPIRED}
)


@dataclass(frozen=True)
class Occupancy:
    """The tenant's inboxes as the plan counts them."""

    in_use: int  # queued, provisioning, active: what max_inboxes bounds
    awaiting_payment: int


def admit(account: BillingAccount, occupancy: Occupancy, requested: int) -> InboxStatus:
    """The status `requested` new inboxes start in; PaymentRequired or LimitReached when the
    account cannot take them."""
    if account.subscription_status in _NEVER_PAID:
        if occupancy.awaiting_payment + requested > MAX_AWAITING_PAYMENT:
            raise LimitReached(
                f"at most {MAX_AWAITING_PAYMENT} inboxes can wait for a first payment; "
                f"{occupancy.awaiting_payment} wait, {requested} requested",
                field="max_awaiting_payment",
            )
        return InboxStatus.AWAITING_PAYMENT
    _refuse_suspended(account)
    if occupancy.in_use + requested > account.max_inboxes:
        raise LimitReached(
            f"the plan allows {account.max_inboxes} inboxes; {occupancy.in_use} in use, "
            f"{requested} requested",
            field="max_inboxes",
        )
    return InboxStatus.QUEUED


def admit_retry(account: BillingAccount, occupancy: Occupancy) -> None:
    """A failed inbox queues again only for an entitled account with room for it."""
    if account.subscription_status in _NEVER_PAID:
        raise PaymentRequired(
            f"no active subscription: check out at {CHECKOUT_PATH} before retrying"
        )
    admit(account, occupancy, 1)


# Each domain's zone costs $0.50 a month and Route 53's default quota is 500 zones: a tenant
# that has not paid may try a couple of domains, not fill the account with zones.
MAX_PENDING_UNPAID = 2


@dataclass(frozen=True)
class DomainCount:
    live: int  # not removed: what max_domains bounds
    pending: int  # still waiting for their delegation


def admit_domain(account: BillingAccount, domains: DomainCount) -> None:
    """LimitReached or PaymentRequired when the account cannot take one more domain: the same
    standings as for inboxes (never paid, suspended for payment, entitled)."""
    if account.subscription_status in _NEVER_PAID:
        if domains.pending >= MAX_PENDING_UNPAID or domains.live >= max(
            MAX_PENDING_UNPAID, account.max_domains
        ):
            raise LimitReached(
                f"without an active subscription at most {MAX_PENDING_UNPAID} domains may wait "
                f"for their delegation; subscribe at {CHECKOUT_PATH}",
                field="pending_domains",
            )
        return
    _refuse_suspended(account)
    if domains.live >= account.max_domains:
        raise LimitReached(
            f"the plan allows {account.max_domains} domains; {domains.live} in use",
            field="max_domains",
        )


def _refuse_suspended(account: BillingAccount) -> None:
    """Suspended for payment: nothing new is taken behind a debt."""
    if account.payment_state == PaymentState.SUSPENDED:
        raise PaymentRequired(
            f"the account is suspended (subscription {account.subscription_status}): pay the "
            f"open invoice or subscribe again at {CHECKOUT_PATH}"
        )
