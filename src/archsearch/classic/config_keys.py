"""What the `archsearch run` configuration's sections share: the error, key spelling, folders."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class RunConfigError(ValueError):
    """A run configuration that cannot be used; the message names the file and the key."""


def normalise_keys(data: Mapping[str, Any], valid: Mapping[str, str], where: str) -> dict[str, Any]:
    """`data` with camelCase keys turned snake_case; unknown keys raise, listing valid ones."""
    result: dict[str, Any] = {}
    unknown = []
    guesses = []
    for key, value in data.items():
        snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(key)).lower()
        if snake not in valid:
            unknown.append(str(key))
            close = difflib.get_close_matches(snake, valid, n=1, cutoff=0.8)
            if close:  # a typo: name the key in the user's own spelling
                guesses.append(f"{key!r} → {close[0] if '_' in str(key) else valid[close[0]]!r}")
        elif snake in result:
            raise RunConfigError(f"{where}: {key!r} is given twice (as camelCase and snake_case)")
        else:
            result[snake] = value
    if unknown:
        hint = f" (did you mean {', '.join(guesses)}?)" if guesses else ""
        raise RunConfigError(
            f"{where}: unknown keys {unknown}{hint}; valid keys: {sorted(valid.values())}"
        )
    return result


def existing_dir(folder: Path, path: Any) -> Path:
    if not folder.is_dir():
        raise RunConfigError(f"{path}: trialCodeDirectory {folder} does not exist")
    return folder.resolve()
