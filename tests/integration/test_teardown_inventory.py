"""The teardown's and the mailbox convergence's inventory steps against the real database, in the
orders and overlaps end-to-end runs reach only by chance: two inboxes of a server deleted at
once, a teardown entered again, convergence runs racing each other and a new password."""

from __future__ import annotations

import base64
from uuid import UUID

import pytest

from inboxfleet.db import Database, tenant_session
from inboxfleet.db.repositories import Inboxes, MailboxLogins, Servers
from inboxfleet.inventory.commands import (
    InboxTransitioned,
    MailboxSettled,
    MailboxWork,
    TeardownPlan,
)
from inboxfleet.inventory.errors import MailboxBusy, NotDeleting
from inboxfleet.lifecycles import InboxStatus, ServerStatus
from inboxfleet.records import Inbox, Record, Server
from tests.saga_support import Saga

FINGERPRINT = "SHA256:" + "A" * 43


class _Passwords(Record):
    current: bytes | None
    desired: bytes | None


@pytest.fixture
def saga(app_db: Database) -> Saga:
    return Saga(app_db)


def _active_on_one_server(saga: Saga, *locals_: str) -> tuple[list[Inbox], Server]:
    """Inboxes active on one ready server of the saga's domain."""
    inboxes = [saga.ask(local) for local in locals_]
    reserved = saga.reserve(inboxes[0])
    assert reserved.server is not None
    server = reserved.server
    saga.created(inboxes[0], server, 5001, "198.51.100.20")
    with tenant_session(saga.tenant_id) as s:
        assert Servers(s).pin_host_key(server.id, FINGERPRINT) is not None
    saga.ready(inboxes[0], server)
    for other in inboxes[1:]:
        assert saga.reserve(other).path == "existing_server"
    for inbox in inboxes:
        saga.run("transition_inbox", inbox, to="active")
    return inboxes, saga.server(server.id)


def _delete(saga: Saga, inbox: Inbox) -> None:
    with tenant_session(saga.tenant_id) as s:
        assert Inboxes(s).transition(inbox.id, InboxStatus.DELETING, by="tenant", why="t")


def _plan(saga: Saga, inbox: Inbox) -> TeardownPlan:
    result = saga.run("plan_teardown", inbox)
    assert isinstance(result, TeardownPlan)
    return result


def _finish(saga: Saga, inbox: Inbox, plan: TeardownPlan, **fields: object) -> InboxTransitioned:
    result = saga.run(
        "finish_teardown",
        inbox,
        server_id=str(plan.server_id) if plan.server_id else None,
        terminated=plan.terminate,
        **fields,
    )
    assert isinstance(result, InboxTransitioned)
    return result


# ---- teardown ----------------------------------------------------------------------------------


def test_the_first_of_two_inboxes_deleted_removes_its_mailbox_only(saga: Saga) -> None:
    (first, second), server = _active_on_one_server(saga, "one", "two")
    _delete(saga, first)
    plan = _plan(saga, first)
    assert (plan.remove_mailbox, plan.delete_records, plan.terminate) == (True, False, False)
    assert plan.host_key_fingerprint == FINGERPRINT
    _finish(saga, first, plan)
    assert saga.inbox(first.id).status == InboxStatus.DELETED
    assert saga.server(server.id).status == ServerStatus.READY
    assert saga.inbox(second.id).status == InboxStatus.ACTIVE


def test_two_inboxes_deleted_at_once_give_the_server_back_once(saga: Saga) -> None:
    (first, second), server = _active_on_one_server(saga, "one", "two")
    _delete(saga, first)
    _delete(saga, second)
    # Neither counts the other, being deleted too: the first to decide gives the server back.
    one = _plan(saga, first)
    two = _plan(saga, second)
    assert (one.terminate, one.delete_records) == (True, True)
    assert (two.terminate, two.delete_records, two.remove_mailbox) == (False, False, False)
    assert saga.server(server.id).status == ServerStatus.DECOMMISSIONING
    _finish(saga, second, two)
    _finish(saga, first, one)
    assert saga.server(server.id).status == ServerStatus.DECOMMISSIONED
    assert {saga.inbox(i.id).status for i in (first, second)} == {InboxStatus.DELETED}


def test_a_compensation_does_not_count_an_inbox_being_deleted_as_using_the_server(
    saga: Saga,
) -> None:
    (going,), server = _active_on_one_server(saga, "going")
    newcomer = saga.ask("newcomer")
    assert saga.reserve(newcomer).path == "existing_server"
    _delete(saga, going)
    plan = saga.plan(newcomer)  # the newcomer's run failed: it is the last user left
    assert plan.terminate
    # The deleted inbox's teardown then finds the server already on its way out.
    teardown = _plan(saga, going)
    assert (teardown.terminate, teardown.remove_mailbox) == (False, False)
    saga.finish(newcomer, plan)
    _finish(saga, going, teardown)
    assert saga.server(server.id).status == ServerStatus.DECOMMISSIONED


