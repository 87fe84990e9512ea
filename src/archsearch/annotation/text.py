"""Reading one annotation string: its Python expression, and where each of its lines is.

An annotation is a string-literal statement whose text starts with `@nni.`; the rest is a
Python expression, except seed 004's `@nni.mutable_layer {...}{...}`, which is rewritten here
into the implemented `nni.mutable_layers({...}, {...})` without moving any line.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass

from archsearch.annotation.records import AnnotationError

PREFIX = "@nni."

_SEED_SPELLING = re.compile(r"@nni\.mutable_layer(?![\w(])")


@dataclass(frozen=True)
class Where:
    """Maps lines of an annotation's text to lines of its file, and builds errors there."""

    path: str
    first_line: int  # the line of the string's opening quote
    last_line: int

    def line(self, node: ast.AST | None = None, text_line: int = 1) -> int:
        """The file line of `node` (or of `text_line`) of the annotation text."""
        k = getattr(node, "lineno", text_line) if node is not None else text_line
        return min(self.first_line + k - 1, self.last_line)

    def error(self, node: ast.AST | None, message: str) -> AnnotationError:
        """An AnnotationError at `node`'s line (the annotation's first line without one)."""
        return AnnotationError(self.path, self.line(node), message)


def annotation_text(node: ast.stmt) -> str | None:
    """The text of an annotation statement, or None when `node` is not one."""
    if not isinstance(node, ast.Expr) or not isinstance(node.value, ast.Constant):
        return None
    value = node.value.value
    if isinstance(value, str) and value.lstrip().startswith(PREFIX):
        return value
    return None


def parse_call(text: str, where: Where) -> ast.Call:
    """The annotation as a call `nni.<function>(...)` (line numbers those of the text)."""
    stripped = text.lstrip()
    # Blank characters before `@` keep their newlines, so lines still match the file's.
    indent = text[: len(text) - len(stripped)]
    body = re.sub(r"[^\n]", " ", indent) + stripped[1:]
    if _SEED_SPELLING.match(stripped):
        body = re.sub(r"[^\n]", " ", indent) + _seed_to_call(stripped, where)
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError as exc:
        detail = exc.msg.rstrip(".")
        raise AnnotationError(
            where.path,
            where.line(text_line=exc.lineno or 1),
            f"cannot parse the annotation: {detail}; an annotation is `@nni.<function>(...)` "
            "holding a Python expression (dict keys such as layer_choice are bare names)",
        ) from None
    call = tree.body
    if not isinstance(call, ast.Call) or _dotted(call.func) is None:
        raise where.error(call, "an annotation must be a call such as @nni.mutable_layers(...)")
    return call


def function_name(call: ast.Call) -> str:
    """`mutable_layers` for `nni.mutable_layers(...)`."""
    return (_dotted(call.func) or "").partition(".")[2]


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _seed_to_call(text: str, where: Where) -> str:
    """`@nni.mutable_layer {a}{b}` → `nni.mutable_layers({a},{b})`, characters only added
    after a closing brace or at the end, so every line keeps its number."""
    head = "@nni.mutable_layer"
    rest = text[len(head) :]
    lines = rest.splitlines(keepends=True)
    inserts: list[tuple[int, int]] = []  # (row, col) after each top-level group
    depth = 0
    # Read inside one pair of brackets, where indentation means nothing to the tokenizer.
    wrapped = "(" + rest + "\n)"
    try:
        for token in tokenize.generate_tokens(io.StringIO(wrapped).readline):
            if token.type == tokenize.OP and token.string in "([{":
                if depth == 1 and token.string != "{":
                    raise where.error(None, _SEED_MESSAGE)
                depth += 1
            elif token.type == tokenize.OP and token.string in ")]}":
                depth -= 1
                if depth == 1:
                    row, col = token.end
                    inserts.append((row, col - 1 if row == 1 else col))
            elif depth == 1 and token.type not in _BLANK_TOKENS:
                raise where.error(None, _SEED_MESSAGE)
    except (tokenize.TokenError, SyntaxError):
        raise where.error(
            None, f"cannot parse the annotation: unbalanced brackets; {_SEED_MESSAGE}"
        ) from None
    if not inserts:
        raise where.error(None, _SEED_MESSAGE)
    for row, col in reversed(inserts):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + "," + line[col:]
    return "nni.mutable_layers(" + "".join(lines) + ")"


_SEED_MESSAGE = (
    "@nni.mutable_layer (seed 004's spelling) takes {...} groups, one per layer; or write "
    "@nni.mutable_layers({...}, {...})"
)

_BLANK_TOKENS = {
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.COMMENT,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENDMARKER,
}
