"""The demo's plain output and its flags, without a cloud: readings of runs in, lines out."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.demo.mail_check import MailTrial
from local.demo.options import DemoOptions
from local.demo.report import Outcome
from local.demo.steps import failable_step, failable_steps, label
from local.demo.story import Story, addresses
from local.demo.view import LiveView, PlainView
from local.demo.watch import RunState, Step
from local.sample_customer import domain_names

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run(address: str, status: str, *steps: Step) -> RunState:
    return RunState(address, f"{address}-run", status, 3.0, tuple(steps))


def lines(view_out: io.StringIO) -> list[str]:
    return [line.strip() for line in view_out.getvalue().splitlines() if line.strip()]


def test_plain_lines_come_once_per_step_in_time_order_across_runs() -> None:
    out = io.StringIO()
    view = PlainView(out)
    with view.watching(T0) as seen:
        a = [Step(at(0.1), "Reserve"), Step(at(0.5), "CreateServer")]
        b = [Step(at(0.2), "Reserve"), Step(at(0.3), "WaitForServer")]
        seen([run("a@x.example", "RUNNING", *a), run("b@x.example", "RUNNING", *b)])
        # Read again with nothing new: nothing printed twice.
        seen([run("a@x.example", "RUNNING", *a), run("b@x.example", "RUNNING", *b)])
    printed = lines(out)
    assert [line.split()[1:3] for line in printed] == [
        ["a@x.example", "Reserve"],
        ["b@x.example", "Reserve"],
        ["b@x.example", "WaitForServer"],
        ["a@x.example", "CreateServer"],
    ]
    assert printed[0].startswith("0.1s")
    assert printed[3].endswith(label("CreateServer"))


def test_a_poll_loop_is_one_line_and_a_retry_names_its_error() -> None:
    out = io.StringIO()
    view = PlainView(out)
    loop = [Step(at(0.1 * n), s) for n, s in enumerate(["DescribeServer", "WaitForVps"] * 5)]
    steps = [
        *loop,
        Step(at(1.5), "InstallMailu"),
        Step(at(1.6), "InstallMailu", retry_of="SshUnreachable"),
        Step(at(2.0), "Activate"),
    ]
    with view.watching(T0) as seen:
        seen([run("a@x.example", "SUCCEEDED", *steps)])
    printed = lines(out)
    assert [line.split()[2] for line in printed] == [
        "DescribeServer",
        "InstallMailu",
        "InstallMailu",
        "Activate",
        "run",
    ]
    assert printed[2].endswith("tried again after SshUnreachable")
    assert printed[-1].endswith("run done (SUCCEEDED) after 3.0s")


def test_tables_line_up_their_columns() -> None:
    out = io.StringIO()
    PlainView(out).table("T", ("a", "bee"), [("long value", "1"), ("x", "22")])
    assert out.getvalue().splitlines()[2:] == [
        "  a           bee",
        "  ---------------",
        "  long value  1",
        "  x           22",
    ]


def test_fail_at_names_a_step_by_state_or_action_and_refuses_others() -> None:
    assert failable_step("install") == failable_step("InstallMailu")
    assert failable_step("install").function == "MailuInstallerFunction"
    assert {s.action for s in failable_steps().values()} >= {"create_server", "verify", "upsert"}
    with pytest.raises(ValueError, match="no step 'Reserve' to fail"):
        failable_step("Reserve")  # before anything is bought: nothing to watch being undone


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"inboxes": 0}, "--inboxes"),
        ({"inboxes": 26}, "--inboxes"),
        ({"inboxes": 3, "domains": 4}, "--domains"),
        ({"inboxes": 30, "domains": 11}, "--inboxes"),
        ({"time_scale": 0}, "--time-scale"),
        ({"time_scale": 1.5}, "--time-scale"),
        ({"fail_at": "somewhere"}, "no step"),
    ],
)
def test_bad_options_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DemoOptions(**fields)  # type: ignore[arg-type]


def test_inboxes_fill_the_domains_in_blocks_the_first_two_sharing_one() -> None:
    assert addresses(DemoOptions(), domain_names(1)) == [
        "sales@northwind-outreach.example",
        "hello@northwind-outreach.example",
    ]
    four = addresses(DemoOptions(inboxes=4, domains=2), domain_names(2))
    assert four == [
        "sales@northwind-outreach.example",
        "hello@northwind-outreach.example",
        "sales@northwind-2.example",
        "hello@northwind-2.example",
    ]
    many = addresses(DemoOptions(inboxes=10), domain_names(1))
    assert len(set(many)) == 10
    assert many[-1] == "inbox10@northwind-outreach.example"


def test_the_live_view_redraws_one_table_of_the_runs() -> None:
    from rich.console import Console

    out = io.StringIO()
    view = LiveView(Console(file=out, force_terminal=True, width=160, color_system=None))
    with view.watching(T0) as seen:
        seen([run("a@x.example", "RUNNING", Step(at(0.1), "Reserve"))])
        seen(
            [run("a@x.example", "RUNNING", Step(at(0.1), "Reserve"), Step(at(0.4), "InstallMailu"))]
        )
    view.table("Summary", ("inbox", "note"), [("a@x.example", "[red]kept as written[/red]")])
    shown = out.getvalue()
    assert "provisioning runs (Step Functions)" in shown
    assert label("InstallMailu") in shown  # the last frame holds the newest step
    assert "[red]kept as written[/red]" in shown  # a value is shown, never read as markup


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"fault": False, "active": ["a"], "dns_ok": True, "mail": True}, []),
        ({"fault": False, "active": [], "failed": ["a", "b"]}, ["failed with no fault"]),
        ({"fault": False, "active": ["a"], "dns_ok": False, "mail": True}, ["unanswered"]),
        ({"fault": False, "active": ["a"], "dns_ok": True, "mail": False}, ["mail"]),
        ({"fault": True, "active": [], "failed": ["a"]}, []),
        ({"fault": True, "failed": ["a"], "left_instances": 1}, ["VPS(s) left"]),
        ({"fault": True, "failed": ["a"], "left_records": 3}, ["record set(s)"]),
        ({"fault": True, "failed": ["a"], "undo_incomplete": 1}, ["did not finish"]),
        ({"fault": True, "active": ["b"], "failed": ["a"], "dns_ok": True, "mail": True}, []),
    ],
)
def test_the_demo_succeeds_only_when_its_promise_holds(
    fields: dict[str, Any], expected: list[str]
) -> None:
    mail = fields.pop("mail", None)
    trial = None if mail is None else MailTrial("a@x.example", "b@x.example", mail, True)
    problems = Outcome(mail=trial, **fields).problems()
    assert len(problems) == len(expected), problems
    for problem, wanted in zip(problems, expected, strict=True):
        assert wanted in problem
    assert Outcome(mail=trial, **fields).ok is (expected == [])


def test_keep_running_offers_an_address_the_tenant_does_not_have() -> None:
    story = Story(cloud=None, options=DemoOptions(), view=PlainView(io.StringIO()))  # type: ignore[arg-type]
    story.domains = {"a.example": "d1", "b.example": "d2"}
    story.inboxes = {"sales@a.example": "1", "hello@a.example": "2", "sales@b.example": "3"}
    assert story.next_address() == "team@a.example"
