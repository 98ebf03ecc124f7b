"""Billing: Stripe events applied out of order through the worker, and the webhook endpoint.

1. Worker: 2,000 customers (BENCH_BILLING_CUSTOMERS), each with one tenant in embedded
   PostgreSQL and a Stripe history of exactly 10 events written by the Stripe simulator as it
   changes the objects: a subscription created, updated (plan, quantity, cancel flag, status),
   one or two invoices (paid at once, paid after failed attempts, or failed for good), some
   subscriptions deleted at the end; same-second twins (invoice.payment_succeeded + invoice.paid,
   two subscription updates in one second). 10% of the events are delivered twice, then all are
   shuffled (seeded) and applied with `process_message` by 4 threads, each customer's events on
   one thread in delivery order (as one SQS FIFO message group). Re-fetches (same-second twins
   with other content) and customer look-ups (10% of customers name their tenant only in the
   customer's metadata) go to the simulator over HTTP through the real SDK. Afterwards every
   tenant's subscriptions, invoices and billing account must equal Stripe's final objects and
   `derive_entitlement` of them (the oracle).
2. Webhook: 2,000 signed deliveries (10% redeliveries, 10% signed with the previous secret) to
   the real StripeWebhookFunction handler with moto's SQS FIFO queue and Secrets Manager.

Run: .venv/bin/python -m bench.bench_billing   (BENCH_BILLING_SEED picks the shuffle)
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

import psycopg
import stripe

from inboxfleet.billing.plans import Catalogue, default_catalogue
from inboxfleet.billing.ports import Email
from inboxfleet.billing.state import Verdict, derive_entitlement
from inboxfleet.billing.stripe_api import StripeApi
from inboxfleet.billing.stripe_objects import StripeInvoice, StripeSubscription, parse_stripe
from inboxfleet.billing.worker import BillingDeps, Result, process_message
from inboxfleet.db import Database, system_session, tenant_session
from inboxfleet.db.connection import resolve_flavor
from inboxfleet.db.migrator import migrate
from inboxfleet.db.repositories import BillingAccounts, BillingObjects, TenantDirectory
from inboxfleet.observability import logger
from inboxfleet.records import InvoiceSnapshot, SubscriptionSnapshot
from inboxfleet.settings import BillingSettings
from local.billing_cloud import billing_cloud
from local.cloud import environment
from local.embedded_db import installed_database, postgres_server, scratch_database
from local.invoke import LocalContext, handler
from local.recording_starter import RecordingStarter
from local.stripe_samples import webhook_request
from local.stripe_sim import StripeSimulator

CUSTOMERS = int(os.environ.get("BENCH_BILLING_CUSTOMERS", "2000"))
SEED = int(os.environ.get("BENCH_BILLING_SEED", str(time.time_ns() % 1_000_000)))
EVENTS_PER_CUSTOMER = 10
REDELIVERED = 0.10
THREADS = 4
DELIVERIES = 2_000
EMPTY_QUEUE_EVERY = 50  # deliveries; the consumer's part, done untimed
RETENTION = timedelta(days=30)
PLANS = ("starter_monthly", "growth_monthly", "inbox_seat_monthly", "usage_monthly")
START = 1_790_000_000  # 2026-09-21
DAY = 86_400
API_KEY = "sk_test_bench_billing"
# The bench's own endpoint secrets, known to nothing else.
WEBHOOK_SECRET = "whsec_bench_current_0123456789abcdef"  # noqa: S105
OLD_WEBHOOK_SECRET = "whsec_bench_previous_0123456789abcd"  # noqa: S105


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class RecordingMailer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent: list[Email] = []

    def send(self, email: Email) -> None:
        with self._lock:
            self.sent.append(email)


class Discard(io.StringIO):
    """stdout while measuring: Powertools prints its metrics (EMF) there; count, then drop."""

    lines = 0

    def write(self, s: str) -> int:
        self.lines += s.count("\n")
        return len(s)


# ---- Stripe histories --------------------------------------------------------------------


@dataclass
class Story:
    """One customer: its tenant, its Stripe objects and the events about them, oldest first."""

    index: int
    tenant_id: UUID
    customer_id: str = ""
    subscription_id: str = ""
    tenant_on_subscription: bool = True  # else only the customer's metadata names it
    invoice_ids: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)


class Writer:
    """Changes a customer's objects in the simulator and records the event of each change, at
    the simulator's clock (which this moves: `gap` between acts, 0 inside one)."""

    def __init__(self, sim: StripeSimulator, now: list[int], rng: random.Random, story: Story):
        self.sim, self.now, self.rng, self.story = sim, now, rng, story
        self.sub: dict[str, Any] = {}

    def gap(self) -> None:
        # Some acts land in the same second as the one before (other objects, or no change).
        self.now[0] += 0 if self.rng.random() < 0.1 else self.rng.randint(60, 5 * DAY)

    def emit(self, type_: str, obj: dict[str, Any]) -> None:
        self.story.events.append(json.dumps(self.sim.event(type_, obj)))

    def update(self, type_: str = "customer.subscription.updated", **changes: Any) -> None:
        self.sub = self.sim.update_subscription(self.story.subscription_id, **changes)
        self.emit(type_, self.sub)

    @property
    def plan(self) -> str:
        return str(self.sub["items"]["data"][0]["price"]["lookup_key"])

    @property
    def quantity(self) -> int:
        return int(self.sub["items"]["data"][0]["quantity"])

    def seats(self, plan: str, other_than: int = 0) -> int:
        top = 20 if plan == "inbox_seat_monthly" else 4
        return self.rng.choice([q for q in range(1, top + 1) if q != other_than])

    def change(self) -> None:
        """A customer's own change: another plan, another quantity, or the cancel flag."""
        kind = self.rng.choices(["plan", "quantity", "cancel_flag"], weights=[4, 4, 2])[0]
        if kind == "plan":
            plan = self.rng.choice([p for p in PLANS if p != self.plan])
            self.update(lookup_key=plan, quantity=self.seats(plan))
        elif kind == "quantity":
            self.update(quantity=self.seats(self.plan, other_than=self.quantity))
        else:
            self.update(cancel_at_period_end=not self.sub["cancel_at_period_end"])

    def new_invoice(self) -> str:
        invoice = self.sim.add_invoice(self.story.customer_id, self.story.subscription_id)
        self.story.invoice_ids.append(invoice["id"])
        return str(invoice["id"])

    def paid(self, invoice_id: str, attempt: int) -> None:
        # Stripe sends both for one payment, in the same second and with the same object.
        obj = self.sim.update_invoice(invoice_id, status="paid", attempt_count=attempt)
        self.emit("invoice.payment_succeeded", obj)
        self.emit("invoice.paid", obj)

    def failed(self, invoice_id: str, attempt: int, last: bool) -> None:
        retry = None if last else self.now[0] + 3 * DAY
        obj = self.sim.update_invoice(invoice_id, attempt_count=attempt, next_payment_attempt=retry)
        self.emit("invoice.payment_failed", obj)

    # -- acts, named in plan_acts: each writes a known number of events --

    def act(self, name: str) -> None:
        if name.startswith("fail"):
            self.act_fail(int(name[4:]))
        else:
            getattr(self, f"act_{name}")()

    def act_u(self) -> None:
        self.change()

    def act_uu(self) -> None:
        """Two changes in one second: a twin with other content (the worker asks Stripe)."""
        self.change()
        self.change()

    def act_pay(self) -> None:
        self.paid(self.new_invoice(), 1)
        if self.sub["status"] == "trialing":
            self.update(status="active")

    def act_renew(self) -> None:
        end = int(self.sub["items"]["data"][0]["current_period_end"])
        self.update(current_period_start=end, current_period_end=end + 30 * DAY)
        self.paid(self.new_invoice(), 1)

    def act_fail(self, attempts: int) -> None:
        invoice_id = self.new_invoice()
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                self.now[0] += 3 * DAY  # Smart Retries' next attempt
            self.failed(invoice_id, attempt, last=attempt == 3)
            if attempt == 1:
                self.update(status="past_due")

    def act_recover(self) -> None:
        invoice_id = self.story.invoice_ids[-1]
        attempts = int(self.sim.invoice(invoice_id)["attempt_count"])
        self.paid(invoice_id, attempts + 1)
        self.update(status="active")

    def act_unpaid(self) -> None:
        self.update(status="unpaid")

    def act_lost(self) -> None:
        self.update(
            "customer.subscription.deleted", status="canceled", cancellation_reason="payment_failed"
        )

    def act_cancel(self) -> None:
        self.update("customer.subscription.deleted", status="canceled")


