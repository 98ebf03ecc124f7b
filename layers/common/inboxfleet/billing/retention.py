"""A canceled tenant's inboxes after its retention: billing marks every one `deleting` and hands
each to the teardown workflow (its mailbox, and with a server's last inbox the server and our
records). The domains' zones and claims go afterwards, with `inboxfleet.dns.domain_removal`,
once nothing is left on them. Reconcile calls this for the tenants whose date has passed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from inboxfleet.db import Database, tenant_session
from inboxfleet.db.repositories import BillingAccounts, Inboxes
from inboxfleet.lifecycles import InboxStatus, inbox_predecessors
from inboxfleet.observability import count
from inboxfleet.provisioning.ports import WorkflowStarter
from inboxfleet.provisioning.start import start_teardowns

WHY = "the subscription ended and its retention has passed"
_DELETABLE = inbox_predecessors(InboxStatus.DELETING)


def tear_down_after_retention(
    tenant_id: UUID,
    teardown: WorkflowStarter | None,
    now: Callable[[], datetime],
    database: Database | None = None,
) -> list[UUID]:
    """If the tenant's retention has ended (a subscription that ended, none since), every inbox
    that can be is marked `deleting` and every inbox being deleted gets its teardown started
    (as the tenant's own DELETE does: nothing while a run is under way, else the next run). An inbox
    still being provisioned is left for the next call. Returns the inboxes handed over."""
    with tenant_session(tenant_id, database=database) as session:
        # Under the account lock, as billing applying an event: a new subscription landing
        # now either comes first (no date any more) or after (it finds the inboxes going).
        account = BillingAccounts(session).lock()
        if account.teardown_after is None or account.teardown_after > now():
            return []
        inboxes = Inboxes(session)
        for inbox in inboxes.list():
            if inbox.status in _DELETABLE:
                inboxes.transition(inbox.id, InboxStatus.DELETING, by="billing", why=WHY)
        going = [i.id for i in inboxes.list() if i.status == InboxStatus.DELETING]
    count("InboxesTornDownAfterRetention", start_teardowns(teardown, tenant_id, going))
    return going
