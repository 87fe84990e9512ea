"""TPE: its Parzen estimators are Optuna's (exactly below `parzen.TAIL` trials, and the
documented per-segment weights past it), kept incrementally from tells alone; it proposes the
best unseen candidate of its draw, learns nothing from failures, and needs no Optuna."""

from __future__ import annotations

import math
import random
import sys

import pytest
from strategy_driver import drive, fails_sometimes, hard_space, make_problem, small_space

from archsearch.space import Trial, TrialStatus
from archsearch.strategy import TPE, arch_key, parzen
from archsearch.strategy.parzen import Code, Estimator, Observations

SIZES = (5, 5, 4, 6, 3, 8)


def filled(n: int, seed: int = 0) -> Observations:
    rng = random.Random(seed)
    observations = Observations(SIZES)
    for _ in range(n):
        observations.add(tuple(rng.randrange(k) for k in SIZES), rng.random())
    return observations


def optuna_estimators(observations: Observations, weights: object = None) -> tuple[object, object]:
    """Optuna's own below and above estimators for the same split (the reference)."""
    optuna = pytest.importorskip("optuna")
    import numpy as np
    from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
    from optuna.samplers._tpe.sampler import default_weights

    space = {
        str(d): optuna.distributions.CategoricalDistribution(tuple(range(k)))
        for d, k in enumerate(SIZES)
    }
    parameters = _ParzenEstimatorParameters(
        prior_weight=1.0,
        consider_magic_clip=True,
        consider_endpoints=False,
        weights=weights or default_weights,
        multivariate=True,
    )
    below = [i for i in range(len(observations)) if i in observations.below]
    above = [i for i in range(len(observations)) if i not in observations.below]

    def estimator(indices: list[int]) -> object:
        columns = {
            str(d): np.array([observations.codes[i][d] for i in indices], dtype=float)
            for d in range(len(SIZES))
        }
        return _ParzenEstimator(columns, space, parameters)

    return estimator(below), estimator(above)


def optuna_log_pdf(estimator: object, codes: list[Code]) -> list[float]:
    import numpy as np

    columns = {str(d): np.array([c[d] for c in codes], dtype=float) for d in range(len(SIZES))}
    return [float(v) for v in estimator.log_pdf(columns)]  # type: ignore[attr-defined]


def ours(estimator: Estimator, observations: Observations, codes: list[Code]) -> list[float]:
    return [estimator.log_pdf(c, observations.mask(c)) for c in codes]


def candidates(n: int, seed: int = 1) -> list[Code]:
    rng = random.Random(seed)
    return [tuple(rng.randrange(k) for k in SIZES) for _ in range(n)]


def test_split_is_optunas_gamma_with_ties_to_the_first_told() -> None:
    observations = Observations((2,))
    scores = [0.5, 0.9, 0.9, 0.1] * 30
    for score in scores:
        observations.add((0,), score)
        n = len(observations)
        expected = sorted(range(n), key=lambda i: (-scores[i], i))[: min(math.ceil(0.1 * n), 25)]
        assert observations.below == set(expected)


@pytest.mark.parametrize("n", [0, 1, 9, 30, parzen.TAIL - 1])
def test_below_the_tail_the_estimators_are_optunas(n: int) -> None:
    observations = filled(n)
    below, above = observations.estimators()
    reference_below, reference_above = optuna_estimators(observations)
    codes = candidates(40) + [observations.codes[i] for i in range(min(n, 10))]
    for mine, reference in ((below, reference_below), (above, reference_above)):
        expected = optuna_log_pdf(reference, codes)
        assert ours(mine, observations, codes) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_univariate_marginals_are_optunas() -> None:
    optuna = pytest.importorskip("optuna")
    import numpy as np
    from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
    from optuna.samplers._tpe.sampler import default_weights

    observations = filled(parzen.TAIL - 1)
    _, above = observations.estimators()
    parameters = _ParzenEstimatorParameters(1.0, True, False, default_weights, False)
    above_indices = [i for i in range(len(observations)) if i not in observations.below]
    for d, k in enumerate(SIZES):
        dist = optuna.distributions.CategoricalDistribution(tuple(range(k)))
        column = np.array([observations.codes[i][d] for i in above_indices], dtype=float)
        reference = _ParzenEstimator({"x": column}, {"x": dist}, parameters)
        expected = np.exp(reference.log_pdf({"x": np.arange(k, dtype=float)}))
        assert above.marginal(d) == pytest.approx(list(expected), rel=1e-9)