def plan_acts(rng: random.Random, trialing: bool) -> list[str]:
    """Acts adding up to EVENTS_PER_CUSTOMER - 1 events (the creation is the first)."""
    scenario = rng.choices(["clean", "recovered", "lost"], weights=[45, 35, 20])[0]
    if scenario == "clean":
        core = ["pay"] + (["renew"] if rng.random() < 0.4 else [])
        tail = ["cancel"] if rng.random() < 0.2 else []
    elif scenario == "recovered":
        core = [f"fail{rng.randint(1, 2)}", "recover"]
        tail = ["cancel"] if rng.random() < 0.15 else []
    else:
        core, tail = ["fail3", "unpaid"], ["lost"]
    size = {"pay": 3 if trialing else 2, "renew": 3, "recover": 3, "unpaid": 1}
    size |= {"lost": 1, "cancel": 1, "fail1": 2, "fail2": 3, "fail3": 4}
    room = EVENTS_PER_CUSTOMER - 1 - sum(size[a] for a in core + tail)
    # Customer changes go before the first invoice and after a successful payment.
    slots: list[list[str]] = [[] for _ in range(len(core) + 1)]
    open_slots = [0] + [i + 1 for i, a in enumerate(core) if a in ("pay", "renew", "recover")]
    while room > 0:
        unit = "uu" if room >= 2 and rng.random() < 0.25 else "u"
        slots[rng.choice(open_slots)].append(unit)
        room -= len(unit)
    acts = list(slots[0])
    for act, after in zip(core, slots[1:], strict=True):
        acts += [act, *after]
    return acts + tail


