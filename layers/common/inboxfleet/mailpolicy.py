"""What the mail server (Mailu's configuration) and the published DNS records must agree on.
One place, so the two can never drift apart: the DKIM selector Mailu signs with is the one DNS
publishes the key under, the DMARC report mailbox DNS names is the one the server accepts, and
the MTA-STS policy the server serves is the one whose id DNS publishes."""

from __future__ import annotations

from typing import Literal

MtaStsMode = Literal["enforce", "testing", "none"]

DKIM_SELECTOR = "dkim"
DMARC_REPORT_MAILBOX = "dmarc-reports"
MTA_STS_MODE: MtaStsMode = "enforce"
MTA_STS_MAX_AGE_S = 604_800  # one week