def optuna_weight(observations: Observations, i: int) -> float:
    """Optuna's weight of above-set observation `i` (by its rank in the above set)."""
    from optuna.samplers._tpe.sampler import default_weights

    n_above = len(observations) - len(observations.below)
    rank = i - sum(1 for j in observations.below if j < i)
    return float(default_weights(n_above)[rank])


def documented_log_pdf(observations: Observations, estimator: Estimator, code: Code) -> float:
    """The density `parzen` documents, kernel by kernel: Optuna's mixture, except that in a
    segment the observations at one number of matches, when more than EXACT_LEVEL, weigh
    their count times the segment's mean weight."""
    eps = estimator.eps

    def matches(i: int) -> int:
        return sum(c == o for c, o in zip(code, observations.codes[i], strict=True))

    def kernel(m: int) -> float:
        density = 1.0
        for d, k in enumerate(SIZES):
            density *= (eps + (d < m)) / (k * eps + 1.0)
        return density

    total = 0.0
    tail = {id(c) for c, _, _ in estimator.kernels}
    for i, c in enumerate(observations.codes):
        if id(c) in tail and i not in observations.below:
            total += optuna_weight(observations, i) * kernel(matches(i))
    for weights in estimator.segments:
        segment = weights.segment
        by_level: dict[int, list[int]] = {}
        for i in range(segment.start, segment.start + segment.size):
            if i not in observations.below:
                by_level.setdefault(matches(i), []).append(i)
        for m, members in by_level.items():
            if len(members) <= parzen.EXACT_LEVEL:
                weight = sum(optuna_weight(observations, i) for i in members)
            else:
                weight = weights.mean * len(members)
            total += weight * kernel(m)
    prior = 1.0 / math.prod(SIZES)
    return math.log((total + prior) / (estimator.total + 1.0))


def test_past_the_tail_densities_follow_the_documented_segment_weights() -> None:
    pytest.importorskip("optuna")
    from optuna.samplers._tpe.sampler import default_weights

    observations = filled(3 * parzen.SEGMENT_MAX + parzen.TAIL + 5)
    below, above = observations.estimators()
    assert any(w.segment.size == parzen.SEGMENT_MAX for w in above.segments)
    covered = sum(w.count for w in above.segments) + len(above.kernels)
    n_above = len(observations) - len(observations.below)
    assert covered == n_above
    # Every segment carries exactly Optuna's weight for its observations.
    assert above.total == pytest.approx(float(default_weights(n_above).sum()), rel=1e-12)
    # Near-optimal candidates too (the below set's own codes), where the top levels decide.
    codes = candidates(15) + [observations.codes[i] for i in sorted(observations.below)[:5]]
    for code in codes:
        got = above.log_pdf(code, observations.mask(code))
        assert got == pytest.approx(documented_log_pdf(observations, above, code), abs=1e-7)
    # ... and stay close to Optuna's exact ramp (measured: under 1e-4).
    _, reference = optuna_estimators(observations)
    exact = optuna_log_pdf(reference, codes)
    deviation = [abs(a - b) for a, b in zip(ours(above, observations, codes), exact, strict=True)]
    assert max(deviation) < 1e-3
    assert ours(below, observations, codes) == pytest.approx(
        optuna_log_pdf(optuna_estimators(observations)[0], codes), rel=1e-9
    )
    # A univariate marginal weighs each segment's observations by the segment's mean.
    mean = {i: optuna_weight(observations, i) for i in range(len(observations))}
    for weights in above.segments:
        for i in range(weights.segment.start, weights.segment.start + weights.segment.size):
            mean[i] = weights.mean
    for d, k in enumerate(SIZES):
        counts = [0.0] * k
        for i, w in mean.items():
            if i not in observations.below:
                counts[observations.codes[i][d]] += w
        eps, total = above.eps, above.total
        expected = [((eps * total + c) / (k * eps + 1) + 1 / k) / (total + 1) for c in counts]
        assert above.marginal(d) == pytest.approx(expected, rel=1e-9)


