"""The saga's inventory steps against the real database, step by step: what the ASL would call,
in orders and repeats the end-to-end runs reach only by chance (a compensation entered twice, a
run finishing after its inbox moved on, a plan downgraded while an inbox waits)."""

from __future__ import annotations

import pytest

from inboxfleet.db import Database, tenant_session
from inboxfleet.db.repositories import Domains, Inboxes, Servers
from inboxfleet.inventory.commands import CompensationPlan
from inboxfleet.inventory.errors import (
    InvalidTransition,
    NotCompensable,
    ReservationRefused,
    ServerFailed,
)
from inboxfleet.lifecycles import InboxStatus, ServerStatus
from inboxfleet.records import Inbox, Server
from local.standing import set_standing
from tests.saga_support import Saga


@pytest.fixture
def saga(app_db: Database) -> Saga:
    return Saga(app_db)


def _undone(saga: Saga, inbox: Inbox) -> CompensationPlan:
    """Reserve a new server for the inbox, see it created, then undo the run to its end."""
    reserved = saga.reserve(inbox)
    assert reserved.server is not None
    saga.created(inbox, reserved.server, 4001, "198.51.100.10")
    plan = saga.plan(inbox)
    assert (plan.terminate, plan.delete_records) == (True, True)
    saga.finish(inbox, plan)
    return plan


def test_entering_compensation_again_after_it_succeeded_undoes_nothing_more(saga: Saga) -> None:
    first = saga.ask("first")
    plan = _undone(saga, first)
    # Another inbox of the domain gets a server of its own meanwhile.
    second = saga.ask("second")
    reserved = saga.reserve(second)
    assert reserved.path == "new_server"
    assert reserved.server is not None
    assert reserved.server.id != plan.server_id
    saga.created(second, reserved.server, 4002, "198.51.100.11")

    with pytest.raises(NotCompensable, match="already undone"):
        saga.plan(first, plan.execution)
    assert saga.server(reserved.server.id).status == ServerStatus.INSTALLING
    assert saga.inbox(second.id).failure_reason is None


def test_entering_compensation_again_while_it_is_unfinished_redoes_only_what_is_left(
    saga: Saga,
) -> None:
    inbox = saga.ask("again")
    reserved = saga.reserve(inbox)
    assert reserved.server is not None
    saga.created(inbox, reserved.server, 4003, "198.51.100.12")
    first = saga.plan(inbox)
    again = saga.plan(inbox)  # a retried plan step: the same decisions, recorded once
    assert again.model_dump() == first.model_dump()
    # A compensation step kept failing: the server is still on its way out.
    saga.finish(inbox, first, incomplete=True)
    assert saga.server(reserved.server.id).status == ServerStatus.DECOMMISSIONING
    redo = saga.plan(inbox, first.execution)
    assert (redo.terminate, redo.delete_records, redo.remove_mailbox) == (True, True, False)
    saga.finish(inbox, redo)
    assert saga.server(reserved.server.id).status == ServerStatus.DECOMMISSIONED
    starts = [e for e in saga.timeline(inbox) if e[:2] == ("compensate", "started")]
    assert len(starts) == 1


def test_a_failed_server_of_the_run_is_given_back_through_decommissioning(saga: Saga) -> None:
    inbox = saga.ask("failedserver")
    reserved = saga.reserve(inbox)
    assert reserved.server is not None
    with tenant_session(saga.tenant_id) as s:
        Servers(s).move(reserved.server.id, ServerStatus.FAILED, failure_reason="lost")
    plan = saga.plan(inbox)
    assert plan.terminate
    assert saga.server(reserved.server.id).status == ServerStatus.DECOMMISSIONING
    saga.finish(inbox, plan)
    assert saga.server(reserved.server.id).status == ServerStatus.DECOMMISSIONED


