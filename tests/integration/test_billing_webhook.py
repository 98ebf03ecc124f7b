"""The stripe_webhook Lambda, invoked like `sam local invoke` with API Gateway (payload 2.0)
requests signed by Stripe's own helper; moto SQS and Secrets Manager, real PostgreSQL."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

import psycopg
import pytest

from inboxfleet.billing.webhook import WebhookDeps, receive
from inboxfleet.db import system_session
from inboxfleet.db.repositories import StripeEventLog
from local.stripe_samples import webhook_request
from tests.billing_support import BillingWorld
from tests.factories import new_tenant
from tests.stripe_support import (
    OLD_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    Customer,
    delivery,
    sign,
)


def subscription_event(tenant: str | None = None) -> dict[str, Any]:
    customer = Customer(tenant_id=tenant)
    return customer.event("customer.subscription.created", customer.subscription(), 100)


def recorded(event_id: str) -> Any:
    with system_session("tests.event-log") as s:
        return StripeEventLog(s).get(event_id)


def reason(answer: dict[str, Any]) -> str:
    assert answer["statusCode"] == 400, answer
    return str(json.loads(answer["body"])["error"])


def test_a_verified_event_is_queued_by_customer_then_recorded(world: BillingWorld) -> None:
    event = subscription_event(str(new_tenant()))
    answer = world.deliver(delivery(event))

    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"received": True, "outcome": "queued"}
    [message] = world.queued()
    assert json.loads(message["Body"]) == event
    attributes = message["Attributes"]
    assert attributes["MessageGroupId"] == event["data"]["object"]["customer"]
    assert attributes["MessageDeduplicationId"] == event["id"]
    record = recorded(event["id"])
    assert (record.type, record.customer_id, record.outcome) == (
        "customer.subscription.created",
        event["data"]["object"]["customer"],
        None,
    )


def test_a_duplicate_delivery_is_answered_200_and_not_queued_twice(world: BillingWorld) -> None:
    event = subscription_event()
    first, again = world.deliver(delivery(event)), world.deliver(delivery(event))
    assert (first["statusCode"], again["statusCode"]) == (200, 200)
    assert json.loads(again["body"])["outcome"] == "duplicate"
    assert len(world.queued()) == 1


def test_types_we_do_not_handle_are_acknowledged_and_recorded_as_ignored(
    world: BillingWorld,
) -> None:
    customer = Customer(tenant_id=None)
    event = customer.event(
        "customer.updated", {"id": customer.customer_id, "object": "customer"}, 5
    )
    answer = world.deliver(delivery(event))
    assert json.loads(answer["body"])["outcome"] == "ignored"
    assert world.queued() == []
    assert recorded(event["id"]).outcome == "ignored"


def test_a_base64_encoded_body_is_verified_on_its_decoded_bytes(world: BillingWorld) -> None:
    body = json.dumps(subscription_event())
    answer = world.deliver(webhook_request(body, sign(body), base64_encoded=True))
    assert answer["statusCode"] == 200
    assert len(world.queued()) == 1


def test_both_secrets_of_a_rotation_and_several_v1_values_are_accepted(
    world: BillingWorld,
) -> None:
    old = json.dumps(subscription_event())
    assert (
        world.deliver(webhook_request(old, sign(old, secret=OLD_WEBHOOK_SECRET)))["statusCode"]
        == 200
    )
    new = json.dumps(subscription_event())
    now = int(time.time())
    both = sign(new, timestamp=now) + "," + sign(new, OLD_WEBHOOK_SECRET, now).split(",")[1]
    assert both.count("v1=") == 2
    assert world.deliver(webhook_request(new, both))["statusCode"] == 200
    assert len(world.queued()) == 2


def _bad(name: str) -> dict[str, Any]:
    body = json.dumps(subscription_event())
    now = int(time.time())
    match name:
        case "missing header":
            return webhook_request(body, None)
        case "malformed header":
            return webhook_request(body, "t=soon,v1=")
        case "wrong secret":
            return webhook_request(body, sign(body, secret="whsec_not_ours"))
        case "stale timestamp":
            return webhook_request(body, sign(body, timestamp=now - 301))
        case "body altered by one byte":
            return webhook_request(body.replace('"active"', '"Active"'), sign(body))
        case "non-JSON body":
            return webhook_request("not json {", sign("not json {"))
        case "JSON that is not an event":
            other = json.dumps({"id": "ch_1", "object": "charge"})
            return webhook_request(other, sign(other))
        case "bad base64":
            event = webhook_request("!!!", sign("!!!"))
            return event | {"isBase64Encoded": True}
        case "not an HTTP request":
            return {"headers": "nope"}
    raise AssertionError(name)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing header", "missing Stripe-Signature header"),
        ("malformed header", "malformed Stripe-Signature header: bad timestamp"),
        ("wrong secret", "no signature matches"),
        ("stale timestamp", "timestamp outside the tolerance zone"),
        ("body altered by one byte", "no signature matches"),
        ("non-JSON body", "body is not JSON"),
        ("JSON that is not an event", "body is not a Stripe event"),
        ("bad base64", "body is not valid base64"),
        ("not an HTTP request", "not an HTTP API request"),
    ],
)
def test_bad_deliveries_get_400_with_a_reason_and_nothing_is_queued(
    world: BillingWorld, case: str, expected: str
) -> None:
    assert reason(world.deliver(_bad(case))) == expected
    assert world.queued() == []


def test_a_failed_send_answers_5xx_records_nothing_and_the_retry_is_processed(
    world: BillingWorld,
) -> None:
    tenant = new_tenant()
    event = subscription_event(str(tenant))
    attributes = world.sqs.get_queue_attributes(QueueUrl=world.queue_url, AttributeNames=["All"])
    world.sqs.delete_queue(QueueUrl=world.queue_url)

    answer = world.deliver(delivery(event))

    assert answer["statusCode"] == 503
    assert recorded(event["id"]) is None
    kept = {
        k: v for k, v in attributes["Attributes"].items() if k in ("FifoQueue", "RedrivePolicy")
    }
    name = world.queue_url.rsplit("/", 1)[1]
    assert world.sqs.create_queue(QueueName=name, Attributes=kept)["QueueUrl"] == world.queue_url
    assert world.deliver(delivery(event))["statusCode"] == 200  # Stripe's retry
    report = world.drain()
    assert (report.succeeded, report.failed) == (1, 0)
    assert recorded(event["id"]).outcome == "applied"


def test_the_answer_never_echoes_secrets_or_the_body(world: BillingWorld) -> None:
    body = json.dumps(subscription_event())
    answer = world.deliver(webhook_request(body, sign(body, secret="whsec_not_ours")))
    text = json.dumps(answer)
    for secret in (WEBHOOK_SECRET, OLD_WEBHOOK_SECRET, "whsec_not_ours"):
        assert secret not in text
    assert "customer" not in answer["body"]
    assert base64.b64encode(body.encode()).decode()[:20] not in text


def test_a_handled_event_without_a_customer_is_recorded_as_ignored(world: BillingWorld) -> None:
    customer = Customer(tenant_id=None)
    obj = customer.subscription()
    obj["customer"] = None
    event = customer.event("customer.subscription.updated", obj, 7)
    answer = world.deliver(delivery(event))
    assert json.loads(answer["body"])["outcome"] == "ignored"
    assert recorded(event["id"]).detail == "event names no customer"
    assert world.queued() == []


def test_a_failed_record_after_queueing_answers_5xx_and_the_redelivery_is_harmless(
    world: BillingWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = new_tenant()
    event = subscription_event(str(tenant))

    def database_down(*args: object) -> bool:
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as patch:
        patch.setattr(StripeEventLog, "record", database_down)
        answer = world.deliver(delivery(event))
    assert answer["statusCode"] == 503
    assert "record" in json.loads(answer["body"])["error"]

    assert world.deliver(delivery(event))["statusCode"] == 200  # Stripe's redelivery
    assert len(world.queued()) == 1  # the queue's deduplication id kept one copy
    assert world.drain().succeeded == 1
    assert recorded(event["id"]).outcome == "applied"


def test_junk_headers_are_refused_before_the_secrets_are_read() -> None:
    def secrets_unreachable() -> list[str]:
        raise AssertionError("the secrets were read for a delivery without a signature")

    deps = WebhookDeps(secrets=secrets_unreachable, queue=_NoQueue(), now=time.time)
    body = json.dumps(subscription_event())
    for header in (None, "garbage", "t=1"):
        answer = receive(webhook_request(body, header), deps)
        assert answer["statusCode"] == 400


class _NoQueue:
    def send(self, body: str, **kw: Any) -> None:
        raise AssertionError("nothing may be queued")


# What SQS takes as a FIFO MessageGroupId / MessageDeduplicationId (moto does not check it).
_FIFO_ID = re.compile(r"[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}")


@pytest.mark.parametrize(
    ("event_id", "customer_id"),
    [
        ("evt_" + "a" * 200, "cus_ordinary"),
        ("evt_ordinary", "cus_" + "b" * 200),
        ("evt_" + "c" * 124, "cus_" + "d" * 124),  # exactly 128: kept as they are
    ],
)
def test_ids_of_any_length_become_fifo_ids_sqs_accepts(
    world: BillingWorld, event_id: str, customer_id: str
) -> None:
    customer = Customer(tenant_id=None, customer_id=customer_id)
    event = customer.event("customer.subscription.created", customer.subscription(), 100)
    event["id"] = event_id
    answer = world.deliver(delivery(event))

    assert answer["statusCode"] == 200, answer
    [message] = world.queued()
    group, dedup = (message["Attributes"][k] for k in ("MessageGroupId", "MessageDeduplicationId"))
    assert _FIFO_ID.fullmatch(group), group
    assert _FIFO_ID.fullmatch(dedup), dedup
    if len(event_id) <= 128 and len(customer_id) <= 128:
        assert (group, dedup) == (customer_id, event_id)
    assert recorded(event_id).customer_id == customer_id  # the log keeps the full ids
    # The same customer always lands in the same group, so its order holds.
    again = customer.event("customer.subscription.updated", customer.subscription(), 101)
    world.deliver(delivery(again))
    groups = {m["Attributes"]["MessageGroupId"] for m in world.queued()}
    assert groups == {group}