def test_a_stuck_teardown_keeps_the_inbox_deleting_and_a_repeat_finishes_it(saga: Saga) -> None:
    (inbox,), server = _active_on_one_server(saga, "stuck")
    _delete(saga, inbox)
    first = _plan(saga, inbox)
    failure = {"Error": "HostwindsProtocolError", "Cause": '{"errorMessage": "bad page"}'}
    _finish(saga, inbox, first, failure=failure)
    stuck = saga.inbox(inbox.id)
    assert stuck.status == InboxStatus.DELETING
    assert stuck.failure_reason == "teardown failed: HostwindsProtocolError: bad page"
    assert saga.server(server.id).status == ServerStatus.DECOMMISSIONING

    again = _plan(saga, inbox)
    assert again.model_dump() == first.model_dump()
    _finish(saga, inbox, again)
    done = saga.inbox(inbox.id)
    assert (done.status, done.failure_reason) == (InboxStatus.DELETED, None)
    assert saga.server(server.id).status == ServerStatus.DECOMMISSIONED
    starts = [e for e in saga.timeline(inbox) if e[:2] == ("teardown", "started")]
    assert len(starts) == 1
    # Entered once more after it is over: nothing left to do, nothing changes.
    over = _plan(saga, inbox)
    assert (over.terminate, over.delete_records, over.remove_mailbox) == (False, False, False)
    assert _finish(saga, inbox, over).changed is False


def test_a_failed_inbox_deleted_gives_back_the_server_its_incomplete_undoing_left(
    saga: Saga,
) -> None:
    inbox = saga.ask("halfundone")
    reserved = saga.reserve(inbox)
    assert reserved.server is not None
    saga.created(inbox, reserved.server, 5002, "198.51.100.21")
    undo = saga.plan(inbox)
    saga.finish(inbox, undo, incomplete=True)  # its termination kept failing
    assert saga.server(reserved.server.id).status == ServerStatus.DECOMMISSIONING
    _delete(saga, inbox)

    plan = _plan(saga, inbox)

    assert (plan.terminate, plan.delete_records, plan.remove_mailbox) == (True, True, False)
    assert (plan.serviceid, plan.server_name) == (5002, reserved.server.name)
    _finish(saga, inbox, plan)
    assert saga.server(reserved.server.id).status == ServerStatus.DECOMMISSIONED
    assert saga.inbox(inbox.id).status == InboxStatus.DELETED


@pytest.mark.parametrize("status", ["active", "queued", "failed"])
def test_an_inbox_nobody_deleted_is_not_torn_down(saga: Saga, status: str) -> None:
    if status == "active":
        (inbox,), _ = _active_on_one_server(saga, "kept")
    else:
        inbox = saga.ask("kept")
        if status == "failed":
            saga.finish(inbox, saga.plan(inbox))
    with pytest.raises(NotDeleting, match=f"is {status}"):
        _plan(saga, inbox)
    assert saga.inbox(inbox.id).status == status


def test_an_inbox_without_a_server_is_deleted_with_nothing_to_take_away(saga: Saga) -> None:
    inbox = saga.ask("never")
    _delete(saga, inbox)
    plan = _plan(saga, inbox)
    assert plan.server_id is None
    assert (plan.terminate, plan.delete_records, plan.remove_mailbox) == (False, False, False)
    _finish(saga, inbox, plan)
    assert saga.inbox(inbox.id).status == InboxStatus.DELETED


# ---- mailbox convergence -----------------------------------------------------------------------


def _claim(saga: Saga, inbox: Inbox, run: str) -> MailboxWork:
    result = saga.run("claim_mailbox", inbox, execution=run)
    assert isinstance(result, MailboxWork)
    return result


def _applied(saga: Saga, inbox: Inbox, run: str, work: MailboxWork) -> MailboxSettled:
    result = saga.run(
        "mailbox_applied",
        inbox,
        execution=run,
        enabled=work.enabled,
        password_ciphertext=work.password_ciphertext,
    )
    assert isinstance(result, MailboxSettled)
    return result


def _ask_password(saga: Saga, inbox: Inbox, ciphertext: bytes) -> None:
    with tenant_session(saga.tenant_id) as s:
        assert MailboxLogins(s).request_password(
            inbox.id, ciphertext, allowed={InboxStatus.ACTIVE}, step="password", detail={}
        )


