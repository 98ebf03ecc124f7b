from __future__ import annotations

from uuid import UUID

import pytest

from inboxfleet.names import normalise_hostname, server_name
from inboxfleet.retry import Backoff, call_with_retries


class Flaky(Exception):
    pass


def test_retries_until_success_with_capped_jittered_delays() -> None:
    attempts: list[int] = []
    slept: list[float] = []

    def fn() -> str:
        attempts.append(1)
        if len(attempts) < 4:
            raise Flaky
        return "ok"

    result = call_with_retries(
        fn,
        retry_on=(Flaky,),
        backoff=Backoff(attempts=4, base_s=1, cap_s=3),
        sleep=slept.append,
        rng=lambda: 1.0,
    )
    assert result == "ok"
    assert slept == [1, 2, 3]  # 1, 2, then 4 capped at 3


def test_gives_up_after_the_last_attempt_and_reraises() -> None:
    slept: list[float] = []

    def fn() -> None:
        raise Flaky

    with pytest.raises(Flaky):
        call_with_retries(fn, retry_on=(Flaky,), backoff=Backoff(attempts=3), sleep=slept.append)
    assert len(slept) == 2
    assert all(0 <= s <= 1.0 for s in slept)


def test_other_errors_are_not_retried() -> None:
    calls: list[int] = []

    def fn() -> None:
        calls.append(1)
        raise KeyError("x")

    with pytest.raises(KeyError):
        call_with_retries(fn, retry_on=(Flaky,), backoff=Backoff(), sleep=lambda _: None)
    assert calls == [1]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Mail.Acme-Outreach.example.", "mail.acme-outreach.example"), ("a.b", "a.b")],
)
def test_valid_hostnames(raw: str, expected: str) -> None:
    assert normalise_hostname(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "localhost",
        "-bad.example",
        "bad-.example",
        "a..b",
        "a b.example",
        "x;rm -rf /.example",
        "$(id).example",
        "a" * 64 + ".example",
        ("a" * 60 + ".") * 5 + "example",
        "",
        "ünï.example",
    ],
)
def test_invalid_hostnames(raw: str) -> None:
    with pytest.raises(ValueError, match="not a valid hostname"):
        normalise_hostname(raw)


def test_server_name() -> None:
    sid = UUID("2a3f9c5f-dc5e-49be-b8e4-ca6294732654")
    assert server_name("prod", sid) == "ifl-prod-2a3f9c5f-dc5e-49be-b8e4-ca6294732654"
