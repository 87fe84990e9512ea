"""Find the annotations of a Python source (statically: parsed, never imported or run) and
read each into a record (`records.py`)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from archsearch.annotation.layers import parse_layers
from archsearch.annotation.records import (
    AnnotatedModule,
    Annotation,
    AnnotationError,
    FunctionChoice,
    MutableLayers,
    PlainCall,
    Span,
    Variable,
)
from archsearch.annotation.text import Where, annotation_text, function_name, parse_call
from archsearch.space import same_value

DISCRETE = ("choice", "randint")
"""`@nni.variable` types that map to search-space dimensions."""

CONTINUOUS = (
    "uniform",
    "quniform",
    "loguniform",
    "qloguniform",
    "normal",
    "qnormal",
    "lognormal",
    "qlognormal",
)
"""NNI's continuous types: read (and written by `ss-gen --nni-format`), refused for search."""

PLAIN = ("report_intermediate_result", "report_final_result", "get_next_parameter")

FUNCTIONS = ("mutable_layers", "variable", "function_choice", *PLAIN)


def parse_module(source: str, path: str, module: str, prefix: str = "") -> AnnotatedModule:
    """The annotations of `source` (the file `path`) in source order."""
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        raise AnnotationError(path, exc.lineno or 1, f"not valid Python: {exc.msg}") from None
    lines = source.split("\n")  # as the parser numbers lines (not at form feeds)
    found = [
        _annotation(stmt, text, following, path, lines)
        for stmt, text, following in sorted(_annotations(tree), key=lambda a: a[0].lineno)
    ]
    return AnnotatedModule(path, module, prefix, tuple(found))


def _annotations(tree: ast.AST) -> Iterator[tuple[ast.Expr, str, ast.stmt | None]]:
    """Each annotation statement, its text, and the statement after it (or None)."""
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if not isinstance(body, list):
                continue
            for i, stmt in enumerate(body):
                text = annotation_text(stmt) if isinstance(stmt, ast.stmt) else None
                if text is not None:
                    assert isinstance(stmt, ast.Expr)
                    yield stmt, text, body[i + 1] if i + 1 < len(body) else None


def _annotation(
    stmt: ast.Expr, text: str, following: ast.stmt | None, path: str, lines: list[str]
) -> Annotation:
    where = Where(path, stmt.lineno, stmt.end_lineno or stmt.lineno)
    call = parse_call(text, where)
    name = function_name(call)
    span = span_of(stmt, lines)
    if name == "mutable_layers":
        return MutableLayers(span, parse_layers(call, where))
    if name == "variable":
        return _variable(call, following, span, where, lines)
    if name == "function_choice":
        return _function_choice(call, following, span, where, lines)
    if name in PLAIN:
        return PlainCall(span, name, _arguments(call))
    if name == "training_update":
        raise where.error(
            call,
            "@nni.training_update belongs to NNI's TensorFlow one-shot modes, which are not "
            "supported; write LayerChoice/InputChoice modules and use archsearch.oneshot",
        )
    if name == "mutable_layer":
        raise where.error(call, "write @nni.mutable_layers({...}, ...) or @nni.mutable_layer {...}")
    raise where.error(
        call,
        f"unknown annotation @{ast.unparse(call.func)}; valid: @nni.{', @nni.'.join(FUNCTIONS)}",
    )


def span_of(node: ast.AST, lines: list[str]) -> Span:
    """The node's span with character columns (the AST counts UTF-8 bytes)."""
    line, end_line = node.lineno, node.end_lineno or node.lineno  # type: ignore[attr-defined]
    col = _chars(lines[line - 1], node.col_offset)  # type: ignore[attr-defined]
    end_col = _chars(lines[end_line - 1], node.end_col_offset or 0)  # type: ignore[attr-defined]
    return Span(line, col, end_line, end_col)


def _chars(line: str, byte_offset: int) -> int:
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="replace"))


def _arguments(call: ast.Call) -> str:
    parts = [ast.unparse(a) for a in call.args]
    parts += [ast.unparse(k) for k in call.keywords]
    return ", ".join(parts)


def _name_keyword(call: ast.Call, where: Where) -> ast.expr | None:
    names = [k for k in call.keywords if k.arg == "name"]
    others = [k.arg or "**" for k in call.keywords if k.arg != "name"]
    if others:
        raise where.error(call, f"unexpected keyword {others[0]}=; the only keyword is name=")
    return names[0].value if names else None


