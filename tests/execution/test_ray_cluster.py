"""A simulated cluster (`ray.cluster_utils.Cluster`, every node on 127.0.0.1) losing the node
that runs a trial: the trial runs again on another node, under the same id, and the experiment
finishes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from backend_jobs import job
from backend_jobs import results as results_of
from ray_jobs import Paced, until

from archsearch.execution import MetricReport, RayBackend, RayConfig
from archsearch.execution.ray_start import import_ray, loopback_only

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    ray = import_ray()
    from ray.cluster_utils import Cluster

    with loopback_only(ray):
        made = Cluster(
            initialize_head=True,
            head_node_args={"num_cpus": 1, "include_dashboard": False},
        )
        nodes = [made.add_node(num_cpus=1, resources={"slot": 1}) for _ in range(2)]
        made.wait_for_nodes()
        ray.init(address=made.address, log_to_driver=False)
    yield made, nodes
    ray.shutdown()
    made.shutdown()


def test_losing_the_node_of_a_trial_runs_it_again_elsewhere(cluster: Any) -> None:
    made, nodes = cluster
    backend = RayBackend(1, config=RayConfig(resources={"slot": 1}, max_retries=1))
    try:
        backend.submit(job(1, Paced(n=5, seconds=0.4)))
        events: list[object] = []
        while not any(isinstance(e, MetricReport) for e in events):
            events += backend.poll(0.2)
        first = backend.started[1].node_id
        (victim,) = [n for n in nodes if n.node_id == first]
        begun = time.monotonic()
        made.remove_node(victim, allow_graceful=False)
        more, _ = until(backend, 1, timeout=90)
        events += more
        assert backend.started[1].node_id != first
        (result,) = results_of([e for e in events if not isinstance(e, MetricReport)]).values()
        assert result.status.value == "succeeded", result
        assert [e.step for e in events if isinstance(e, MetricReport)] == [0, 1, 2, 3, 4]
        assert time.monotonic() - begun < 60  # measured 17 s on 2 busy cores (a fresh actor)
    finally:
        backend.shutdown()
