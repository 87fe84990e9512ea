"""The splicer replaces only the annotations' spans: every other line is untouched and keeps its
number, in nested and indented code too; the result runs (standalone here, in-process)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import pytest

from archsearch.annotation import runtime
from archsearch.annotation.grammar import parse_module
from archsearch.annotation.splice import RUNTIME_NAME, trial_source

SOURCE = textwrap.dedent(
    '''
    # a comment that stays
    def double(inputs, extra=0):
        return 2 * (sum(inputs[0]) + sum(inputs[1])) + extra

    class Model:
        def forward(self, x, skip):
            if x > 0:
                """@nni.mutable_layers({layer_choice: [double(extra=1), double(extra=2)],
                    fixed_inputs: [x], optional_inputs: [skip, missing],
                    optional_input_size: [0, 1], layer_output: y})"""
                """@nni.variable(nni.choice(10, 20), name=self.scale)"""
                self.scale = (
                    1
                )
                """@nni.function_choice(max(y,
                    0), min(y, 0), name=clip)"""
                z = max(y,
                        0) + self.scale  # tail comment
            else: """@nni.report_final_result(-1)"""
            return z
    '''
)


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    runtime.reset()
    yield
    runtime.reset()


def test_lines_outside_annotations_are_untouched() -> None:
    module = parse_module(SOURCE, "model.py", "model")
    spliced = trial_source(SOURCE, module)
    before, after = SOURCE.split("\n"), spliced.split("\n")
    assert len(after) == len(before)
    touched = set()
    for note in module.annotations:
        spans = [note.span, getattr(note, "value_span", note.span)]
        spans += [span for span, _ in getattr(note, "sites", ())]
        for span in spans:
            touched |= set(range(span.line, span.end_line + 1))
    for number, (old, new) in enumerate(zip(before, after, strict=True), 1):
        if number not in touched:
            assert old == new, number
    tail = next(
        i for i, line in enumerate(before) if line.endswith("0) + self.scale  # tail comment")
    )
    assert after[tail] == ") + self.scale  # tail comment"  # the call's bracket, then the rest
    compile(spliced, "model.py", "exec")


def test_spliced_code_runs_standalone() -> None:
    module = parse_module(SOURCE, "model.py", "model")
    namespace: dict[str, object] = {RUNTIME_NAME: runtime}
    exec(compile(trial_source(SOURCE, module), "model.py", "exec"), namespace)
    model = namespace["Model"]()  # type: ignore[operator]
    # y = double([[3], []], extra=1) = 7 (no optional input: the range starts at 0)
    assert model.forward(3, skip=100) == 7 + 10
    assert model.scale == 10
