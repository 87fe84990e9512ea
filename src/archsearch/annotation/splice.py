"""Annotated source → runnable source, by replacing only the annotations' own spans.

Everything else (comments, formatting, the docstring) is left as written and every statement
keeps its line, so tracebacks point at the user's lines. Two outputs share the machinery:
`trial_source` calls the runtime (`runtime.py`, bound to the global `RUNTIME_NAME` by the
loader), `inline_source` writes one architecture's choices as plain calls (`archsearch
annotate`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from archsearch.annotation.grammar import DISCRETE
from archsearch.annotation.records import (
    AnnotatedModule,
    Annotation,
    CallText,
    FunctionChoice,
    MutableLayer,
    MutableLayers,
    PlainCall,
    Span,
    Variable,
)
from archsearch.annotation.space import nni_block_key, nni_key

RUNTIME_NAME = "_archsearch_annotation"
"""The global through which spliced code reaches `archsearch.annotation.runtime`."""

INPUTS = "_archsearch_inputs"
"""The lambda parameter holding a layer's inputs (a name no user code shadows)."""

Edit = tuple[Span, str]


def source_lines(source: str) -> list[str]:
    """The lines as the parser numbers them (split at newlines only, not at form feeds)."""
    return source.split("\n")


def replace_spans(source: str, edits: list[Edit]) -> str:
    """`source` with each span replaced by its text (spans must not overlap)."""
    lines = source_lines(source)
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    pieces = []
    position = 0
    for span, text in sorted(edits, key=lambda e: (e[0].line, e[0].col)):
        begin = starts[span.line - 1] + span.col
        pieces += [source[position:begin], text]
        position = starts[span.end_line - 1] + span.end_col
    pieces.append(source[position:])
    return "".join(pieces)


def statements(span: Span, lines: list[str], placed: list[tuple[int, str]]) -> str:
    """Statements for the span of an annotation statement, each on its line (joined with `;`
    where they share one), the other lines of the span left blank."""
    indent = lines[span.line - 1][: span.col]
    by_line: dict[int, list[str]] = {}
    for line, text in placed:
        by_line.setdefault(min(max(line, span.line), span.end_line), []).append(text)
    if indent.strip():  # the annotation shares its first line with other code: stay on it
        return "; ".join(t for _, t in placed) + "\n" * (span.end_line - span.line)
    rows = ["; ".join(by_line.get(k, [])) for k in range(span.line, span.end_line + 1)]
    return rows[0] + "".join("\n" + (indent + row if row else "") for row in rows[1:])


def expression(span: Span, text: str) -> str:
    """An expression replacing the one at `span` (a whole right-hand side or a call, so no
    precedence changes); one spanning several lines is bracketed, so its lines stay its own."""
    if span.end_line == span.line:
        return text
    return f"({text}{chr(10) * (span.end_line - span.line)})"


def _lambdas(items: Mapping[str, str], parameter: str = "") -> str:
    head = f"lambda {parameter}: " if parameter else "lambda: "
    return "{" + ", ".join(f"{k!r}: {head}{v}" for k, v in items.items()) + "}"


def call_text(call: CallText, inputs: str) -> str:
    """`conv(ch=128)` with `inputs` as its first argument: `conv(inputs, ch=128)`."""
    arguments = [inputs, *(f"{name}={value}" for name, value in call.kwargs)]
    return f"{call.func}({', '.join(arguments)})"


def _layer_call(module: AnnotatedModule, block: MutableLayers, i: int, layer: MutableLayer) -> str:
    candidates = {c.key: call_text(c, INPUTS) for c in layer.candidates}
    optional = {text: text for text in layer.optional_inputs}
    extra = ""
    for keyword, call in (("aggregate", layer.aggregate), ("post_process", layer.post_process)):
        if call is not None:
            extra += f", {keyword}=lambda {INPUTS}: {call_text(call, INPUTS)}"
    return (
        f"{layer.output} = {RUNTIME_NAME}.mutable_layer("
        f"{module.prefix + layer.output!r}, {(nni_block_key(module.module, block), i)!r}, "
        f"{_lambdas(candidates, INPUTS)}, [{', '.join(layer.fixed_inputs)}], "
        f"{_lambdas(optional)}, {layer.size!r}{extra})"
    )


