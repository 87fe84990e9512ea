"""`@nni.mutable_layers({...}, ...)`: each dict display becomes a `MutableLayer` record.

Both spellings are read: NNI's (`optional_inputs`, `optional_input_size`) and seed 004's
(`input_candidates`, `input_num`, `input_aggregate`, `post_process`, bare candidate names).
"""

from __future__ import annotations

import ast

from archsearch.annotation.records import CallText, MutableLayer
from archsearch.annotation.text import Where

ALIASES = {"input_candidates": "optional_inputs", "input_num": "optional_input_size"}
"""Seed 004's field names → NNI's."""

FIELDS = (
    "layer_choice",
    "fixed_inputs",
    "optional_inputs",
    "optional_input_size",
    "layer_output",
    "input_aggregate",
    "post_process",
)
VALID_FIELDS = f"valid fields: {', '.join(FIELDS)} (seed 004: {', '.join(ALIASES)})"


def parse_layers(call: ast.Call, where: Where) -> tuple[MutableLayer, ...]:
    """The layers of a `mutable_layers` call; AnnotationError naming the field otherwise."""
    if call.keywords or not call.args:
        raise where.error(
            call,
            "@nni.mutable_layers takes one {...} dict per layer, e.g. "
            "@nni.mutable_layers({layer_choice: [conv()], layer_output: out})",
        )
    return tuple(_layer(arg, where) for arg in call.args)


def _layer(node: ast.expr, where: Where) -> MutableLayer:
    if not isinstance(node, ast.Dict):
        raise where.error(node, f"a mutable layer is a {{field: value}} dict; {VALID_FIELDS}")
    fields: dict[str, ast.expr] = {}
    for key, value in zip(node.keys, node.values, strict=True):
        name = _field_name(key, node, where)
        canonical = ALIASES.get(name, name)
        if canonical not in FIELDS:
            raise where.error(key, f"unknown field {name!r} in a mutable layer; {VALID_FIELDS}")
        if canonical in fields:
            both = name if canonical == name else f"{name} (= {canonical})"
            raise where.error(key, f"field {both} is given twice in one mutable layer")
        fields[canonical] = value
    for required in ("layer_choice", "layer_output"):
        if required not in fields:
            raise where.error(node, f"a mutable layer needs the field {required}")
    output = fields["layer_output"]
    if not isinstance(output, ast.Name):
        raise where.error(
            output,
            f"layer_output must be a plain variable name, got {ast.unparse(output)!r} "
            "(attributes and subscripts cannot be assigned a layer's output here)",
        )
    candidates = _list(fields["layer_choice"], "layer_choice", where)
    if not candidates:
        raise where.error(fields["layer_choice"], "layer_choice needs at least one candidate")
    calls = tuple(_call(c, "layer_choice", where) for c in candidates)
    _distinct([c.key for c in calls], "layer_choice", fields["layer_choice"], where)
    fixed = tuple(ast.unparse(e) for e in _list(fields.get("fixed_inputs"), "fixed_inputs", where))
    optional_nodes = _list(fields.get("optional_inputs"), "optional_inputs", where)
    optional = tuple(ast.unparse(e) for e in optional_nodes)
    _distinct(list(optional), "optional_inputs", fields.get("optional_inputs"), where)
    return MutableLayer(
        output=output.id,
        line=where.line(node),
        candidates=calls,
        fixed_inputs=fixed,
        optional_inputs=optional,
        size=_size(fields.get("optional_input_size"), len(optional), node, where),
        aggregate=_optional_call(fields.get("input_aggregate"), "input_aggregate", where),
        post_process=_optional_call(fields.get("post_process"), "post_process", where),
    )


def _field_name(key: ast.expr | None, node: ast.Dict, where: Where) -> str:
    if isinstance(key, ast.Name):
        return key.id
    if isinstance(key, ast.Constant) and isinstance(key.value, str):
        return key.value
    shown = "**" if key is None else ast.unparse(key)
    raise where.error(
        key or node, f"a mutable layer's keys are field names, got {shown!r}; {VALID_FIELDS}"
    )


def _list(node: ast.expr | None, field: str, where: Where) -> list[ast.expr]:
    if node is None:
        return []
    if not isinstance(node, (ast.List, ast.Tuple)):
        raise where.error(node, f"{field} must be a list [...], got {ast.unparse(node)!r}")
    starred = [e for e in node.elts if isinstance(e, ast.Starred)]
    if starred:
        raise where.error(starred[0], f"{field} must list its items one by one (no *unpacking)")
    return list(node.elts)


def _distinct(keys: list[str], field: str, node: ast.expr | None, where: Where) -> None:
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise where.error(node, f"{field} lists {repeated} more than once; items must differ")


def _call(node: ast.expr, field: str, where: Where) -> CallText:
    """A candidate call with keyword arguments only; a bare name (seed 004) is a call
    without arguments."""
    if isinstance(node, (ast.Name, ast.Attribute)):
        text = ast.unparse(node)
        return CallText(key=text, func=text, kwargs=())
    if not isinstance(node, ast.Call):
        raise where.error(
            node,
            f"{field} items must be function calls such as conv(ch=128) (or a function's "
            f"name), got {ast.unparse(node)!r}",
        )
    if node.args:
        raise where.error(
            node.args[0],
            f"{field} call {ast.unparse(node)!r} has a positional argument; the first "
            "argument is the layer's inputs, so give the others by keyword (conv(ch=128))",
        )
    if any(k.arg is None for k in node.keywords):
        raise where.error(node, f"{field} call {ast.unparse(node)!r}: **kwargs are not accepted")
    kwargs = tuple((str(k.arg), ast.unparse(k.value)) for k in node.keywords)
    return CallText(key=ast.unparse(node), func=ast.unparse(node.func), kwargs=kwargs)


def _optional_call(node: ast.expr | None, field: str, where: Where) -> CallText | None:
    return None if node is None else _call(node, field, where)


def _size(node: ast.expr | None, n: int, layer: ast.Dict, where: Where) -> tuple[int, int]:
    valid = f"an int 0..{n} or a range [min, max] with 0 <= min <= max <= {n}"
    if node is None:
        if n:
            raise where.error(
                layer, f"optional_inputs needs optional_input_size (input_num): {valid}"
            )
        return (0, 0)
    if isinstance(node, (ast.List, ast.Tuple)) and len(node.elts) == 2:
        low, high = (_int(e, valid, where) for e in node.elts)
    else:
        low = high = _int(node, valid, where)
    if not 0 <= low <= high <= n:
        raise where.error(
            node,
            f"optional_input_size {ast.unparse(node)} does not fit {n} optional_inputs: {valid}",
        )
    return (low, high)


def _int(node: ast.expr, valid: str, where: Where) -> int:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    raise where.error(node, f"optional_input_size must be {valid}, got {ast.unparse(node)!r}")
