"""Porting an NNI program: its import lines rewritten with the table of docs/migration.md
("Imports"), no other line changed. Shared by `test_nni_compat.py` (the programs of
`nni_programs/`) and `seed_examples/` (the code blocks of NNI's documents)."""

from __future__ import annotations

import re
from collections.abc import Mapping

NNI_MODULES = {
    "nni.retiarii.nn.pytorch": "archsearch.nn",
    "nni.retiarii.strategy": "archsearch.strategy",
    "nni.retiarii.evaluator.pytorch.lightning": "archsearch.evaluator",
    "nni.retiarii.evaluator.pytorch": "archsearch.evaluator",
    "nni.retiarii.evaluator": "archsearch.evaluator",
    "nni.retiarii.experiment.pytorch": "archsearch.experiment",
    "nni.retiarii.oneshot.pytorch": "archsearch.oneshot",
    "nni.retiarii": "archsearch.nn",  # model_wrapper, basic_unit
    "nni.nas.pytorch.mutables": "archsearch.nn.v1",
    "nni.nas.pytorch.classic_nas": "archsearch.classic",
    "nni.nas.pytorch.fixed": "archsearch",  # apply_fixed_architecture
    "nni.nas.pytorch.mutator": "archsearch.mutator",  # Mutator
    "nni.nas.pytorch.base_mutator": "archsearch.mutator",  # BaseMutator
    "nni.nas.pytorch.random": "archsearch.mutator",  # RandomMutator
    "nni.nas.pytorch.darts": "archsearch.oneshot",  # DartsTrainer, DartsMutator
    "nni.nas.pytorch.enas": "archsearch.oneshot",  # EnasTrainer, EnasMutator
    "nni.nas.pytorch.callbacks": "archsearch.oneshot",  # LRSchedulerCallback, checkpoints
    "nni.nas.pytorch.base_trainer": "archsearch.oneshot",  # BaseTrainer
    "nni.nas.pytorch": "archsearch.oneshot",  # `from nni.nas.pytorch import enas`
    "nni.tuner": "archsearch.classic",  # Tuner
    "nni": "archsearch",
}
"""NNI module → the archsearch module to import instead (docs/migration.md, "Imports")."""

NNI_NAMES = {("nni.retiarii", "serialize"): "archsearch.evaluator"}
"""(NNI module, name) → where that one name lives when not in the module's row."""

_IMPORT = re.compile(r"^import (?P<module>[\w.]+)(?: as (?P<alias>\w+))?$")
_FROM = re.compile(r"^from (?P<module>[\w.]+) import (?P<names>.+)$")


def port(source: str, extra: Mapping[str, str] | None = None) -> str:
    """`source` with every NNI import line rewritten; no other line changes.

    `extra` maps more modules the same way (a stand-in for a package that would download
    data, say)."""
    table = {**NNI_MODULES, **(extra or {})}
    lines = []
    for line in source.splitlines():
        if (m := _IMPORT.match(line)) and m["module"] in table:
            alias = m["alias"] or m["module"]
            assert alias.isidentifier(), f"a bare dotted NNI import cannot be ported: {line}"
            line = f"import {table[m['module']]} as {alias}"
        elif (m := _FROM.match(line)) and m["module"] in table:
            line = _from_line(m["module"], m["names"], table)
        lines.append(line)
    ported = "\n".join(lines) + "\n"
    assert not re.search(r"^(import|from) nni\b", ported, re.MULTILINE), "an NNI import is left"
    return ported


def _from_line(module: str, names: str, table: Mapping[str, str]) -> str:
    """`from module import names` ported; names living in different modules give one statement
    per module on the same line, so line numbers stay those of the original."""
    targets: dict[str, list[str]] = {}
    for name in (n.strip() for n in names.split(",")):
        target = NNI_NAMES.get((module, name.split(" as ")[0].strip()), table[module])
        targets.setdefault(target, []).append(name)
    return "; ".join(f"from {t} import {', '.join(n)}" for t, n in targets.items())


def changed_lines(before: str, after: str) -> list[str]:
    """The lines of `before` that `after` changed (same number of lines)."""
    pairs = zip(before.splitlines(), after.splitlines(), strict=True)
    return [a for a, b in pairs if a != b]
