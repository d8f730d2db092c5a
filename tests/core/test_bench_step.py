"""bench_step prints each ratio with its pairs' spread and flags a spread wider than the margin."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SPEC = importlib.util.spec_from_file_location(
    "bench_step", Path(__file__).resolve().parents[2] / "benchmarks" / "bench_step.py")
bench_step = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(bench_step)


def test_a_spread_wider_than_the_margin_is_called_noise():
    # the busy-machine case: 0.662 overall, pairs from 0.55 to 1.10 around a 0.02 margin
    lines = bench_step.ratio_lines("step time", 0.662, [0.55, 0.70, 1.10, 0.60], 1.02)
    assert lines[0] == ("ResT/GRPO step time: 0.662  (target <= 1.02; 4 pairs: "
                        "min 0.550 / median 0.650 / max 1.100)")
    assert lines[1].startswith("  NOISE: the pairs spread 0.550, wider than the target's margin 0.02")


def test_a_tight_spread_is_a_result():
    lines = bench_step.ratio_lines("peak RSS", 1.004, [1.00, 1.004, 1.03], 1.05)
    assert lines == ["ResT/GRPO peak RSS: 1.004  (target <= 1.05; 3 pairs: min 1.000 / median 1.004 / max 1.030)"]
