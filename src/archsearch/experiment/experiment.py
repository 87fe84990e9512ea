"""Experiment: a multi-trial search of a model space, stored so it can be watched and resumed.

NNI's Retiarii shape: `Experiment(model_space, evaluator, strategy).run(config)`. The model
space is the user's model (an instance, a class or a factory) with choices in it; every trial
runs `archsearch.fix(model_space, arch)` through the evaluator.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Literal

from archsearch.evaluator.base import TrialEvaluator
from archsearch.evaluator.choices import trial_space
from archsearch.evaluator.run import build_model, debug_run, model_instance
from archsearch.execution import BACKENDS, describe, stop_if_importing_main
from archsearch.experiment.config import ExperimentConfig
from archsearch.experiment.runner import Runner, RunPlan
from archsearch.experiment.stored import load_part, lost_run, spec_ref
from archsearch.nn.walk import search_space
from archsearch.space import Architecture, OptimizeMode, SearchSpace, best_trials
from archsearch.storage import (
    ExperimentNotFoundError,
    ExperimentRecord,
    ExperimentStatus,
    Storage,
    display_status,
    open_storage,
)
from archsearch.strategy.base import Strategy

if TYPE_CHECKING:
    from archsearch.ui.server import ServerHandle

log = logging.getLogger("archsearch.experiment")


class Experiment:
    """A multi-trial search: `strategy` proposes architectures of `model_space`, each is fixed
    into a plain model and scored by `evaluator`, and everything is kept in storage.

    `model_space` is an `nn.Module` instance with choices, its class, or a function returning
    one; for execution in worker processes it must be importable or picklable. A bare
    `SearchSpace` serves evaluators that never build a model (classic script trials, tabular
    benchmarks).
    """

    def __init__(self, model_space: Any, evaluator: TrialEvaluator, strategy: Strategy) -> None:
        if not isinstance(evaluator, TrialEvaluator):
            raise TypeError(
                "evaluator must be an archsearch Evaluator (e.g. FunctionalEvaluator(fn), "
                f"Classification(...)), got {type(evaluator).__name__}"
            )
        if not isinstance(strategy, Strategy):
            raise TypeError(
                f"strategy must be an archsearch Strategy (e.g. Random()), got "
                f"{type(strategy).__name__}"
            )
        self.model_space = model_space
        self.evaluator = evaluator
        self.strategy = strategy
        self.config: ExperimentConfig | None = None
        # The id exists from construction (NNI users read it before run() to resume or view
        # later); the record is written only when a run gets going (`stored`).
        self.id: str = secrets.token_hex(4)
        self._stored = False
        self.status: str | None = None
        self._storage: Storage | None = None
        self._runner: Runner | None = None
        self._stop_asked = threading.Event()  # a stop() that came before the runner existed
        self._space: SearchSpace | None = None
        self._dashboard: tuple[int, Any] | None = None  # (port asked for, server handle)

    # -- running ---------------------------------------------------------------------------
    @property
    def search_space(self) -> SearchSpace:
        """The search space: the model space's choices, then the evaluator's value choices
        (hyper-parameters such as `lr=ValueChoice([...])`) under labels the model does not
        have. Built once."""
        if self._space is None:
            if isinstance(self.model_space, SearchSpace):
                model = self.model_space  # classic mode: the space without a model
            else:
                model = search_space(model_instance(self.model_space))
            self._space = trial_space(model, self.evaluator)
        return self._space

    def run(self, config: ExperimentConfig | None = None, port: int | None = None) -> str:
        """Run until the budget is spent or the strategy has nothing left; return the final
        status ("done" or "stopped"). With `port`, the dashboard serves on 127.0.0.1:port.

        In a worker process importing the user's script (objects defined in it are needed
        there), the import stops here instead: scripts need no `if __name__ == "__main__":`."""
        stop_if_importing_main()
        self._stop_asked.clear()
        self.config = config or self.config or ExperimentConfig()
        self.config.validate()
        # Everything that can refuse this run comes before the record: a refused run stores nothing.
        backend = BACKENDS[self.config.execution]
        model_space = backend.transfer.ref(self.model_space, "model space")
        evaluator = backend.transfer.ref(self.evaluator, "evaluator")
        storage = self.storage
        if not self._stored:
            self._create_record(storage, self.config)
            self._stored = True
        record = storage.experiment(self.id)
        # stderr, beside the progress bar: stdout stays the user's (benchmarks print JSON).
        print(
            f"experiment {self.id} ({record.name}): archsearch view {self.id}",
            file=sys.stderr,
            flush=True,
        )
        if port is not None:
            self._serve(port)
        plan = RunPlan(
            experiment_id=self.id,
            space=self.search_space,
            config=self.config,
            model_space=model_space,
            evaluator=evaluator,
            log_dir=storage.log_dir(self.id),
            elapsed_before=float(record.spec.get("elapsed_s", 0.0)) + lost_run(storage, record),
        )
        if display_status(record) == "interrupted":
            # Its killed run could not record its end: record it now, so that moving into
            # "running" below also drops a stop request that run never got to see.
            storage.update_experiment(self.id, status=ExperimentStatus.STOPPED)
        self._runner = Runner(plan, storage, self.strategy, backend.from_config(self.config))
        if self._stop_asked.is_set():  # stop() ran while this run was starting
            self._runner.stop()
        started = time.time()
        storage.update_experiment(
            self.id, status=ExperimentStatus.RUNNING, started_at=started, pid=os.getpid()
        )
        status = ExperimentStatus.FAILED
        error: str | None = None
        try:
            outcome = self._runner.run()
            status = ExperimentStatus.DONE if outcome == "done" else ExperimentStatus.STOPPED
        except KeyboardInterrupt:
            status = ExperimentStatus.STOPPED
            raise
        except Exception as exc:
            error = describe(exc)
            raise
        finally:
            spec = dict(storage.experiment(self.id).spec)
            spec["elapsed_s"] = plan.elapsed_before + (time.time() - started)
            storage.update_experiment(
                self.id, status=status, ended_at=time.time(), pid=None, error=error, spec=spec
            )
            self.status = status.value
        return status.value

    def stop(self) -> None:
        """Stop a running experiment (from another thread): running trials are cancelled. The
        dashboard that `run(config, port)` started stops too (NNI's `stop`)."""
        self._stop_asked.set()  # seen by a run() still starting, which has no runner yet
        if self._runner is not None:
            self._runner.stop()
        if self._dashboard is not None:
            self._dashboard[1].stop()
            self._dashboard = None

    def get_status(self) -> str:
        """NNI's status string: "INITIALIZED" (not run yet), "RUNNING", "STOPPING" (a stop was
        asked and the run is ending), "DONE", "STOPPED" (by a stop, Ctrl-C, or a killed
        process: resumable) or "ERROR" (the runner itself failed; trials failing is not it)."""
        if not self._stored:
            return "INITIALIZED"  # nothing recorded by this object: no store opened for it
        try:
            record = self.storage.experiment(self.id)
        except ExperimentNotFoundError:
            return "INITIALIZED"  # an id given before run() records it
        status = display_status(record)
        if status == "running" and (
            self._stop_asked.is_set() or self.storage.stop_requested(self.id)
        ):
            return "STOPPING"
        return NNI_STATUS[status]

    def local_debug_run(self) -> float:
        """Run one trial (the first candidate of every choice) here, with full tracebacks, and
        return its final metric. Nothing is stored."""
        return debug_run(self.evaluator, self.model_space, self.search_space.default())

    # -- results ---------------------------------------------------------------------------
    def export_top_models(
        self,
        top_k: int = 1,
        formatter: Literal["dict", "instance"] = "dict",
        *,
        optimize_mode: OptimizeMode | None = None,
    ) -> list[Any]:
        """The `top_k` best architectures, best first: as dicts, or with formatter="instance"
        as fixed plain PyTorch models. Best by `optimize_mode` (NNI's argument), by default
        the experiment's. The dicts include the evaluator's value choices (NNI has none); the
        models are built from the model's labels only."""
        if formatter not in ("dict", "instance"):
            raise ValueError(f"formatter must be 'dict' or 'instance', got {formatter!r}")
        if optimize_mode not in (None, "maximize", "minimize"):
            raise ValueError(
                f"optimize_mode must be 'maximize', 'minimize' or None, got {optimize_mode!r}"
            )
        if not self._stored:
            raise RuntimeError("the experiment has not run yet: call run() first")
        record = self.storage.experiment(self.id)
        mode: OptimizeMode = optimize_mode or record.optimize_mode
        best = best_trials(self.storage.trials(self.id), mode, top_k)
        archs: list[Architecture] = [dict(t.arch) for t in best]
        if formatter == "dict":
            return archs
        if isinstance(self.model_space, SearchSpace):
            raise ValueError("this experiment has no model (a bare search space): use 'dict'")
        return [build_model(self.model_space, arch, self.evaluator) for arch in archs]

    # -- stored experiments ----------------------------------------------------------------
    @property
    def stored(self) -> bool:
        """Whether this experiment is in storage (its first run got going, or it was resumed)."""
        return self._stored

    @property
    def storage(self) -> Storage:
        """The store this experiment writes to (from the config's `storage`)."""
        if self._storage is None:
            self._storage = open_storage(self.config.storage if self.config else None)
        return self._storage

    @classmethod
    def resume(
        cls,
        experiment_id: str,
        *,
        storage: str | os.PathLike[str] | None = None,
        port: int | None = None,
        model_space: Any = None,
        evaluator: TrialEvaluator | None = None,
        strategy: Strategy | None = None,
        run: bool = True,
    ) -> Experiment:
        """Continue a stopped or killed experiment: finished trials are kept, unfinished ones
        run again, the strategy is rebuilt from the history, budgets count what was spent.

        The model space, evaluator and strategy are loaded from storage unless given (they
        must be when they could not be stored). With `run=False` it is only loaded."""
        stop_if_importing_main()
        store = open_storage(storage)
        record = store.experiment(experiment_id)
        if record.kind != "multi-trial":
            raise ValueError(f"experiment {experiment_id} is a {record.kind} run, not resumable")
        if record.status is ExperimentStatus.DONE:
            raise ValueError(
                f"experiment {experiment_id} is done (its budget is spent or its strategy had "
                "nothing left); only a stopped or interrupted experiment can be resumed"
            )
        if display_status(record) == "running" and record.pid != os.getpid():
            raise RuntimeError(
                f"experiment {experiment_id} is running in process {record.pid}; stop it "
                f"first (archsearch stop {experiment_id}) or let it finish"
            )
        parts = {"model_space": model_space, "evaluator": evaluator, "strategy": strategy}
        for name, given in parts.items():
            if given is None:
                parts[name] = load_part(record, name)
        # Not `cls(...)`: a subclass such as RetiariiExperiment has NNI's constructor arguments.
        experiment = cls.__new__(cls)
        Experiment.__init__(experiment, parts["model_space"], parts["evaluator"], parts["strategy"])
        experiment.id = experiment_id
        experiment._stored = True
        experiment._storage = store
        config = dict(record.config)
        if storage is not None:
            config["storage"] = os.fspath(storage)
        experiment.config = ExperimentConfig.from_json(config)
        if run:
            experiment.run(port=port)
        return experiment

    @staticmethod
    def view(
        experiment_id: str | None = None,
        port: int = 8081,
        non_blocking: bool = False,
        *,
        host: str = "127.0.0.1",
        storage: str | os.PathLike[str] | None = None,
    ) -> ServerHandle | None:
        """Serve the dashboard for stored experiments (NNI's `view`): until Ctrl-C, or with
        `non_blocking=True` from a background thread, returning its handle at once (`.url`;
        `.stop()` stops it, as NNI's `stop()` of the returned experiment does)."""
        from archsearch.ui import serve_in_background

        handle = serve_in_background(storage, port, host=host, experiment_id=experiment_id)
        if non_blocking:
            print(f"dashboard: {handle.url}  (.stop() on the returned handle stops it)", flush=True)
            return handle
        print(f"dashboard: {handle.url}  (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            handle.stop()
        return None

    # -- helpers ---------------------------------------------------------------------------
    def _create_record(self, storage: Storage, config: ExperimentConfig) -> None:
        spec = {
            name: spec_ref(getattr(self, name)) for name in ("model_space", "evaluator", "strategy")
        }
        storage.create_experiment(
            ExperimentRecord(
                id=self.id,
                name=config.experiment_name or self.id,
                kind="multi-trial",
                config=config.to_json(),
                search_space=self.search_space.to_json(),
                spec=spec,
                created_at=time.time(),
            )
        )

    def _serve(self, port: int) -> None:
        from archsearch.ui import serve_in_background

        assert self.config is not None
        if self._dashboard is None or self._dashboard[0] != port:
            # Kept serving after run() returns, so the finished search can be looked at; a
            # second run() on the same port reuses it instead of failing on a busy port.
            handle = serve_in_background(self.config.storage, port, experiment_id=self.id)
            self._dashboard = (port, handle)
        print(f"dashboard: {self._dashboard[1].url}", flush=True)


class RetiariiExperiment(Experiment):
    """NNI's name and call shape: `RetiariiExperiment(base_model, evaluator, applied_mutators,
    strategy)`. Retiarii graph mutators are not supported (`applied_mutators` must be None or
    empty): write the choices in the model with LayerChoice, InputChoice and ValueChoice."""

    def __init__(
        self,
        base_model: Any,
        evaluator: TrialEvaluator,
        applied_mutators: Any = None,
        strategy: Strategy | None = None,
    ) -> None:
        if applied_mutators:
            raise TypeError(
                "applied_mutators (Retiarii graph mutators) are not supported; express the "
                "choices in the model with LayerChoice, InputChoice or ValueChoice"
            )
        if strategy is None:
            raise TypeError("RetiariiExperiment needs a strategy, e.g. strategy.Random()")
        super().__init__(base_model, evaluator, strategy)


NNI_STATUS = {
    "created": "INITIALIZED",
    "running": "RUNNING",
    "done": "DONE",
    "stopped": "STOPPED",
    "interrupted": "STOPPED",  # its process is gone; NNI lists such an experiment as stopped
    "failed": "ERROR",
}
"""`display_status` → the status string NNI's `get_status()` returns."""

RetiariiExeConfig = ExperimentConfig
"""NNI's name for the experiment configuration (`RetiariiExeConfig("local")`)."""
