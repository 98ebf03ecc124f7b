"""The tenant API's sample events (events/TenantApiFunction, the files `sam local invoke -e` and
`inboxfleet-local invoke` take) are answered by the real handler as their output samples say,
on the sample tenant. The output samples hold the body parsed, so ids and times can be masked."""

from __future__ import annotations

import json
from typing import Any

from inboxfleet.db import Database
from local.invoke import invoke
from local.samples import seed_sample
from tests.sample_outputs import SampleOutputs, input_samples

FUNCTION = "TenantApiFunction"
# Reads before the writes that change what they read; the delete last.
ORDER = ["list_inboxes", "get_inbox", "request_inboxes", "delete_inbox"]


def answered(event: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = invoke(FUNCTION, event)
    return {**answer, "body": json.loads(answer["body"])}


def test_every_sample_is_answered_as_its_output_sample_says(fresh_app_db: Database) -> None:
    seed_sample()
    samples = {path.stem: path for path in input_samples(FUNCTION)}
    assert sorted(samples) == sorted(ORDER)
    outputs = SampleOutputs(FUNCTION)
    for name in ORDER:
        event = json.loads(samples[name].read_text())
        answer = answered(event)
        assert answer["statusCode"] in (200, 202), (name, answer)
        outputs.record(samples[name], event, answer)
    outputs.check()
