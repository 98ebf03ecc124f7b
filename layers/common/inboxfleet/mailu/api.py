"""Mailu's REST API (/api/v1, 2024.06), reached through an SSH-forwarded channel.

The admin container publishes its port on the server's loopback only; every request travels
inside the SSH connection, so the token never crosses the network in the clear. Routes and
fields follow Mailu's own source (core/admin/mailu/api/v1).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from inboxfleet.mailu.config import ADMIN_API_PORT
from inboxfleet.mailu.errors import MailboxNotFound, MailuApiError, MailuNotReady

BASE = "/api/v1"


class _ChannelConnection(http.client.HTTPConnection):
    """HTTP/1.1 over SSH channels: (re)connecting opens a fresh forwarded channel."""

    def __init__(self, open_channel: Callable[[], Any], timeout_s: float) -> None:
        super().__init__("127.0.0.1", ADMIN_API_PORT, timeout=timeout_s)
        self._open_channel = open_channel

    def connect(self) -> None:
        try:
            self.sock = self._open_channel()
        except ConnectionRefusedError:
            raise MailuNotReady("the Mailu API is not answering yet") from None


class MailuApi:
    def __init__(
        self, open_channel: Callable[[], Any], token: str, timeout_s: float = 30.0
    ) -> None:
        self._conn = _ChannelConnection(open_channel, timeout_s)
        self.requests = 0
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Host": "localhost",
        }

    def close(self) -> None:
        self._conn.close()

    # -- domains ----------------------------------------------------------------------------

    def get_domain(self, name: str) -> dict[str, Any] | None:
        return self._get(f"/domain/{quote(name)}")

    def create_domain(self, name: str) -> None:
        self._send("POST", "/domain", {"name": name, "max_users": -1, "max_aliases": -1})

    def generate_dkim(self, name: str) -> None:
        self._send("POST", f"/domain/{quote(name)}/dkim", None)

    # -- users ------------------------------------------------------------------------------

    def get_user(self, email: str) -> dict[str, Any] | None:
        return self._get(f"/user/{quote(email)}")

    def create_user(self, email: str, password: str, quota_bytes: int) -> None:
        body = {
            "email": email,
            "raw_password": password,
            "quota_bytes": quota_bytes,
            "enabled": True,
        }
        self._send("POST", "/user", body)

    def update_user(self, email: str, changes: dict[str, Any]) -> None:
        status, payload = self._request("PATCH", f"/user/{quote(email)}", changes)
        if status == 404:
            raise MailboxNotFound(status, f"no mailbox {email}")
        self._raise_for(status, payload)

    def delete_user(self, email: str) -> bool:
        """False when the mailbox did not exist (a repeat of a delete is fine)."""
        status, payload = self._request("DELETE", f"/user/{quote(email)}", None)
        if status == 404:
            return False
        self._raise_for(status, payload)
        return True

    # -- transport --------------------------------------------------------------------------

    def _get(self, path: str) -> dict[str, Any] | None:
        status, payload = self._request("GET", path, None)
        if status == 404:
            return None
        self._raise_for(status, payload)
        return payload if isinstance(payload, dict) else None

    def _send(self, method: str, path: str, body: dict[str, Any] | None) -> None:
        status, payload = self._request(method, path, body)
        self._raise_for(status, payload)

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
        headers = dict(self._headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.requests += 1
        try:
            self._conn.request(method, BASE + path, body=data, headers=headers)
            response = self._conn.getresponse()
            raw = response.read()
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            self._conn.close()
            raise MailuNotReady(f"the Mailu API did not answer ({type(exc).__name__})") from None
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, None

    @staticmethod
    def _raise_for(status: int, payload: Any) -> None:
        if status < 400:
            return
        message = payload.get("message", "") if isinstance(payload, dict) else ""
        if status in (502, 503, 504):
            raise MailuNotReady(f"the Mailu API answered {status}")
        # Mailu's messages repeat request values (names, never passwords): keep them short.
        raise MailuApiError(status, str(message)[:200])
