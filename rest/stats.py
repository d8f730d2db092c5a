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


def paired_bootstrap(a, b, *, n_resamples: int = 2000, confidence: float = 0.95,
                     seed: int = 0) -> PairedDiff:
    """Mean difference ``a − b`` of paired outcomes with a percentile bootstrap interval.

    ``a[i]`` and ``b[i]`` must be the same unit (held-out item × seed) under the two methods.
    Deterministic for a given ``seed``. With one pair, or identical differences, the interval
    collapses to the point.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired outcomes must be two 1-D arrays of one length, got {a.shape} and {b.shape}")
    if a.size == 0:
        raise ValueError("paired_bootstrap needs at least one pair")
    d = a - b
    diff = float(d.mean())
    if a.size == 1 or np.all(d == d[0]):
        return PairedDiff(diff, diff, diff, int(a.size))
    res = stats.bootstrap((d,), np.mean, n_resamples=n_resamples, confidence_level=confidence,
                          method="percentile", random_state=np.random.default_rng(seed),
                          vectorized=True)
    ci = res.confidence_interval
    return PairedDiff(diff, float(ci.low), float(ci.high), int(a.size))
