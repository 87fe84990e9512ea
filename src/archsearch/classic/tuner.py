"""Classic (NNI-style) tuners and their adapter to the Strategy interface.

A `Tuner` sees the search space as classic JSON and hands out parameters in the classic format
(`{label: {"_value": ..., "_idx": ...}}`); `TunerStrategy` lets an experiment use one like any
strategy. The trial id of the experiment is the tuner's `parameter_id`.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from archsearch.classic.parameters import Parameters, from_parameters, to_parameters
from archsearch.space import Architecture, SearchSpace, Trial, TrialStatus
from archsearch.strategy.base import Strategy


class NoMoreTrials(StopIteration):
    """Raised by `Tuner.generate_parameters` when the tuner has nothing left to propose.

    A StopIteration, so tuners that raise a plain `StopIteration` mean the same.
    """


NoMoreTrialError = NoMoreTrials
"""NNI's name for the same exception."""


class Tuner:
    """Base class of a classic tuner (NNI's interface). Subclass it and override
    `generate_parameters`; the other methods are optional.

    - `update_search_space(search_space)`: the space as classic JSON (`SearchSpace.to_json()`,
      the `archsearch ss-gen` format; in an annotation experiment NNI's JSON, see
      `TunerStrategy`'s `space_format`); called before the first `generate_parameters` and
      again on resume.
    - `generate_parameters(parameter_id)` returns `{label: {"_value": ..., "_idx": ...}}` (a
      bare value per label is accepted too); raise `NoMoreTrials` (or `StopIteration`) when done.
    - `receive_trial_result(parameter_id, parameters, value)`: `value` is the trial's final
      result: a float when the trial reported a number, the metrics dict (with "default") when
      it reported a dict. Only succeeded trials are received.
    - `trial_end(parameter_id, success)`: every trial that ended, succeeded or not.

    The values are raw: a tuner that minimizes reads its own `optimize_mode` argument, as in NNI.
    On resume a fresh tuner gets `update_search_space`, then `receive_trial_result` and
    `trial_end` for every finished trial in the order they finished, including parameter ids
    it never generated itself.
    """

    def update_search_space(self, search_space: dict[str, Any]) -> None:
        """Receive the search space (classic JSON)."""

    def generate_parameters(self, parameter_id: int, **kwargs: Any) -> Parameters:
        """Parameters for a new trial; raise NoMoreTrials when there are none left."""
        raise NotImplementedError(f"{type(self).__name__} must implement generate_parameters")

    def receive_trial_result(
        self, parameter_id: int, parameters: Parameters, value: Any, **kwargs: Any
    ) -> None:
        """Learn from the final result of a succeeded trial."""

    def trial_end(self, parameter_id: int, success: bool, **kwargs: Any) -> None:
        """A trial ended (`success` is False for failed, timed-out or cancelled trials)."""

    def import_data(self, data: list[dict[str, Any]]) -> None:
        """Prior results `[{"parameter": ..., "value": ...}]` (NNI's hook; unused here)."""


class SpaceFormat(Protocol):
    """How a tuner sees the search space and writes its parameters."""

    def search_space_json(self, space: SearchSpace) -> dict[str, Any]:
        """What `update_search_space` receives."""
        ...

    def to_architecture(
        self, space: SearchSpace, params: Mapping[str, Any], *, source: str
    ) -> Architecture:
        """The architecture of parameters the tuner generated (errors name the label)."""
        ...

    def to_parameters(self, space: SearchSpace, arch: Mapping[str, Any]) -> Any:
        """`arch` as the tuner would have written it."""
        ...


class ClassicFormat:
    """archsearch's classic JSON (`SearchSpace.to_json()`) and `{"_value", "_idx"}` entries."""

    def search_space_json(self, space: SearchSpace) -> dict[str, Any]:
        return space.to_json()

    def to_architecture(
        self, space: SearchSpace, params: Mapping[str, Any], *, source: str
    ) -> Architecture:
        return from_parameters(space, params, source=source)

    def to_parameters(self, space: SearchSpace, arch: Mapping[str, Any]) -> Parameters:
        return to_parameters(space, arch)


