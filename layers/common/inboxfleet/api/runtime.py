"""The tenant API's dependencies, built once per container."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inboxfleet.db.connection import Database
    from inboxfleet.provisioning.ports import WorkflowStarter


@dataclass
class ApiDeps:
    # None without a state machine to start: queued inboxes then wait, with no execution
    # name, for reconcile to start them.
    starter: WorkflowStarter | None
    database: Database | None = None
    # The teardown of deleted inboxes and the convergence of mailboxes (new passwords); None:
    # that work waits for reconcile.
    teardown: WorkflowStarter | None = None
    mailbox: WorkflowStarter | None = None


def deps() -> ApiDeps:
    """Per request: cheap (the starter is built once per state machine), and a process that
    runs several local clouds one after another sees each one's settings."""
    from inboxfleet.provisioning.runtime import starter, workflow_starter

    return ApiDeps(
        starter=starter(),
        teardown=workflow_starter("deprovision"),
        mailbox=workflow_starter("mailbox"),
    )
