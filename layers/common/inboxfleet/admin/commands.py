"""The operator commands' inputs, validated like every other boundary."""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic
# would otherwise compile each annotation string at import.

from pydantic import BaseModel, ConfigDict

from inboxfleet.names import Email, TenantName


class CreateTenant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: TenantName
    billing_email: Email
