"""The migration guide (docs/migration.md) cannot drift from the code: its import table is the
port table of `nni_port.py`, every name of an import row imports after porting, every test a row
names exists, and every NNI name the packages export (and every one NNI's documents use) has a
row."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import torch
from nni_port import NNI_MODULES, NNI_NAMES, port

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "migration.md"

Table = list[list[str]]


def tables(text: str) -> dict[str, Table]:
    """The Markdown tables of `text` by their header's first cell; rows of cells (`\\|` kept)."""
    found: dict[str, Table] = {}
    rows: Table = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if not set("".join(cells)) <= set("- "):
                rows.append(cells)
        elif rows:
            found[rows[0][0]] = rows[1:]
            rows = []
    return found


def code(cell: str) -> list[str]:
    """The `code spans` of a cell."""
    return re.findall(r"`([^`]+)`", cell)


TABLES = tables(GUIDE.read_text())
IMPORTS = TABLES["NNI module"]
NAMES = TABLES["NNI"]


def test_the_import_table_is_the_port_table() -> None:
    table = {code(row[0])[0]: code(row[2])[0] for row in IMPORTS}
    assert table == NNI_MODULES
    assert len(table) == len(IMPORTS), "a module has two rows"
    for (module, name), target in NNI_NAMES.items():
        row = next(r for r in IMPORTS if code(r[0])[0] == module)
        assert name in code(row[1]) and target in code(row[1]), (module, name)


@pytest.mark.parametrize("row", IMPORTS, ids=lambda row: code(row[0])[0])
def test_the_names_of_an_import_row_import_after_porting(row: list[str]) -> None:
    module = code(row[0])[0]
    names = [n for n in code(row[1]) if n.isidentifier()]
    assert names, f"{module}: no names"
    namespace: dict[str, object] = {}
    exec(port(f"from {module} import {', '.join(names)}\n"), namespace)
    assert all(namespace[n] is not None for n in names)


def test_every_test_a_row_names_exists() -> None:
    named = {path for row in IMPORTS + NAMES for path in code(row[-1])}
    assert named, "no tests named"
    missing = sorted(p for p in named if not (ROOT / "tests" / p).is_file())
    assert not missing, f"rows name tests that do not exist: {missing}"
    assert all(code(row[-1]) for row in NAMES), "a row names no test"


def test_no_nni_name_has_two_rows() -> None:
    firsts = [row[0] for row in NAMES]
    assert len(firsts) == len(set(firsts))


PACKAGES = [
    "archsearch",
    "archsearch.nn",
    "archsearch.nn.v1",
    "archsearch.oneshot",
    "archsearch.strategy",
    "archsearch.evaluator",
    "archsearch.experiment",
    "archsearch.mutator",
    "archsearch.classic",
]
OWN = {
    # archsearch's own names (no NNI counterpart); a new export must be added here or get a row
    "archsearch": {
        "Architecture",
        "InvalidArchitectureError",
        "SearchSpace",
        "__version__",
        "fix",
        "search_space",
    },
    "archsearch.nn": {
        "ChoiceArgs",
        "FixedInputChoice",
        "FixedLayerChoice",
        "ModelChoices",
        "Parameter",
        "fix",
        "functional",
        "init",
        "search_space",
        "utils",
        "walk",
    },
    "archsearch.oneshot": {
        "BaseOneShotTrainer",
        "FlopsConstraint",
        "GdasMutator",
        "GdasTrainer",
        "ParameterConstraint",
        "ProxylessMutator",
        "SposTrainer",
        "accuracy",
    },
    "archsearch.strategy": {
        "Constraint",
        "ConstraintFilter",
        "ConstraintUnsatisfiedError",
        "Deduplicate",
        "SeenArchitectures",
        "Strategy",
        "StrategyWrapper",
        "arch_key",
    },
    "archsearch.evaluator": {
        "Evaluator",
        "InvalidMetricError",
        "Metric",
        "NasBench201",
        "NasBench201Tabular",
        "Reporter",
        "Split",
        "TrialEvaluator",
        "TrialInput",
        "load_digits",
        "load_mnist1d",
        "nb201_space",
    },
    "archsearch.experiment": {"Experiment", "ExperimentConfig", "RecordToStorage"},
    "archsearch.mutator": {"ReplayMutator"},
    "archsearch.classic": {
        "NoMoreTrials",
        "PARAMETERS_ENV",
        "Parameters",
        "ScriptEvaluator",
        "SpaceMismatchError",
        "TrialScriptError",
        "TrialStopped",
        "in_trial",
    },
}


