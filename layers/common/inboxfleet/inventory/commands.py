"""The inventory function's commands (one pydantic model per action, told apart by `action`)
and the results each action returns.

Results are the state machine's contract: the ASL reads their fields by JSONPath, so every
field is named here once and documented.
"""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic
# would otherwise compile each annotation string at import, on every cold start.

from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from inboxfleet.db.repositories.inbox_events import STATUS_STEP
from inboxfleet.inventory.errors import InvalidCommand
from inboxfleet.lifecycles import InboxStatus
from inboxfleet.names import Fingerprint
from inboxfleet.records import Inbox, InboxEvent, Server, TimelineEntry
from inboxfleet.validation import parse_event


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    tenant_id: UUID
    inbox_id: UUID


class DescribeInbox(_Command):
    action: Literal["describe_inbox"]


class RecordStep(_Command):
    action: Literal["record_step"]
    step: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    outcome: Literal["started", "succeeded", "failed", "retrying", "info"]
    detail: dict[str, str | int | float | bool | None] = Field(default_factory=dict, max_length=32)

    @field_validator("step")
    @classmethod
    def _not_a_status_change(cls, step: str) -> str:
        # "status" entries are written only with the status change they record (one writer).
        if step == STATUS_STEP:
            raise ValueError("'status' entries come only from transition_inbox")
        return step


class TransitionInbox(_Command):
    action: Literal["transition_inbox"]
    to: InboxStatus
    # Kept on the inbox when it fails (the named error, for the tenant and for support).
    failure_reason: str | None = Field(default=None, max_length=500)
    # Why the workflow moves it, for the timeline.
    reason: str = Field(default="workflow step", min_length=1, max_length=200)

    @model_validator(mode="after")
    def _a_failure_names_its_reason(self) -> Self:
        if self.to == InboxStatus.FAILED and not self.failure_reason:
            raise ValueError("failure_reason is required to move an inbox to failed")
        return self

    @property
    def why(self) -> str:
        return self.failure_reason or self.reason


class PinHostKey(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    action: Literal["pin_host_key"]
    tenant_id: UUID
    server_id: UUID
    host_key_fingerprint: Fingerprint


InventoryCommand = DescribeInbox | RecordStep | TransitionInbox | PinHostKey
_ADAPTER: TypeAdapter[InventoryCommand] = TypeAdapter(
    Annotated[InventoryCommand, Field(discriminator="action")]
)


def parse_command(event: Any) -> InventoryCommand:
    return parse_event(_ADAPTER, event, InvalidCommand, "inventory command")


class _Result(BaseModel):
    # Built on first use: an invocation returns one of these, never all of them.
    model_config = ConfigDict(frozen=True, defer_build=True)


class InboxDescribed(_Result):
    """describe_inbox: `$.inbox.status` is where the inbox stands; `$.timeline` its history,
    oldest first."""

    inbox: Inbox
    timeline: list[TimelineEntry]


class StepRecorded(_Result):
    """record_step: the timeline entry written."""

    event: InboxEvent


class InboxTransitioned(_Result):
    """transition_inbox: `$.inbox` as it is now; `$.changed` is false when it already had the
    status (a repeated step is a no-op)."""

    inbox: Inbox
    changed: bool


class HostKeyPinned(_Result):
    """pin_host_key: the server row with `$.server.host_key_fingerprint` pinned."""

    server: Server


InventoryResult = InboxDescribed | StepRecorded | InboxTransitioned | HostKeyPinned