def trial_source(source: str, module: AnnotatedModule) -> str:
    """The source with each annotation turned into a call of the runtime."""
    lines = source_lines(source)
    edits: list[Edit] = []
    for note in module.annotations:
        edits += _trial_edits(note, module, lines)
    return replace_spans(source, edits)


def _trial_edits(note: Annotation, module: AnnotatedModule, lines: list[str]) -> list[Edit]:
    label = module.prefix + getattr(note, "name", "")
    if isinstance(note, MutableLayers):
        placed = [
            (layer.line, _layer_call(module, note, i, layer)) for i, layer in enumerate(note.layers)
        ]
        return [(note.span, statements(note.span, lines, placed))]
    if isinstance(note, Variable):
        if (
            note.func not in DISCRETE
        ):  # continuous: refused for search; standalone keeps the default
            return [(note.span, statements(note.span, lines, []))]
        key = nni_key(module.module, note.name, note.func)
        if note.func == "randint":
            low, high = note.values
            text = f"{RUNTIME_NAME}.randint({label!r}, {key!r}, {low!r}, {high!r})"
        else:
            thunks = "[" + ", ".join(f"lambda: {o}" for o in note.options) + "]"
            text = f"{RUNTIME_NAME}.choice({label!r}, {key!r}, {list(note.values)!r}, {thunks})"
        return [
            (note.span, statements(note.span, lines, [])),
            (note.value_span, expression(note.value_span, text)),
        ]
    if isinstance(note, FunctionChoice):
        key = nni_key(module.module, note.name, "function_choice")
        thunks = "[" + ", ".join(f"lambda: {c}" for c in note.candidates) + "]"
        texts = list(note.candidates)
        text = f"{RUNTIME_NAME}.function_choice({label!r}, {key!r}, {texts!r}, {thunks})"
        return [(note.span, statements(note.span, lines, []))] + [
            (span, expression(span, text)) for span, _ in note.sites
        ]
    assert isinstance(note, PlainCall)
    call = f"{RUNTIME_NAME}.{note.func}({note.args})"
    return [(note.span, statements(note.span, lines, [(note.span.line, call)]))]


Choices = Callable[[Annotation, AnnotatedModule], Any]


def inline_source(source: str, module: AnnotatedModule, decide: Choices) -> str:
    """The source with one architecture's choices written as plain calls (`decide` gives each
    annotation's decision: `(candidate key, chosen input texts)` per layer, the chosen option
    text of a variable or function choice). Reports and `get_next_parameter` stay annotations:
    plain Python ignores them, and a trial or `python -m archsearch.annotation` sends them."""
    lines = source_lines(source)
    edits: list[Edit] = []
    for note in module.annotations:
        if isinstance(note, MutableLayers):
            placed = [
                (layer.line, f"{layer.output} = {_inline_layer(layer, *choice)}")
                for layer, choice in zip(note.layers, decide(note, module), strict=True)
            ]
            edits.append((note.span, statements(note.span, lines, placed)))
        elif isinstance(note, Variable) and note.func in DISCRETE:
            edits.append((note.span, statements(note.span, lines, [])))
            edits.append((note.value_span, expression(note.value_span, decide(note, module))))
        elif isinstance(note, FunctionChoice):
            chosen = decide(note, module)
            edits.append((note.span, statements(note.span, lines, [])))
            edits += [(span, expression(span, chosen)) for span, _ in note.sites]
    return replace_spans(source, edits)


def _inline_layer(layer: MutableLayer, key: str, chosen: list[str]) -> str:
    inputs = f"[[{', '.join(layer.fixed_inputs)}], [{', '.join(chosen)}]]"
    if layer.aggregate is not None:
        inputs = call_text(layer.aggregate, inputs)
    candidate = next(c for c in layer.candidates if c.key == key)
    output = call_text(candidate, inputs)
    if layer.post_process is not None:
        output = call_text(layer.post_process, f"[{output}, [{', '.join(chosen)}]]")
    return output