def words(rows: Table) -> set[str]:
    """The words in the code spans of the rows' first two cells (the NNI name and its place)."""
    spans = (span for row in rows for span in code(" ".join(row[:2])))
    return {w for span in spans for w in re.findall(r"\w+", span)}


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_nni_name_has_a_row(package: str) -> None:
    exported = set(importlib.import_module(package).__all__)
    own = OWN.get(package, set()) - {""}
    assert own <= exported, f"OWN lists names {package} no longer exports: {own - exported}"
    missing = sorted(exported - own - words(NAMES))
    assert not missing, f"{package} exports NNI names without a row in docs/migration.md: {missing}"


SEED_NAMES = [
    # the NNI names used by the five documents of ../shared/seeds (000-004)
    "LayerChoice",
    "InputChoice",
    "MutableScope",
    "ValueChoice",
    "choose_from",
    "n_chosen",
    "key",
    "label",
    "DartsTrainer",
    "EnasTrainer",
    "reward_function",
    "log_frequency",
    "train",
    "export",
    "get_and_apply_next_architecture",
    "report_final_result",
    "ss_gen",
    "apply_fixed_architecture",
    "BaseMutator",
    "Mutator",
    "RandomMutator",
    "mutables",
    "length",
    "on_forward_layer_choice",
    "on_forward_input_choice",
    "sample_search",
    "sample_final",
    "reset",
    "update_search_space",
    "generate_parameters",
    "_idx",
    "_idex",
    "basic_unit",
    "Random",
    "dedup",
    "serialize",
    "Classification",
    "DataLoader",
    "train_dataloader",
    "val_dataloaders",
    "max_epochs",
    "_execute",
    "RetiariiExperiment",
    "RetiariiExeConfig",
    "experiment_name",
    "trial_concurrency",
    "max_trial_number",
    "training_service",
    "use_active_gpu",
    "run",
    "local_debug_run",
    "mutable_layers",
    "mutable_layer",
    "searchSpacePath",
    "useAnnotation",
]


def test_every_name_of_the_documents_has_a_row() -> None:
    missing = [n for n in SEED_NAMES if n not in words(NAMES)]
    assert not missing, f"names of NNI's documents without a row: {missing}"


# Rows with no other test: what the guide says NNI code gets here.


def test_trace_returns_its_argument() -> None:
    import archsearch

    value = object()
    assert archsearch.trace(value) is value


def test_retiarii_experiment_refuses_graph_mutators() -> None:
    from archsearch.evaluator import FunctionalEvaluator
    from archsearch.experiment import RetiariiExperiment
    from archsearch.strategy import Random

    evaluator = FunctionalEvaluator(lambda model: None)
    with pytest.raises(TypeError, match="applied_mutators"):
        RetiariiExperiment(torch.nn.Linear(1, 1), evaluator, [object()], Random())


def test_retiarii_exe_config_settings() -> None:
    from archsearch.experiment import RetiariiExeConfig

    config = RetiariiExeConfig("local")
    config.max_experiment_duration = 60
    assert config.max_duration == 60
    with pytest.raises((AttributeError, TypeError), match=r"valid.*max_trial_number"):
        config.max_trial_numbr = 3  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "line",
    [
        "from nni.retiarii import fixed_arch",
        "from nni.retiarii.evaluator.pytorch.lightning import Lightning",
        "from nni import get_trial_id",
        "from nni import uniform, normal",
    ],
)
def test_what_the_guide_says_is_not_provided_does_not_import(line: str) -> None:
    with pytest.raises(ImportError):
        exec(port(line + "\n"), {})