def test_a_finish_for_an_attempt_the_inbox_has_left_changes_nothing(saga: Saga) -> None:
    inbox = saga.ask("stale")
    plan = _undone(saga, inbox)
    with tenant_session(saga.tenant_id) as s:  # the tenant retries: a new attempt
        Inboxes(s).transition(inbox.id, InboxStatus.QUEUED, by="tenant", why="retry")
    retried = saga.inbox(inbox.id)
    assert retried.attempt == 2

    late = saga.finish(inbox, plan)
    assert late.changed is False
    assert saga.inbox(inbox.id).status == InboxStatus.QUEUED
    assert ("compensate", "info", {"execution": plan.execution, "stale": True}) in saga.timeline(
        inbox
    )


def test_a_finish_leaves_an_inbox_being_deleted_alone(saga: Saga) -> None:
    inbox = saga.ask("deleting")
    plan = saga.plan(inbox)  # a run stopped before it reserved anything
    assert plan.server_id is None
    with tenant_session(saga.tenant_id) as s:  # the tenant deletes it meanwhile
        assert Inboxes(s).transition(inbox.id, InboxStatus.DELETING, by="tenant", why="delete")
    result = saga.finish(inbox, plan)
    assert result.changed is False
    assert saga.inbox(inbox.id).status == InboxStatus.DELETING


def test_a_failing_inbox_is_never_activated(saga: Saga) -> None:
    inbox = saga.ask("late")
    saga.reserve(inbox)
    saga.plan(inbox)
    with pytest.raises(InvalidTransition, match="failing"):
        saga.run("transition_inbox", inbox, to="active", step="configure_mailbox")
    assert saga.inbox(inbox.id).status == InboxStatus.PROVISIONING


def test_each_create_retry_records_the_order_time_its_create_waits_from(saga: Saga) -> None:
    """Before each create tried again, an earlier create may have ordered (the last one, just
    before its Lambda timed out): the order counts as sent from this pass, and the create step
    is told so, so it waits out the grace from there before it orders again."""
    inbox = saga.ask("reorder")
    first = saga.reserve(inbox)
    assert first.server is not None
    assert first.previous_order is None
    ordered = saga.server(first.server.id).ordered_at
    assert ordered is not None

    retry = saga.reserve(inbox)  # a create whose answer was never seen
    assert retry.server is not None
    assert retry.server.id == first.server.id
    again = saga.server(first.server.id).ordered_at
    assert again is not None
    assert again > ordered
    assert retry.previous_order == again
    third = saga.reserve(inbox)
    assert third.previous_order is not None
    assert third.previous_order > again
    assert third.previous_order == saga.server(first.server.id).ordered_at


def test_a_waiting_inbox_keeps_waiting_through_a_plan_downgrade(saga: Saga) -> None:
    builder = saga.ask("builder")
    waiter = saga.ask("waiter")
    assert saga.reserve(builder).path == "new_server"
    assert saga.reserve(waiter).path == "wait_for_server"
    # Billing lowers the plan: the waiting inbox was admitted, it is not refused now.
    set_standing(saga.tenant_id, "entitled", 1)
    assert saga.reserve(waiter).path == "wait_for_server"


def test_an_unpaid_account_orders_nothing_even_for_an_inbox_admitted_before(saga: Saga) -> None:
    inbox = saga.ask("unpaid")
    going = _server_on_its_way_out(saga, "previous")
    assert saga.reserve(inbox).path == "wait_for_server"
    set_standing(saga.tenant_id, "suspended")
    with tenant_session(saga.tenant_id) as s:
        Servers(s).move(going.id, ServerStatus.DECOMMISSIONED)
    with pytest.raises(ReservationRefused, match="subscription"):
        saga.reserve(inbox)
    with tenant_session(saga.tenant_id) as s:
        assert Servers(s).live_on_domain(saga.domain_id) is None


def _server_on_its_way_out(saga: Saga, local: str) -> Server:
    inbox = saga.ask(local)
    reserved = saga.reserve(inbox)
    assert reserved.server is not None
    saga.created(inbox, reserved.server, 4010, "198.51.100.20")
    plan = saga.plan(inbox)
    assert plan.terminate
    return saga.server(reserved.server.id)


