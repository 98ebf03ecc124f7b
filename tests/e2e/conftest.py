"""The local cloud the workflow tests share, one per module: the real ASL at time scale 0.001 on
the session's PostgreSQL, SQS event sources delivered by the test (`cloud.deliver_queued()`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.cloud import LocalCloud


@pytest.fixture(scope="module")
def cloud(pg_server: str) -> Iterator[LocalCloud]:
    with LocalCloud(postgres_url=pg_server, time_scale=0.001, event_sources=False) as running:
        yield running


@pytest.fixture
def reconcile_settings(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Every item reported, no grace for work left unchanged: the tests make drift and look
    at it at once (the function reads its settings on each pass)."""
    monkeypatch.setenv("RECONCILE_REPORT_ITEMS", "200")
    monkeypatch.setenv("RECONCILE_WORK_GRACE_S", "0")
    monkeypatch.setenv("RECONCILE_TERMINATE_AFTER_S", "0")
    return monkeypatch
