"""The output samples beside the input samples in events/ (`<name>.json` in, `<name>.out.json`
out, the Powertools examples' habit): each function's tests invoke every input sample and
compare what the handler answered with its `.out.json`, ids and times masked.

To rewrite the outputs after a deliberate change of a result model, run the sample tests with
INBOXFLEET_WRITE_SAMPLE_OUTPUTS=1 and review the diff:

    INBOXFLEET_WRITE_SAMPLE_OUTPUTS=1 .venv/bin/python -m pytest -k sample_outputs
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from local import samples
from local.template import REPO_ROOT

EVENTS = REPO_ROOT / "events"
OUT_SUFFIX = ".out.json"
WRITE = os.environ.get("INBOXFLEET_WRITE_SAMPLE_OUTPUTS") == "1"

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9:]+)?"
)
_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")


def input_samples(function: str) -> list[Path]:
    """The input samples of a function (logical id in template.yaml), by name."""
    folder = EVENTS / function
    return sorted(p for p in folder.glob("*.json") if not p.name.endswith(OUT_SUFFIX))


def output_path(sample: Path) -> Path:
    return sample.with_name(sample.name.removesuffix(".json") + OUT_SUFFIX)


# The sample tenant's fixed ids (local/samples.py): shown, not masked.
SAMPLE_IDS = frozenset(str(v) for k, v in vars(samples).items() if k.endswith("_ID"))


def _uuids_in(value: Any) -> set[str]:
    return set(_UUID.findall(json.dumps(value)))


def masked(value: Any, keep: Collection[str] = (), fields: Collection[str] = ()) -> Any:
    """`value` with what differs from run to run replaced: UUIDs (except those in `keep`: the
    sample's own fixed ids), timestamps, SSH host key fingerprints, and the values of `fields`
    (random by design, e.g. a freshly generated DKIM key)."""
    if isinstance(value, dict):
        return {k: f"<{k}>" if k in fields else masked(v, keep, fields) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, keep, fields) for v in value]
    if isinstance(value, str):
        if _UUID.fullmatch(value):
            return value if value in keep else "<uuid>"
        if _TIME.fullmatch(value):
            return "<time>"
        return _FINGERPRINT.sub("<fingerprint>", value)
    return value


class SampleOutputs:
    """Collects a function's answers to its input samples, then checks them (or writes them)."""

    def __init__(self, function: str, fields: Iterable[str] = ()) -> None:
        self.function = function
        self.fields = frozenset(fields)
        self.answers: dict[Path, Any] = {}

    def record(self, sample: Path, event: dict[str, Any], answer: Any) -> None:
        keep = SAMPLE_IDS | _uuids_in(json.loads(sample.read_text())) | _uuids_in(event)
        self.answers[sample] = masked(answer, keep, self.fields)

    def check(self) -> None:
        expected = input_samples(self.function)
        assert sorted(self.answers) == expected, "every input sample must be invoked"
        stale: list[str] = []
        for sample, answer in self.answers.items():
            text = json.dumps(answer, indent=2, sort_keys=True) + "\n"
            path = output_path(sample)
            if WRITE:
                path.write_text(text)
                continue
            written = path.read_text() if path.exists() else ""
            if written != text:
                diff = difflib.unified_diff(
                    written.splitlines(), text.splitlines(), str(path), "answer", lineterm=""
                )
                stale.append("\n".join(diff))
        assert not stale, "answers differ from the output samples:\n" + "\n".join(stale)
