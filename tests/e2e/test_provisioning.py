"""The provisioning saga end to end in the local cloud: the real provision_inbox.asl.json, run by
moto's interpreter, dispatching to the real handlers, against the Hostwinds, VPS-host and DNS
simulators. Requests come through the tenant API, as a tenant makes them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from inboxfleet.db import tenant_session
from inboxfleet.db.repositories import Domains, Inboxes
from inboxfleet.lifecycles import LIVE_SERVER, InboxStatus
from inboxfleet.provisioning.ports import StartRequest
from inboxfleet.provisioning.step_functions import StepFunctionsStarter
from local.cloud import LocalCloud
from local.hostwinds_sim.faults import (
    BodyDefect,
    HttpErrorPage,
    LostReply,
    MalformedBody,
    NeverActive,
)
from local.polling import poll
from local.provisioning_runs import (
    MACHINE,
    ended,
    execution_arn,
    history,
    lambda_invocations,
    machine_arn,
    sfn,
    transitions,
)
from local.stepfunctions import Pause
from local.vps_sim.faults import Unreachable
from tests.provisioning_support import (
    Tenant,
    fail_step,
    failed_with_undo_left,
    histories_text,
    instances,
    known_secrets,
    nothing_left,
    payloads,
    until_one_waits,
    zone_records,
)


@pytest.fixture(autouse=True)
def no_leftover_faults(cloud: LocalCloud) -> Iterator[None]:
    yield
    cloud.lambdas.clear_faults()
    cloud.hostwinds.clear_faults()


def test_a_new_domain_gets_a_server_and_a_working_inbox(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    (inbox_id,) = tenant.ask(f"sales@{domain}")

    inbox = tenant.settled(inbox_id)
    assert (inbox.status, inbox.failure_reason) == ("active", None), inbox.failure_reason
    (server,) = tenant.servers()
    assert server.status == "ready"
    assert server.ip is not None
    assert server.host_key_fingerprint is not None
    assert [i["main_ip"] for i in instances(cloud, server.name)] == [str(server.ip)]
    records = zone_records(cloud, tenant, domain)
    assert records[(f"mail.{domain}.", "A")] == [str(server.ip)]
    assert (f"{domain}.", "MX") in records
    assert tenant.domain_status(domain) == "verified"
    steps = tenant.timeline(inbox_id)
    for step in ("reserve", "create_server", "publish_host", "install_mailu", "publish_dns"):
        assert (step, "succeeded") in steps, step
    assert ("configure_mailbox", "started") in steps
    assert ("configure_mailbox", "succeeded") in steps

    # The tenant's credentials log in to the mailbox the workflow made.
    credentials = tenant("GET", f"/v1/inboxes/{inbox_id}/credentials").json()
    mailu = cloud.fleet.host(str(server.ip)).mailu
    assert mailu.password_matches(f"sales@{domain}", credentials["password"])

    events = history(cloud, inbox.execution_name or "")
    assert credentials["password"] not in payloads(events)


def test_a_second_inbox_on_a_ready_server_takes_the_fast_path(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    (first,) = tenant.ask(f"one@{domain}")
    first_run = tenant.settled(first).execution_name or ""
    (second,) = tenant.ask(f"two@{domain}")

    assert tenant.settled(second).status == "active"
    assert len(tenant.servers()) == 1
    fast = history(cloud, tenant.inbox(second).execution_name or "")
    full = history(cloud, first_run)
    # Reserve, configure the mailbox, activate: three Lambda calls.
    assert lambda_invocations(fast) == 3
    assert transitions(fast) < transitions(full) / 4


def test_two_inboxes_asked_together_on_a_new_domain_share_one_server(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    inbox_ids: list[UUID] = []

    # The builder's first look at its new server is held (then answered with a throttle, which
    # is retried) until the other inbox is waiting for that server.
    fail_step(
        cloud,
        "HostwindsFunction",
        "describe_server",
        error="Lambda.TooManyRequestsException",
        before=until_one_waits(tenant, inbox_ids),
    )
    inbox_ids += tenant.ask(f"a@{domain}", f"b@{domain}")

    assert [tenant.settled(i).status for i in inbox_ids] == ["active", "active"]
    (server,) = tenant.servers()
    assert len(instances(cloud, server.name)) == 1
    assert {tenant.inbox(i).server_id for i in inbox_ids} == {server.id}
    # One built the server; the other waited for it, then took the mailbox-only path.
    built = [i for i in inbox_ids if ("create_server", "succeeded") in tenant.timeline(i)]
    (waited,) = [i for i in inbox_ids if i not in built]
    assert len(built) == 1
    assert ("wait_for_server", "succeeded") in tenant.timeline(waited)
    assert ("create_server", "started") not in tenant.timeline(waited)


# Every step after the VPS exists, as (function, action): a fault there must undo everything.
STEPS_AFTER_THE_VPS = [
    ("HostwindsFunction", "describe_server"),
    ("InventoryFunction", "server_created"),
    ("DnsFunction", "publish_host"),
    ("HostwindsFunction", "set_reverse_dns"),
    ("MailuInstallerFunction", "pin"),
    ("InventoryFunction", "pin_host_key"),
    ("MailuInstallerFunction", "secure"),
    ("MailuInstallerFunction", "install"),
    ("MailuInstallerFunction", "status"),
    ("InventoryFunction", "record_step"),
    ("MailuInstallerFunction", "configure_domain"),
    ("DnsFunction", "upsert"),
    ("DnsFunction", "verify"),
    ("InventoryFunction", "server_ready"),
    ("MailuInstallerFunction", "configure"),
    ("InventoryFunction", "transition_inbox"),
]


@pytest.mark.parametrize(("function", "action"), STEPS_AFTER_THE_VPS)
def test_a_failure_after_the_vps_exists_undoes_everything(
    cloud: LocalCloud, function: str, action: str
) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    fail_step(cloud, function, action)
    (inbox_id,) = tenant.ask(f"sales@{domain}")

    inbox = tenant.settled(inbox_id)
    assert inbox.status == "failed"
    assert inbox.failure_reason is not None
    assert f"InjectedFault: injected at {action}" in inbox.failure_reason
    assert ended(cloud, inbox.execution_name or "")["status"] == "FAILED"
    nothing_left(cloud, tenant, domain)
    assert tenant.domain_status(domain) in ("delegated", "degraded")  # not verified any more
    assert ("compensate", "succeeded") in tenant.timeline(inbox_id)
    # The reservation is released: the domain has no live server, and a retry (tried at an
    # early, a middle and the last step) orders a new one and succeeds.
    assert not [s for s in tenant.servers() if s.status in LIVE_SERVER]
    if action in ("server_created", "install", "transition_inbox"):
        assert tenant("POST", f"/v1/inboxes/{inbox_id}/retry").status_code == 202
        assert tenant.settled(inbox_id).status == "active"
        assert [str(s.status) for s in tenant.servers()].count("ready") == 1


@pytest.mark.parametrize("lost", ["reply", "lambda_timeout"])
def test_a_create_whose_answer_is_lost_buys_one_vps_and_compensation_finds_it(
    cloud: LocalCloud, lost: str
) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    if lost == "reply":
        cloud.hostwinds.inject(LostReply(action="add_instance"))
    else:  # the function ordered, then ran out of time before it could answer
        fail_step(
            cloud,
            "HostwindsFunction",
            "create_server",
            error="Sandbox.Timedout",
            after_handler=True,
        )
    fail_step(cloud, "MailuInstallerFunction", "install")
    orders_before = _orders(cloud)
    (inbox_id,) = tenant.ask(f"sales@{domain}")

    assert tenant.settled(inbox_id).status == "failed"
    assert _orders(cloud) == orders_before + 1  # looked up by name, never ordered twice
    nothing_left(cloud, tenant, domain)


def test_a_vps_that_never_becomes_active_is_waited_for_then_given_back(
    cloud: LocalCloud,
) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    cloud.hostwinds.inject(NeverActive())
    waits_before = len(cloud.lambdas.pauses)
    (inbox_id,) = tenant.ask(f"sales@{domain}")

    inbox = tenant.settled(inbox_id)
    assert inbox.status == "failed"
    assert "VpsNeverActive" in (inbox.failure_reason or "")
    nothing_left(cloud, tenant, domain)
    polls = [p for p in cloud.lambdas.pauses[waits_before:] if p == Pause("wait", 15)]
    assert len(polls) == 40  # the bounded poll ran its course, then gave up


def test_a_blocklisted_new_address_is_given_back_and_ordered_again_once(
    cloud: LocalCloud, request: pytest.FixtureRequest
) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    listed: list[str] = []

    def list_the_first_address(event: dict[str, Any]) -> bool:
        # As a blocklist would have it: the first address this domain's server gets is listed.
        if not listed and domain in str(event.get("domain")):
            listed.append(str(event["ip"]))
            cloud.dns.dnsbl.list_ip(listed[0])
        return False  # no fault: the real handler finds the listing

    request.addfinalizer(lambda: _delist(cloud, listed))

    fail_step(cloud, "DnsFunction", "publish_host", when=list_the_first_address)
    (inbox_id,) = tenant.ask(f"sales@{domain}")

    assert tenant.settled(inbox_id).status == "active"
    first, second = sorted(tenant.servers(), key=lambda s: s.created_at)
    assert (str(first.ip), first.status) == (listed[0], "decommissioned")
    assert instances(cloud, first.name) == []
    assert second.status == "ready"
    assert str(second.ip) != listed[0]


def test_a_second_listed_address_fails_the_inbox(
    cloud: LocalCloud, request: pytest.FixtureRequest
) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    listed: list[str] = []

    def list_every_address(event: dict[str, Any]) -> bool:
        if domain in str(event.get("domain")):
            listed.append(str(event["ip"]))
            cloud.dns.dnsbl.list_ip(listed[-1])
        return False

    request.addfinalizer(lambda: _delist(cloud, listed))

    fail_step(cloud, "DnsFunction", "publish_host", when=list_every_address, times=None)
    (inbox_id,) = tenant.ask(f"sales@{domain}")

    inbox = tenant.settled(inbox_id)
    assert inbox.status == "failed"
    assert "blocklisted" in (inbox.failure_reason or "")
    nothing_left(cloud, tenant, domain)
    assert len(tenant.servers()) == 2


def _delist(cloud: LocalCloud, addresses: list[str]) -> None:
    """Addresses go back to the pool when their instance goes: a later test's may get one."""
    for ip in addresses:
        cloud.dns.dnsbl.delist_ip(ip)


