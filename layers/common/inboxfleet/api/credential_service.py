"""The tenant API's mailbox-login operations, each in the caller's tenant session: reading an
inbox's credentials, exporting every active inbox's for a sequencer, asking for a new password.

Passwords are decrypted from their KMS ciphertext (bound to the inbox by the encryption context
{tenant_id, inbox_id}) only to be answered, outside any transaction, and every answer that holds
one is recorded on the timeline of each inbox it discloses before it is sent: nothing is
disclosed unrecorded. Neither a password nor its ciphertext is ever logged, recorded or put in
an error message.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from inboxfleet.api.credential_views import InboxCredentials, MailEndpoint, PasswordChangeAccepted
from inboxfleet.api.cursor import decode_cursor, split_page
from inboxfleet.api.errors import Conflict, Internal, NotFound
from inboxfleet.api.export_formats import ExportFormat, filename, render
from inboxfleet.api.runtime import ApiDeps
from inboxfleet.db import tenant_session
from inboxfleet.db.repositories import MailboxLogins
from inboxfleet.lifecycles import InboxStatus
from inboxfleet.mailu.config import CLIENT_ENDPOINTS
from inboxfleet.names import mail_host_of
from inboxfleet.observability import count, logger
from inboxfleet.provisioning.start import start_convergence
from inboxfleet.records import MailboxLogin

_I = InboxStatus
# Timeline steps (outcome `info`); their detail says who asked and in which request.
CREDENTIALS_READ = "credentials_read"
CREDENTIALS_EXPORTED = "credentials_exported"
CHANGE_REQUESTED = "password_change_requested"
# A password is set on a mailbox that exists: a suspended one keeps its mailbox (disabled).
PASSWORD_CHANGEABLE = frozenset({_I.ACTIVE, _I.SUSPENDED})
# KMS decrypts in flight at once for an export (one call per inbox).
DECRYPT_CONCURRENCY = 16
_BROKEN = "the inbox's credentials cannot be read now; this is a bug on our side"


@dataclass(frozen=True)
class Asker:
    """Who asked, for the timeline: the token's subject and API Gateway's request id."""

    subject: str | None
    request_id: str | None

    def detail(self, **more: str) -> dict[str, Any]:
        return {"by": "tenant", "subject": self.subject, "request_id": self.request_id, **more}


@dataclass(frozen=True)
class Export:
    """A page of an export: a file of its own (with its header line), and the cursor of the
    next page (None on the last)."""

    text: str
    filename: str
    inboxes: int
    next_cursor: str | None


def read_credentials(
    tenant_id: UUID, inbox_id: UUID, asker: Asker, deps: ApiDeps
) -> InboxCredentials:
    """An active inbox's credentials, recorded on its timeline."""
    with tenant_session(tenant_id, database=deps.database) as s:
        login = MailboxLogins(s).get(inbox_id)
    if login is None:
        raise NotFound(f"no inbox {inbox_id}", field="path.inbox_id")
    if login.status != _I.ACTIVE:
        raise Conflict(
            f"credentials are given for an active inbox only; this one is {login.status}",
            field="path.inbox_id",
        )
    credentials = _credentials(tenant_id, login)
    with tenant_session(tenant_id, database=deps.database) as s:
        MailboxLogins(s).record([inbox_id], CREDENTIALS_READ, asker.detail())
    count("CredentialsRead")
    return credentials


def export_credentials(
    tenant_id: UUID,
    export_format: ExportFormat,
    asker: Asker,
    deps: ApiDeps,
    *,
    limit: int,
    cursor: str | None = None,
) -> Export:
    """A page of the active inboxes' credentials (up to `limit`, oldest first, after `cursor`)
    as a file in `export_format`, each recorded on its inbox's timeline (one statement for the
    page). One query reads the page; the passwords are decrypted concurrently. Paged because a
    Lambda's answer holds at most 6 MB and each password is a KMS call within its 15 s."""
    with tenant_session(tenant_id, database=deps.database) as s:
        # Inside the session: an unknown tenant is a 403 before its cursor is looked at.
        after = decode_cursor(cursor) if cursor else None
        rows = MailboxLogins(s).page_in_status(_I.ACTIVE, limit=limit + 1, after=after)
    logins, next_cursor = split_page(rows, limit)
    credentials = _all_credentials(tenant_id, logins)
    text = render(export_format, credentials)
    with tenant_session(tenant_id, database=deps.database) as s:
        MailboxLogins(s).record(
            [login.id for login in logins],
            CREDENTIALS_EXPORTED,
            asker.detail(format=export_format.value),
        )
    count("CredentialsExported", len(logins))
    day = datetime.now(UTC).date()
    return Export(text, filename(export_format, day), len(logins), next_cursor)


