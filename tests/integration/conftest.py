"""Fixtures shared by integration test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from inboxfleet.db import Database
from local.cloud import LocalCloud
from tests.billing_support import BillingWorld, billing_world


@pytest.fixture(scope="module")
def cloud(pg_server: str) -> Iterator[LocalCloud]:
    """The local cloud for one module, event sources and the provisioning workflow off (a
    module may define its own)."""
    with LocalCloud(
        postgres_url=pg_server, time_scale=0.001, event_sources=False, provisioning=False
    ) as running:
        yield running


@pytest.fixture
def world(app_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[BillingWorld]:
    """The billing world (moto SQS/SES/Secrets Manager, the Stripe simulator) on the shared
    migrated database."""
    with billing_world(monkeypatch) as w:
        yield w
