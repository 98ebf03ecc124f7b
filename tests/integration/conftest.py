"""Fixtures shared by integration test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from inboxfleet.db import Database
from tests.billing_support import BillingWorld, billing_world


@pytest.fixture
def world(app_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[BillingWorld]:
    """The billing world (moto SQS/SES/Secrets Manager, the Stripe simulator) on the shared
    migrated database."""
    with billing_world(monkeypatch) as w:
        yield w