def write_story(sim: StripeSimulator, now: list[int], rng: random.Random, story: Story) -> None:
    now[0] = START + rng.randrange(0, 60 * DAY)
    tenant = {"tenant_id": str(story.tenant_id)}
    customer = sim.add_customer(
        f"billing+{story.index}@bench.example", f"Bench customer {story.index}", tenant
    )
    story.customer_id = customer["id"]
    writer = Writer(sim, now, rng, story)
    plan = rng.choice(PLANS)
    trialing = rng.random() < 0.25
    # Checkout puts the tenant on the subscription; 10% only have it on the customer.
    story.tenant_on_subscription = rng.random() >= 0.1
    sub = sim.add_subscription(
        story.customer_id,
        plan,
        writer.seats(plan),
        "trialing" if trialing else "active",
        tenant if story.tenant_on_subscription else {},
        current_period_start=now[0],
        current_period_end=now[0] + 30 * DAY,
    )
    story.subscription_id = sub["id"]
    writer.sub = sub
    writer.emit("customer.subscription.created", sub)
    for act in plan_acts(rng, trialing):
        writer.gap()
        writer.act(act)
    assert len(story.events) == EVENTS_PER_CUSTOMER, (story.index, len(story.events))


# ---- part 1: the worker ------------------------------------------------------------------


@dataclass
class WorkerRun:
    messages: int
    distinct: int
    wall: float
    latencies: dict[str, list[float]]  # by kind of message (KINDS)
    failures: list[str]
    reminders: int
    started: int
    stripe_reads: Counter[str]
    stripe_read_ms: float  # one subscription read, SDK -> simulator, median of 20
    transactions: int


