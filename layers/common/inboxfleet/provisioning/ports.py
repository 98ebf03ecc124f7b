"""What starts an inbox's workflows, as an interface: billing (releasing waiting inboxes,
suspending and reactivating mailboxes), the tenant API and reconcile hand requests to it; the
Step Functions adapter implements it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol
from uuid import UUID

from inboxfleet.names import compensation_name, execution_name, mailbox_run_name, teardown_name

# The state machines an inbox has: provision_inbox, deprovision_inbox, converge_mailbox.
Workflow = Literal["provision", "deprovision", "mailbox"]


@dataclass(frozen=True)
class StartRequest:
    tenant_id: UUID
    inbox_id: UUID
    execution_name: str  # <inbox id>-<attempt>: starting it twice is one execution
    # The compensation entry: the provisioning run (its name) this execution undoes.
    undo: str | None = None

    @classmethod
    def for_attempt(cls, tenant_id: UUID, inbox_id: UUID, attempt: int) -> StartRequest:
        return cls(tenant_id, inbox_id, execution_name(inbox_id, attempt))

    @classmethod
    def for_teardown(cls, tenant_id: UUID, inbox_id: UUID, run: int = 1) -> StartRequest:
        return cls(tenant_id, inbox_id, teardown_name(inbox_id, run))

    @classmethod
    def for_compensation(
        cls, tenant_id: UUID, inbox_id: UUID, execution: str, run: int = 1
    ) -> StartRequest:
        return cls(tenant_id, inbox_id, compensation_name(execution, run), undo=execution)

    @classmethod
    def for_mailbox(cls, tenant_id: UUID, inbox_id: UUID) -> StartRequest:
        return cls(tenant_id, inbox_id, mailbox_run_name(inbox_id))


class WorkflowStarter(Protocol):
    """Starts the executions of one workflow (provision, deprovision or mailbox)."""

    def start(self, request: StartRequest) -> None:
        """Started (or already started under this name) when this returns; raises otherwise."""

    def status(self, execution_name: str) -> str | None:
        """The execution's status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED), None when
        no execution has that name."""

    def stop(self, execution_name: str, cause: str) -> None:
        """Stop a running execution (one that has ended, or none of that name, is no error)."""
