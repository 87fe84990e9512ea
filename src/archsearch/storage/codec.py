"""JSON columns and row ↔ record conversion for the SQLite store.

JSON has no NaN or infinity, and SQLite's JSON functions reject Python's `NaN` extension, so a
non-finite float inside a stored mapping is written as the tagged object `{"$float": "nan"}`
(or "inf", "-inf") and turned back into a float when read. Finite values take the fast path:
one `json.dumps` with `allow_nan=False`.

Text from user code (an exception message, a metric string, an experiment name) may not be
valid UTF-8: a lone surrogate such as `os.fsdecode(b"\\xff") == "\\udcff"`, which SQLite
cannot store. Every text column and every string inside a JSON column is therefore stored with
each lone surrogate replaced by its Python escape, the six characters `\\udcff`
(`storable_text`), so such text is kept readable and can never stop the runner.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from archsearch.space import Trial, TrialStatus
from archsearch.storage.base import ExperimentRecord, ExperimentStatus

FLOAT_TAG = "$float"
"""Key of the object that stands for a non-finite float inside a JSON column."""

_TAG_MARK = f'"{FLOAT_TAG}"'
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_STATUSES = {s.value: s for s in TrialStatus}

TRIAL_COLUMNS = (
    "experiment_id, id, arch, status, metric, metric_text, metrics, created_at, started_at, "
    "ended_at, error, traceback, log_path, node"
)
"""The trial columns in the order `trial_from_row` reads them."""


def trial_columns(version: int) -> str:
    """`TRIAL_COLUMNS` as a file of schema `version` gives them: NULL for what it lacks (a
    reader opens older files as they are)."""
    return TRIAL_COLUMNS if version >= 2 else TRIAL_COLUMNS.replace(", node", ", NULL")


EXPERIMENT_COLUMNS = (
    "id, name, kind, status, config, search_space, spec, created_at, started_at, ended_at, "
    "pid, error"
)
"""The experiment columns in the order `experiment_from_row` reads them."""


def dump_json(value: Any, what: str = "value") -> str:
    """Compact JSON text of `value`, non-finite floats tagged and lone surrogates escaped;
    TypeError naming `what` if a value cannot be stored as JSON."""
    try:
        try:
            dumped = _dumps(value)
            if _is_utf8(dumped):
                return dumped
        except ValueError:  # a NaN or an infinity somewhere: tag them, then dump again
            pass
        return _dumps(_storable(value))
    except (TypeError, ValueError, RecursionError) as exc:
        raise TypeError(f"{what} cannot be stored as JSON: {exc}") from None


def storable_text(value: str | None) -> str | None:
    """`value` as SQLite can store it: each lone surrogate becomes the text `\\udcff`."""
    if value is None or _is_utf8(value):
        return value
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _is_utf8(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def load_json(text: str) -> Any:
    """The value `dump_json` wrote (tagged non-finite floats become floats again)."""
    if text == "{}":
        return {}
    if _TAG_MARK in text:
        return json.loads(text, object_hook=_untag)
    return json.loads(text)


def _storable(value: Any) -> Any:
    """`value` with non-finite floats tagged and the text in keys and strings made storable."""
    if isinstance(value, float) and not math.isfinite(value):
        return {FLOAT_TAG: "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, Mapping):
        return {
            storable_text(k) if isinstance(k, str) else k: _storable(v) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_storable(v) for v in value]
    return value


def _untag(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and isinstance(obj.get(FLOAT_TAG), str):
        return _NON_FINITE.get(obj[FLOAT_TAG], obj)
    return obj


def metric_columns(metric: float | None) -> tuple[float | None, str | None]:
    """The `metric` column (finite values only, so sorting and indexing see plain numbers and
    non-finite ones sort with the missing) and `metric_text` (the non-finite value's name)."""
    if metric is None:
        return None, None
    metric = float(metric)
    if math.isfinite(metric):
        return metric, None
    return None, "nan" if math.isnan(metric) else ("inf" if metric > 0 else "-inf")


def trial_from_row(row: tuple[Any, ...]) -> Trial:
    """A `Trial` from a row of `TRIAL_COLUMNS`."""
    (exp, tid, arch, status, metric, metric_text, metrics, created, started, ended) = row[:10]
    return Trial(
        experiment_id=exp,
        id=tid,
        arch=load_json(arch),
        status=_STATUSES[status],
        metric=_NON_FINITE[metric_text] if metric_text is not None else metric,
        metrics=load_json(metrics),
        created_at=created,
        started_at=started,
        ended_at=ended,
        error=row[10],
        traceback=row[11],
        log_path=row[12],
        node=row[13],
    )


def experiment_from_row(row: tuple[Any, ...]) -> ExperimentRecord:
    """An `ExperimentRecord` from a row of `EXPERIMENT_COLUMNS`."""
    return ExperimentRecord(
        id=row[0],
        name=row[1],
        kind=row[2],
        status=ExperimentStatus(row[3]),
        config=load_json(row[4]),
        search_space=load_json(row[5]),
        spec=load_json(row[6]),
        created_at=row[7],
        started_at=row[8],
        ended_at=row[9],
        pid=row[10],
        error=row[11],
    )
