import numpy as np
import pytest

from rest.stats import paired_bootstrap


def test_interval_is_around_the_mean_difference_and_reproducible():
    rng = np.random.default_rng(1)
    b = rng.integers(0, 2, 400).astype(float)
    a = np.where(rng.random(400) < 0.2, 1.0, b)  # a fixes ~20% of b's misses
    r1 = paired_bootstrap(a, b, seed=3)
    r2 = paired_bootstrap(a, b, seed=3)
    assert r1 == r2
    assert r1.diff == pytest.approx((a - b).mean())
    assert r1.lo < r1.diff < r1.hi
    assert r1.excludes_zero and r1.lo > 0


def test_pairing_removes_item_difficulty():
    # The same items are hard for both methods: paired, the constant gain of 1 is exact.
    items = np.arange(50, dtype=float)
    r = paired_bootstrap(items + 1, items)
    assert (r.diff, r.lo, r.hi) == (1.0, 1.0, 1.0)


def test_no_difference_interval_contains_zero():
    a = np.array([1, 0, 1, 0, 1, 0, 1, 0], dtype=float)
    b = np.array([0, 1, 0, 1, 1, 0, 1, 0], dtype=float)
    r = paired_bootstrap(a, b)
    assert r.diff == 0.0 and r.lo < 0 < r.hi and not r.excludes_zero
    assert r.as_dict()["ci95"] == [r.lo, r.hi]


def test_mismatched_pairs_are_rejected():
    with pytest.raises(ValueError, match="same length|one length"):
        paired_bootstrap([1, 2], [1])


def test_weighted_pairs_give_the_weighted_mean_difference():
    # Two categories averaged unweighted: 1 item (diff 1) and 3 items (diff 0) -> (1 + 0) / 2.
    a, b = np.array([1.0, 1.0, 1.0, 0.0]), np.array([0.0, 1.0, 1.0, 0.0])
    w = np.array([1 / 1, 1 / 3, 1 / 3, 1 / 3])
    r = paired_bootstrap(a, b, weights=w, seed=0)
    assert r.diff == pytest.approx(0.5)
    assert paired_bootstrap(a, b).diff == pytest.approx(0.25)  # unweighted: 1 of 4 items
    assert 0.0 <= r.lo <= r.diff <= r.hi <= 1.0
    with pytest.raises(ValueError, match="weights must be positive"):
        paired_bootstrap(a, b, weights=[1, 1, 0, 1])


def test_bootstrap_indices_and_percentiles():
    from rest.stats import bootstrap_indices, percentile_interval

    idx = bootstrap_indices(5, 300, seed=2)
    assert idx.shape == (300, 5) and idx.min() >= 0 and idx.max() == 4
    assert (idx == bootstrap_indices(5, 300, seed=2)).all()
    assert percentile_interval(np.r_[np.arange(101.0), np.nan]) == pytest.approx((2.5, 97.5))
