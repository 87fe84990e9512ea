"""Why a Ray cluster does not place a trial slot: the messages of a placement failure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def missing(nodes: Sequence[Mapping[str, Any]], request: Mapping[str, float]) -> str | None:
    """Why no alive node (as `ray.nodes()` lists them) can ever hold `request` (resource →
    amount), naming the resources no node has enough of; None when some node can."""
    totals = [n.get("Resources", {}) for n in nodes if n.get("Alive")]
    if any(all(res.get(k, 0) >= v for k, v in request.items()) for res in totals):
        return None
    short = [k for k, v in request.items() if not any(r.get(k, 0) >= v for r in totals)]
    names = short or sorted(request)  # each exists somewhere, but never all on one node
    have = {k: max((r.get(k, 0) for r in totals), default=0) for k in names}
    return (
        f"no node of the Ray cluster has {', '.join(f'{k}={request[k]:g}' for k in names)} "
        f"for a trial slot (the most any node has: "
        f"{', '.join(f'{k}={have[k]:g}' for k in names)}); "
        "ask for less (ray.cpus_per_trial, ray.gpus_per_trial, ray.resources) or add nodes"
    )


def busy(request: Mapping[str, float], timeout: float) -> str:
    """The failure of a slot whose resources exist but stayed taken for `timeout` seconds."""
    wanted = ", ".join(f"{k}={v:g}" for k, v in request.items())
    return (
        f"the Ray cluster did not place a trial slot ({wanted}) within "
        f"ray.placement_timeout={timeout:g} s: its nodes have these resources but not free "
        "(other work holds them)"
    )