def transactions(owner_url: str) -> int:
    with psycopg.connect(owner_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


KINDS = {
    "applied": "applied",
    "refetched": "applied after re-fetch (HTTP)",
    "looked-up": "1st event, customer look-up (HTTP)",
    "stale": "stale (older than stored)",
    "twin": "same-second twin, same content",
    "redelivered": "redelivered (event log)",
    "ignored": "ignored type",
}


def kind_of(result: Result, looked_up: bool) -> str:
    if looked_up:
        return "looked-up"
    if result.outcome == "duplicate":
        return "redelivered" if result.verdict is None else "twin"
    if result.verdict == Verdict.REFETCH:
        return "refetched"
    return result.outcome


def run_worker(
    stories: list[Story],
    sim: StripeSimulator,
    rng: random.Random,
    db: Database,
    owner_url: str,
) -> WorkerRun:
    messages = [(s.index, body) for s in stories for body in s.events]
    distinct = len(messages)
    messages += rng.sample(messages, round(distinct * REDELIVERED))
    rng.shuffle(messages)
    lanes: list[list[tuple[int, str]]] = [[] for _ in range(THREADS)]
    for customer, body in messages:
        # One customer, one lane, in delivery order: an SQS FIFO message group.
        lanes[customer % THREADS].append((customer, body))
    hinted = {s.index for s in stories if s.tenant_on_subscription}

    settings = BillingSettings(stripe_api_base=sim.base_url, stripe_max_retries=0)
    mailer = RecordingMailer()
    starter = RecordingStarter()
    deps = BillingDeps(
        stripe=StripeApi(lambda: API_KEY, settings),
        mailer=mailer,
        starter=starter,
        catalogue=default_catalogue(),
        retention=RETENTION,
    )
    failures: list[str] = []
    latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
    lock = threading.Lock()

    def lane(work: list[tuple[int, str]]) -> None:
        mine: list[tuple[str, float]] = []
        linked: set[int] = set()
        for customer, body in work:
            started = time.perf_counter()
            try:
                result = process_message(body, deps)
            except Exception as exc:  # the queue would redeliver it; here it is a failed run
                with lock:
                    failures.append(f"{type(exc).__name__}: {exc}")
                continue
            elapsed = time.perf_counter() - started
            looked_up = customer not in linked and customer not in hinted
            linked.add(customer)
            mine.append((kind_of(result, looked_up), elapsed))
        with lock:
            for kind, elapsed in mine:
                latencies[kind].append(elapsed)

    before = transactions(owner_url)
    sink = Discard()
    started = time.perf_counter()
    with contextlib.redirect_stdout(sink), ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(lane, lanes))
    wall = time.perf_counter() - started
    db.close()  # a closing backend flushes its statistics
    reads = Counter(path.split("/")[2] for method, path in sim.requests if method == "GET")
    probe: list[float] = []
    for _ in range(20):
        started = time.perf_counter()
        deps.stripe.subscription(stories[0].subscription_id)
        probe.append(time.perf_counter() - started)
    time.sleep(0.5)
    used = transactions(owner_url) - before - 1
    return WorkerRun(
        messages=len(messages),
        distinct=distinct,
        wall=wall,
        latencies=latencies,
        failures=failures,
        reminders=len(mailer.sent),
        started=len(starter.started),
        stripe_reads=reads,
        stripe_read_ms=statistics.median(probe) * 1000,
        transactions=used,
    )


def check_oracle(
    stories: list[Story], sim: StripeSimulator, catalogue: Catalogue
) -> tuple[int, list[str]]:
    """Tenants whose rows equal Stripe's final objects, and what differs for the others."""
    matching = 0
    problems: list[str] = []
    for story in stories:
        subs = [parse_stripe(StripeSubscription, sim.subscription(story.subscription_id))]
        truth_subs: list[SubscriptionSnapshot] = [s.snapshot() for s in subs]
        truth_invoices: list[InvoiceSnapshot] = [
            parse_stripe(StripeInvoice, sim.invoice(i)).snapshot() for i in story.invoice_ids
        ]
        want = derive_entitlement(truth_subs, truth_invoices, catalogue, RETENTION)
        with tenant_session(story.tenant_id) as s:
            objects = BillingObjects(s)
            got_subs, got_invoices = objects.subscriptions(), objects.invoices()
            account = BillingAccounts(s).get()
        wrong: list[str] = []
        if {x.subscription_id: x for x in got_subs} != {x.subscription_id: x for x in truth_subs}:
            wrong.append("subscriptions")
        if {x.invoice_id: x for x in got_invoices} != {x.invoice_id: x for x in truth_invoices}:
            wrong.append("invoices")
        if account is None:
            wrong.append("no billing account")
        else:
            expected = {
                "stripe_customer_id": story.customer_id,
                "stripe_subscription_id": want.subscription_id,
                "subscription_status": want.subscription_status,
                "plan": want.plan,
                "quantity": want.quantity,
                "max_inboxes": want.limits.max_inboxes,
                "max_domains": want.limits.max_domains,
                "allowed_locations": list(want.limits.allowed_locations),
                "current_period_end": want.current_period_end,
                "payment_state": want.payment_state,
                "teardown_after": want.teardown_after,
            }
            differ = [k for k, v in expected.items() if getattr(account, k) != v]
            if differ:
                wrong.append(f"account {', '.join(differ)}")
        if wrong:
            problems.append(f"tenant {story.tenant_id} ({story.customer_id}): {'; '.join(wrong)}")
        else:
            matching += 1
    return matching, problems


