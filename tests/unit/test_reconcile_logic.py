"""Reconcile's pure decisions: servers against a listing, the termination cap, what a DNS
report means, the report's bookkeeping, the pass's order and its command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from inboxfleet.db.repositories.reconcile import ServerRow
from inboxfleet.dns.recheck import judge as judge_dns
from inboxfleet.dns.verify import RecordCheck, Report
from inboxfleet.hostwinds.models import Instance
from inboxfleet.lifecycles import ServerStatus
from inboxfleet.reconcile.commands import PARTS, InvalidCommand, ReconcileCommand, parse_command
from inboxfleet.reconcile.fleet import capped, judge, ours
from inboxfleet.reconcile.scope import Deadline, OutOfTime, PartTally
from inboxfleet.reconcile.service import _order

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _row(
    status: ServerStatus, *, serviceid: int = 7, ip: str = "203.0.113.7", **kw: object
) -> ServerRow:
    values: dict[str, object] = {
        "tenant_id": uuid4(),
        "id": uuid4(),
        "domain_id": uuid4(),
        "name": f"ifl-local-{uuid4()}",
        "status": status,
        "provider_instance_id": str(serviceid),
        "ip": ip,
        "provider_status": None,
        "failure_reason": None,
        "updated_at": NOW - 2 * HOUR,
    }
    return ServerRow.model_validate(values | kw)


def _instance(
    serviceid: int = 7, *, status: str = "ACTIVE", ip: str | None = "203.0.113.7", name: str = "x"
) -> Instance:
    return Instance(serviceid=serviceid, srvrname=name, status=status, main_ip=ip)


def _judge(row: ServerRow, *instances: Instance) -> list[tuple[str, int | None]]:
    findings = judge(row, instances, now=NOW, terminate_after=HOUR, listed_at=NOW)
    return [(f.verdict, f.instance.serviceid if f.instance else None) for f in findings]


def test_only_this_environments_names_are_ours() -> None:
    listed = [
        _instance(1, name="ifl-dev-a"),
        _instance(2, name="ifl-prod-a"),
        _instance(3, name="ifl-devx-a"),
        _instance(4, name="ifl-dev-a"),
        Instance(serviceid=5, srvrname=None, status="ACTIVE"),
    ]
    assert {k: [i.serviceid for i in v] for k, v in ours(listed, "ifl-dev-").items()} == {
        "ifl-dev-a": [1, 4]
    }


@pytest.mark.parametrize(
    "status", [ServerStatus.FAILED, ServerStatus.DECOMMISSIONING, ServerStatus.DECOMMISSIONED]
)
def test_an_instance_of_a_row_going_away_is_terminated_once_its_undoing_had_its_time(
    status: ServerStatus,
) -> None:
    assert _judge(_row(status), _instance(7), _instance(8)) == [("terminate", 7), ("terminate", 8)]
    recent = _row(status, updated_at=NOW - HOUR / 2)
    assert _judge(recent, _instance(7)) == []
    assert _judge(_row(status)) == []


@pytest.mark.parametrize("status", [ServerStatus.CREATING, ServerStatus.INSTALLING])
def test_a_server_being_built_is_the_workflows(status: ServerStatus) -> None:
    assert _judge(_row(status)) == []
    assert _judge(_row(status), _instance(7, status="PENDING", ip=None)) == []


@pytest.mark.parametrize("status", [ServerStatus.READY, ServerStatus.SUSPENDED])
def test_a_serving_server_with_no_instance_is_lost(status: ServerStatus) -> None:
    assert _judge(_row(status)) == [("lost", None)]
    # Its own instance not listed, another of its name is: unclear, for a human.
    assert _judge(_row(status), _instance(9)) == [("replaced", 9)]


def test_a_row_changed_while_the_listing_was_taken_waits_for_the_next_pass() -> None:
    became_ready = _row(ServerStatus.READY, updated_at=NOW + timedelta(seconds=1))
    assert _judge(became_ready) == []


def test_a_server_failed_as_lost_whose_instance_is_listed_again_is_never_terminated() -> None:
    lost = _row(ServerStatus.FAILED, failure_reason="server_lost: its instance 7 is no longer")
    assert _judge(lost, _instance(7)) == [("lost_listed", 7)]


def test_a_serving_server_in_step_with_its_instance_is_left_alone() -> None:
    assert _judge(_row(ServerStatus.READY), _instance(7)) == []
    assert _judge(_row(ServerStatus.READY, provider_status="ACTIVE"), _instance(7)) == []


def test_a_duplicate_order_of_a_serving_server_is_terminated() -> None:
    assert _judge(_row(ServerStatus.READY), _instance(7), _instance(8)) == [("duplicate", 8)]


def test_an_address_or_status_change_is_noticed() -> None:
    (moved,) = judge(
        _row(ServerStatus.READY),
        [_instance(7, ip="203.0.113.9")],
        now=NOW,
        terminate_after=HOUR,
        listed_at=NOW,
    )
    assert (moved.verdict, moved.ip_changed, moved.status_changed) == ("changed", True, False)
    (stopped,) = judge(
        _row(ServerStatus.READY),
        [_instance(7, status="SUSPENDED")],
        now=NOW,
        terminate_after=HOUR,
        listed_at=NOW,
    )
    assert (stopped.ip_changed, stopped.status_changed) == (False, True)
    # A listing without an address says nothing about the address.
    assert _judge(_row(ServerStatus.READY), _instance(7, ip=None)) == []


def test_the_cap_terminates_the_oldest_rows_first() -> None:
    rows = [_row(ServerStatus.FAILED, updated_at=NOW - n * HOUR) for n in (2, 5, 3)]
    findings = [
        f
        for r in rows
        for f in judge(r, [_instance()], now=NOW, terminate_after=HOUR, listed_at=NOW)
    ]
    now, over = capped(findings, 2)
    assert [f.row.updated_at for f in now] == [NOW - 5 * HOUR, NOW - 3 * HOUR]
    assert [f.row.updated_at for f in over] == [NOW - 2 * HOUR]
    assert capped(findings, 0) == ([], sorted(findings, key=lambda f: f.row.updated_at))


def _report(**fields: object) -> Report:
    report = Report(
        records=[RecordCheck("example.com.", "MX", "ok", "ok")],
        spf="valid",
        dkim="valid",
        dmarc="valid",
        reverse_dns="ok",
        ip_blocklist="clean",
        domain_blocklist="clean",
    )
    for name, value in fields.items():
        setattr(report, name, value)
    return report


def test_what_a_dns_report_means_for_a_domain_in_service() -> None:
    assert judge_dns(_report()).outcome == "verified"
    altered = _report(records=[RecordCheck("_dmarc.example.com.", "TXT", "mismatch", "ok")])
    assert (judge_dns(altered).outcome, judge_dns(altered).broken) == (
        "repaired",
        ["TXT _dmarc.example.com."],
    )
    listed = judge_dns(_report(ip_blocklist="listed"))
    assert listed.outcome == "degraded"
    assert "blocklisted" in (listed.reason or "")
    assert judge_dns(_report(dkim="invalid: no key")).outcome == "degraded"
    assert judge_dns(_report(reverse_dns="PTR points elsewhere")).outcome == "degraded"
    # Timeouts decide nothing.
    silent = _report(records=[RecordCheck("example.com.", "MX", "unverified", "unverified")])
    assert judge_dns(silent).outcome == "unknown"
    assert judge_dns(_report(reverse_dns="unverified", spf="unverified")).outcome == "unknown"
    assert judge_dns(_report(ip_blocklist="unknown")).outcome == "verified"


def test_the_report_counts_everything_and_lists_the_first_few() -> None:
    tally = PartTally("servers", max_items=2)
    for n in range(5):
        tally.found("server_lost", {"n": n, "at": NOW}, repaired=n % 2 == 0)
    tally.repaired("server_lost")
    report = tally.report()
    kind = report.drift["server_lost"]
    assert (kind.found, kind.repaired) == (5, 4)
    assert kind.items == [{"n": 0, "at": NOW.isoformat()}, {"n": 1, "at": NOW.isoformat()}]
    assert report.status == "done"


def test_the_deadline_keeps_a_margin() -> None:
    left = [5000]
    deadline = Deadline(lambda: left[0], margin_ms=1000)
    deadline.check()
    left[0] = 1000
    with pytest.raises(OutOfTime):
        deadline.check()


def test_a_pass_resumes_where_the_last_stopped_and_goes_round() -> None:
    assert _order(ReconcileCommand(), None) == PARTS
    assert _order(ReconcileCommand(), "billing") == (
        "billing",
        "mailboxes",
        "dns",
        "housekeeping",
        "servers",
        "work",
    )
    assert _order(ReconcileCommand(), "not-a-part") == PARTS
    # Asked for some parts: those, in the pass's order.
    assert _order(ReconcileCommand(parts=("dns", "servers")), "billing") == ("servers", "dns")


@pytest.mark.parametrize(
    "event",
    [
        {"dry_run": "yes"},
        {"dry_run": 1},
        {"parts": []},
        {"parts": ["servers", "servers"]},
        {"parts": ["everything"]},
        {"parts": "servers"},
        {"dryrun": True},
        ["dry_run"],
        "dry_run",
    ],
)
def test_a_bad_command_is_refused_before_anything_runs(event: object) -> None:
    with pytest.raises(InvalidCommand, match="invalid reconcile command"):
        parse_command(event)


def test_the_schedule_and_on_demand_commands_parse() -> None:
    assert parse_command({}) == ReconcileCommand()
    assert parse_command(None) == ReconcileCommand()
    assert parse_command({"dry_run": False}) == ReconcileCommand()
    assert parse_command({"dry_run": True, "parts": ["work"]}) == ReconcileCommand(
        dry_run=True, parts=("work",)
    )
