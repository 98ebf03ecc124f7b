"""MTA-STS policy text and its id (RFC 8461). Pure.

The mail server serves the policy at https://mta-sts.<domain>/.well-known/mta-sts.txt; DNS
publishes `_mta-sts.<domain> TXT "v=STSv1; id=<id>"`, whose id must change whenever the policy
does: deriving it from the policy text makes that automatic.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

Mode = Literal["enforce", "testing", "none"]


def policy_text(mx_hosts: Sequence[str], mode: Mode = "enforce", max_age_s: int = 604_800) -> str:
    lines = ["version: STSv1", f"mode: {mode}", *(f"mx: {mx}" for mx in mx_hosts)]
    lines.append(f"max_age: {max_age_s}")
    # RFC 8461 section 3.2: lines end in CRLF.
    return "\r\n".join(lines) + "\r\n"


def policy_id(text: str) -> str:
    """1-32 alphanumerics (RFC 8461 section 3.1), stable for the same policy."""
    return hashlib.sha256(text.encode()).hexdigest()[:20]
