"""MTA-STS policy text and its id (RFC 8461). Pure.

The mail server serves the policy at https://mta-sts.<domain>/.well-known/mta-sts.txt; DNS
publishes `_mta-sts.<domain> TXT "v=STSv1; id=<id>"`, whose id must change whenever the policy
does: deriving it from the policy text makes that automatic.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from inboxfleet.mailpolicy import MTA_STS_MAX_AGE_S, MTA_STS_MODE
from inboxfleet.mailpolicy import MtaStsMode as Mode

__all__ = ["Mode", "policy_id", "policy_text"]


def policy_text(
    mx_hosts: Sequence[str], mode: Mode = MTA_STS_MODE, max_age_s: int = MTA_STS_MAX_AGE_S
) -> str:
    lines = ["version: STSv1", f"mode: {mode}", *(f"mx: {mx}" for mx in mx_hosts)]
    lines.append(f"max_age: {max_age_s}")
    # RFC 8461 section 3.2: lines end in CRLF.
    return "\r\n".join(lines) + "\r\n"


def policy_id(text: str) -> str:
    """1-32 alphanumerics (RFC 8461 section 3.1), stable for the same policy."""
    return hashlib.sha256(text.encode()).hexdigest()[:20]
