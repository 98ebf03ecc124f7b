"""What the tenant API says about inboxes: request bodies and answers (pydantic, so the
published OpenAPI document is generated from them)."""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic and
# the resolver read them at run time.

from datetime import datetime
from typing import Any, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from inboxfleet.lifecycles import InboxStatus
from inboxfleet.names import MailboxAddress

MAX_BULK = 100


class TimelineStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    step: str
    outcome: str
    detail: dict[str, Any]
    occurred_at: datetime


class InboxSummary(BaseModel):
    """An inbox as its tenant sees it: where it stands and why it failed."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    address: str
    status: InboxStatus
    attempt: int
    failure_reason: str | None
    suspension_reason: str | None
    created_at: datetime
    updated_at: datetime


class InboxView(InboxSummary):
    """One inbox, with what happened to it (its newest 200 timeline entries, oldest first)."""

    timeline: list[TimelineStep]


class InboxPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    inboxes: list[InboxSummary]
    next_cursor: str | None  # None: this is the last page


def _one_form_schema(schema: dict[str, Any]) -> None:
    """What `InboxRequest._one_form` enforces, published: exactly one of the two forms, and
    neither of them null."""
    for prop in schema["properties"].values():
        prop.update(next(o for o in prop.pop("anyOf") if o.get("type") != "null"))
    schema["oneOf"] = [{"required": ["address"]}, {"required": ["addresses"]}]


class InboxRequest(BaseModel):
    """One address, or a list of up to 100, each on one of the tenant's domains. The list is
    taken whole or not at all."""

    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra=_one_form_schema)

    address: MailboxAddress | None = None
    addresses: list[MailboxAddress] | None = Field(default=None, min_length=1, max_length=MAX_BULK)

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        sent = {name for name in self.model_fields_set if getattr(self, name) is not None}
        if len(sent) != 1 or len(self.model_fields_set) != 1:
            raise ValueError("send either `address` or `addresses`, not both and not neither")
        return self

    def wanted(self) -> list[tuple[str, str]]:
        """(field, address) in the order sent: the field names the address in errors."""
        if self.address is not None:
            return [("body.address", self.address)]
        return [(f"body.addresses.{i}", a) for i, a in enumerate(self.addresses or ())]


class NextStep(BaseModel):
    """What the tenant has to do before the request goes on."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    path: str


class InboxesAccepted(BaseModel):
    """The inboxes recorded, in the order asked; `next_step` says what they wait for, if
    anything (a checkout)."""

    model_config = ConfigDict(frozen=True)

    inboxes: list[InboxSummary]
    next_step: NextStep | None
