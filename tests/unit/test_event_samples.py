"""events/: every input sample has its output sample beside it (the integration tests of each
function invoke the inputs and compare the outputs), and every folder names a function."""

from __future__ import annotations

from local.template import functions, load_template
from tests.sample_outputs import EVENTS, OUT_SUFFIX, input_samples, output_path


def test_every_folder_is_a_function_of_the_template() -> None:
    names = {spec.logical_id for spec in functions(load_template())}
    folders = {p.name for p in EVENTS.iterdir() if p.is_dir()}
    assert folders
    assert folders <= names


def test_every_input_has_its_output_and_every_output_its_input() -> None:
    for folder in (p for p in EVENTS.iterdir() if p.is_dir()):
        inputs = input_samples(folder.name)
        assert inputs, folder
        outputs = sorted(folder.glob(f"*{OUT_SUFFIX}"))
        assert outputs == sorted(output_path(p) for p in inputs), folder