def _variable(
    call: ast.Call, following: ast.stmt | None, span: Span, where: Where, lines: list[str]
) -> Variable:
    valid = f"nni.<type>(...) with <type> one of {', '.join(DISCRETE + CONTINUOUS)}"
    name_node = _name_keyword(call, where)
    if len(call.args) != 1 or not isinstance(call.args[0], ast.Call):
        raise where.error(call, f"@nni.variable takes one {valid}, e.g. nni.choice(1, 2), name=x")
    spec = call.args[0]
    func = function_name(spec)
    if func not in DISCRETE + CONTINUOUS or spec.keywords:
        raise where.error(spec, f"@nni.variable: {ast.unparse(spec)!r} is not {valid}")
    target, value = _assignment(following, "@nni.variable", where)
    target_text = ast.unparse(target)
    if name_node is not None and ast.unparse(name_node) != target_text:
        raise where.error(
            name_node,
            f"@nni.variable name={ast.unparse(name_node)} differs from the assigned target "
            f"{target_text}; give the target's name (or leave name= out)",
        )
    options = tuple(ast.unparse(a) for a in spec.args)
    if any(isinstance(a, ast.Starred) for a in spec.args) or not spec.args:
        raise where.error(spec, f"nni.{func} needs its options written out, e.g. nni.choice(1, 2)")
    if func == "choice":
        values = tuple(_choice_value(a) for a in spec.args)
        if any(same_value(v, w) for i, v in enumerate(values) for w in values[:i]):
            raise where.error(spec, f"nni.choice repeats an option: {list(options)}")
    else:
        values = tuple(_number(a, func, where) for a in spec.args)
        if func == "randint":
            values = _randint_bounds(values, spec, where)
    return Variable(span, span_of(value, lines), target_text, func, options, values)


def _randint_bounds(values: tuple[Any, ...], spec: ast.Call, where: Where) -> tuple[int, int]:
    """`randint(upper)` (NNI's tool README) or `randint(lower, upper)`: [lower, upper)."""
    ints = all(type(v) is int for v in values)
    bounds = (0, *values) if len(values) == 1 else values
    if not ints or len(bounds) != 2 or not bounds[0] < bounds[1]:
        raise where.error(
            spec,
            "nni.randint takes ints (upper) or (lower, upper) with lower < upper, "
            f"got {ast.unparse(spec)}",
        )
    return (bounds[0], bounds[1])


def _assignment(following: ast.stmt | None, what: str, where: Where) -> tuple[ast.expr, ast.expr]:
    if isinstance(following, ast.Assign) and len(following.targets) == 1:
        return following.targets[0], following.value
    if isinstance(following, ast.AnnAssign) and following.value is not None:
        return following.target, following.value
    line = following.lineno if following is not None else where.first_line
    raise AnnotationError(
        where.path, line, f"{what} must be followed by an assignment `target = default value`"
    )


def _choice_value(node: ast.expr) -> Any:
    """A literal option's value (number, string, bool, None); NNI's source text otherwise."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return ast.unparse(node)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return ast.unparse(node)


def _number(node: ast.expr, func: str, where: Where) -> int | float:
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        value = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raise where.error(
        node, f"nni.{func} arguments must be number literals, got {ast.unparse(node)!r}"
    )


def _function_choice(
    call: ast.Call, following: ast.stmt | None, span: Span, where: Where, lines: list[str]
) -> FunctionChoice:
    name_node = _name_keyword(call, where)
    calls = call.args
    if not calls or not all(isinstance(c, ast.Call) for c in calls):
        raise where.error(
            call,
            "@nni.function_choice takes the candidate calls, e.g. "
            "@nni.function_choice(max_pool(x), avg_pool(x), name=pool)",
        )
    texts = tuple(ast.unparse(c) for c in calls)
    if len(set(texts)) != len(texts):
        raise where.error(call, f"@nni.function_choice repeats a candidate: {list(texts)}")
    if following is None:
        raise where.error(
            call,
            "@nni.function_choice must be followed by a statement calling one of its candidates",
        )
    sites = tuple(
        (span_of(node, lines), texts.index(ast.unparse(node)))
        for node in _matching_calls(following, set(texts))
    )
    if not sites:
        raise where.error(
            call,
            f"the statement after @nni.function_choice (line {following.lineno}) calls "
            f"none of its candidates {list(texts)}",
        )
    name = ast.unparse(name_node) if name_node is not None else ast.unparse(calls[0].func)  # type: ignore[attr-defined]
    return FunctionChoice(span, name, texts, sites)


def _matching_calls(node: ast.AST, texts: set[str]) -> Iterator[ast.Call]:
    if isinstance(node, ast.Call) and ast.unparse(node) in texts:
        yield node
        return
    for child in ast.iter_child_nodes(node):
        yield from _matching_calls(child, texts)
