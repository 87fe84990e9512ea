"""The layer rule of DESIGN.md §2: lower layers never import higher ones.

Checked statically (every import statement under src/archsearch, parsed with `ast`) and
dynamically (the torch-free layers imported in a clean interpreter).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = "archsearch"
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE

ANY_PUBLIC = "any public module"
"""The shells (cli) may use every layer, through public names only."""

ALLOWED: dict[str, set[str] | str] = {
    "space": set(),
    "nn": {"space"},
    "mutator": {"nn", "space"},
    "evaluator": {"nn", "space"},
    "oneshot": {"mutator", "nn", "space"},
    "strategy": {"space"},
    "storage": {"space"},
    "execution": {"space", "storage", "evaluator", "nn"},
    "experiment": {
        "space",
        "nn",
        "mutator",
        "oneshot",
        "strategy",
        "evaluator",
        "execution",
        "storage",
        "ui",  # only to start the dashboard from run(config, port)
    },
    "classic": {
        "nn",
        "space",
        "storage",
        "strategy",
        "experiment",
        "evaluator",
        "execution",
        "annotation",
    },
    "annotation": {"space", "classic"},  # classic reads its space; its runtime reads parameters
    "ui": {"storage", "space"},
    "cli": ANY_PUBLIC,
}
"""Folder → the other folders of ours it may import. Folders not written yet are skipped."""

TOP_LEVEL_ALLOWED = {"space"}
"""What `archsearch/__init__.py` may import at import time (inside functions, anything)."""

TOP_LEVEL_FILES = {"__init__.py": None, "__main__.py": "cli"}
"""Modules directly in src/archsearch: the package itself, or a file that follows a layer."""

TORCH_FREE = ("space", "strategy", "storage")
FORBIDDEN_IN_TORCH_FREE = {"torch", "numpy"}

ROOT = "(the archsearch top level)"
"""The layer name of `from archsearch import fix`: the top-level API, built on nn and space."""


@dataclass(frozen=True)
class Import:
    """One imported module (absolute) and what the statement says about it."""

    where: str
    line: int
    module: str
    names: tuple[str, ...]
    type_checking: bool
    in_function: bool

    def __str__(self) -> str:
        names = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.where}:{self.line}: {self.module}{names}"


class _ImportCollector(ast.NodeVisitor):
    def __init__(self, package: str, where: str) -> None:
        self.package = package
        self.where = where
        self.found: list[Import] = []
        self.type_checking = 0
        self.functions = 0

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        guarded = (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        )
        self.type_checking += guarded
        for child in node.body:
            self.visit(child)
        self.type_checking -= guarded
        for child in node.orelse:
            self.visit(child)

    def _in_function(self, node: ast.AST) -> None:
        self.functions += 1
        self.generic_visit(node)
        self.functions -= 1

    visit_FunctionDef = _in_function
    visit_AsyncFunctionDef = _in_function
    visit_Lambda = _in_function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node, alias.name, ())

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            parts = self.package.split(".")
            if node.level > len(parts):
                raise ValueError(f"{self.where}:{node.lineno}: relative import beyond the package")
            base = ".".join(parts[: len(parts) - node.level + 1])
            module = f"{base}.{node.module}" if node.module else base
        else:
            module = node.module or ""
        self._add(node, module, tuple(alias.name for alias in node.names))

    def _add(self, node: ast.stmt, module: str, names: tuple[str, ...]) -> None:
        self.found.append(
            Import(
                self.where,
                node.lineno,
                module,
                names,
                self.type_checking > 0,
                self.functions > 0,
            )
        )


def imports_of(
    source: str, module: str, *, is_package: bool = False, where: str = ""
) -> list[Import]:
    """Every import in `source`, the module named `module` (a package when `is_package`)."""
    package = module if is_package else module.rpartition(".")[0]
    collector = _ImportCollector(package, where or module)
    collector.visit(ast.parse(source))
    return collector.found


def layers_of(imported: Import) -> list[str]:
    """The layers of ours an import reaches: a folder name, or ROOT for the top-level API."""
    parts = imported.module.split(".")
    if parts[0] != PACKAGE:
        return []
    if len(parts) > 1:
        return [parts[1]]
    # `import archsearch` or `from archsearch import x`: x is a subpackage or a top-level name.
    folders = set(ALLOWED) | {p.name for p in SRC.iterdir() if p.is_dir()}
    return [name if name in folders else ROOT for name in imported.names] or [ROOT]


def is_private(imported: Import) -> bool:
    """Whether an import of ours reaches a private module or a private name."""
    parts = [*imported.module.split(".")[1:], *imported.names]
    return any(p.startswith("_") and not (p.startswith("__") and p.endswith("__")) for p in parts)


def source_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def module_name(path: Path) -> tuple[str, bool]:
    """The dotted module name of a source file, and whether it is a package `__init__`."""
    parts = [PACKAGE, *path.relative_to(SRC).with_suffix("").parts]
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def file_imports(path: Path) -> list[Import]:
    name, is_package = module_name(path)
    where = str(path.relative_to(SRC.parent))
    return imports_of(path.read_text(encoding="utf-8"), name, is_package=is_package, where=where)


def layer_violations(layer: str, imports: list[Import]) -> list[str]:
    """Imports that break the rule for `layer`; type-only imports (TYPE_CHECKING) do not count."""
    allowed = ALLOWED[layer]
    problems = []
    for imported in imports:
        if imported.type_checking:
            continue
        if allowed == ANY_PUBLIC:
            if layers_of(imported) and is_private(imported):
                problems.append(f"{imported} is private; {layer} uses only public names")
            continue
        assert isinstance(allowed, set)
        may_use_root = {"nn", "space"} <= allowed
        for target in layers_of(imported):
            if target == layer or target in allowed or (target == ROOT and may_use_root):
                continue
            problems.append(f"{imported} reaches {target}; {layer} may import only {allowed}")
    return problems


EXISTING_LAYERS = sorted(
    name for name in ALLOWED if (SRC / name).is_dir() and source_files(SRC / name)
)
EXISTING_TORCH_FREE = [name for name in TORCH_FREE if (SRC / name).is_dir()]


# --- the checker itself ---------------------------------------------------------------------------


def test_checker_resolves_relative_imports_and_finds_violations() -> None:
    source = textwrap.dedent(
        """
        from typing import TYPE_CHECKING
        import torch
        from . import walk
        from .. import space
        from ..mutator import Mutator
        import archsearch.evaluator.datasets
        from archsearch import fix, strategy

        if TYPE_CHECKING:
            from archsearch.oneshot import DartsTrainer

        def later():
            from archsearch.experiment import Experiment
        """
    )
    found = imports_of(source, "archsearch.nn.fix")
    assert [i.module for i in found] == [
        "typing",
        "torch",
        "archsearch.nn",
        "archsearch",
        "archsearch.mutator",
        "archsearch.evaluator.datasets",
        "archsearch",
        "archsearch.oneshot",
        "archsearch.experiment",
    ]
    assert [i.module for i in found if i.type_checking] == ["archsearch.oneshot"]
    assert [i.module for i in found if i.in_function] == ["archsearch.experiment"]
    problems = layer_violations("nn", found)
    reached = sorted(p.split(" reaches ")[1].split(";")[0] for p in problems)
    # `from .. import space` is allowed; the TYPE_CHECKING import does not count.
    assert reached == sorted([ROOT, "strategy", "mutator", "evaluator", "experiment"])


def test_checker_reads_package_relative_imports_from_init() -> None:
    found = imports_of("from .walk import walk\nfrom . import x", "archsearch.nn", is_package=True)
    assert [i.module for i in found] == ["archsearch.nn.walk", "archsearch.nn"]


def test_checker_flags_private_names_for_the_shells() -> None:
    found = imports_of(
        "from archsearch.nn.walk import _Builder\nimport archsearch._impl\n"
        "from archsearch import __version__, search_space\nimport os._x",
        "archsearch.cli.main",
    )
    assert len(layer_violations("cli", found)) == 2


# --- the rule, statically -------------------------------------------------------------------------


def test_every_folder_has_a_layer() -> None:
    folders = {p.name for p in SRC.iterdir() if p.is_dir() and source_files(p)}
    unknown = folders - set(ALLOWED)
    assert not unknown, f"add {sorted(unknown)} to ALLOWED in {Path(__file__).name}"
    files = {p.name for p in SRC.glob("*.py")}
    unknown_files = files - set(TOP_LEVEL_FILES)
    assert not unknown_files, f"add {sorted(unknown_files)} to TOP_LEVEL_FILES"
    assert {"space", "nn", "mutator", "cli"} <= set(EXISTING_LAYERS)


@pytest.mark.parametrize("layer", EXISTING_LAYERS)
def test_layer_imports_only_lower_layers(layer: str) -> None:
    problems = [
        problem
        for path in source_files(SRC / layer)
        for problem in layer_violations(layer, file_imports(path))
    ]
    assert not problems, "\n".join(problems)


def test_top_level_imports_only_space_at_import_time() -> None:
    problems = []
    for name, layer in TOP_LEVEL_FILES.items():
        path = SRC / name
        if not path.exists():
            continue
        imports = file_imports(path)
        if layer is not None:
            problems += layer_violations(layer, imports)
            continue
        for imported in imports:
            if imported.in_function or imported.type_checking:
                continue  # lazy imports keep `import archsearch` light
            for target in layers_of(imported):
                if target not in TOP_LEVEL_ALLOWED:
                    problems.append(f"{imported} reaches {target} at import time")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("layer", EXISTING_TORCH_FREE)
def test_torch_free_layer_never_imports_torch_or_numpy(layer: str) -> None:
    found = [
        str(imported)
        for path in source_files(SRC / layer)
        for imported in file_imports(path)
        if imported.module.split(".")[0] in FORBIDDEN_IN_TORCH_FREE
    ]
    assert not found, f"{layer} must stay torch-free (even for type hints):\n" + "\n".join(found)


# --- the rule, dynamically ------------------------------------------------------------------------


def test_importing_archsearch_and_its_torch_free_layers_loads_no_torch() -> None:
    modules = [PACKAGE] + [f"{PACKAGE}.{layer}" for layer in EXISTING_TORCH_FREE]
    code = textwrap.dedent(
        f"""
        import importlib, json, sys
        loaded = {{}}
        for name in {modules!r}:
            importlib.import_module(name)
            loaded[name] = sorted(m for m in sys.modules if m.split(".")[0] in
                                  ("torch", "numpy", "{PACKAGE}"))
        print(json.dumps(loaded))
        """
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    loaded: dict[str, list[str]] = json.loads(result.stdout)
    assert list(loaded) == modules
    for name, names in loaded.items():
        heavy = [m for m in names if m.split(".")[0] in FORBIDDEN_IN_TORCH_FREE]
        assert not heavy, f"importing {name} loaded {heavy[:5]}"
    # `import archsearch.space` alone brings in nothing of ours but the package and space.
    ours = {m.split(".")[1] for m in loaded[f"{PACKAGE}.space"] if m.count(".") >= 1}
    assert ours <= {"space"}, ours


def test_importing_experiment_loads_no_oneshot_algorithm() -> None:
    code = textwrap.dedent(
        f"""
        import sys
        from {PACKAGE}.experiment import Experiment
        print(sorted(m for m in sys.modules if m.startswith("{PACKAGE}.oneshot")))
        from {PACKAGE}.experiment import RecordToStorage  # still there, loaded on first use
        print(RecordToStorage.__module__)
        """
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[]", f"{PACKAGE}.experiment.oneshot_record"]