def test_proposal_is_the_best_unseen_candidate_of_the_draw_by_optunas_densities() -> None:
    space = hard_space()
    problem = make_problem(space, 3)
    tpe = TPE(seed=5)
    history = drive(tpe, space, problem.objective, 60)
    state = tpe._rng.getstate()
    proposal = tpe.ask(space, history)
    assert proposal is not None

    rng = random.Random()
    rng.setstate(state)
    below, above = tpe.observations.estimators()
    seen = {arch_key(space.validate(t.arch)) for t in history}
    best, best_gain = None, -math.inf
    for _ in range(tpe.n_ei_candidates):
        code = below.sample(rng)
        arch = tpe._arch(code)
        if arch_key(arch) in seen:
            continue
        mask = tpe.observations.mask(code)
        gain = below.log_pdf(code, mask) - above.log_pdf(code, mask)
        if gain > best_gain:
            best, best_gain = arch, gain
    assert proposal == best


def test_replayed_tells_rebuild_the_same_estimators() -> None:
    space = small_space()
    problem = make_problem(space, 0)
    tpe = TPE(seed=0)
    history = drive(tpe, space, problem.objective, 60, fails=fails_sometimes(problem))
    assert any(t.status is TrialStatus.FAILED for t in history)
    succeeded = [t for t in history if t.status is TrialStatus.SUCCEEDED]
    assert len(tpe.observations) == len(succeeded)  # failures teach nothing

    replayed = TPE(seed=1)
    replayed.start(space, "maximize")
    for trial in history:
        replayed.tell(trial)
    assert replayed.observations.codes == tpe.observations.codes
    assert replayed.observations.below == tpe.observations.below


def test_minimize_mode_puts_the_smallest_metrics_below() -> None:
    space = small_space()
    problem = make_problem(space, 1)
    tpe = TPE(seed=0)
    history = drive(tpe, space, problem.objective, 40, mode="minimize")
    metrics = sorted(t.metric for t in history if t.metric is not None)
    below = [history[i].metric for i in tpe.observations.below]
    assert sorted(below) == metrics[: len(below)]


def test_ten_thousand_trials_of_history() -> None:
    space = hard_space()
    rng = random.Random(0)
    tpe = TPE(seed=0)
    tpe.start(space, "maximize")
    history: list[Trial] = []
    keys: set[str] = set()
    while len(history) < 10_000:
        arch = space.sample(rng)
        if arch_key(arch) not in keys:
            keys.add(arch_key(arch))
            trial = Trial("t", len(history), arch, TrialStatus.SUCCEEDED, metric=rng.random())
            history.append(trial)
            tpe.tell(trial)
    best = sorted(range(len(history)), key=lambda i: (-(history[i].metric or 0.0), i))[:25]
    assert tpe.observations.below == set(best)
    for _ in range(20):
        arch = tpe.ask(space, history)
        assert arch is not None and arch_key(arch) not in keys
        keys.add(arch_key(arch))
        trial = Trial("t", len(history), arch, TrialStatus.SUCCEEDED, metric=rng.random())
        history.append(trial)
        tpe.tell(trial)
    _, above = tpe.observations.estimators()
    assert sum(w.count for w in above.segments) + len(above.kernels) == 10_020 - 25


@pytest.mark.parametrize("multivariate", [True, False])
def test_finds_the_best_of_an_additive_problem(multivariate: bool) -> None:
    space = hard_space()
    problem = make_problem(space, 2)
    history = drive(TPE(seed=0, multivariate=multivariate), space, problem.objective, 150)
    best = max(t.metric for t in history if t.metric is not None)
    randoms = drive(TPE(seed=0, n_startup_trials=150), space, problem.objective, 150)
    assert best > max(t.metric for t in randoms if t.metric is not None)


def test_needs_no_optuna(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)
    space = small_space()
    history = drive(TPE(seed=0), space, make_problem(space, 0).objective, 30)
    assert len(history) == 30


def test_bad_arguments_are_explained() -> None:
    with pytest.raises(ValueError, match="n_startup_trials"):
        TPE(n_startup_trials=-1)
