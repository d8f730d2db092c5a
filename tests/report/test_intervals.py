"""Paired bootstrap intervals of method differences, from hand-built score files."""

from __future__ import annotations

import json

import pytest

from rest.identity import RunIdentity
from rest.io import InputError
from rest.report.intervals import (
    comparisons,
    item_outcomes,
    item_weights,
    paired_differences,
    write_intervals,
)
from rest.scores import scores_record

LEVELS = {1: 4, 2: 2}  # items per API-Bank level in these hand-built evaluations


def write_apibank(root, method, seed, outcomes, model="tiny"):
    """scores.json as `rest eval apibank` writes it (the folder says nothing: identity is inside)."""
    folder = root / f"{model}-{method}-{seed}"
    folder.mkdir(parents=True)
    items = [{"id": f"level-{lv}/{i}", "correct": bool(c), "group": f"level_{lv}"}
             for lv, cs in outcomes.items() for i, c in enumerate(cs)]
    counts = {f"level_{lv}": {"correct": sum(outcomes[lv]), "total": n, "predicted": n} for lv, n in LEVELS.items()}
    record = scores_record("apibank", RunIdentity("paper", model, method, seed), versions={}, generation={},
                           config={}, items=items, metrics={}, counts=counts)
    (folder / "scores.json").write_text(json.dumps(record))
    return folder / "scores.json"


@pytest.fixture
def apibank_runs(tmp_path):
    return [
        write_apibank(tmp_path, "grpo", 0, {1: [1, 0, 0, 0], 2: [0, 1]}),
        write_apibank(tmp_path, "rest", 0, {1: [1, 1, 0, 0], 2: [1, 1]}),
        write_apibank(tmp_path, "grpo", 1, {1: [0, 0, 1, 0], 2: [0, 0]}),
        write_apibank(tmp_path, "rest", 1, {1: [1, 0, 1, 0], 2: [0, 0]}),
        write_apibank(tmp_path, "rest_no_curriculum", 0, {1: [1, 1, 0, 0], 2: [1, 1]}),
        write_apibank(tmp_path, "sft_grpo", 7, {1: [1, 1, 1, 1], 2: [1, 1]}),  # no GRPO seed 7: no pair
    ]


def test_differences_by_hand(apibank_runs):
    df = paired_differences(apibank_runs, [("rest", "grpo"), ("rest_no_curriculum", "rest"), ("sft_grpo", "grpo")],
                            n_resamples=500).set_index(["method", "metric"])
    # Overall = micro-average over 6 items: seed 0 +2/6, seed 1 +1/6 -> mean 25 points.
    r = df.loc[("rest", "Overall Acc")]
    assert r["diff"] == pytest.approx(25.0) and r["n_pairs"] == 12 and r["seeds"] == 2
    assert r["ci_lo"] < 25.0 < r["ci_hi"]
    assert df.loc[("rest", "Level 1 Acc"), "diff"] == pytest.approx(25.0)  # +1/4 in each seed
    assert df.loc[("rest", "Level 2 Acc"), "diff"] == pytest.approx(25.0)  # +1/2, then 0
    # The ablation equals ResT on seed 0: the interval collapses onto 0 and does not exclude it.
    ab = df.loc[("rest_no_curriculum", "Overall Acc")]
    assert (ab["diff"], ab["ci_lo"], ab["ci_hi"], ab["excludes_zero"]) == (0.0, 0.0, 0.0, False)
    assert ab["seeds"] == 1
    assert "sft_grpo" not in df.index.get_level_values("method")  # its seed never meets GRPO's


def test_an_interval_that_excludes_zero_is_flagged(tmp_path):
    paths = []
    for s in range(3):
        paths.append(write_apibank(tmp_path, "grpo", s, {1: [0, 0, 0, 0], 2: [0, 0]}))
        paths.append(write_apibank(tmp_path, "rest", s, {1: [1, 1, 1, 0], 2: [1, 0]}))
    files = write_intervals(paths, tmp_path / "tables", {"rest": "ResT", "grpo": "GRPO"}, n_resamples=500)
    md = (tmp_path / "tables" / "paired_differences.md").read_text()
    assert "| tiny | apibank | Overall Acc | ResT − GRPO | +66.67 |" in md and "✱ yes" in md
    assert "single runs" in md
    tex = (tmp_path / "tables" / "paired_differences.tex").read_text()
    assert r"$\ast$" in tex and "ResT $-$ GRPO" in tex and "single runs" in tex
    assert [p.suffix for p in files] == [".csv", ".md", ".tex"]


def test_bfcl_columns_weight_items_as_the_column_does():
    totals = {"simple_python": 4, "simple_java": 2, "simple_javascript": 1, "multiple": 2, "parallel": 1,
              "parallel_multiple": 1}
    w = item_weights("bfcl", totals)["Non-Live AST Acc"]
    # mean of (simple = mean of three languages), multiple, parallel, parallel_multiple
    assert w == pytest.approx({"simple_python": 1 / 48, "simple_java": 1 / 24, "simple_javascript": 1 / 12,
                               "multiple": 1 / 8, "parallel": 1 / 4, "parallel_multiple": 1 / 4})
    assert sum(w[g] * n for g, n in totals.items()) == pytest.approx(1.0)
    assert item_weights("apibank", {"level_1": 4, "level_2": 2, "level_3": 0})["Overall Acc"] == pytest.approx(
        {"level_1": 1 / 6, "level_2": 1 / 6})


def test_items_come_from_the_score_file(tmp_path):
    path = tmp_path / "scores.json"
    run = RunIdentity("paper", "m", "rest", 0)

    def write(items):
        path.write_text(json.dumps(scores_record("bfcl", run, versions={}, generation={}, config={},
                                                 items=items, metrics={})))

    write([{"id": "simple_python_0", "group": "simple_python", "correct": True}])
    assert item_outcomes(path).to_dict("records") == [{"item": "simple_python_0", "group": "simple_python",
                                                       "correct": 1.0}]
    write([{"id": "simple_python_0", "correct": True}])
    with pytest.raises(InputError, match="scores.json: per-item results lack key 'group'"):
        item_outcomes(path)
    write([])
    assert item_outcomes(path) is None


def test_comparisons_are_the_papers():
    from rest.methods import Method

    registry = {m.name: m for m in [
        Method("grpo", "GRPO", "grpo"), Method("sft_grpo", "SFT+GRPO", "grpo"), Method("rest", "ResT", "rest"),
        Method("rest_entropy", "ResT (entropy)", "rest"), Method("rest_no_cot_gradients", "No CoT", "rest")]}
    assert comparisons(registry) == [("rest", "grpo"), ("rest_entropy", "grpo"), ("rest_no_cot_gradients", "rest"),
                                     ("sft_grpo", "grpo")]
    assert ("rest", "grpo") in comparisons() and ("rest_no_curriculum", "rest") in comparisons()
