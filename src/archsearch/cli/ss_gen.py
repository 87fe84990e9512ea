"""`archsearch ss-gen module:attribute`: write a model's search space as classic JSON;
`archsearch ss-gen --annotations PATH`: the space of an annotated script or code folder, read
statically (`--nni-format` for NNI's JSON).

torch is imported only once a model is being built, so that the other commands and `--version`
start without paying for it.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archsearch import search_space

if TYPE_CHECKING:
    import torch


def add_parser(subparsers: Any) -> None:
    """Register the `ss-gen` subcommand."""
    parser = subparsers.add_parser(
        "ss-gen",
        help="write the search space JSON of a model",
        description="Import MODULE:ATTRIBUTE (a model instance, class or factory), build the "
        "model and write its search space in the classic {label: {_type, _value}} format; or "
        "read the @nni annotations of a script or folder (--annotations, nothing imported).",
    )
    parser.add_argument("target", metavar="MODULE:ATTRIBUTE", nargs="?")
    parser.add_argument(
        "--annotations",
        type=Path,
        metavar="PATH",
        help="an annotated script or code folder: read its @nni annotations instead of a model",
    )
    parser.add_argument(
        "--nni-format",
        action="store_true",
        help="with --annotations: write NNI's search-space JSON (mutable_block keys)",
    )
    parser.add_argument(
        "--args",
        default=None,
        help="JSON arguments for a class or factory: a list (positional) or an object (keywords)",
    )
    parser.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Build the model (or read the annotations) and write its space."""
    if (args.target is None) == (args.annotations is None):
        raise SystemExit("error: give MODULE:ATTRIBUTE or --annotations PATH (one of them)")
    if args.annotations is not None:
        if args.args is not None:
            raise SystemExit("error: --args is for MODULE:ATTRIBUTE, not --annotations")
        data = annotation_space(args.annotations, nni_format=args.nni_format)
    elif args.nni_format:
        raise SystemExit("error: --nni-format is for --annotations")
    else:
        data = search_space(build_model(args.target, parse_arguments(args.args))).to_json()
    text = json.dumps(data, indent=2)
    if args.output is None:
        print(text)
    else:
        args.output.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def annotation_space(path: Path, *, nni_format: bool) -> dict[str, Any]:
    """The search space of an annotated script or folder (statically read)."""
    from archsearch import annotation

    try:
        modules = annotation.collect(path)
        if nni_format:
            return annotation.nni_search_space(modules)
        return annotation.search_space(modules).to_json()
    except (annotation.AnnotationError, OSError, UnicodeDecodeError) as exc:
        raise SystemExit(f"error: {exc}") from None


def parse_arguments(text: str | None) -> list[Any] | dict[str, Any] | None:
    """The `--args` JSON: a list (positional arguments), an object (keywords) or None."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"error: --args is not valid JSON ({exc}): {text!r}") from None
    if not isinstance(value, (list, dict)):
        raise SystemExit(
            f"error: --args must be a JSON list (positional) or object (keywords), got {text!r}"
        )
    return value


def build_model(target: str, arguments: Any = None) -> torch.nn.Module:
    """Import `module:attribute` and return the model it names (called with `arguments`)."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise SystemExit(f"error: expected MODULE:ATTRIBUTE, got {target!r}")
    if "" not in sys.path:
        sys.path.insert(0, "")  # like `python -m`: modules in the current directory import
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        hint = _path_hint(module_name, attribute)
        raise SystemExit(f"error: cannot import {module_name!r}: {exc}{hint}") from None
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise SystemExit(f"error: {module_name!r} has no attribute {attribute!r}")
        obj = getattr(obj, part)
    import torch

    if not isinstance(obj, torch.nn.Module):
        if not callable(obj):
            raise SystemExit(f"error: {target} is neither a module nor callable")
        obj = _call(obj, target, arguments)
    elif arguments is not None:
        raise SystemExit(f"error: {target} is already a model; --args is for a class or factory")
    if not isinstance(obj, torch.nn.Module):
        raise SystemExit(f"error: {target} gave {type(obj).__name__}, not an nn.Module")
    return obj


def _path_hint(module_name: str, attribute: str) -> str:
    """How to name a module when the user wrote a file path (`src/model.py:Net`)."""
    path = Path(module_name)
    if path.suffix != ".py" and "/" not in module_name and os.sep not in module_name:
        return ""
    folder, stem = path.parent, path.stem if path.suffix == ".py" else path.name
    return (
        "; MODULE is a dotted module name importable from the current folder, not a file "
        f"path: run `cd {folder} && archsearch ss-gen {stem}:{attribute} ...`"
    )


def _call(factory: Any, target: str, arguments: Any) -> Any:
    args, kwargs = ([], arguments) if isinstance(arguments, dict) else (arguments or [], {})
    try:
        # Checked before the call, so that a TypeError raised inside the user's code keeps its
        # traceback while a mismatched --args gets a one-line message.
        inspect.signature(factory).bind(*args, **kwargs)
    except TypeError as exc:
        raise SystemExit(
            f"error: cannot call {target} with --args {json.dumps(arguments)}: {exc}"
        ) from None
    except ValueError:
        pass  # no signature to check (some builtins): the call itself will tell
    return factory(*args, **kwargs)
