"""Decoding Hostwinds answers into payloads or typed errors. Pure: bytes in, values out.

Hostwinds reports errors with HTTP 200 and `result: "error"`, sometimes inside a list of
result objects; success is either `{"success": ...}` or `{"result": "success", "message": ...}`.
Anything else (HTML error pages, empty or truncated bodies, other JSON) is treated as a transient
failure of the transport, described without echoing the body.
"""

from __future__ import annotations

import json
from typing import Any

from inboxfleet.hostwinds.errors import (
    HostwindsAuthFailed,
    HostwindsRejected,
    HostwindsUnavailable,
    InstanceNotFound,
)

_MAX_MESSAGE = 200
# Error texts that say "not now" rather than "no": worth a retry with backoff.
_TRANSIENT_WORDS = ("temporar", "try again", "timeout", "timed out", "busy", "maintenance")


def decode(action: str, status_code: int, body: bytes) -> Any:
    """The success payload of a response, or a typed error."""
    if status_code >= 500 or status_code == 429:
        raise HostwindsUnavailable(f"{action}: HTTP {status_code} ({_describe(body)})")
    if status_code != 200:
        raise HostwindsRejected(f"{action}: HTTP {status_code} ({_describe(body)})")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HostwindsUnavailable(f"{action}: unreadable answer ({_describe(body)})") from None
    return _payload(action, data)


def _payload(action: str, data: Any) -> Any:
    if isinstance(data, list):
        results = [item for item in data if isinstance(item, dict)]
        if not results or len(results) != len(data):
            raise HostwindsUnavailable(f"{action}: unexpected answer (a list of non-results)")
        for item in results:
            _raise_if_error(action, item)
        return [_message(item) for item in results]
    if isinstance(data, dict):
        _raise_if_error(action, data)
        if "success" in data:
            return data["success"]
        if data.get("result") == "success":
            return _message(data)
    raise HostwindsUnavailable(f"{action}: unexpected answer ({type(data).__name__})")


def _raise_if_error(action: str, item: dict[str, Any]) -> None:
    if item.get("result") != "error":
        return
    message = _message(item)
    if item.get("action") == "Authorization" or "not authorized" in message.lower():
        raise HostwindsAuthFailed(f"{action}: {message} (check the key and its IP allow-list)")
    lowered = message.lower()
    if "valid serviceid" in lowered:
        raise InstanceNotFound(f"{action}: {message}")
    if any(word in lowered for word in _TRANSIENT_WORDS):
        raise HostwindsUnavailable(f"{action}: {message}")
    raise HostwindsRejected(f"{action}: {message}")


def _message(item: dict[str, Any]) -> str:
    return str(item.get("message") or "")[:_MAX_MESSAGE]


def _describe(body: bytes) -> str:
    """What came back, without repeating it: a body may hold anything."""
    if not body.strip():
        return "empty body"
    head = body.lstrip()[:15].lower()
    kind = "HTML page" if head.startswith((b"<!doctype", b"<html")) else "non-JSON body"
    return f"{kind}, {len(body)} bytes"