# ---- part 2: the webhook -----------------------------------------------------------------


@dataclass
class WebhookRun:
    deliveries: int
    wall: float  # in the handler only (signing and the consumer's receives are not counted)
    latencies: list[float]
    answers: Counter[str]
    queued_messages: int
    previous_secret: int


def consume(sqs: Any, queue_url: str) -> int:
    """Receive and delete everything on the queue, as the worker's event source would."""
    taken = 0
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
        taken += len(batch)
    return taken


def run_webhook(stories: list[Story], sim: StripeSimulator, rng: random.Random) -> WebhookRun:
    # Fresh events (ids the worker part never saw): the current objects, as Stripe resends.
    distinct = DELIVERIES - round(DELIVERIES * REDELIVERED)
    bodies: list[str] = []
    for n in range(distinct):
        story = stories[n % len(stories)]
        obj = sim.subscription(story.subscription_id)
        bodies.append(json.dumps(sim.event("customer.subscription.updated", obj)))
    plan = bodies + rng.sample(bodies, DELIVERIES - distinct)
    rng.shuffle(plan)

    with (
        billing_cloud([WEBHOOK_SECRET, OLD_WEBHOOK_SECRET], API_KEY) as cloud,
        environment(cloud.env),
    ):
        sqs, queue_url = cloud.sqs, cloud.queue_url
        webhook = handler("StripeWebhookFunction")
        context = LocalContext("StripeWebhookFunction")
        latencies: list[float] = []
        answers: Counter[str] = Counter()
        previous = queued = 0
        sink = Discard()
        with contextlib.redirect_stdout(sink):
            for n, body in enumerate(plan, 1):
                secret = WEBHOOK_SECRET
                if rng.random() < 0.1:  # a delivery signed while the secret was rolling
                    secret, previous = OLD_WEBHOOK_SECRET, previous + 1
                header: str = stripe.WebhookSignature.generate_signature_header(
                    body, secret, timestamp=int(time.time())
                )
                request = webhook_request(body, header)
                started = time.perf_counter()
                answer = webhook(request, context)
                latencies.append(time.perf_counter() - started)
                outcome = json.loads(answer["body"]).get("outcome", answer["body"])
                answers[f"{answer['statusCode']} {outcome}"] += 1
                if n % EMPTY_QUEUE_EVERY == 0 or n == len(plan):
                    # moto's send_message scans every message on the queue (its attribute
                    # counts): a queue left to grow would make each send slower than the last.
                    queued += consume(sqs, queue_url)
    return WebhookRun(
        deliveries=len(plan),
        wall=sum(latencies),  # one thread: the time spent in the handler
        latencies=latencies,
        answers=answers,
        queued_messages=queued,
        previous_secret=previous,
    )


# ---- the table ---------------------------------------------------------------------------


WIDTH = 98


