"""Inventory commands: one pydantic model per action, told apart by `action`."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from inboxfleet.inventory.errors import InvalidCommand
from inboxfleet.lifecycles import InboxStatus
from inboxfleet.names import Fingerprint
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


class TransitionInbox(_Command):
    action: Literal["transition_inbox"]
    to: InboxStatus
    failure_reason: str | None = Field(default=None, max_length=500)


class PinHostKey(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    action: Literal["pin_host_key"]
    tenant_id: UUID
    server_id: UUID
    host_key_fingerprint: Fingerprint


InventoryCommand = Annotated[
    DescribeInbox | RecordStep | TransitionInbox | PinHostKey, Field(discriminator="action")
]
_ADAPTER: TypeAdapter[InventoryCommand] = TypeAdapter(InventoryCommand)


def parse_command(event: Any) -> DescribeInbox | RecordStep | TransitionInbox | PinHostKey:
    return parse_event(_ADAPTER, event, InvalidCommand, "inventory command")
