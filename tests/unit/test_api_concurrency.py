"""One process serves concurrent requests locally (the local API server's threads): each request
keeps its own event — its caller above all — whatever the others do meanwhile."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID, uuid4

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from inboxfleet.api import caller, inbox_service
from inboxfleet.api.inbox_views import InboxView
from inboxfleet.api.resolver import serve
from inboxfleet.lifecycles import InboxStatus
from local.invoke import LocalContext
from tests.tenant_api_support import http_event


def _view(inbox_id: UUID) -> InboxView:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    return InboxView(
        id=inbox_id,
        address="a@example.com",
        status=InboxStatus.ACTIVE,
        attempt=1,
        failure_reason=None,
        suspension_reason=None,
        created_at=now,
        updated_at=now,
        timeline=[],
    )


def test_a_request_keeps_its_caller_while_another_is_served(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = uuid4(), uuid4()
    first_inside, second_done = threading.Event(), threading.Event()
    seen: dict[UUID, UUID] = {}

    def describe(tenant_id: UUID, inbox_id: UUID, deps: Any) -> InboxView:
        if tenant_id == first:
            first_inside.set()
            assert second_done.wait(timeout=30)
        seen[tenant_id] = caller.caller()  # asked again, after the other request
        return _view(inbox_id)

    monkeypatch.setattr(inbox_service, "describe_inbox", describe)

    def get(tenant: UUID) -> dict[str, Any]:
        inbox = uuid4()
        event = http_event("GET", f"/v1/inboxes/{inbox}", tenant, route="/v1/inboxes/{inbox_id}")
        context = cast("LambdaContext", LocalContext("TenantApiFunction"))
        answer: dict[str, Any] = serve(event, context)
        return answer

    answers: dict[UUID, dict[str, Any]] = {}
    worker = threading.Thread(target=lambda: answers.setdefault(first, get(first)))
    worker.start()
    try:
        assert first_inside.wait(timeout=30)
        answers[second] = get(second)
    finally:
        second_done.set()
        worker.join(timeout=30)
    assert seen == {first: first, second: second}
    assert {answers[t]["statusCode"] for t in (first, second)} == {200}
    assert json.loads(answers[first]["body"])["status"] == "active"


def test_an_answer_that_breaks_its_own_model_is_our_500_not_a_422(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(tenant_id: UUID, inbox_id: UUID, deps: Any) -> dict[str, str]:
        return {"id": str(inbox_id)}  # the view's other fields missing: a bug of ours

    monkeypatch.setattr(inbox_service, "describe_inbox", broken)
    inbox = uuid4()
    event = http_event("GET", f"/v1/inboxes/{inbox}", uuid4(), route="/v1/inboxes/{inbox_id}")
    answer = serve(event, cast("LambdaContext", LocalContext("TenantApiFunction")))
    assert answer["statusCode"] == 500
    assert json.loads(answer["body"])["error"]["code"] == "internal_error"
