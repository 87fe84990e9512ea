"""TPE's categorical Parzen estimators, kept up to date one finished trial at a time.

The model is Optuna's `TPESampler` (its defaults) for categorical parameters:

- the best `gamma(n) = min(ceil(0.1 n), 25)` of the `n` observations are the "below" (good)
  set, the rest the "above" set; ties go to the one told first;
- each set is a mixture of one kernel per observation and a uniform prior kernel of weight
  `PRIOR_WEIGHT`. An observation's kernel gives each label's options `eps = PRIOR_WEIGHT /
  (n_set + 1)` plus 1 for its own option, normalised per label, so a kernel's density at an
  architecture is `C * R ** matches` (`R = (1 + eps) / eps`, `matches` = labels equal to the
  observation's);
- kernels are weighted by Optuna's `default_weights` in told order: 1 each under 25
  observations, else a linear ramp from 1/n to 1 over the oldest `n - 25` and 1 for the newest 25.

Nothing is refitted from scratch. The newest observations (fewer than `TAIL`) are a list, read
one by one with their exact weights. Older ones live in segments of `TAIL` to `SEGMENT_MAX`
observations stored column-wise: per label and option, an int whose bit j says whether
observation `start + j` chose that option. A density reads a segment with a handful of
big-int operations (the labels' bit vectors are added bit-sliced, then the count of
observations at each number of matches is a popcount), not one step per observation, so
asking costs O(segments) int operations; the split and the segments change by O(1) per tell.
Below `TAIL` observations the estimators are Optuna's exactly. The one approximation: in a
segment, when more than `EXACT_LEVEL` observations share a number of matches with the
candidate, they weigh their count times the segment's mean weight (the mean of Optuna's
weights of its above-set observations, so each segment's total weight is Optuna's); fewer are
weighted one by one, so the nearest kernels, which dominate a density, keep their own weight.
The univariate marginals use the segment's mean weight throughout.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Sequence

PRIOR_WEIGHT = 1.0
"""Weight of the uniform prior kernel (Optuna's `prior_weight` default)."""

TAIL = 128
"""Observations kept as a list, with exact weights, before they become a segment."""

MERGE = 2
"""This many equal segments in a row merge into one (up to `SEGMENT_MAX` observations)."""

SEGMENT_MAX = 2048
"""Largest segment: the approximation of the weight ramp is per segment."""

EXACT_LEVEL = 8
"""A segment's observations at one number of matches with a candidate are weighted one by one
when there are at most this many (the few nearest kernels, which dominate a density)."""

NEGLIGIBLE = 1e-9
"""Relative weight below which a segment's fewer-match kernels are not counted."""

Code = tuple[int, ...]
"""An architecture as the index of its option in each label, in label order."""


def gamma(n: int) -> int:
    """How many of `n` observations form the below set (Optuna's `default_gamma`)."""
    return min(math.ceil(0.1 * n), 25)


def weight_sum(n: int, lo: int, hi: int) -> float:
    """The sum of Optuna's `default_weights(n)[lo:hi]` (in closed form)."""
    if hi <= lo:
        return 0.0
    if n < 25:
        return float(hi - lo)
    ramp = n - 25  # np.linspace(1 / n, 1, num=ramp), then 25 ones
    total = float(max(0, hi - max(lo, ramp)))
    a, b = lo, min(hi, ramp)
    if b > a:
        step = (1.0 - 1.0 / n) / (ramp - 1) if ramp > 1 else 0.0
        total += (b - a) / n + step * (a + b - 1) * (b - a) / 2
    return total


class _Segment:
    """Observations `start .. start + size` column-wise; `above` has the bits of those in the
    above set."""

    __slots__ = ("above", "bits", "size", "start")

    def __init__(self, start: int, size: int, bits: list[list[int]], above: int) -> None:
        self.start, self.size, self.bits, self.above = start, size, bits, above


class _SegmentWeights:
    """How an estimator weighs a segment's above-set observations: `mean` each, or Optuna's
    own weight of each (`of`), from the above-set rank `first` of its first one, the offsets
    `skipped` of its below-set ones and the size `n` of the above set."""

    __slots__ = ("count", "first", "mean", "ramp", "segment", "skipped", "start", "step")

    def __init__(self, segment: _Segment, first: int, skipped: list[int], n: int) -> None:
        self.segment, self.first, self.skipped = segment, first, skipped
        self.count = segment.above.bit_count()
        self.mean = weight_sum(n, first, first + self.count) / self.count if self.count else 0.0
        # Optuna's weight of rank r: start + r * step below rank `ramp`, else 1.
        self.ramp = max(n - 25, 0)
        self.start = 1.0 / n if n else 0.0
        self.step = (1.0 - self.start) / (self.ramp - 1) if self.ramp > 1 else 0.0

    def of(self, at: int) -> float:
        """The sum of Optuna's weights of the observations whose bits are set in `at`."""
        total = 0.0
        while at:
            low = at & -at
            at ^= low
            offset = low.bit_length() - 1
            rank = self.first + offset
            if self.skipped:
                rank -= bisect.bisect_left(self.skipped, offset)
            total += self.start + rank * self.step if rank < self.ramp else 1.0
        return total


class Estimator:
    """One Parzen mixture: `kernels` (code, one-hot mask, weight) read one by one, `segments`
    (segment, its above-set count, the weight of each) read column-wise, and the prior."""

    def __init__(
        self,
        sizes: tuple[int, ...],
        kernels: list[tuple[Code, int, float]],
        segments: list[_SegmentWeights],
        total: float,
    ) -> None:
        self.sizes, self.kernels, self.segments, self.total = sizes, kernels, segments, total
        n = len(kernels) + sum(weights.count for weights in segments)
        self.eps = eps = PRIOR_WEIGHT / (n + 1)
        self._ratio = 1.0 + 1.0 / eps  # a kernel's density grows by this per matching label
        self._log_ratio = math.log(self._ratio)
        self._log_c = sum(math.log(eps / (k * eps + 1.0)) for k in sizes)
        self._log_prior = math.log(PRIOR_WEIGHT) - sum(map(math.log, sizes))
        self._log_norm = math.log(total + PRIOR_WEIGHT)

    def log_pdf(self, code: Code, mask: int) -> float:
        """The log density of an architecture (`mask`: its one-hot bits, `Observations.mask`)."""
        levels = [0.0] * (len(self.sizes) + 1)  # kernel weight by number of matching labels
        for _, other, weight in self.kernels:
            levels[(other & mask).bit_count()] += weight
        for weights in self.segments:
            _add_levels(weights, code, self._ratio, levels)
        log_r = self._log_ratio
        used = [math.log(w) + m * log_r for m, w in enumerate(levels) if w > 0]
        if not used:
            return self._log_prior - self._log_norm
        top = max(used)
        log_kernels = self._log_c + top + math.log(sum(math.exp(u - top) for u in used))
        high, low = max(log_kernels, self._log_prior), min(log_kernels, self._log_prior)
        return high + math.log1p(math.exp(low - high)) - self._log_norm

    def sample(self, rng: random.Random) -> Code:
        """An architecture drawn from the mixture (kernels only; the below set has no segments)."""
        weights = [w for *_, w in self.kernels] + [PRIOR_WEIGHT]
        choice = rng.choices(range(len(weights)), weights)
        if choice[0] == len(self.kernels):
            return tuple(rng.randrange(k) for k in self.sizes)
        code = self.kernels[choice[0]][0]
        # Each label keeps the kernel's option with probability 1 / (k eps + 1), else is
        # uniform: the option then has (1 + eps) / (k eps + 1), the others eps / (k eps + 1).
        return tuple(
            c if rng.random() * (k * self.eps + 1.0) < 1.0 else rng.randrange(k)
            for c, k in zip(code, self.sizes, strict=True)
        )

    def marginal(self, label: int) -> list[float]:
        """The probability of each option of one label (the univariate estimator)."""
        k = self.sizes[label]
        counts = [0.0] * k
        for code, _, weight in self.kernels:
            counts[code[label]] += weight
        for weights in self.segments:
            above = weights.segment.above
            for option, bits in enumerate(weights.segment.bits[label]):
                counts[option] += weights.mean * (bits & above).bit_count()
        eps, norm = self.eps, self.total + PRIOR_WEIGHT
        return [
            ((eps * self.total + c) / (k * eps + 1.0) + PRIOR_WEIGHT / k) / norm for c in counts
        ]


def _add_levels(weights: _SegmentWeights, code: Code, ratio: float, levels: list[float]) -> None:
    """Add the weight of a segment's above-set observations by number of labels matching
    `code` to `levels`, from the most matches down; stops once the rest is negligible."""
    segment = weights.segment
    # Bit b of each observation's match count, by carry-save adders over the labels' bit
    # vectors (three vectors of one weight become one of that weight and one of the next).
    column = [bits[option] for bits, option in zip(segment.bits, code, strict=True)]
    slices: list[int] = []
    while column:
        carries = []
        while len(column) > 2:
            a, b, c = column.pop(), column.pop(), column.pop()
            either = a ^ b
            column.append(either ^ c)
            carries.append((a & b) | (either & c))
        if len(column) == 2:
            a, b = column
            slices.append(a ^ b)
            carries.append(a & b)
        else:
            slices.append(column[0])
        column = carries
    # Depth-first over the bits of the match count, ones first: levels come out largest
    # first, and an empty branch skips every level below it at once. Once the top level is
    # known, levels more than `skip` below it are negligible: even all the remaining
    # observations there weigh less than NEGLIGIBLE of the top level's.
    remaining, floor = weights.count, -1
    stack = [(segment.above, len(slices) - 1, 0)]
    while stack:
        at, b, prefix = stack.pop()
        if prefix | ((1 << (b + 1)) - 1) < floor:
            return
        if b < 0:
            found = at.bit_count()
            levels[prefix] += weights.of(at) if found <= EXACT_LEVEL else weights.mean * found
            remaining -= found
            if not remaining:
                return
            if floor < 0:
                skip = math.log(remaining / (NEGLIGIBLE * found)) / math.log(ratio)
                floor = prefix - math.ceil(skip)
            continue
        ones = at & slices[b]
        zeros = at ^ ones
        if zeros:
            stack.append((zeros, b - 1, prefix))
        if ones:
            stack.append((ones, b - 1, prefix | 1 << b))


class Observations:
    """The finished trials TPE learned from, split into the below and above sets."""

    def __init__(self, sizes: Sequence[int]) -> None:
        self.sizes = tuple(sizes)
        self._offsets = [sum(self.sizes[:i]) for i in range(len(self.sizes))]
        self.codes: list[Code] = []
        self._masks: list[int] = []
        self._ranked: list[tuple[float, int]] = []  # (-score, index): best first
        self.below: set[int] = set()
        self._segments: list[_Segment] = []
        self._starts: list[int] = []
        self._tail = 0  # index of the first observation not in a segment

    def __len__(self) -> int:
        return len(self.codes)

    def mask(self, code: Code) -> int:
        """The one-hot bits of an architecture (one bit per label and option)."""
        return sum(1 << (offset + c) for offset, c in zip(self._offsets, code, strict=True))

    def add(self, code: Code, score: float) -> None:
        """Learn a finished trial (larger score = better)."""
        index = len(self.codes)
        self.codes.append(code)
        self._masks.append(self.mask(code))
        bisect.insort(self._ranked, (-score, index))
        below = {i for _, i in self._ranked[: gamma(len(self.codes))]}
        for moved in below ^ self.below:
            if moved < self._tail:
                segment = self._segments[bisect.bisect_right(self._starts, moved) - 1]
                segment.above ^= 1 << (moved - segment.start)
        self.below = below
        if len(self.codes) - self._tail >= TAIL:
            self._seal()

    def _seal(self) -> None:
        """Turn the list of newest observations into a segment; merge equal segments."""
        start, codes = self._tail, self.codes[self._tail :]
        bits = [[0] * k for k in self.sizes]
        above = 0
        for j, code in enumerate(codes):
            bit = 1 << j
            for column, c in zip(bits, code, strict=True):
                column[c] |= bit
            if start + j not in self.below:
                above |= bit
        self._segments.append(_Segment(start, len(codes), bits, above))
        self._tail = len(self.codes)
        last = self._segments[-MERGE:]
        while (
            len(last) == MERGE
            and len({s.size for s in last}) == 1
            and last[0].size * MERGE <= SEGMENT_MAX
        ):
            del self._segments[-MERGE:]
            self._segments.append(_merged(last))
            last = self._segments[-MERGE:]
        self._starts = [s.start for s in self._segments]

    def estimators(self) -> tuple[Estimator, Estimator]:
        """The below and above estimators of the current split."""
        below = sorted(self.below)
        n_above = len(self.codes) - len(below)
        kernels = [(self.codes[i], self._masks[i], 1.0) for i in below]  # < 25: weights 1
        below_estimator = Estimator(self.sizes, kernels, [], float(len(kernels)))
        segments = []
        for segment in self._segments:
            lo = bisect.bisect_left(below, segment.start)
            hi = bisect.bisect_left(below, segment.start + segment.size)
            skipped = [i - segment.start for i in below[lo:hi]]
            weights = _SegmentWeights(segment, segment.start - lo, skipped, n_above)
            if weights.count:
                segments.append(weights)
        rank = self._tail - bisect.bisect_left(below, self._tail)
        tail = []
        for i in range(self._tail, len(self.codes)):
            if i not in self.below:
                tail.append((self.codes[i], self._masks[i], weight_sum(n_above, rank, rank + 1)))
                rank += 1
        above_estimator = Estimator(self.sizes, tail, segments, weight_sum(n_above, 0, n_above))
        return below_estimator, above_estimator


def _merged(segments: list[_Segment]) -> _Segment:
    """One segment holding consecutive segments."""
    first = segments[0]
    bits = [list(column) for column in first.bits]
    above, shift = first.above, first.size
    for segment in segments[1:]:
        for merged, column in zip(bits, segment.bits, strict=True):
            for option, b in enumerate(column):
                merged[option] |= b << shift
        above |= segment.above << shift
        shift += segment.size
    return _Segment(first.start, shift, bits, above)
