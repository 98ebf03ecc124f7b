"""The inbox exports a sequencer takes in bulk: which columns each format has, what goes in them,
and cells escaped against formula injection. Pure.

Formats:
- `csv`: our own neutral columns (`inbox_id, address, username, password, smtp_host, smtp_port,
  smtp_security, imap_host, imap_port, imap_security`).
- `smartlead`: Smartlead's bulk upload of SMTP email accounts from CSV. Its template's header
  is `from_name, from_email, user_name, password, smtp_host, smtp_port, imap_host, imap_port,
  max_email_per_day, custom_tracking_url, warmup_enabled, ...`;
  the columns are the fields of Smartlead's add-SMTP-account API, whose reference names the
  required ones: https://api.smartlead.ai/api-reference/email-accounts/add-smtp . We fill the
  required eight; the optional ones (limits, warmup, tracking) are the tenant's choice there.
- `instantly`: Instantly's bulk import of IMAP/SMTP accounts from CSV. Its template's header is
  `Email, First Name, Last Name, IMAP Username, IMAP Password, IMAP Host, IMAP Port, SMTP
  Username, SMTP Password, SMTP Host, SMTP Port, Daily Limit, Warmup Enabled, Warmup Limit,
  Warmup Increment`; the first eleven are the required fields of Instantly's API v2 "create
  account" (`POST /api/v2/accounts`, https://developer.instantly.ai/api/v2/account): those are
  what we fill.

The template headers were read from public exporters and importers built for these uploads (the
vendors publish their templates as downloads inside their apps, not as documents); the column
meanings and which are required come from the API references named above. We keep no sender
name: the name columns hold one derived from the address (`john.doe@` -> John, Doe), which the
tenant may change in the tool.

Every data cell that begins with = + - @, a tab or a carriage return is prefixed with a single
quote (OWASP, "CSV Injection"), so a spreadsheet opening the file shows it as text instead of
running it. Addresses, host names and ports never begin with one, and a password the API accepts
may not either, so in practice nothing a client imports is changed by it. And every cell is
quoted: a spreadsheet whose locale separates cells with `;` (or one told to cut at tabs) would
otherwise cut an unquoted `Password1x;=1+1` in two and run the second part as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inboxfleet.api.credential_views import InboxCredentials


class ExportFormat(StrEnum):
    CSV = "csv"
    SMARTLEAD = "smartlead"
    INSTANTLY = "instantly"


FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
CONTENT_TYPE = "text/csv; charset=utf-8"

Column = tuple[str, Callable[["InboxCredentials"], object]]


def neutralised(cell: str) -> str:
    """The cell as a spreadsheet must show it: text, never a formula."""
    return f"'{cell}" if cell.startswith(FORMULA_TRIGGERS) else cell


def sender_name(address: str) -> tuple[str, str]:
    """A first and last name from the address's local part, split at its first '.', '_' or '-'
    (`john.doe` -> John, Doe; `sales` -> Sales, "")."""
    local = address.partition("@")[0]
    for separator in "._-":
        local = local.replace(separator, " ")
    first, _, rest = local.strip().partition(" ")
    return first.capitalize(), " ".join(part.capitalize() for part in rest.split())


def _full_name(c: InboxCredentials) -> str:
    return " ".join(part for part in sender_name(c.address) if part)


COLUMNS: dict[ExportFormat, tuple[Column, ...]] = {
    ExportFormat.CSV: (
        ("inbox_id", lambda c: c.id),
        ("address", lambda c: c.address),
        ("username", lambda c: c.username),
        ("password", lambda c: c.password),
        ("smtp_host", lambda c: c.smtp.host),
        ("smtp_port", lambda c: c.smtp.port),
        ("smtp_security", lambda c: c.smtp.security),
        ("imap_host", lambda c: c.imap.host),
        ("imap_port", lambda c: c.imap.port),
        ("imap_security", lambda c: c.imap.security),
    ),
    ExportFormat.SMARTLEAD: (
        ("from_name", _full_name),
        ("from_email", lambda c: c.address),
        ("user_name", lambda c: c.username),
        ("password", lambda c: c.password),
        ("smtp_host", lambda c: c.smtp.host),
        ("smtp_port", lambda c: c.smtp.port),
        ("imap_host", lambda c: c.imap.host),
        ("imap_port", lambda c: c.imap.port),
    ),
    ExportFormat.INSTANTLY: (
        ("Email", lambda c: c.address),
        ("First Name", lambda c: sender_name(c.address)[0]),
        ("Last Name", lambda c: sender_name(c.address)[1]),
        ("IMAP Username", lambda c: c.username),
        ("IMAP Password", lambda c: c.password),
        ("IMAP Host", lambda c: c.imap.host),
        ("IMAP Port", lambda c: c.imap.port),
        ("SMTP Username", lambda c: c.username),
        ("SMTP Password", lambda c: c.password),
        ("SMTP Host", lambda c: c.smtp.host),
        ("SMTP Port", lambda c: c.smtp.port),
    ),
}


def header(export_format: ExportFormat) -> list[str]:
    return [name for name, _ in COLUMNS[export_format]]


def rows(export_format: ExportFormat, inboxes: Iterable[InboxCredentials]) -> list[list[str]]:
    """Each inbox's cells in the format's column order, escaped."""
    columns = COLUMNS[export_format]
    return [[neutralised(str(cell(inbox))) for _, cell in columns] for inbox in inboxes]


def render(export_format: ExportFormat, inboxes: Iterable[InboxCredentials]) -> str:
    """The file: a header line, then one line per inbox (RFC 4180: CRLF, every cell quoted)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(header(export_format))
    writer.writerows(rows(export_format, inboxes))
    return out.getvalue()


def filename(export_format: ExportFormat, day: date) -> str:
    return f"inboxes-{export_format.value}-{day.isoformat()}.csv"