def _orders(cloud: LocalCloud) -> int:
    return sum(1 for r in cloud.hostwinds.requests if r.action == "add_instance")


def test_the_first_of_two_inboxes_failing_after_the_second_is_active_keeps_what_it_uses(
    cloud: LocalCloud,
) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    builder: list[UUID] = []

    records_before_the_failure: dict[tuple[str, str], Any] = {}

    def second_active() -> None:
        # The builder's own mailbox step fails only once the other inbox is in service.
        (other,) = [i for i in inbox_ids if i not in builder]
        poll(lambda: tenant.inbox(other).status == "active", "the second inbox to be active")
        records_before_the_failure.update(zone_records(cloud, tenant, domain))

    def the_builders_mailbox(event: dict[str, Any]) -> bool:
        inbox = UUID(str(event.get("inbox_id")))
        ordered = {s.ordered_for for s in tenant.servers()}
        if inbox in ordered:
            builder.append(inbox)
            return True
        return False

    fail_step(
        cloud,
        "MailuInstallerFunction",
        "configure",
        when=the_builders_mailbox,
        before=second_active,
        after_handler=True,  # its mailbox exists: compensation must remove it
    )
    inbox_ids = tenant.ask(f"first@{domain}", f"second@{domain}")
    settled = {i: tenant.settled(i).status for i in inbox_ids}

    (failed,) = builder
    (survivor,) = [i for i in inbox_ids if i != failed]
    assert (settled[failed], settled[survivor]) == ("failed", "active")
    (server,) = tenant.servers()
    assert server.status == "ready"
    assert len(instances(cloud, server.name)) == 1
    assert (f"{domain}.", "MX") in records_before_the_failure
    assert zone_records(cloud, tenant, domain) == records_before_the_failure
    users = cloud.fleet.host(str(server.ip)).mailu.users
    assert tenant.inbox(survivor).address in users
    assert tenant.inbox(failed).address not in users  # its mailbox (if made) was removed
    # Asked again, it joins the server it once ordered (now the other's too).
    assert tenant("POST", f"/v1/inboxes/{failed}/retry").status_code == 202
    assert tenant.settled(failed).status == "active"
    assert [s.id for s in tenant.servers()] == [server.id]


