"""Who is calling: the tenant named by a claim of the token API Gateway's JWT authorizer has
already verified. The function never verifies tokens itself; it reads only the claims the
authorizer passes (`requestContext.authorizer.jwt.claims`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from inboxfleet.api.errors import Unauthenticated


def tenant_of(claims: Mapping[str, Any] | None, claim: str) -> UUID:
    """The tenant id in `claim`, or Unauthenticated (401) when the token names none."""
    value = (claims or {}).get(claim)
    if not isinstance(value, str) or not value:
        raise Unauthenticated(f"the token has no {claim} claim")
    try:
        return UUID(value)
    except ValueError:
        raise Unauthenticated(f"the token's {claim} claim is not a tenant id") from None
