"""What the tenant API tests share: the one error shape, and API Gateway v2 events for calling
the handler in process."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol
from uuid import UUID

import httpx
import psycopg


def error(answer: httpx.Response) -> dict[str, Any]:
    """The error of an answer, checked to be in the API's one shape."""
    assert answer.headers["content-type"].startswith("application/json"), answer.text
    body: dict[str, Any] = answer.json()
    assert set(body) == {"error"}, body
    detail: dict[str, Any] = body["error"]
    assert set(detail) == {"code", "message", "field"}, detail
    return detail


def http_event(
    method: str,
    path: str,
    tenant_id: UUID,
    *,
    route: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A payload 2.0 event as API Gateway passes it after its JWT authorizer accepted a token
    naming `tenant_id`."""
    route_key = f"{method} {route or path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"authorization": "Bearer x", **(headers or {})},
        "requestContext": {
            "http": {"method": method, "path": path, "sourceIp": "127.0.0.1"},
            "authorizer": {"jwt": {"claims": {"custom:tenant_id": str(tenant_id)}, "scopes": None}},
            "requestId": "r1",
            "routeKey": route_key,
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = json.dumps(body)
        event["headers"]["content-type"] = "application/json"
    return event


class _Api(Protocol):
    @property
    def api_url(self) -> str: ...


class _Caller(Protocol):
    @property
    def token(self) -> str: ...


def call(
    cloud: _Api,
    method: str,
    path: str,
    tenant: _Caller,
    body: Any = None,
    *,
    key: str | None = None,
    raw: bytes | None = None,
) -> httpx.Response:
    """One request over HTTP as the tenant: its token, the Idempotency-Key if given, a JSON
    body (or `raw` bytes, declared JSON all the same)."""
    headers = {"authorization": f"Bearer {tenant.token}"}
    if key is not None:
        headers["idempotency-key"] = key
    content = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    if content is not None:
        headers["content-type"] = "application/json"
    return httpx.request(
        method, f"{cloud.api_url}{path}", headers=headers, content=content, timeout=60
    )


def waits_for_a_lock(database_url: str, table: str, deadline_s: float = 30) -> bool:
    """Whether a backend comes to wait on a lock while running a statement on `table`."""
    end = time.monotonic() + deadline_s
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < end:
            waiting = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query ILIKE %s",
                (f"%{table}%",),
            ).fetchone()
            if waiting and waiting[0] > 0:
                return True
            time.sleep(0.02)  # polling the server's view of the wait, with a deadline
    return False


def while_held(
    tenant_id: UUID,
    change: Callable[[Any], object],
    request: Callable[[], httpx.Response],
    database_url: str,
    waits_on: str = "inboxes",
) -> httpx.Response:
    """Send `request` while another transaction of the tenant holds `change` uncommitted, and
    commit it once the request waits on a lock on `waits_on`: the request then sees the change
    only when it gets the lock."""
    from inboxfleet.db import tenant_session

    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with tenant_session(tenant_id) as s:
            change(s)
            holding.set()
            assert release.wait(timeout=60)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(timeout=30)
        with ThreadPoolExecutor(max_workers=1) as pool:
            answer = pool.submit(request)
            assert waits_for_a_lock(database_url, waits_on)
            release.set()
            return answer.result(timeout=60)
    finally:
        release.set()
        holder.join(timeout=30)