def test_starting_one_attempt_twice_runs_one_execution(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    (inbox_id,) = tenant.ask(f"sales@{domain}")
    inbox = tenant.inbox(inbox_id)
    request = StartRequest.for_attempt(tenant.id, inbox_id, inbox.attempt)
    starter = StepFunctionsStarter(machine_arn(cloud))
    starter.start(request)  # again, while it runs
    assert tenant.settled(inbox_id).status == "active"
    starter.start(request)  # and once it has ended
    names = [
        e["name"]
        for e in sfn().list_executions(stateMachineArn=machine_arn(cloud))["executions"]
        if e["name"].startswith(str(inbox_id))
    ]
    assert names == [request.execution_name]
    assert len(tenant.servers()) == 1


def _start(cloud: LocalCloud, name: str, body: dict[str, Any]) -> dict[str, Any]:
    machine = machine_arn(cloud)
    sfn().start_execution(stateMachineArn=machine, name=name, input=json.dumps(body))
    return ended(cloud, name)


def test_an_execution_for_no_queued_inbox_of_its_tenant_fails_at_once_and_buys_nothing(
    cloud: LocalCloud,
) -> None:
    tenant, other = Tenant.entitled(cloud), Tenant.entitled(cloud)
    domain = tenant.add_domain()
    (active,) = tenant.ask(f"sales@{domain}")
    assert tenant.settled(active).status == "active"
    orders = _orders(cloud)
    cases = {
        "missing": {"tenant_id": str(tenant.id), "inbox_id": str(uuid4())},
        "another_tenants": {"tenant_id": str(other.id), "inbox_id": str(active)},
        "no_such_tenant": {"tenant_id": str(uuid4()), "inbox_id": str(active)},
        "not_queued": {"tenant_id": str(tenant.id), "inbox_id": str(active)},
        "garbage": {"tenant_id": "not-a-uuid", "inbox_id": str(active)},
    }
    for case, body in cases.items():
        described = _start(cloud, f"bad-{case}-{uuid4().hex[:8]}", body)
        assert (described["status"], described.get("error")) == ("FAILED", "InboxRejected"), case
    assert tenant.inbox(active).status == "active"  # untouched
    assert _orders(cloud) == orders


def test_an_inbox_on_an_undelegated_domain_fails_with_the_instructions(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain(delegate=False)
    (inbox_id,) = tenant.ask(f"sales@{domain}")

    inbox = tenant.settled(inbox_id)
    assert inbox.status == "failed"
    assert "NotDelegated" in (inbox.failure_reason or "")
    assert "name servers" in (inbox.failure_reason or "")
    assert tenant.servers() == []


def test_a_stuck_run_is_stopped_and_undone_through_the_compensation_entry(
    cloud: LocalCloud,
) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    release = threading.Event()
    fail_step(cloud, "MailuInstallerFunction", "install", before=lambda: release.wait(30))
    (inbox_id,) = tenant.ask(f"sales@{domain}")
    poll(lambda: any(s.ip for s in tenant.servers()), "the server to have an address")
    poll(lambda: ("install_mailu", "started") in tenant.timeline(inbox_id), "the install")
    run = tenant.inbox(inbox_id).execution_name or ""

    # What reconcile does with a run stuck past its time: stop it, then compensate.
    sfn().stop_execution(executionArn=execution_arn(cloud, run))
    release.set()
    body = {
        "tenant_id": str(tenant.id),
        "inbox_id": str(inbox_id),
        "mode": "compensate",
        "execution": run,
    }
    assert _start(cloud, f"{run}-compensate", body)["status"] == "FAILED"

    inbox = tenant.inbox(inbox_id)
    assert inbox.status == "failed"
    assert "RunStopped" in (inbox.failure_reason or "")
    nothing_left(cloud, tenant, domain)


def test_an_inbox_waiting_for_a_server_that_fails_fails_too_with_its_reason(
    cloud: LocalCloud,
) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    inbox_ids: list[UUID] = []

    fail_step(
        cloud,
        "MailuInstallerFunction",
        "install",
        error="RemoteCommandFailed",
        before=until_one_waits(tenant, inbox_ids),
    )
    inbox_ids += tenant.ask(f"a@{domain}", f"b@{domain}")

    inboxes = [tenant.settled(i) for i in inbox_ids]
    assert [i.status for i in inboxes] == ["failed", "failed"]
    reasons = sorted(i.failure_reason or "" for i in inboxes)
    assert all("RemoteCommandFailed" in r for r in reasons)
    assert any("was waiting for failed" in r for r in reasons)
    nothing_left(cloud, tenant, domain)


def test_an_inbox_over_the_plans_limit_at_reserve_fails_and_buys_nothing(
    cloud: LocalCloud,
) -> None:
    tenant = Tenant.entitled(cloud, max_inboxes=1)
    domain = tenant.add_domain()
    (first,) = tenant.ask(f"a@{domain}")
    assert tenant.settled(first).status == "active"
    # One more queued behind the API's back (as if billing lowered the plan meanwhile).
    domain_id = tenant.inbox(first).domain_id
    with tenant_session(tenant.id) as session:
        extra = Inboxes(session).add(domain_id, f"b@{domain}", status=InboxStatus.QUEUED)
    body = {"tenant_id": str(tenant.id), "inbox_id": str(extra.id)}
    assert _start(cloud, f"{extra.id}-{extra.attempt}", body)["status"] == "FAILED"

    inbox = tenant.inbox(extra.id)
    assert inbox.status == "failed"
    assert "the plan allows 1 inboxes and 1 are in use" in (inbox.failure_reason or "")
    assert len(tenant.servers()) == 1


def test_when_both_inboxes_on_a_server_fail_the_last_one_out_gives_it_back(
    cloud: LocalCloud,
) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    fail_step(
        cloud,
        "MailuInstallerFunction",
        "configure",
        when=lambda e: domain in str(e.get("address")),
        times=2,
    )
    inbox_ids = tenant.ask(f"a@{domain}", f"b@{domain}")

    assert [tenant.settled(i).status for i in inbox_ids] == ["failed", "failed"]
    nothing_left(cloud, tenant, domain)


def test_hostwinds_answering_5xx_or_garbage_is_retried_and_buys_one_server(
    cloud: LocalCloud,
) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    orders = _orders(cloud)
    # More than the client's own retries: the step fails and the workflow's Retry repeats it.
    cloud.hostwinds.inject(HttpErrorPage(action="get_instances", status=503, times=4))
    cloud.hostwinds.inject(MalformedBody(action="get_instances", defect=BodyDefect.TRUNCATED))
    (inbox_id,) = tenant.ask(f"sales@{domain}")

    assert tenant.settled(inbox_id).status == "active"
    assert _orders(cloud) == orders + 1


def test_a_termination_by_id_that_keeps_failing_is_finished_by_name(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    fail_step(cloud, "MailuInstallerFunction", "install")
    fail_step(
        cloud,
        "HostwindsFunction",
        "terminate_server",
        when=lambda e: e.get("serviceid") is not None,
        error="HostwindsProtocolError",
        times=None,
    )
    (inbox_id,) = tenant.ask(f"sales@{domain}")

    assert tenant.settled(inbox_id).status == "failed"
    assert ("compensate", "succeeded") in tenant.timeline(inbox_id)
    nothing_left(cloud, tenant, domain)


def test_hostwinds_answering_5xx_while_compensation_terminates_is_retried(
    cloud: LocalCloud,
) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    fail_step(cloud, "MailuInstallerFunction", "install")
    # More than the client's own retries, for the termination by id and then by name.
    cloud.hostwinds.inject(HttpErrorPage(action="terminate", status=502, times=4))
    (inbox_id,) = tenant.ask(f"sales@{domain}")

    assert tenant.settled(inbox_id).status == "failed"
    assert ("compensate", "succeeded") in tenant.timeline(inbox_id)
    nothing_left(cloud, tenant, domain)
    terminations = [r for r in cloud.hostwinds.requests if r.action == "terminate"]
    assert len(terminations) > 4  # the error pages, then the one that went through


def test_a_server_that_drops_ssh_during_the_install_is_retried(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    installs: list[str] = []

    def dark_then_back(event: dict[str, Any]) -> bool:
        # The first install finds the host gone dark (its connections dropped); the workflow's
        # retry finds it back.
        host = cloud.fleet.host(str(event["server_ip"]))
        if not installs:
            host.inject(Unreachable())
        else:
            host.restore()
        installs.append(str(event["server_ip"]))
        return False  # no injected answer: the real handler meets the host as it is

    fail_step(cloud, "MailuInstallerFunction", "install", when=dark_then_back, times=None)
    (inbox_id,) = tenant.ask(f"sales@{domain}")

    assert tenant.settled(inbox_id).status == "active"
    assert len(installs) == 2
    unreachable = [i for i in cloud.lambdas.invocations if i.error_type == "SshUnreachable"]
    assert unreachable


def test_a_retry_is_refused_until_the_failed_run_is_undone(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    inbox_ids: list[UUID] = []
    answers: list[int] = []

    def retry_meanwhile() -> None:
        # The tenant asks again while the undoing is still under way (at its last step, which
        # then fails once, transiently, and is retried).
        answers.append(tenant("POST", f"/v1/inboxes/{inbox_ids[0]}/retry").status_code)

    fail_step(cloud, "MailuInstallerFunction", "install")
    fail_step(
        cloud,
        "InventoryFunction",
        "finish_compensation",
        when=lambda e: e.get("inbox_id") == str(inbox_ids[0]),
        error="DatabaseUnavailable",
        before=retry_meanwhile,
    )
    inbox_ids += tenant.ask(f"sales@{domain}")

    assert tenant.settled(inbox_ids[0]).status == "failed"
    assert answers == [409]
    nothing_left(cloud, tenant, domain)


def test_an_undo_that_ends_incomplete_holds_retries_until_the_compensation_entry_ends_it(
    cloud: LocalCloud,
) -> None:
    tenant = Tenant.entitled(cloud)
    domain, failed = failed_with_undo_left(cloud, tenant)
    inbox_id = failed.id
    run = failed.execution_name or ""
    assert failed.status == "failed"
    assert ended(cloud, run)["status"] == "FAILED"
    assert ("compensate", "failed") in tenant.timeline(inbox_id)
    (going,) = tenant.servers()
    assert going.status == "decommissioning"
    # Our records are still there: a retry now would wait hours for them to go.
    assert tenant("POST", f"/v1/inboxes/{inbox_id}/retry").status_code == 409

    cloud.lambdas.clear_faults()
    body = {"tenant_id": str(tenant.id), "inbox_id": str(inbox_id), "mode": "compensate"}
    assert _start(cloud, f"{run}-compensate", body | {"execution": run})["status"] == "FAILED"
    nothing_left(cloud, tenant, domain)
    assert tenant("POST", f"/v1/inboxes/{inbox_id}/retry").status_code == 202
    assert tenant.settled(inbox_id).status == "active"


def test_a_new_inbox_waits_until_the_domains_failed_server_is_given_back(
    cloud: LocalCloud,
) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    later: list[UUID] = []

    def ask_while_the_records_go() -> None:
        # Another inbox is asked for while the failed run still deletes our records.
        later.extend(tenant.ask(f"later@{domain}"))
        poll(
            lambda: ("wait_for_server", "started") in tenant.timeline(later[0]),
            "the new inbox to wait for the old server to go",
        )

    fail_step(cloud, "MailuInstallerFunction", "install")
    # The undoing's record deletion is held, then fails once (transiently) and is retried.
    fail_step(
        cloud, "DnsFunction", "delete", error="DnsNotPropagated", before=ask_while_the_records_go
    )
    (first,) = tenant.ask(f"first@{domain}")

    assert tenant.settled(first).status == "failed"
    assert tenant.settled(later[0]).status == "active"
    (ready,) = [s for s in tenant.servers() if s.status == "ready"]
    assert zone_records(cloud, tenant, domain)[(f"mail.{domain}.", "A")] == [str(ready.ip)]
    assert tenant.domain_status(domain) == "verified"


def test_the_zones_name_servers_timing_out_during_verification_is_retried(
    cloud: LocalCloud,
) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    with tenant_session(tenant.id) as session:
        (row,) = [d for d in Domains(session).list() if d.name == domain]
    assert row.hosted_zone_id is not None
    assert cloud.dns.zone_servers is not None
    zone = cloud.dns.zone_servers.server_of_zone(row.hosted_zone_id)
    failed_checks = len([i for i in cloud.lambdas.invocations if i.error_type])
    verifications: list[str] = []

    def time_out_the_zone(event: dict[str, Any]) -> bool:
        # The first verification finds the zone's name servers silent for the mail host.
        if domain in str(event.get("domain")):
            if verifications:
                zone.clear_faults()
            else:
                zone.drop(qname=f"mail.{domain}.", times=None)
            verifications.append(domain)
        return False

    fail_step(cloud, "DnsFunction", "verify", when=time_out_the_zone, times=None)
    (inbox_id,) = tenant.ask(f"sales@{domain}")

    assert tenant.settled(inbox_id).status == "active"
    timed_out = [i for i in cloud.lambdas.invocations if i.error_type][failed_checks:]
    assert [i.error_type for i in timed_out] == ["DnsNotPropagated"]


def test_no_execution_history_holds_a_secret(cloud: LocalCloud) -> None:
    """Every execution so far (this one's own run included), every mailbox password made,
    every root password Hostwinds handed out, every Mailu API token of a running server."""
    tenant = Tenant.entitled(cloud)
    (inbox_id,) = tenant.ask(f"sales@{tenant.add_domain()}")
    assert tenant.settled(inbox_id).status == "active"
    text = histories_text(cloud, [MACHINE])
    leaked = [s for s in known_secrets(cloud) if s in text]
    assert leaked == []
