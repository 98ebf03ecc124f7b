"""The reconcile function's sample events (events/ReconcileFunction) invoked in a fresh local
cloud holding one kind of drift each part can see: the answers are the output samples."""

from __future__ import annotations

import json

from local.cloud import LocalCloud
from tests.reconcile_support import FUNCTION, items, listed
from tests.sample_outputs import EVENTS, SampleOutputs

ROWLESS = "ifl-local-00000000-0000-4000-8000-00000000feed"


def test_sample_outputs_are_what_the_samples_answer(cloud: LocalCloud) -> None:
    # An instance named like ours with no row (a restored database): reported, never touched.
    cloud.hostwinds.seed_instances(names=[ROWLESS])
    outputs = SampleOutputs(FUNCTION, fields=("pass_id", "elapsed_ms", "serviceid"))
    answers = {}
    for name in ("dry_run", "scheduled"):
        sample = EVENTS / FUNCTION / f"{name}.json"
        event = json.loads(sample.read_text())
        result = cloud.invoke(FUNCTION, event)
        assert result.ok, result.payload
        answers[name] = result.payload
        outputs.record(sample, event, result.payload)
    outputs.check()
    for answer in answers.values():
        assert items(answer, "rowless_instance", name=ROWLESS)
    assert ROWLESS in listed(cloud)
