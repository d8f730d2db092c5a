"""The tiny model through both benchmarks on CPU, with small limits, via the CLI."""

from __future__ import annotations

import json

import pytest

from rest.cli import main
from rest.eval import bfcl


def _in_range(values):
    return all(isinstance(v, (int, float)) and 0.0 <= v <= 100.0 for v in values)


@pytest.mark.slow
def test_apibank_end_to_end(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "apibank"
    assert main(["eval", "apibank", "--model", str(tiny_model_dir), "--output", str(out), "--limit", "2",
                 "--max-new-tokens", "8", "--batch-size", "3"]) == 0
    scores = json.loads((out / "scores.json").read_text())
    assert scores["benchmark"] == "apibank"
    assert set(scores["metrics"]) == {"Level 1 Acc", "Level 2 Acc", "Level 3 Acc", "Overall Acc"}
    assert _in_range(scores["metrics"].values())
    assert {k: v["total"] for k, v in scores["counts"].items()} == {"level_1": 399, "level_2": 67, "level_3": 131}
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert {(r["level"], r["index"]) for r in rows} == {(lv, i) for lv in (1, 2, 3) for i in range(2)}
    assert all(isinstance(r["completion"], str) for r in rows)
    # the predictions file scores the same through --predictions
    capsys.readouterr()
    assert main(["eval", "apibank", "--predictions", str(out / "predictions.jsonl")]) == 0
    short = json.loads(capsys.readouterr().out)
    assert short["overall"] == scores["metrics"]["Overall Acc"]
    assert short["level_1"] == scores["metrics"]["Level 1 Acc"]


@pytest.mark.slow
def test_bfcl_end_to_end(tiny_model_dir, tmp_path):
    out = tmp_path / "bfcl"
    categories = ["simple_python", "simple_java", "multiple", "live_relevance", "irrelevance",
                  "multi_turn_base", "multi_turn_miss_func"]
    assert main(["eval", "bfcl", "--model", str(tiny_model_dir), "--output", str(out),
                 "--categories", *categories, "--limit-per-category", "2", "--max-new-tokens", "8",
                 "--max-steps-per-turn", "2", "--batch-size", "8"]) == 0
    scores = json.loads((out / "scores.json").read_text())
    assert scores["benchmark"] == "bfcl"
    assert scores["versions"]["data"] == "v4" and scores["versions"]["bfcl-eval"]
    assert list(scores["categories"]) == bfcl.expand_categories(categories)
    assert _in_range(scores["categories"].values()) and _in_range(scores["metrics"].values())
    # only columns whose categories all ran; never a 0 for one that did not
    assert set(scores["metrics"]) == {"Relevance Detection", "Base", "Miss Func"}
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    expected = {c.id for cat in categories for c in bfcl.load_cases(cat, 2)}
    assert {r["id"] for r in rows} == expected and len(rows) == len(expected) == 14
    multi = [r for r in rows if r["category"].startswith("multi_turn")]
    assert all(len(r["completions"]) >= 1 for r in multi)