def test_an_inbox_waits_for_the_old_server_to_go_then_orders_its_own(saga: Saga) -> None:
    going = _server_on_its_way_out(saga, "old")
    inbox = saga.ask("next")
    waiting = saga.reserve(inbox)
    assert waiting.path == "wait_for_server"
    reserve_entry = next(d for step, _, d in saga.timeline(inbox) if step == "reserve")
    assert going.name not in str(reserve_entry)  # it will not be this inbox's server

    with tenant_session(saga.tenant_id) as s:
        Servers(s).move(going.id, ServerStatus.DECOMMISSIONED)
    ordered = saga.reserve(inbox)
    assert ordered.path == "new_server"
    assert ordered.previous_order is None
    steps = [(step, outcome) for step, outcome, _ in saga.timeline(inbox)]
    assert steps[-2:] == [("wait_for_server", "succeeded"), ("create_server", "started")]


def test_an_old_server_that_never_goes_fails_the_waiting_inbox(saga: Saga) -> None:
    going = _server_on_its_way_out(saga, "stuck")
    inbox = saga.ask("blocked")
    assert saga.reserve(inbox).path == "wait_for_server"
    saga.age_server(going.id, hours=2.5)
    with pytest.raises(ServerFailed, match="on its way out"):
        saga.reserve(inbox)


def test_a_replacement_asked_again_answers_the_same_new_order(saga: Saga) -> None:
    inbox = saga.ask("listed")
    reserved = saga.reserve(inbox)
    assert reserved.server is not None
    saga.created(inbox, reserved.server, 4020, "203.0.113.7")
    replace = {"execution": saga.execution(inbox), "server_id": str(reserved.server.id)}
    first = saga.run("replace_server", inbox, **replace)
    # Its answer was lost (a Lambda timeout after the commit): the step is tried again.
    again = saga.run("replace_server", inbox, **replace)
    assert again.path == "new_server"
    assert again.server.id == first.server.id != reserved.server.id
    assert saga.server(reserved.server.id).status == ServerStatus.DECOMMISSIONED
    execution = saga.execution(inbox)
    with tenant_session(saga.tenant_id) as s:
        assert Servers(s).ordered_by(execution) == 2


def test_a_domain_confirmed_delegated_on_the_way_is_reserved_once(app_db: Database) -> None:
    saga = Saga(app_db)
    with tenant_session(saga.tenant_id) as s:  # the API has not yet seen it delegated
        Domains(s).record_delegation(saga.domain_id, delegated=False, found=[])
    inbox = saga.ask("undecided")
    assert saga.reserve(inbox).path == "check_delegation"
    confirmed = saga.run(
        "reserve", inbox, execution=saga.execution(inbox), delegation_confirmed=True
    )
    assert confirmed.path == "new_server"
    steps = [(step, outcome) for step, outcome, _ in saga.timeline(inbox)]
    assert steps[1:] == [
        ("check_delegation", "started"),
        ("check_delegation", "succeeded"),
        ("status", "info"),  # queued -> provisioning
        ("reserve", "succeeded"),
        ("create_server", "started"),
    ]


def test_a_server_ordered_again_lately_is_still_waited_for(saga: Saga) -> None:
    """A build that needed its create tried again can outlast the build limit counted from the
    row's creation: the limit counts from the latest order."""
    builder = saga.ask("slowbuild")
    waiter = saga.ask("patient")
    built = saga.reserve(builder)
    assert built.server is not None
    assert saga.reserve(waiter).path == "wait_for_server"
    saga.age_server(built.server.id, hours=3.5, column="created_at")
    assert saga.reserve(waiter).path == "wait_for_server"
    saga.age_server(built.server.id, hours=3.5, column="ordered_at")
    with pytest.raises(ServerFailed, match="building for over"):
        saga.reserve(waiter)
