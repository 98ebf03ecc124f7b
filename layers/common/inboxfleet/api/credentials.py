"""/v1/inboxes/{id}/credentials, /v1/inboxes/{id}/password and /v1/inboxes/export: the routes of
an inbox's mailbox login. Each parses, calls one operation of `credential_service` as the caller's
tenant, and answers; an answer holding a password is never stored (`no-store`), and the password
POST does not honour Idempotency-Key (nothing of it is ever stored: asking twice is harmless)."""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic and
# the resolver read the route's type hints.

from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from inboxfleet.api.caller import caller, current_event
from inboxfleet.api.credential_views import (
    InboxCredentials,
    PasswordChange,
    PasswordChangeAccepted,
)
from inboxfleet.api.errors import WITH_BODY, responses
from inboxfleet.api.export_formats import CONTENT_TYPE, ExportFormat
from inboxfleet.api.posting import NO_STORE, answer, declared_headers, json_response
from inboxfleet.api.routing import Routes
from inboxfleet.api.runtime import deps

if TYPE_CHECKING:
    from inboxfleet.api.credential_service import Asker

routes = Routes()
# An export page: a page of 500 is well inside Lambda's 6 MB answer and, decrypted 16 at a time,
# its 15 s; a client may ask for up to 1000.
EXPORT_PAGE, MAX_EXPORT_PAGE = 500, 1000
NEXT_CURSOR = "X-Next-Cursor"
_OK, _ACCEPTED = HTTPStatus.OK, HTTPStatus.ACCEPTED
_C, _N = HTTPStatus.CONFLICT, HTTPStatus.NOT_FOUND


def _asker() -> "Asker":
    """Who asks, for the inbox timeline: the token's subject and API Gateway's request id."""
    from inboxfleet.api.credential_service import Asker

    context = current_event().request_context
    claims = context.authorizer.jwt_claim if context.authorizer else None
    subject = (claims or {}).get("sub")
    return Asker(
        subject=subject if isinstance(subject, str) else None,
        request_id=context.request_id or None,
    )


@routes.get(
    "/v1/inboxes/export",
    summary="The active inboxes' SMTP/IMAP logins as CSV files a sequencer imports, a page at a "
    "time",
    description="`csv`: our own columns; `smartlead` and `instantly`: the columns of those "
    "tools' bulk account uploads. Oldest inbox first, `limit` a page: each page is a file of "
    f"its own (with the header line), and `{NEXT_CURSOR}` names the next page's `cursor` "
    "(absent on the last). Passwords are included: each page is recorded on the timeline of "
    "every inbox it holds.",
    tags=["inboxes"],
    responses={
        int(_OK): {
            "description": "A page of the file (a header line only when no inbox is active)",
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "headers": {
                "Content-Disposition": {
                    "description": "attachment; filename=inboxes-<format>-<date>.csv",
                    "schema": {"type": "string"},
                },
                NEXT_CURSOR: {
                    "description": "The `cursor` of the next page; absent on the last page",
                    "schema": {"type": "string"},
                },
                **declared_headers(NO_STORE),
            },
        },
        **responses(),
    },
)
def get_export(
    format: Annotated[
        ExportFormat, Query(description="The columns: ours, Smartlead's or Instantly's")
    ] = ExportFormat.CSV,
    limit: Annotated[
        int, Query(ge=1, le=MAX_EXPORT_PAGE, description="Inboxes in the page")
    ] = EXPORT_PAGE,
    cursor: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description=f"The last page's `{NEXT_CURSOR}`"),
    ] = None,
) -> Response[str]:
    from inboxfleet.api.credential_service import export_credentials

    export = export_credentials(caller(), format, _asker(), deps(), limit=limit, cursor=cursor)
    headers = {"Content-Disposition": f'attachment; filename="{export.filename}"', **NO_STORE}
    if export.next_cursor is not None:
        headers[NEXT_CURSOR] = export.next_cursor
    return Response(
        status_code=int(_OK), content_type=CONTENT_TYPE, body=export.text, headers=headers
    )


@routes.get(
    "/v1/inboxes/<inbox_id>/credentials",
    summary="An active inbox's SMTP and IMAP login, password included",
    description="Every read is recorded on the inbox's timeline.",
    tags=["inboxes"],
    responses={
        **answer(
            _OK,
            InboxCredentials,
            "The login (the same username and password for SMTP and IMAP)",
            headers=NO_STORE,
        ),
        **responses(_N, _C),
    },
)
def get_credentials(inbox_id: UUID) -> Response[InboxCredentials]:
    from inboxfleet.api.credential_service import read_credentials

    credentials = read_credentials(caller(), inbox_id, _asker(), deps())
    return json_response(int(_OK), credentials.model_dump(mode="json"), NO_STORE)


@routes.post(
    "/v1/inboxes/<inbox_id>/password",
    summary="Set a new password for an active or suspended inbox's mailbox",
    description="The password is kept encrypted and applied on the mail server shortly; until "
    "then the credentials give the current one. Idempotency-Key does not apply: nothing of "
    "this request is ever stored, and asking for the same password twice is harmless (the "
    "last password asked for is the one applied).",
    tags=["inboxes"],
    responses={
        **answer(
            _ACCEPTED,
            PasswordChangeAccepted,
            "Recorded; the mail server takes it when it is next converged",
        ),
        **responses(_N, _C, *WITH_BODY),
    },
)
def post_password(
    inbox_id: UUID, request: Annotated[PasswordChange, Body()]
) -> Response[PasswordChangeAccepted]:
    from inboxfleet.api.credential_service import request_password_change

    accepted = request_password_change(caller(), inbox_id, request.password, _asker(), deps())
    return json_response(_ACCEPTED, accepted.model_dump(mode="json"))