class TunerStrategy(Strategy):
    """A `Strategy` that asks a classic `Tuner` for each architecture.

    Build it from a tuner instance, or with `from_class` from an import name (what
    `archsearch run` does): then only the name and arguments are stored with the experiment,
    and resume builds a fresh tuner from them. `space_format` is how the tuner reads the space
    and writes parameters (default: classic JSON; an annotation experiment gives NNI-era tuners
    NNI's format, `archsearch.annotation.nni_format`).
    """

    def __init__(self, tuner: Tuner, space_format: SpaceFormat | None = None) -> None:
        if not callable(getattr(tuner, "generate_parameters", None)):
            raise TypeError(
                f"a tuner needs a generate_parameters method (subclass archsearch.classic.Tuner); "
                f"got {type(tuner).__name__}"
            )
        self.tuner = tuner
        self.space_format: SpaceFormat = space_format or ClassicFormat()
        self.class_spec: dict[str, Any] | None = None
        self._asked: dict[int, Parameters] = {}

    @classmethod
    def from_class(
        cls,
        class_name: str,
        class_args: Mapping[str, Any] | None = None,
        code_directory: str | None = None,
        space_format: SpaceFormat | None = None,
    ) -> TunerStrategy:
        """Import `module.Class` (from `code_directory` when given) and build it with
        `class_args`."""
        strategy = cls(load_tuner(class_name, class_args, code_directory), space_format)
        strategy.class_spec = {
            "class_name": class_name,
            "class_args": dict(class_args or {}),
            "code_directory": code_directory,
        }
        return strategy

    def reset(self, space: SearchSpace) -> None:
        self._asked = {}
        self.tuner.update_search_space(self.space_format.search_space_json(space))

    def propose(self, history: Sequence[Trial]) -> Architecture | None:
        # Storage numbers trials 1, 2, ... in the order they are asked for, so the next trial's
        # id is known now: it becomes the tuner's parameter id.
        parameter_id = max((t.id for t in history), default=0) + 1
        try:
            params = self.tuner.generate_parameters(parameter_id)
        except StopIteration:  # NoMoreTrials, or a tuner's plain StopIteration
            return None
        source = f"{type(self.tuner).__name__}.generate_parameters"
        arch = self.space_format.to_architecture(self.space, params, source=source)
        self._asked[parameter_id] = params
        return arch

    def learn(self, trial: Trial) -> None:
        params = self._asked.pop(trial.id, None)
        if params is None:  # on resume: a trial this tuner did not generate
            params = self.space_format.to_parameters(self.space, trial.arch)
        success = trial.status is TrialStatus.SUCCEEDED and trial.metric is not None
        if success:
            self.tuner.receive_trial_result(trial.id, params, final_value(trial))
        self.tuner.trial_end(trial.id, success)

    def __getstate__(self) -> dict[str, Any]:
        # Built from a class name: store that, so resume needs no pickle of the user's class.
        kept = {"space_format": self.space_format}
        if self.class_spec is not None:
            return {"class_spec": self.class_spec, **kept}
        return {"tuner": self.tuner, **kept}

    def __setstate__(self, state: dict[str, Any]) -> None:
        spec = state.get("class_spec")
        self.tuner = load_tuner(**spec) if spec is not None else state["tuner"]
        self.space_format = state.get("space_format") or ClassicFormat()
        self.class_spec = spec
        self._asked = {}


def final_value(trial: Trial) -> Any:
    """What a tuner receives: the number alone, or the whole dict when the trial reported
    more than its default metric."""
    extra = {k: v for k, v in trial.metrics.items() if k != "default"}
    return dict(trial.metrics) if extra else trial.metric


def load_tuner(
    class_name: str,
    class_args: Mapping[str, Any] | None = None,
    code_directory: str | None = None,
) -> Tuner:
    """Import `module.Class` and instantiate it with `class_args` (errors name what is wrong)."""
    module_name, _, attribute = class_name.rpartition(".")
    if not module_name or not attribute:
        raise ValueError(f"tuner className must be 'module.Class', got {class_name!r}")
    if code_directory is not None and code_directory not in sys.path:
        sys.path.insert(0, code_directory)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        where = f" (looked in codeDirectory {code_directory})" if code_directory else ""
        raise ValueError(f"cannot import tuner module {module_name!r}{where}: {exc}") from None
    tuner_class = getattr(module, attribute, None)
    if tuner_class is None:
        raise ValueError(f"tuner module {module_name!r} has no attribute {attribute!r}")
    args = dict(class_args or {})
    try:
        inspect.signature(tuner_class).bind(**args)
    except TypeError as exc:
        raise ValueError(f"cannot build tuner {class_name} with classArgs {args}: {exc}") from None
    except ValueError:
        pass  # no signature to check: the call itself will tell
    tuner = tuner_class(**args)
    if not callable(getattr(tuner, "generate_parameters", None)):
        raise ValueError(f"{class_name} is not a tuner: it has no generate_parameters method")
    return tuner  # type: ignore[no-any-return]
