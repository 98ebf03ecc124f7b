"""Part 4: inboxes whose mailbox on the server differs from what billing and the tenant want
(disabled while active, enabled while suspended, a new password not applied), with no
convergence run holding them: a run is started for each (one query per page finds them)."""

from __future__ import annotations

from datetime import timedelta

from inboxfleet.db.repositories.reconcile import Estate
from inboxfleet.provisioning.start import start_convergence
from inboxfleet.reconcile.ports import Scope, by_tenant


def reconcile_mailboxes(scope: Scope) -> None:
    starter = scope.deps.starters.get("mailbox")
    if starter is None:
        scope.tally.skip("no mailbox state machine configured")
        return
    before = scope.now - timedelta(seconds=scope.settings.work_grace_s)
    limit = scope.settings.page_size
    for rows in scope.pages(
        "mailboxes",
        lambda session, after: Estate(session).drifted_mailboxes(
            before=before, after=after, limit=limit
        ),
        key=lambda row: (row.tenant_id, row.id),
    ):
        for tenant_id, drifted in by_tenant(rows).items():
            ids = [row.id for row in drifted]
            started = 0 if scope.dry_run else start_convergence(starter, tenant_id, ids)
            for row in drifted:
                scope.tally.found("mailbox_drift", {"tenant_id": tenant_id, "inbox_id": row.id})
            scope.tally.repaired("mailbox_drift", started)
            if not scope.dry_run and started < len(ids):
                scope.tally.incomplete("some convergence runs could not be started now")
