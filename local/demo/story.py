"""The demo's story: a customer, from paying to sending mail, through the public entry points of
the local cloud only (the tenant API over HTTP, Stripe's signed webhook), while the real
provisioning workflow runs in moto's Step Functions against the simulators."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from uuid import UUID

from inboxfleet.names import execution_name
from local.cloud import LocalCloud
from local.customer_api import Customer
from local.demo.options import DemoOptions
from local.demo.report import DemoFailed, Outcome, report
from local.demo.steps import INJECTED_ERROR, failable_step
from local.demo.view import View
from local.demo.watch import RunState, read_runs
from local.lambda_faults import LambdaFault
from local.polling import poll
from local.sample_customer import (
    NAME,
    PLAN,
    add_delegated_domain,
    create_tenant,
    domain_names,
    mailbox_name,
)

WATCH_EVERY_S = 0.2
# How long the runs may take, in workflow time: the time scale shrinks it with everything else.
RUNS_DEADLINE_S = 3600.0
BILLING_DEADLINE_S = 60.0


@dataclass
class Story:
    cloud: LocalCloud
    options: DemoOptions
    view: View
    started: float = field(default_factory=time.monotonic)
    tenant_id: UUID | None = None
    customer: Customer | None = None
    domains: dict[str, str] = field(default_factory=dict)  # name -> id
    inboxes: dict[str, str] = field(default_factory=dict)  # address -> id
    runs: list[RunState] = field(default_factory=list)
    asked_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def next_address(self) -> str:
        """An address on the first domain the tenant has not asked for yet."""
        domain = next(iter(self.domains))
        taken = sum(1 for address in self.inboxes if address.endswith(f"@{domain}"))
        return f"{mailbox_name(taken)}@{domain}"

    def you(self) -> Customer:
        assert self.customer is not None, "the tenant has not signed in yet"
        return self.customer


def addresses(options: DemoOptions, domains: Sequence[str]) -> list[str]:
    """The inboxes spread evenly over the domains, in blocks: with N inboxes on D domains the
    first N/D go on the first domain, and so on (the default's two share one: a new server,
    then a mailbox on it)."""
    per_domain: dict[str, int] = {}
    found = []
    for n in range(options.inboxes):
        domain = domains[n * len(domains) // options.inboxes]
        index = per_domain.get(domain, 0)
        per_domain[domain] = index + 1
        found.append(f"{mailbox_name(index)}@{domain}")
    return found


def play(cloud: LocalCloud, options: DemoOptions, view: View) -> tuple[Story, Outcome]:
    story = Story(cloud, options, view)
    try:
        _tenant(story)
        _subscribe(story)
        _domains(story)
        _ask(story)
        _watch(story)
        return story, report(story)
    finally:
        if story.customer is not None:
            story.customer.close()


def _tenant(story: Story) -> None:
    story.view.heading("An operator creates the tenant (the only step outside the API)")
    story.tenant_id = create_tenant()
    story.customer = Customer(story.cloud.api_url, story.cloud.token(story.tenant_id))
    story.view.say(f"{NAME}: tenant {story.tenant_id}; it signs in and gets a token (JWT)")


def _subscribe(story: Story) -> None:
    view, cloud, you = story.view, story.cloud, story.you()
    view.heading("The tenant subscribes through Stripe Checkout")
    # The platform's endpoint, as its operator registers it in Stripe's dashboard.
    cloud.stripe.add_webhook_endpoint(
        f"{cloud.api_url}/webhooks/stripe", cloud.secrets.webhook_secrets[0]
    )
    checkout = you.checkout(PLAN, key=str(uuid.uuid4()))
    view.say(f"POST /v1/billing/checkout {PLAN} -> 201, Stripe customer {checkout['customer_id']}")
    before = len(cloud.stripe.deliveries)
    subscription = cloud.stripe.complete_checkout(checkout["session_id"])
    view.say(f"the customer pays on Stripe's page: subscription {subscription['id']} is active")
    for delivery in cloud.stripe.deliveries[before:]:
        view.say(
            f"Stripe POSTs the signed {delivery.event_type} to /webhooks/stripe -> "
            f"{delivery.status} {_outcome(delivery.answer)}"
        )
        if delivery.status != HTTPStatus.OK:
            raise DemoFailed(f"the webhook refused Stripe's delivery: {delivery.answer[:300]}")

    def entitled() -> dict[str, Any] | None:
        billing = you.billing()
        return billing if billing["limits"]["max_inboxes"] > 0 else None

    billing = poll(entitled, "the billing worker to entitle the tenant", BILLING_DEADLINE_S)
    limits = billing["limits"]
    view.say(
        f"the billing worker (SQS FIFO) entitles the tenant: {billing['plan']}, "
        f"{limits['max_inboxes']} inboxes on {limits['max_domains']} domains in "
        f"{', '.join(limits['allowed_locations'])}"
    )


def _outcome(answer: str) -> str:
    try:
        return str(json.loads(answer).get("outcome", answer))
    except (ValueError, AttributeError):
        return answer[:200]


def _domains(story: Story) -> None:
    view, cloud, you = story.view, story.cloud, story.you()
    view.heading("The tenant adds its domain, and its registrar delegates it")
    for name in domain_names(story.options.domains):
        added = add_delegated_domain(cloud, you, name)
        story.domains[name] = added["id"]
        servers = added["delegation"]["name_servers"]
        view.say(f"POST /v1/domains {name} -> 201 {added['status']}: set its name servers to")
        view.say(f"    {', '.join(servers)}")
        view.say(f"the registrar (played by the demo): the parent zone delegates {name}")


def _ask(story: Story) -> None:
    view, you = story.view, story.you()
    wanted = addresses(story.options, list(story.domains))
    if story.options.fail_at:
        step = failable_step(story.options.fail_at)
        story.cloud.lambdas.inject(
            LambdaFault(
                function=story.cloud.function(step.function).name,
                error=INJECTED_ERROR,
                when=lambda e: e.get("action") == step.action,
                message=f"injected by --fail-at {step.state}",
                after_handler=step.after_the_call,
            )
        )
        lost = " after doing its work (its answer lost)" if step.after_the_call else ""
        view.heading(f"A fault is armed: the first {step.state} ({step.function}) will fail{lost}")
    view.heading("The tenant asks for inboxes")
    story.asked_at = datetime.now(UTC)
    by_domain: dict[str, list[str]] = {}
    for address in wanted:
        by_domain.setdefault(address.split("@", 1)[1], []).append(address)
    for asked in by_domain.values():
        for inbox in you.ask(asked, key=str(uuid.uuid4())):
            story.inboxes[inbox["address"]] = inbox["id"]
        view.say(f"POST /v1/inboxes {', '.join(asked)} -> 202 queued")


def _watch(story: Story) -> None:
    view, you = story.view, story.you()
    view.heading("The provisioning workflow runs (statemachines/provision_inbox.asl.json)")
    runs = {
        address: execution_name(UUID(inbox_id), int(you.inbox(inbox_id)["attempt"]))
        for address, inbox_id in story.inboxes.items()
    }
    deadline = time.monotonic() + RUNS_DEADLINE_S * story.options.time_scale + 60
    watched = time.monotonic()
    with view.watching(story.asked_at) as seen:
        while True:
            story.runs = read_runs(story.cloud, runs, watched)
            seen(story.runs)
            if not any(run.running for run in story.runs):
                break
            if time.monotonic() > deadline:
                raise TimeoutError("the provisioning runs did not end in time")
            time.sleep(WATCH_EVERY_S)
    # The runs have ended; the inboxes' rows are written by their last step.
    poll(lambda: _settled(you, story.inboxes.values()), "the inboxes to settle", 30)


def _settled(you: Customer, inbox_ids: Iterable[str]) -> bool:
    return all(you.inbox(i)["status"] in ("active", "failed") for i in inbox_ids)
