"""Per-group percentiles: exact on the data up to EXACT_LIMIT values per group, a log-bucket sketch beyond.

Exact: the values of each group are sorted and the percentile is interpolated linearly between the two
nearest order statistics, the definition numpy.percentile, statistics.quantiles(method="inclusive") and
pyarrow.compute.quantile use by default: with n sorted values x_0..x_{n-1}, h = q * (n - 1),
P(q) = x_floor(h) + (h - floor(h)) * (x_ceil(h) - x_floor(h)).

Sketch (a group of more than EXACT_LIMIT values): every value v > 0 falls in the bucket
i = ceil(log(v) / log(gamma)) with gamma = (1 + alpha) / (1 - alpha), and a bucket answers
2 * gamma^i / (gamma + 1). The answer is within a relative error alpha (SKETCH_RELATIVE_ERROR, 0.5%) of
x_floor(h), the lower order statistic the exact percentile interpolates from (DDSketch, Masson et al., VLDB
2019). Values <= 0 (a zero latency) are kept in one bucket that answers 0. The bound holds whatever the
distribution, unlike a t-digest's.

numpy is imported inside the functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

EXACT_LIMIT = 2_000_000
SKETCH_RELATIVE_ERROR = 0.005


@dataclass(frozen=True)
class GroupPercentiles:
    """Percentiles per group: ``values[g][k]`` is the ``qs[k]`` percentile of group g (None: no values)."""

    qs: tuple[float, ...]
    values: list[list[float | None]]
    counts: list[int]
    sketched: list[bool]


def group_percentiles(
    group_ids: Any, values: Any, n_groups: int, qs: tuple[float, ...], *, exact_limit: int = EXACT_LIMIT
) -> GroupPercentiles:
    """Percentiles of ``values`` (float array, NaN = missing) per group id in ``0..n_groups-1``.

    >>> import numpy as np
    >>> group_percentiles(np.array([0, 0, 0, 1]), np.array([1.0, 2.0, 3.0, np.nan]), 2, (0.5,)).values
    [[2.0], [None]]
    """
    import numpy as np

    group_ids = np.asarray(group_ids, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    keep = ~np.isnan(values)
    group_ids, values = group_ids[keep], values[keep]
    counts = np.bincount(group_ids, minlength=n_groups)
    result: list[list[float | None]] = [[None] * len(qs) for _ in range(n_groups)]
    sketched = [bool(c > exact_limit) for c in counts]
    order = np.lexsort((values, group_ids))
    sorted_values = values[order]
    offsets = np.concatenate(([0], np.cumsum(counts)))
    exact_groups = np.flatnonzero((counts > 0) & (counts <= exact_limit))
    for k, q in enumerate(qs):
        for g, value in zip(
            exact_groups.tolist(), _exact(sorted_values, offsets, counts, exact_groups, q), strict=True
        ):
            result[g][k] = value
    for g in np.flatnonzero(counts > exact_limit).tolist():
        group_values = sorted_values[offsets[g] : offsets[g + 1]]
        sketch = LogBucketSketch.of(group_values)
        for k, q in enumerate(qs):
            result[g][k] = sketch.quantile(q)
    return GroupPercentiles(tuple(qs), result, [int(c) for c in counts], sketched)


def _exact(sorted_values: Any, offsets: Any, counts: Any, groups: Any, q: float) -> list[float]:
    """Linear interpolation between order statistics, vectorised over the groups."""
    import numpy as np

    if len(groups) == 0:
        return []
    h = q * (counts[groups] - 1)
    low = np.floor(h).astype(np.int64)
    high = np.ceil(h).astype(np.int64)
    base = offsets[groups]
    x_low = sorted_values[base + low]
    x_high = sorted_values[base + high]
    return [float(v) for v in x_low + (h - low) * (x_high - x_low)]


@dataclass(frozen=True)
class LogBucketSketch:
    """A mergeable relative-error sketch: bucket index -> count, plus the count of values <= 0."""

    keys: Any  # sorted int64 bucket indices
    bucket_counts: Any  # int64, aligned with keys
    zeros: int
    alpha: float = SKETCH_RELATIVE_ERROR

    @property
    def gamma(self) -> float:
        return (1 + self.alpha) / (1 - self.alpha)

    @classmethod
    def of(cls, values: Any, alpha: float = SKETCH_RELATIVE_ERROR) -> LogBucketSketch:
        import numpy as np

        values = np.asarray(values, dtype=np.float64)
        positive = values[values > 0]
        gamma = (1 + alpha) / (1 - alpha)
        keys = np.ceil(np.log(positive) / math.log(gamma)).astype(np.int64)
        unique, bucket_counts = np.unique(keys, return_counts=True)
        return cls(unique, bucket_counts, int(len(values) - len(positive)), alpha)

    @property
    def count(self) -> int:
        return int(self.bucket_counts.sum()) + self.zeros

    def quantile(self, q: float) -> float | None:
        """The value of rank floor(q * (n - 1)), within relative error alpha."""
        import numpy as np

        n = self.count
        if n == 0:
            return None
        rank = math.floor(q * (n - 1))
        if rank < self.zeros:
            return 0.0
        cumulative = np.cumsum(self.bucket_counts)
        index = int(np.searchsorted(cumulative, rank - self.zeros, side="right"))
        return float(2 * self.gamma ** int(self.keys[index]) / (self.gamma + 1))
