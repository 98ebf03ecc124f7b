"""/v1/inboxes/{id}/credentials, /v1/inboxes/{id}/password and /v1/inboxes/export: the routes of
an inbox's mailbox login. Each parses, calls one operation of `credential_service` as the caller's
tenant, and answers; an answer holding a password is never stored (`no-store`), and the password
POST keeps the password out of what its Idempotency-Key stores."""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic and
# the resolver read the route's type hints.

from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any
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
from inboxfleet.api.posting import IDEMPOTENCY_KEY, answer, once
from inboxfleet.api.routing import Routes
from inboxfleet.api.runtime import deps

if TYPE_CHECKING:
    from inboxfleet.api.credential_service import Asker

routes = Routes()
_OK, _ACCEPTED = HTTPStatus.OK, HTTPStatus.ACCEPTED
_C, _N = HTTPStatus.CONFLICT, HTTPStatus.NOT_FOUND
# An answer holding a password: no cache (browser, proxy, CDN) may keep it.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_NO_STORE_HEADERS: dict[str, Any] = {
    name: {"description": value, "schema": {"type": "string"}} for name, value in NO_STORE.items()
}


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
    summary="Every active inbox's SMTP/IMAP login as a CSV file a sequencer imports",
    description="`csv`: our own columns; `smartlead` and `instantly`: the columns of those "
    "tools' bulk account uploads. Passwords are included: each export is recorded on every "
    "exported inbox's timeline.",
    tags=["inboxes"],
    responses={
        int(_OK): {
            "description": "The file (a header line only when no inbox is active)",
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "headers": {
                "Content-Disposition": {
                    "description": "attachment; filename=inboxes-<format>-<date>.csv",
                    "schema": {"type": "string"},
                },
                **_NO_STORE_HEADERS,
            },
        },
        **responses(),
    },
)
def get_export(
    format: Annotated[
        ExportFormat, Query(description="The columns: ours, Smartlead's or Instantly's")
    ] = ExportFormat.CSV,
) -> Response[str]:
    from inboxfleet.api.credential_service import export_credentials

    export = export_credentials(caller(), format, _asker(), deps())
    return Response(
        status_code=int(_OK),
        content_type=CONTENT_TYPE,
        body=export.text,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"', **NO_STORE},
    )


@routes.get(
    "/v1/inboxes/<inbox_id>/credentials",
    summary="An active inbox's SMTP and IMAP login, password included",
    description="Every read is recorded on the inbox's timeline.",
    tags=["inboxes"],
    responses={
        int(_OK): {
            "description": "The login (the same username and password for SMTP and IMAP)",
            "content": {"application/json": {"model": InboxCredentials}},
            "headers": _NO_STORE_HEADERS,
        },
        **responses(_N, _C),
    },
)
def get_credentials(inbox_id: UUID) -> Response[InboxCredentials]:
    from inboxfleet.api.credential_service import read_credentials

    credentials = read_credentials(caller(), inbox_id, _asker(), deps())
    # The body stays a dict: the resolver validates it against the route's declared answer.
    body: dict[str, Any] = credentials.model_dump(mode="json")
    answered: Response[Any] = Response(
        status_code=int(_OK), content_type="application/json", body=body, headers=NO_STORE
    )
    return answered


@routes.post(
    "/v1/inboxes/<inbox_id>/password",
    summary="Set a new password for an active or suspended inbox's mailbox",
    description="The password is kept encrypted and applied on the mail server shortly; until "
    "then the credentials give the current one.",
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
    inbox_id: UUID,
    request: Annotated[PasswordChange, Body()],
    idempotency_key: IDEMPOTENCY_KEY = None,
) -> Response[PasswordChangeAccepted]:
    from inboxfleet.api.credential_service import request_password_change

    tenant_id = caller()
    asker = _asker()
    return once(
        tenant_id,
        f"/v1/inboxes/{inbox_id}/password",
        idempotency_key,
        request.model_dump(mode="json"),
        lambda: request_password_change(tenant_id, inbox_id, request.password, asker, deps()),
        # The same key with another password replays the first answer: a password is never
        # part of what is stored, not even as a hash.
        secret_fields=("password",),
    )