def row(what: str, latencies: list[float], wall: float | None = None) -> str:
    ms = sorted(x * 1000 for x in latencies)
    rate = f"{wall:>9.2f}{len(ms) / wall:>9,.0f}" if wall else f"{'':>18}"
    if not ms:
        return f"{what:<38}{0:>8}{rate}"
    return (
        f"{what:<38}{len(ms):>8,}{rate}"
        f"{statistics.median(ms):>9.2f}{percentile(ms, 0.99):>9.2f}{ms[-1]:>9.2f}"
    )


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def main() -> int:
    logger.setLevel(logging.WARNING)  # the worker logs each link at INFO
    rng = random.Random(SEED)  # noqa: S311 - a reproducible workload, not a secret
    catalogue = default_catalogue()
    now = [START]
    set_up = time.perf_counter()
    with (
        postgres_server() as server,
        scratch_database(server, "bench_billing") as owner_url,
        StripeSimulator(API_KEY, clock=lambda: now[0]) as sim,
    ):
        migrate(owner_url, resolve_flavor("auto", owner_url))
        with installed_database(owner_url) as db:
            for plan in PLANS:
                sim.add_price(plan, id=f"price_{plan}")
            with system_session("bench.signup") as s:
                tenants = [
                    TenantDirectory(s).create(f"Bench {i}", f"billing+{i}@bench.example").id
                    for i in range(CUSTOMERS)
                ]
            stories = [Story(i, tenant) for i, tenant in enumerate(tenants)]
            for story in stories:
                write_story(sim, now, rng, story)
            set_up = time.perf_counter() - set_up

            worker = run_worker(stories, sim, rng, db, owner_url)
            (matching, problems), check_s = timed(lambda: check_oracle(stories, sim, catalogue))
            hook = run_webhook(stories, sim, rng)

    reads = worker.stripe_reads
    every = [x for kind in KINDS for x in worker.latencies[kind]]
    print(
        f"Billing: {worker.distinct:,} Stripe events for {CUSTOMERS:,} customers, shuffled, "
        f"{REDELIVERED:.0%} redelivered (seed {SEED}); the real worker and webhook handler"
    )
    print(
        f"{'what':<38}{'count':>8}{'wall s':>9}{'per s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    )
    print("-" * WIDTH)
    print(row("worker: process_message, all", every, worker.wall))
    for kind, label in KINDS.items():
        if worker.latencies[kind]:
            print(row(f"  {label}", worker.latencies[kind]))
    print(row("webhook: signed deliveries", hook.latencies, hook.wall))
    print("-" * WIDTH)
    verdict = "matches" if not problems else "DOES NOT MATCH"
    print(
        f"final state {verdict} oracle: {matching}/{len(stories)} tenants "
        f"(subscriptions, invoices, billing account = Stripe's final objects; {check_s:.1f} s)"
    )
    print(
        f"Stripe reads over HTTP (SDK -> simulator): {reads['subscriptions']:,} subscriptions, "
        f"{reads['invoices']:,} invoices, {reads['customers']:,} customers; one read: "
        f"{worker.stripe_read_ms:.1f} ms; reminders sent {worker.reminders:,}; "
        f"provisioning starts {worker.started}"
    )
    print(
        f"database transactions per message: {worker.transactions / worker.messages:.2f} "
        f"({worker.transactions:,} in all); failed messages {len(worker.failures)}"
    )
    print(
        f"webhook answers: {', '.join(f'{k} {v:,}' for k, v in sorted(hook.answers.items()))}; "
        f"{hook.queued_messages:,} messages on the FIFO queue; "
        f"{hook.previous_secret} signed with the previous secret"
    )
    print("-" * WIDTH)
    print(
        f"set-up (not measured) {set_up:.1f} s: embedded PostgreSQL, migrations, "
        f"{CUSTOMERS:,} tenants, histories written by the Stripe simulator"
    )
    print(
        f"worker: {THREADS} threads, customers partitioned across them (one SQS FIFO group "
        "each, in delivery order); tenants have no inboxes (inbox planning runs on empty lists)"
    )
    print(
        "webhook: one thread, StripeWebhookFunction's handler loaded from template.yaml; moto "
        "SQS FIFO + Secrets Manager run in-process (no network), PostgreSQL is real; wall s = "
        f"time in the handler; the queue is drained (untimed) every {EMPTY_QUEUE_EVERY} "
        "deliveries, as moto's send_message scans the whole queue"
    )
    for line in worker.failures[:5] + problems[:10]:
        print(f"  {line}")
    # Every delivery answered 200, and each distinct event queued exactly once.
    bad_answers = set(hook.answers) - {"200 queued", "200 duplicate"}
    lost_or_twice = hook.queued_messages != hook.answers["200 queued"]
    return 1 if worker.failures or problems or bad_answers or lost_or_twice else 0


if __name__ == "__main__":
    sys.exit(main())
