"""What an experiment keeps in storage so that it can be resumed: references to its parts, and
the time a killed run spent before it could record it."""

from __future__ import annotations

from typing import Any

from archsearch.execution.refs import NotTransferableError, Ref
from archsearch.storage import ExperimentRecord, Storage, display_status


def spec_ref(obj: Any) -> dict[str, Any] | None:
    """What resume needs to rebuild `obj`, or None if it can be neither imported nor pickled
    (resume then asks for it)."""
    try:
        return Ref.of(obj).to_json()
    except NotTransferableError:
        return None


def load_part(record: ExperimentRecord, name: str) -> Any:
    """The model space, evaluator or strategy (`name`) stored with an experiment, loaded here;
    ValueError saying how to pass it when it was not stored or cannot be loaded."""
    data = record.spec.get(name)
    if data is None:
        raise ValueError(
            f"experiment {record.id}: its {name.replace('_', ' ')} could not be stored (not "
            f"importable or picklable); pass it: Experiment.resume({record.id!r}, {name}=...)"
        )
    ref = Ref.from_json(data)
    try:
        return ref.load()
    except Exception as exc:
        where = f" (saved by {ref.main_path})" if ref.main_path else ""
        raise ValueError(
            f"experiment {record.id}: cannot load its stored {name.replace('_', ' ')} "
            f"{ref.target or 'pickle'}{where}: {type(exc).__name__}: {exc}; make its module "
            f"importable here (PYTHONPATH), or pass it: Experiment.resume({record.id!r}, "
            f"{name}=...)"
        ) from exc


def lost_run(storage: Storage, record: ExperimentRecord) -> float:
    """Seconds a killed run spent (its process died before it could record them): from its
    start to the last trial event it stored. Zero unless the experiment is interrupted."""
    if display_status(record) != "interrupted" or record.started_at is None:
        return 0.0
    events = [
        stamp
        for trial in storage.trials(record.id)
        for stamp in (trial.started_at, trial.ended_at)
        if stamp is not None and stamp >= record.started_at
    ]
    return max(events, default=record.started_at) - record.started_at
