"""The Stripe files in events/: generated from one definition, signed validly, and answering for
real against the seeded sample tenant — through the worker (`sam local invoke` style) and through
the webhook after `--resign`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import stripe

from inboxfleet.billing.stripe_objects import HANDLED_EVENTS
from inboxfleet.db import Database, tenant_session
from inboxfleet.db.repositories import BillingAccounts, Inboxes
from inboxfleet.lifecycles import InboxStatus
from local.samples import SAMPLE_INBOX_ID, SAMPLE_TENANT_ID, seed_sample
from local.stripe_samples import (
    LOCAL_WEBHOOK_SECRET,
    SIGNED_AT,
    WEBHOOK_DIR,
    WORKER_DIR,
    rendered,
    resign,
    sample_events,
)
from tests.billing_support import BillingWorld, billing_world, invoke_worker
from tests.sample_outputs import SampleOutputs, input_samples

ORDER = list(sample_events())


@pytest.fixture
def world(fresh_app_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[BillingWorld]:
    seed_sample()
    with billing_world(monkeypatch, webhook_secrets=(LOCAL_WEBHOOK_SECRET,)) as w:
        yield w


def test_every_handled_type_has_a_sample() -> None:
    assert {e["type"] for e in sample_events().values()} >= HANDLED_EVENTS


def test_the_files_are_what_the_generator_writes() -> None:
    files = rendered()
    assert files, "no sample files"
    for path, text in files.items():
        assert path.read_text() == text, f"{path} is stale: run python -m local.stripe_samples"
    on_disk = {*input_samples(WEBHOOK_DIR.name), *input_samples(WORKER_DIR.name)}
    assert on_disk == set(files)


@pytest.mark.parametrize("path", input_samples(WEBHOOK_DIR.name), ids=lambda p: p.stem)
def test_each_webhook_sample_carries_a_signature_stripes_sdk_accepts(path: Path) -> None:
    request = json.loads(path.read_text())
    header = request["headers"]["stripe-signature"]
    assert header.startswith(f"t={SIGNED_AT},")
    # tolerance=0 skips the age check: the files are signed at a fixed time on purpose.
    assert stripe.WebhookSignature.verify_header(request["body"], header, LOCAL_WEBHOOK_SECRET, 0)


def test_the_worker_samples_apply_in_order_to_the_sample_tenant(world: BillingWorld) -> None:
    outcomes = []
    outputs = SampleOutputs(WORKER_DIR.name)
    for stem in ORDER:
        path = WORKER_DIR / f"{stem}.json"
        if not path.exists():
            continue
        batch = json.loads(path.read_text())
        response = invoke_worker(batch)
        outputs.record(path, batch, response)
        assert response == {"batchItemFailures": []}, stem
        with tenant_session(SAMPLE_TENANT_ID) as s:
            account = BillingAccounts(s).get()
            inbox = Inboxes(s).get(SAMPLE_INBOX_ID)
        assert account is not None
        assert inbox is not None
        outcomes.append((stem, account.plan, account.payment_state, inbox.status))
    assert outcomes == [
        ("subscription_created", "growth_monthly", "ok", InboxStatus.QUEUED),
        ("subscription_updated", "inbox_seat_monthly", "ok", InboxStatus.QUEUED),
        ("invoice_payment_failed", "inbox_seat_monthly", "past_due", InboxStatus.QUEUED),
        ("invoice_payment_succeeded", "inbox_seat_monthly", "ok", InboxStatus.QUEUED),
        ("invoice_paid", "inbox_seat_monthly", "ok", InboxStatus.QUEUED),
        ("subscription_paused", "inbox_seat_monthly", "suspended", InboxStatus.QUEUED),
        ("subscription_resumed", "inbox_seat_monthly", "ok", InboxStatus.QUEUED),
        ("invoice_voided", "inbox_seat_monthly", "ok", InboxStatus.QUEUED),
        ("invoice_marked_uncollectible", "inbox_seat_monthly", "ok", InboxStatus.QUEUED),
        ("subscription_deleted", "inbox_seat_monthly", "suspended", InboxStatus.QUEUED),
    ]
    outputs.check()
    assert [r.execution_name for r in world.starter.started] == [f"{SAMPLE_INBOX_ID}-1"]
    assert [e.destinations["ToAddresses"] for e in world.emails] == [
        ["billing@acme-outreach.example"]
    ]


def test_the_webhook_samples_are_accepted_once_resigned(world: BillingWorld) -> None:
    answers = {}
    outputs = SampleOutputs(WEBHOOK_DIR.name)
    for stem in ORDER:
        path = WEBHOOK_DIR / f"{stem}.json"
        request = json.loads(path.read_text())
        stale = world.deliver(request)
        assert stale["statusCode"] == 400, stem  # signed long ago: refused as Stripe would
        answer = world.deliver(resign(request))
        outputs.record(path, request, answer)
        answers[stem] = (answer["statusCode"], json.loads(answer["body"])["outcome"])
    assert answers == {stem: (200, "queued") for stem in ORDER if stem != "customer_updated"} | {
        "customer_updated": (200, "ignored")
    }
    outputs.check()
    report = world.drain()
    assert (report.succeeded, report.failed) == (len(ORDER) - 1, 0)
