"""A tenant's client of the public tenant API (the demo's customer, `up`'s ready tenant): HTTP
with a bearer token, nothing else. Each call answers the parsed JSON body, or raises `ApiRefused`
with the API's own error (the demo prints it in one line, not as a traceback)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx

HTTP_TIMEOUT_S = 30.0


class ApiRefused(RuntimeError):
    def __init__(self, method: str, path: str, answer: httpx.Response) -> None:
        super().__init__(f"{method} {path} -> {answer.status_code}: {answer.text[:500]}")
        self.status_code = answer.status_code


class Customer:
    def __init__(self, api_url: str, token: str) -> None:
        self._http = httpx.Client(
            base_url=api_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=HTTP_TIMEOUT_S,
        )

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        answer = self._http.request(method, path, json=body, headers=headers or None)
        if answer.status_code >= 400:
            raise ApiRefused(method, path, answer)
        return answer.json() if answer.content else None

    # ---- the calls the story makes ---------------------------------------------------------

    def checkout(self, plan: str, key: str) -> dict[str, Any]:
        body = {
            "plan": plan,
            "success_url": "https://app.inboxfleet.example/billing/done",
            "cancel_url": "https://app.inboxfleet.example/billing",
        }
        answer: dict[str, Any] = self.call("POST", "/v1/billing/checkout", body, **_key(key))
        return answer

    def billing(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("GET", "/v1/billing")
        return answer

    def add_domain(self, name: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("POST", "/v1/domains", {"name": name})
        return answer

    def domain(self, domain_id: UUID | str) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("GET", f"/v1/domains/{domain_id}")
        return answer

    def ask(self, addresses: list[str], key: str) -> list[dict[str, Any]]:
        answer = self.call("POST", "/v1/inboxes", {"addresses": addresses}, **_key(key))
        inboxes: list[dict[str, Any]] = answer["inboxes"]
        return inboxes

    def inbox(self, inbox_id: UUID | str) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("GET", f"/v1/inboxes/{inbox_id}")
        return answer

    def credentials(self, inbox_id: UUID | str) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("GET", f"/v1/inboxes/{inbox_id}/credentials")
        return answer

    def servers(self) -> list[dict[str, Any]]:
        servers: list[dict[str, Any]] = self.call("GET", "/v1/servers?limit=100")["servers"]
        return servers


def _key(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}
