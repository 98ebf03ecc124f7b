"""The simulated Mailu admin API over HTTP/1.1 on 127.0.0.1 (an OS-chosen port), like the admin
container's gunicorn: persistent connections, JSON answers. A simulated VPS host forwards its
SSH `direct-tcpip` channels here; tests may also call it directly.

Nothing received is logged beyond method, path and status. The request log (`requests`) keeps
each request with the Authorization value and every `raw_password` replaced by "***".
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from local.loopback import HttpSimulator, LoopbackHTTPServer, QuietHandler
from local.mailu_sim.api import MailuApi, Response
from local.mailu_sim.store import Store, dkim_public_key, verify_password

REDACTED = "***"

log = logging.getLogger("local.mailu_sim")


@dataclass(frozen=True)
class RecordedApiRequest:
    method: str
    path: str
    authorization: str | None  # "Bearer ***", "***" or None: the scheme kept, never the token
    body: Any  # the parsed JSON body with raw_password redacted; None if absent or not JSON
    status: int


@dataclass(frozen=True)
class DomainSnapshot:
    name: str
    max_users: int
    max_aliases: int
    max_quota_bytes: int
    signup_enabled: bool
    comment: str
    alternatives: tuple[str, ...]
    dkim_public_key: str | None  # base64 DER SubjectPublicKeyInfo, as in the `p=` tag
    dkim_private_pem: bytes | None


@dataclass(frozen=True)
class UserSnapshot:
    email: str
    enabled: bool
    quota_bytes: int
    global_admin: bool
    displayed_name: str
    comment: str


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if k == "raw_password" else _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


class _Handler(QuietHandler):
    server: LoopbackHTTPServer[MailuApiSimulator]
    server_version = "gunicorn"

    def _serve(self) -> None:
        body = self.read_body()
        if body is None:
            self._send(Response(400, b"", "text/plain"))
            return
        self.server.owner._serve(self, body)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)
        log.debug("%s %s -> %s", self.command, urlsplit(self.path).path, response.status)


class MailuApiSimulator(HttpSimulator):
    """Mailu's admin API for one installation; `env` returns its mailu.env, read per request."""

    kind = "Mailu simulator"
    handler = _Handler

    def __init__(self, env: Callable[[], Mapping[str, str]], *, port: int = 0) -> None:
        super().__init__(port)
        self._store = Store()
        self._api = MailuApi(self._store, env)
        self._requests: list[RecordedApiRequest] = []
        self._requests_lock = threading.Lock()

    # ---- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.root_url

    # ---- what tests look at --------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedApiRequest]:
        with self._requests_lock:
            return list(self._requests)

    @property
    def domains(self) -> dict[str, DomainSnapshot]:
        store = self._store
        with store.lock:
            return {
                name: DomainSnapshot(
                    name=row.name,
                    max_users=row.max_users,
                    max_aliases=row.max_aliases,
                    max_quota_bytes=row.max_quota_bytes,
                    signup_enabled=row.signup_enabled,
                    comment=row.comment,
                    alternatives=tuple(row.alternatives),
                    dkim_public_key=dkim_public_key(key)
                    if (key := store.dkim_keys.get(name))
                    else None,
                    dkim_private_pem=store.dkim_keys.get(name),
                )
                for name, row in store.domains.items()
            }

    @property
    def users(self) -> dict[str, UserSnapshot]:
        with self._store.lock:
            return {
                email: UserSnapshot(
                    email=row.email,
                    enabled=row.enabled,
                    quota_bytes=row.quota_bytes,
                    global_admin=row.global_admin,
                    displayed_name=row.displayed_name,
                    comment=row.comment,
                )
                for email, row in self._store.users.items()
            }

    def password_matches(self, email: str, password: str) -> bool:
        with self._store.lock:
            row = self._store.users.get(email.lower())
            stored = row.password if row is not None else None
        return stored is not None and verify_password(password, stored)

    def login_allowed(self, email: str, password: str) -> bool:
        """Whether a mail client logging in as `email` gets in, as Mailu's auth decides: the
        user exists, is enabled and the password matches (a disabled user is refused whatever
        the password)."""
        with self._store.lock:
            row = self._store.users.get(email.lower())
            enabled = row is not None and row.enabled
        return enabled and self.password_matches(email, password)

    def has_mailbox(self, email: str) -> bool:
        """Whether mail for `email` is delivered here: a user of that address exists."""
        with self._store.lock:
            return email.lower() in self._store.users

    def hosts_domain(self, domain: str) -> bool:
        """Whether this Mailu takes mail for `domain` (a domain or an alternative name)."""
        with self._store.lock:
            return self._store.fqdn_in_use(domain)

    # ---- serving -------------------------------------------------------------------------

    def _serve(self, handler: _Handler, body: bytes) -> None:
        authorization = handler.headers.get("Authorization")
        response = self._api.handle(
            handler.command,
            handler.path,
            authorization=authorization,
            content_type=handler.headers.get("Content-Type"),
            body=body,
        )
        self._record(handler.command, handler.path, authorization, body, response.status)
        handler._send(response)

    def _record(
        self, method: str, target: str, authorization: str | None, body: bytes, status: int
    ) -> None:
        shown = None
        if authorization is not None:
            shown = "Bearer " + REDACTED if authorization.startswith("Bearer ") else REDACTED
        try:
            parsed = _redact(json.loads(body)) if body else None
        except ValueError:
            parsed = None
        entry = RecordedApiRequest(method, unquote(urlsplit(target).path), shown, parsed, status)
        with self._requests_lock:
            self._requests.append(entry)
