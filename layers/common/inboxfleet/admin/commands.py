"""The operator commands' inputs, validated like every other boundary."""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic
# would otherwise compile each annotation string at import.

from pydantic import BaseModel, ConfigDict, Field

from inboxfleet.names import Email, TenantName


class CreateTenant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: TenantName
    billing_email: Email


class TerminateRowless(BaseModel):
    """Terminate an instance reconcile reported with no server row, after an operator has
    reviewed it: its serviceid, and its name typed again as the confirmation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    serviceid: int = Field(gt=0)
    name: str = Field(min_length=1, max_length=200)
