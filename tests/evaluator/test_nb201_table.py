"""The NAS-Bench-201 table: space, arch strings, lookups against the paper's figures, the
evaluator contract (no model is built), and a clear error where the file is missing."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from archsearch.evaluator.base import Evaluator, Reporter, TrialEvaluator, TrialInput
from archsearch.evaluator.nb201_table import (
    DEFAULT_PATH,
    ENV_VAR,
    NasBench201Tabular,
    arch_to_str,
    default_path,
    load_table,
    nb201_space,
    str_to_arch,
)
from archsearch.space import InvalidArchitectureError, LayerChoiceDim

LABELS = ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"]
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
BEST = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
    "nor_conv_1x1~2|"
)
ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"  # noqa: E501

needs_table = pytest.mark.skipif(
    not default_path().is_file(),
    reason=f"NAS-Bench-201 table not found at {default_path()} (the shared data beside the "
    f"project, or ${ENV_VAR})",
)


class NullReporter(Reporter):
    def on_report(self, step: int, metrics: object) -> None:
        raise AssertionError("a table lookup reports nothing")


def test_space_has_one_five_way_choice_per_edge_in_arch_string_order() -> None:
    space = nb201_space()
    assert list(space) == LABELS
    assert space.size() == 15_625
    for dim in space.values():
        assert isinstance(dim, LayerChoiceDim) and dim.names == OPS


def test_arch_strings_round_trip() -> None:
    arch = str_to_arch(BEST)
    assert arch == {
        "1<-0": "nor_conv_3x3",
        "2<-0": "nor_conv_3x3",
        "2<-1": "nor_conv_3x3",
        "3<-0": "skip_connect",
        "3<-1": "nor_conv_3x3",
        "3<-2": "nor_conv_1x1",
    }
    assert arch_to_str(arch) == BEST
    assert arch_to_str(dict.fromkeys(LABELS, 1)) == ALL_SKIP  # indices are accepted
    for arch in (nb201_space().sample(seed) for seed in range(20)):
        assert str_to_arch(arch_to_str(arch)) == arch


@pytest.mark.parametrize(
    "bad",
    [
        "|nor_conv_3x3~0|",
        "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|none~0|+|none~0|+|none~0|none~1|none~2|",
    ],
)
def test_malformed_arch_strings_are_explained(bad: str) -> None:
    with pytest.raises(ValueError, match="op~0"):
        str_to_arch(bad)


def test_invalid_architectures_are_explained() -> None:
    with pytest.raises(InvalidArchitectureError, match="1<-0"):
        arch_to_str({label: "conv" for label in LABELS})


@needs_table
def test_table_matches_the_paper() -> None:
    table = load_table()
    assert len(table) == 15_625
    assert load_table() is table  # read once per process
    rows = [table.query(s) for s in table.rows]
    assert max(r["c10_test_acc"] for r in rows) == pytest.approx(94.3733, abs=1e-4)
    assert table.query(str_to_arch(BEST))["c10_test_acc"] == pytest.approx(94.3733, abs=1e-4)
    skip = table.query(ALL_SKIP)  # the DARTS-collapse cell of the paper's Table 5
    assert (skip["c10_valid_acc"], skip["c10_test_acc"]) == pytest.approx((39.77, 54.30), abs=5e-3)
    assert {arch_to_str(nb201_space().validate(a)) for a in nb201_space().grid()} == set(table.rows)


@needs_table
def test_evaluator_answers_from_the_table_without_building_a_model() -> None:
    evaluator = NasBench201Tabular()

    def build_model() -> None:
        raise AssertionError("the model must not be built")

    arch = str_to_arch(BEST)
    trial = TrialInput(arch, build_model, NullReporter())  # type: ignore[arg-type]
    metrics = evaluator.evaluate_trial(trial)
    assert metrics == {
        "default": pytest.approx(84.384),
        "test_acc_200ep": pytest.approx(94.37333333),
        "train_time_s": pytest.approx(2879.749334),
        "simulated_time_s": pytest.approx(2879.749334 * 12 / 200),
    }
    full = NasBench201Tabular(reward="c10_valid_acc").query(BEST)
    assert full["default"] == pytest.approx(91.6067, abs=1e-4)
    assert full["simulated_time_s"] == full["train_time_s"]
    clone = pickle.loads(pickle.dumps(evaluator))  # what a worker process receives
    assert clone.query(BEST) == evaluator.query(BEST)


def test_a_table_is_a_trial_evaluator_not_a_model_evaluator() -> None:
    assert isinstance(NasBench201Tabular(), TrialEvaluator)
    assert not isinstance(NasBench201Tabular(), Evaluator)  # it has no evaluate(model)


def test_unknown_reward_column_is_explained() -> None:
    with pytest.raises(ValueError, match="c10_hp12_valid_acc"):
        NasBench201Tabular(reward="accuracy")


def test_missing_file_says_where_to_put_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(FileNotFoundError, match=ENV_VAR) as info:
        load_table(missing)
    assert str(missing) in str(info.value) and str(DEFAULT_PATH) in str(info.value)
    monkeypatch.setenv(ENV_VAR, str(missing))
    assert default_path() == missing
    with pytest.raises(FileNotFoundError, match=r"nowhere\.csv"):
        NasBench201Tabular().query(BEST)


def test_a_file_without_the_columns_is_refused(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("index,arch_str,acc\n0,x,1.0\n")
    with pytest.raises(ValueError, match="c10_test_acc"):
        load_table(wrong)


@needs_table
def test_env_var_points_at_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(DEFAULT_PATH))
    assert len(NasBench201Tabular().table) == 15_625


def test_same_labels_and_names_as_the_trainable_model_space() -> None:
    nb201_model = pytest.importorskip("archsearch.evaluator.nb201_model")
    assert tuple(nb201_model.EDGE_LABELS) == tuple(LABELS)
    assert tuple(nb201_model.OPERATIONS) == OPS
