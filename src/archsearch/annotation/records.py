"""What the grammar reads from an annotated script: immutable records with source positions.

Expressions are kept as source text (`ast.unparse` of what the user wrote), so records cross
module boundaries as plain data and the splicer can write them back into code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class AnnotationError(ValueError):
    """An annotation that cannot be used; the message is one line starting `file:line:`."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line


@dataclass(frozen=True)
class Span:
    """A region of the source: 1-based lines, 0-based character columns (end exclusive)."""

    line: int
    col: int
    end_line: int
    end_col: int


@dataclass(frozen=True)
class CallText:
    """A candidate (or `input_aggregate`/`post_process`) call: `conv(ch=128)`.

    `key` is how the search space names it: the call as written (normalised by `ast.unparse`);
    a bare name written as in seed 004 keeps its bare text (`conv3`).
    """

    key: str
    func: str
    kwargs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class MutableLayer:
    """One `{...}` of `@nni.mutable_layers`."""

    output: str
    line: int
    candidates: tuple[CallText, ...]
    fixed_inputs: tuple[str, ...]
    optional_inputs: tuple[str, ...]
    size: tuple[int, int]  # (min, max) optional inputs chosen; equal when fixed
    aggregate: CallText | None
    post_process: CallText | None


@dataclass(frozen=True)
class MutableLayers:
    """A `@nni.mutable_layers(...)` annotation (statement span) and its layers."""

    span: Span
    layers: tuple[MutableLayer, ...]


@dataclass(frozen=True)
class Variable:
    """`@nni.variable(nni.<func>(...), name=target)` and the assignment it applies to."""

    span: Span
    value_span: Span  # the assignment's right-hand side, replaced by the chosen value
    name: str
    func: str
    options: tuple[str, ...]  # the arguments as source text
    values: tuple[Any, ...]  # choice: literal values or source text; others: the numbers


@dataclass(frozen=True)
class FunctionChoice:
    """`@nni.function_choice(call1, call2, name=f)` and the calls it replaces."""

    span: Span
    name: str
    candidates: tuple[str, ...]  # call source texts
    sites: tuple[tuple[Span, int], ...]  # each matching call in the next statement, its index


@dataclass(frozen=True)
class PlainCall:
    """`@nni.report_intermediate_result(x)`, `report_final_result(x)`, `get_next_parameter()`."""

    span: Span
    func: str
    args: str  # the arguments as source text


Annotation = MutableLayers | Variable | FunctionChoice | PlainCall


@dataclass(frozen=True)
class AnnotatedModule:
    """The annotations of one file, in source order. `module` is its dotted name under the
    code folder (NNI's key prefix); `prefix` is what archsearch labels start with ('' for a
    single script)."""

    path: str
    module: str
    prefix: str
    annotations: tuple[Annotation, ...]
