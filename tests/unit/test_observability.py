"""Metered handlers publish their own invocation's metrics, even when one process serves several
invocations at once on threads (the local cloud does)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from inboxfleet.observability import count, metered_lambda_entry
from local.invoke import LocalContext


def test_concurrent_invocations_each_publish_their_own_counts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    both_counted = threading.Barrier(2)

    @metered_lambda_entry
    def handler(event: dict[str, Any], context: Any) -> str:
        count(event["metric"], event["value"])
        both_counted.wait(timeout=30)  # each has counted before either publishes
        return "ok"

    results: list[str] = []
    threads = [
        threading.Thread(target=lambda e=event: results.append(handler(e, LocalContext("Metered"))))
        for event in ({"metric": "First", "value": 2}, {"metric": "Second", "value": 3})
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == ["ok", "ok"]
    published = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and '"_aws"' in line
    ]
    counted = sorted(
        (name, record[name])
        for record in published
        for name in ("First", "Second")
        if name in record
    )
    assert counted == [("First", [2.0]), ("Second", [3.0])]
    assert len(published) == 2  # one record per invocation, each with its own metric only
