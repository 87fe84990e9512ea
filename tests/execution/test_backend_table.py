"""The table of backends (`execution.BACKENDS`): what `ExperimentConfig` accepts, what
`Experiment.run` builds, and how each backend's trials get the user's objects."""

from __future__ import annotations

import pytest
from backend_jobs import Forward, Tiny

from archsearch.execution import (
    BACKENDS,
    Backend,
    InlineBackend,
    LocalBackend,
    NotTransferableError,
    RayBackend,
    ThreadBackend,
    Transfer,
)
from archsearch.experiment import ExperimentConfig


def test_each_row_names_a_backend_and_how_its_trials_get_objects() -> None:
    rows = dict(BACKENDS)
    assert rows == {
        "inline": InlineBackend,
        "local": LocalBackend,
        "threads": ThreadBackend,
        "ray": RayBackend,
    }
    assert all(issubclass(cls, Backend) for cls in BACKENDS.values())
    assert InlineBackend.transfer is Transfer.LIVE
    assert ThreadBackend.transfer is Transfer.CHECKED
    assert LocalBackend.transfer is Transfer.PROCESS
    assert RayBackend.transfer is Transfer.PROCESS


def test_backends_are_built_from_the_config() -> None:
    config = ExperimentConfig("local", trial_concurrency=3, trial_gpu_number=0)
    local = LocalBackend.from_config(config)  # workers start at the first submit
    assert local.concurrency == 3
    local.shutdown()
    assert ThreadBackend.from_config(config).free_slots() == 3
    assert InlineBackend.from_config(ExperimentConfig()).free_slots() == 1


def test_the_config_accepts_the_tables_names_and_points_clusters_at_ray() -> None:
    assert ExperimentConfig("ray").execution == "ray"
    expected = r"execution must be one of \['inline', 'local', 'threads', 'ray'\], got 'remote'"
    with pytest.raises(ValueError, match=expected + r" \(NNI's remote.*use execution='ray'"):
        ExperimentConfig("remote")


def test_a_new_row_is_a_new_execution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BACKENDS, "mine", ThreadBackend)
    assert ExperimentConfig("mine").execution == "mine"


def test_transfer_makes_the_refs_a_backend_needs() -> None:
    def nested(model: object) -> float:  # neither importable nor picklable
        return 1.0

    assert Transfer.LIVE.ref(nested, "evaluator").load() is nested
    for transfer in (Transfer.CHECKED, Transfer.PROCESS):
        with pytest.raises(NotTransferableError, match="define it at module level"):
            transfer.ref(nested, "evaluator")
        assert transfer.ref(Tiny, "model space").target == "backend_jobs:Tiny"
        assert transfer.ref(Forward(), "evaluator").pickled is not None