def _stored(saga: Saga, inbox_id: UUID) -> tuple[bytes | None, bytes | None]:
    with tenant_session(saga.tenant_id) as s:
        row = s.fetch_one(
            _Passwords,
            "SELECT password_ciphertext AS current, desired_password_ciphertext AS desired "
            "FROM inboxes WHERE tenant_id = %s AND id = %s",
            (saga.tenant_id, inbox_id),
        )
    assert row is not None
    return row.current, row.desired


def test_an_active_mailbox_as_provisioned_needs_nothing(saga: Saga) -> None:
    (inbox,), _ = _active_on_one_server(saga, "calm")
    work = _claim(saga, inbox, "run-1")
    assert (work.work, work.why) == (False, "the server holds what is wanted")


def test_a_suspended_mailbox_is_disabled_once_and_then_holds(saga: Saga) -> None:
    (inbox,), server = _active_on_one_server(saga, "paused")
    with tenant_session(saga.tenant_id) as s:
        Inboxes(s).transition(inbox.id, InboxStatus.SUSPENDED, by="billing", why="unpaid")
    work = _claim(saga, inbox, "run-1")
    assert work.work
    assert (work.enabled, work.password_ciphertext) == (False, None)
    assert (work.server_ip, work.host_key_fingerprint) == (str(server.ip), FINGERPRINT)
    # Another run meanwhile finds the lease taken: it waits (retries) for the first.
    with pytest.raises(MailboxBusy, match="run-1 is applying"):
        _claim(saga, inbox, "run-2")
    assert _applied(saga, inbox, "run-1", work).again is False
    assert _claim(saga, inbox, "run-3").work is False


def test_a_password_asked_for_while_another_is_applied_is_applied_next(saga: Saga) -> None:
    (inbox,), _ = _active_on_one_server(saga, "rekey")
    _ask_password(saga, inbox, b"first-ciphertext-0123456789")
    work = _claim(saga, inbox, "run-1")
    assert work.password_ciphertext is not None
    assert base64.b64decode(work.password_ciphertext) == b"first-ciphertext-0123456789"
    _ask_password(saga, inbox, b"second-ciphertext-0123456789")

    settled = _applied(saga, inbox, "run-1", work)

    assert settled.again  # the second is still wanted: the same run goes round again
    current, desired = _stored(saga, inbox.id)
    assert (current, desired) == (b"first-ciphertext-0123456789", b"second-ciphertext-0123456789")
    again = _claim(saga, inbox, "run-1")
    assert again.password_ciphertext is not None
    assert base64.b64decode(again.password_ciphertext) == b"second-ciphertext-0123456789"
    assert _applied(saga, inbox, "run-1", again).again is False
    assert _stored(saga, inbox.id) == (b"second-ciphertext-0123456789", None)


def test_a_run_that_lost_its_lease_records_nothing(saga: Saga) -> None:
    (inbox,), _ = _active_on_one_server(saga, "late")
    _ask_password(saga, inbox, b"late-ciphertext-0123456789")
    work = _claim(saga, inbox, "run-1")
    with tenant_session(saga.tenant_id) as s:  # run-1 outlived its lease; run-2 took it
        s.execute(
            "UPDATE inboxes SET mailbox_lease_until = now() - interval '1 second' "
            "WHERE tenant_id = %s AND id = %s",
            (saga.tenant_id, inbox.id),
        )
    assert _claim(saga, inbox, "run-2").work

    assert _applied(saga, inbox, "run-1", work).again is False
    assert _stored(saga, inbox.id)[1] == b"late-ciphertext-0123456789"  # still wanted


def test_a_failed_run_gives_the_lease_back_and_says_why(saga: Saga) -> None:
    (inbox,), _ = _active_on_one_server(saga, "broken")
    with tenant_session(saga.tenant_id) as s:
        Inboxes(s).transition(inbox.id, InboxStatus.SUSPENDED, by="billing", why="unpaid")
    assert _claim(saga, inbox, "run-1").work
    failure = {"Error": "SshUnreachable", "Cause": '{"errorMessage": "host dark"}'}
    saga.run("release_mailbox", inbox, execution="run-1", failure=failure)
    assert ("mailbox", "failed", {"reason": "mailbox failed: SshUnreachable: host dark"}) in (
        saga.timeline(inbox)
    )
    assert _claim(saga, inbox, "run-2").work  # free for the next run


def test_a_mailbox_whose_server_is_going_away_is_left_alone(saga: Saga) -> None:
    (inbox,), server = _active_on_one_server(saga, "orphan")
    with tenant_session(saga.tenant_id) as s:
        Servers(s).move(server.id, ServerStatus.DECOMMISSIONING)
        Inboxes(s).transition(inbox.id, InboxStatus.SUSPENDED, by="billing", why="unpaid")
    work = _claim(saga, inbox, "run-1")
    assert (work.work, work.why) == (False, "its server is decommissioning")
