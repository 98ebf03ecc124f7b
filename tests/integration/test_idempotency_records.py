"""The idempotency store's claim: one statement decides whether a key is free — no record, an
expired one, or an in-progress one whose request died — so of two requests one claims it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

import pytest

from inboxfleet.db import Database, tenant_session
from inboxfleet.db.repositories import IdempotencyRecords, IdempotencyRow
from tests.factories import new_tenant

NOW_S = 1_800_000_000
NOW_MS = NOW_S * 1000


def row(
    status: str = "INPROGRESS", expires_at: int = NOW_S + 3600, **changes: object
) -> IdempotencyRow:
    fields: dict[str, object] = {
        "key": "tenant_api.run#abc",
        "status": status,
        "expires_at": expires_at,
        "in_progress_expires_at": None,
        "payload_hash": "h",
        "response_data": "",
    }
    return IdempotencyRow.model_validate({**fields, **changes})


def claim(tenant: UUID, record: IdempotencyRow) -> bool:
    with tenant_session(tenant) as s:
        return IdempotencyRecords(s).claim(record, now_s=NOW_S, now_ms=NOW_MS)


@pytest.mark.parametrize(
    ("held", "free"),
    [
        (row("COMPLETED"), False),
        (row("INPROGRESS"), False),  # no hold time known: held until it expires
        (row("INPROGRESS", in_progress_expires_at=NOW_MS + 1), False),
        (row("INPROGRESS", in_progress_expires_at=NOW_MS - 1), True),  # its request died
        (row("COMPLETED", expires_at=NOW_S - 1), True),  # expired
        (row("INPROGRESS", expires_at=NOW_S - 1, in_progress_expires_at=NOW_MS + 1), True),
    ],
    ids=["completed", "in progress", "held", "hold over", "expired", "expired while held"],
)
def test_a_key_is_claimed_only_when_free(
    app_db: Database, held: IdempotencyRow, free: bool
) -> None:
    tenant = new_tenant()
    assert claim(tenant, held)
    attempt = row(payload_hash="new")
    assert claim(tenant, attempt) is free
    with tenant_session(tenant) as s:
        stored = IdempotencyRecords(s).get(attempt.key)
    assert stored == (attempt if free else held)


def test_of_many_racing_claims_one_wins(app_db: Database) -> None:
    tenant = new_tenant()
    with ThreadPoolExecutor(max_workers=8) as pool:
        wins = list(pool.map(lambda n: claim(tenant, row(payload_hash=str(n))), range(16)))
    assert wins.count(True) == 1


def test_a_key_is_the_tenants_own(app_db: Database) -> None:
    one, two = new_tenant(), new_tenant()
    assert claim(one, row())
    assert claim(two, row())  # the same key, another tenant: its own record
    with tenant_session(two) as s:
        IdempotencyRecords(s).delete(row().key)
    with tenant_session(one) as s:
        assert IdempotencyRecords(s).get(row().key) is not None
