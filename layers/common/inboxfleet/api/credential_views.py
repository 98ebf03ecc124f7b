"""What the tenant API says about an inbox's mailbox login: the credentials a mail client (a
sequencer) connects with, and the body that asks for a new password (pydantic, so the published
OpenAPI document is generated from them)."""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic and
# the resolver read them at run time.

from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from inboxfleet.lifecycles import InboxStatus

# The password rules, published in the schema and enforced by `new_password` (one source each).
PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128
PASSWORD_MIN_DISTINCT = 6
# A cell a spreadsheet would read as a formula begins with one of these (OWASP, CSV injection):
# a password may not, so an export never has to alter one (export_formats escapes such cells).
FORMULA_FIRST_CHARACTERS = "=+-@"
# Printable ASCII without the space (0x21-0x7E), the first character none of "=+-@".
ACCEPTED_PATTERN = r"^[!-*,.-<>?A-~][!-~]*$"


def new_password(value: str) -> str:
    """A password a tenant may set on a mailbox. Every message says what is wrong, never the
    value itself."""
    if any(not "!" <= c <= "~" for c in value):
        raise ValueError(
            "the password takes printable ASCII letters, digits and symbols only: no spaces, "
            "control characters or non-ASCII characters"
        )
    if value[:1] in tuple(FORMULA_FIRST_CHARACTERS):
        raise ValueError(
            "the password may not begin with = + - or @ (spreadsheets read such a cell as a "
            "formula)"
        )
    if len(set(value)) < PASSWORD_MIN_DISTINCT:
        raise ValueError(
            f"the password is too weak: use at least {PASSWORD_MIN_DISTINCT} different characters"
        )
    return value


NewPassword = Annotated[
    str,
    Field(
        min_length=PASSWORD_MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
        description=f"{PASSWORD_MIN_LENGTH}-{PASSWORD_MAX_LENGTH} printable ASCII characters "
        "(letters, digits, symbols; no spaces), at least "
        f"{PASSWORD_MIN_DISTINCT} different ones, not beginning with = + - or @.",
        json_schema_extra={"pattern": ACCEPTED_PATTERN, "writeOnly": True, "format": "password"},
        repr=False,
    ),
    AfterValidator(new_password),
]


class MailEndpoint(BaseModel):
    """Where a mail client connects, as the inbox's mail server offers it."""

    model_config = ConfigDict(frozen=True)

    host: str
    port: int
    security: Literal["starttls", "tls"]  # STARTTLS upgrade, or TLS from the first byte


class InboxCredentials(BaseModel):
    """An active inbox's login: the same username and password for SMTP and IMAP."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    address: str
    username: str  # the full address
    password: str = Field(repr=False)
    smtp: MailEndpoint
    imap: MailEndpoint


class PasswordChange(BaseModel):
    """A new password for the inbox's mailbox."""

    # A validation error never quotes the value it refused.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    password: NewPassword


class PasswordChangeAccepted(BaseModel):
    """Recorded: the mail server takes the new password when convergence next applies it; until
    then the credentials still give the current one."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    status: InboxStatus
    password_change: Literal["pending"]
