"""What a reconcile pass talks to, and the scope each part works in."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from inboxfleet.db.connection import Database
from inboxfleet.db.sessions import SystemSession, system_session
from inboxfleet.observability import count
from inboxfleet.provisioning.ports import Workflow, WorkflowStarter
from inboxfleet.reconcile.scope import Deadline, PartTally
from inboxfleet.settings import ReconcileSettings

if TYPE_CHECKING:
    from inboxfleet.billing.ports import BillingDeps
    from inboxfleet.billing.usage import MeterApi
    from inboxfleet.dns.service import DnsDeps
    from inboxfleet.hostwinds.client import HostwindsClient

R = TypeVar("R")
K = TypeVar("K")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ReconcileDeps:
    database: Database
    environment: str  # ENVIRONMENT: only servers named ifl-<environment>-... are ours
    settings: ReconcileSettings
    # None where a collaborator is not configured (no key, no state machine): the parts
    # needing it are skipped and say so.
    hostwinds: Callable[[], HostwindsClient] | None
    starters: Mapping[Workflow, WorkflowStarter | None]
    billing: Callable[[], BillingDeps] | None = None
    meter: Callable[[], MeterApi] | None = None  # Stripe's meter events (metered plans)
    dns: Callable[[], DnsDeps] | None = None
    now: Callable[[], datetime] = field(default=_utc_now)


@dataclass(frozen=True)
class Scope:
    """One part of one pass: what it may use, what it reports to, whether it may act."""

    deps: ReconcileDeps
    tally: PartTally
    dry_run: bool
    deadline: Deadline
    now: datetime

    def metric(self, name: str, value: int = 1) -> None:
        """An operational metric (some are alarmed): a dry run publishes none."""
        if not self.dry_run:
            count(name, value)

    @property
    def settings(self) -> ReconcileSettings:
        return self.deps.settings

    def read(self, reason: str, query: Callable[[SystemSession], R]) -> R:
        """One read across tenants, in its own short system session."""
        with system_session(f"reconcile.{reason}", database=self.deps.database) as session:
            return query(session)

    def pages(
        self, reason: str, page: Callable[[SystemSession, K | None], list[R]], key: Callable[[R], K]
    ) -> Iterator[list[R]]:
        """Every row a keyset query returns, page by page (one session each), checking the
        time before each page."""
        after: K | None = None
        while True:
            self.deadline.check()
            rows = self.read(reason, partial(_page_after, page, after))
            if rows:
                yield rows
            if len(rows) < self.settings.page_size:
                return
            after = key(rows[-1])


def _page_after(
    page: Callable[[SystemSession, K | None], list[R]], after: K | None, session: SystemSession
) -> list[R]:
    return page(session, after)


def by_tenant(rows: list[Any]) -> dict[Any, list[Any]]:
    """Rows grouped by their tenant_id, in order."""
    grouped: dict[Any, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.tenant_id, []).append(row)
    return grouped
