"""Uncertainty of a difference between two methods: the paired bootstrap.

The paper reports single runs. Wherever we have several seeds or many held-out items, a
difference between two methods is given with a 95% interval from a paired bootstrap: the
pairs (same item, same seed) are resampled together, so item difficulty cancels out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class PairedDiff:
    """mean(a − b) over the pairs, and its percentile bootstrap interval."""

    diff: float
    lo: float
    hi: float
    n_pairs: int

    @property
    def excludes_zero(self) -> bool:
        return self.lo > 0 or self.hi < 0

    def as_dict(self) -> dict:
        return {"diff": self.diff, "ci95": [self.lo, self.hi], "n_pairs": self.n_pairs,
                "excludes_zero": self.excludes_zero}


def _weighted_mean(d, w, axis=-1):
    return (d * w).sum(axis=axis) / w.sum(axis=axis)


def paired_bootstrap(a, b, *, weights=None, n_resamples: int = 2000, confidence: float = 0.95,
                     seed: int = 0) -> PairedDiff:
    """Mean difference ``a − b`` of paired outcomes with a percentile bootstrap interval.

    ``a[i]`` and ``b[i]`` must be the same unit (held-out item × seed) under the two methods.
    ``weights`` (positive, one per pair) make the statistic the weighted mean Σ w·d / Σ w,
    resampled as a ratio: a metric that averages categories of unequal size (BFCL's
    Non-Live AST) is such a weighted mean of its items. Deterministic for a given ``seed``.
    With one pair, or identical differences, the interval collapses to the point.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired outcomes must be two 1-D arrays of one length, got {a.shape} and {b.shape}")
    if a.size == 0:
        raise ValueError("paired_bootstrap needs at least one pair")
    w = np.ones_like(a) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != a.shape or not np.all(w > 0):
        raise ValueError(f"weights must be positive, one per pair ({a.size}), got shape {w.shape}")
    d = a - b
    diff = float(_weighted_mean(d, w))
    if a.size == 1 or np.all(d == d[0]):
        return PairedDiff(diff, diff, diff, int(a.size))
    rng = np.random.default_rng(seed)
    if weights is None:
        res = stats.bootstrap((d,), np.mean, n_resamples=n_resamples, confidence_level=confidence,
                              method="percentile", random_state=rng, vectorized=True)
    else:
        res = stats.bootstrap((d, w), _weighted_mean, paired=True, n_resamples=n_resamples,
                              confidence_level=confidence, method="percentile", random_state=rng,
                              vectorized=True)
    ci = res.confidence_interval
    return PairedDiff(diff, float(ci.low), float(ci.high), int(a.size))


def bootstrap_indices(n: int, n_resamples: int = 2000, seed: int = 0) -> np.ndarray:
    """``(n_resamples, n)`` indices drawn with replacement from ``range(n)``, seeded.

    For statistics that are not a mean of per-unit values (a covariance trace over
    gradient groups): compute the statistic on each row's resample, then
    :func:`percentile_interval` of the results.
    """
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def percentile_interval(values, confidence: float = 0.95) -> tuple[float, float]:
    """The percentile bootstrap interval of resampled statistics (non-finite ones dropped)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (float("nan"), float("nan"))
    tail = 100 * (1 - confidence) / 2
    lo, hi = np.percentile(v, [tail, 100 - tail])
    return (float(lo), float(hi))
