"""Usage metering: each metered tenant's active inboxes, reported once per tenant and day as a
Stripe Billing meter event (the reconcile job calls this daily).

Idempotent twice over: a report is recorded per (tenant, day) and a second run skips it, and the
meter event's identifier is derived from tenant and day, which Stripe deduplicates, so a run
that crashed between sending and recording cannot count a day twice either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from uuid import UUID

from inboxfleet.billing.errors import BillingError
from inboxfleet.billing.plans import Catalogue
from inboxfleet.db.connection import Database
from inboxfleet.db.repositories import BillingDirectory, Inboxes, UsageReports
from inboxfleet.db.sessions import system_session, tenant_session
from inboxfleet.lifecycles import InboxStatus, PaymentState
from inboxfleet.observability import count, logger


class MeterApi(Protocol):
    def create_meter_event(
        self, *, event_name: str, customer_id: str, value: int, identifier: str, timestamp: int
    ) -> dict[str, Any] | None: ...


@dataclass
class UsageRun:
    day: date
    reported: list[UUID] = field(default_factory=list)
    already_reported: list[UUID] = field(default_factory=list)
    failed: dict[UUID, str] = field(default_factory=dict)


def meter_identifier(tenant_id: UUID, day: date) -> str:
    return f"usage-{tenant_id}-{day.isoformat()}"


def usage_timestamp(day: date, now: datetime) -> int:
    """Inside the day being reported, and never in the future (Stripe refuses both)."""
    end_of_day = datetime.combine(day, time(23, 59, 59), UTC)
    return int(min(end_of_day, now).timestamp())


def report_daily_usage(
    api: MeterApi,
    catalogue: Catalogue,
    day: date,
    now: datetime,
    database: Database | None = None,
    *,
    only_unreported: bool = False,
    before_each: Callable[[], None] | None = None,
) -> UsageRun:
    """Report `day` for every metered account (`only_unreported`: those not reported yet, as
    reconcile asks, so a day already done costs one query). `before_each` runs before each
    account (reconcile's time check: what it raises ends the run, the rest waits)."""
    if now - datetime.combine(day, time(0), UTC) > timedelta(days=34):
        raise ValueError(f"{day} is too old to report: Stripe accepts the past 35 days")
    metered = [key for key, plan in catalogue.plans.items() if plan.metered]
    with system_session("billing.usage-accounts", database=database) as session:
        accounts = BillingDirectory(session).accounts_on_plans(
            metered, unreported_on=day if only_unreported else None
        )
    run = UsageRun(day)
    for account in accounts:
        if account.payment_state == PaymentState.SUSPENDED or account.plan is None:
            continue
        if before_each is not None:
            before_each()
        event_name = catalogue.plan(account.plan).meter_event_name
        customer_id = account.stripe_customer_id
        assert event_name is not None  # the catalogue validates metered plans name a meter
        assert customer_id is not None  # accounts_on_plans only lists linked accounts
        try:
            sent = _report_one(
                api,
                account.tenant_id,
                customer_id=customer_id,
                event_name=event_name,
                day=day,
                now=now,
                database=database,
            )
        except BillingError as exc:
            # One tenant's failure never stops the others; the next run retries it.
            run.failed[account.tenant_id] = f"{type(exc).__name__}: {exc}"
            count("UsageReportsFailed")
            continue
        (run.reported if sent else run.already_reported).append(account.tenant_id)
    logger.info(
        "usage reported",
        extra={
            "day": day.isoformat(),
            "reported": len(run.reported),
            "already_reported": len(run.already_reported),
            "failed": len(run.failed),
        },
    )
    return run


def _report_one(
    api: MeterApi,
    tenant_id: UUID,
    *,
    customer_id: str,
    event_name: str,
    day: date,
    now: datetime,
    database: Database | None,
) -> bool:
    with tenant_session(tenant_id, database=database) as session:
        if UsageReports(session).reported(day):
            return False
        active = Inboxes(session).count_by_status(InboxStatus.ACTIVE)
    identifier = meter_identifier(tenant_id, day)
    api.create_meter_event(
        event_name=event_name,
        customer_id=customer_id,
        value=active,
        identifier=identifier,
        timestamp=usage_timestamp(day, now),
    )
    with tenant_session(tenant_id, database=database) as session:
        UsageReports(session).add(day, event_name, active, identifier)
    count("UsageReportsSent")
    return True