def request_password_change(
    tenant_id: UUID, inbox_id: UUID, password: str, asker: Asker, deps: ApiDeps
) -> PasswordChangeAccepted:
    """Keep `password` (as KMS ciphertext bound to the inbox) as the inbox's desired password;
    the convergence step applies it on the mail server. The inbox's current credentials stay
    what they are until then. The password is encrypted first (KMS may take seconds), then
    one short transaction keeps it, under the status the inbox has when it is written. A
    missing or unchangeable inbox is refused before KMS is asked (a probe costs no KMS call)."""
    with tenant_session(tenant_id, database=deps.database) as s:
        before = MailboxLogins(s).get(inbox_id)
    if before is None:
        raise NotFound(f"no inbox {inbox_id}", field="path.inbox_id")
    _refuse_unchangeable(before.status)
    ciphertext = _encrypted(tenant_id, inbox_id, password)
    with tenant_session(tenant_id, database=deps.database) as s:
        logins = MailboxLogins(s)
        status = logins.request_password(
            inbox_id,
            ciphertext,
            allowed=PASSWORD_CHANGEABLE,
            step=CHANGE_REQUESTED,
            detail=asker.detail(),
        )
        # Nothing written: why, read in the same transaction.
        login = logins.get(inbox_id) if status is None else None
    if status is None:
        if login is None:
            raise NotFound(f"no inbox {inbox_id}", field="path.inbox_id")
        _refuse_unchangeable(login.status)
        raise Conflict("the inbox changed meanwhile; send the request again", field="path.inbox_id")
    count("PasswordChangesRequested")
    start_convergence(deps.mailbox, tenant_id, [inbox_id])
    return PasswordChangeAccepted.model_validate(
        {"id": inbox_id, "status": status, "password_change": "pending"}
    )


def _refuse_unchangeable(status: InboxStatus) -> None:
    if status not in PASSWORD_CHANGEABLE:
        raise Conflict(
            f"a password is set on an active or suspended inbox only; this one is {status}",
            field="path.inbox_id",
        )


def _credentials(tenant_id: UUID, login: MailboxLogin) -> InboxCredentials:
    """The login with its password decrypted: an Internal error (logged without the ciphertext)
    when it cannot be, which for an active inbox is a bug or a broken key."""
    from inboxfleet.kms import decrypt_text, inbox_context

    if login.password_ciphertext is None or login.server_domain is None:
        missing = "password" if login.password_ciphertext is None else "server"
        logger.error("an active inbox has no " + missing, extra={"inbox_id": str(login.id)})
        raise Internal(_BROKEN)
    try:
        password = decrypt_text(
            base64.b64encode(login.password_ciphertext).decode(), inbox_context(tenant_id, login.id)
        )
    except Exception as exc:
        # The type only: no message of a KMS client error belongs in a log next to an inbox.
        logger.error(
            "an inbox password does not decrypt",
            extra={"inbox_id": str(login.id), "error": type(exc).__name__},
        )
        raise Internal(_BROKEN) from None
    host = mail_host_of(login.server_domain)
    smtp, imap = CLIENT_ENDPOINTS["smtp"], CLIENT_ENDPOINTS["imap"]
    return InboxCredentials(
        id=login.id,
        address=login.address,
        username=login.address,
        password=password,
        smtp=MailEndpoint(host=host, port=smtp.port, security=smtp.security),
        imap=MailEndpoint(host=host, port=imap.port, security=imap.security),
    )


def _all_credentials(tenant_id: UUID, logins: list[MailboxLogin]) -> list[InboxCredentials]:
    if len(logins) <= 1:
        return [_credentials(tenant_id, login) for login in logins]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(DECRYPT_CONCURRENCY, len(logins))) as pool:
        return list(pool.map(lambda login: _credentials(tenant_id, login), logins))


def _encrypted(tenant_id: UUID, inbox_id: UUID, password: str) -> bytes:
    from inboxfleet.kms import encrypt_for_inbox
    from inboxfleet.settings import SettingsError

    try:
        return base64.b64decode(encrypt_for_inbox(tenant_id, inbox_id, password))
    except SettingsError as exc:
        logger.error("no new password can be kept", extra={"error": str(exc)})
    except Exception as exc:
        logger.error(
            "a new inbox password could not be encrypted",
            extra={"inbox_id": str(inbox_id), "error": type(exc).__name__},
        )
    raise Internal("the password cannot be kept now; this is a bug on our side")
