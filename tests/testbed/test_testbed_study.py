"""The testbed study end to end through the CLI, in minutes-free size: tasks -> its own tiny
model -> SFT warm-up -> GRPO and ResT (entropy rule) from it -> held-out scores with a curve
over kept checkpoints -> the report's summary.json in the shape the study promises."""

from __future__ import annotations

import json

import pytest

from rest.cli import main

ARCH = ["hidden_size=32", "intermediate_size=64", "num_hidden_layers=1", "num_attention_heads=2",
        "num_key_value_heads=1", "head_dim=16"]
SMALL = ["max_steps=2", "save_steps=1", "per_device_train_batch_size=4", "max_train_records=16"]
SMALL_RL = ["num_generations=2", "max_completion_length=8"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("testbed")
    data, base = root / "data", root / "base"
    recipe = "config/recipes/testbed.yaml"
    assert main(["testbed", "data", "--output", str(data), "--train", "32", "--val", "4", "--test", "6"]) == 0
    assert main(["build-model", "tiny", "--corpus", str(data / "train.jsonl"), "--output", str(base),
                 "--vocab-size", "400", "--arch", *ARCH]) == 0
    runs = {}
    for method in ("sft", "grpo", "rest_entropy"):
        run = runs[method] = root / "runs" / method / "seed0"
        init = base if method == "sft" else runs["sft"] / "model"
        extra = [] if method == "sft" else SMALL_RL
        run_id = f"study=testbed,model=testbed-tiny,method={method},seed=0"
        assert main(["train", "--config", recipe, "--method", method, "--model", str(init), "--data",
                     str(data / "train.jsonl"), "--output", str(run), "--run-id", run_id, "seed=0",
                     *SMALL, *extra]) == 0
        curve = [] if method == "sft" else ["--run", str(run)]
        assert main(["eval", "testbed", "--model", str(run / "model"), "--data", str(data / "test.jsonl"),
                     "--curve-data", str(data / "val.jsonl"), *curve, "--output", str(root / "eval" / method),
                     "--max-new-tokens", "8", "--run-id", run_id]) == 0
    report = root / "report"
    scores = [str(root / "eval" / m / "scores.json") for m in runs]
    summaries = [str(runs[m] / "summary.json") for m in ("grpo", "rest_entropy")]
    assert main(["testbed", "report", "--scores", *scores, "--runs", *summaries,
                 "--output", str(report / "testbed"), "--figures", str(report / "figures")]) == 0
    return root


def test_scores_record_identity_and_a_curve_over_kept_checkpoints(study):
    sft = json.loads((study / "eval" / "sft" / "scores.json").read_text())
    grpo = json.loads((study / "eval" / "grpo" / "scores.json").read_text())
    assert grpo["run"] == {"study": "testbed", "model": "testbed-tiny", "method": "grpo", "seed": 0}
    assert [p["rollout"] for p in sft["curve"]] == [0]
    assert [p["rollout"] for p in grpo["curve"]] == [1, 2]  # checkpoint-1, checkpoint-2 (the final model)
    assert grpo["metrics"]["n"] == 6 and all(p["n"] == 4 for p in grpo["curve"])
    rows = (study / "eval" / "grpo" / "predictions.jsonl").read_text().splitlines()
    assert len(rows) == 6 and {"format", "exact", "reward_static", "completion"} <= set(json.loads(rows[0]))


def test_summary_has_the_promised_shape_and_the_table_and_figures_exist(study):
    report = study / "report"
    summary = json.loads((report / "testbed" / "summary.json").read_text())
    for method in ("sft", "grpo", "rest_entropy"):
        seed = summary["methods"][method]["seeds"]["0"]
        assert set(seed) == {"format_pct", "exact_pct", "reward_static"}
    diff = summary["vs_grpo"]["rest_entropy"]["exact_pct"]
    assert diff["ci95"][0] <= diff["diff"] <= diff["ci95"][1]
    assert set(summary["vs_grpo"]) == {"rest_entropy"}
    assert summary["grpo_vs_sft"]["exact_pct"]["n_pairs"] == 6
    for stem in ("testbed_exact_calls", "testbed_region_entropy", "testbed_region_weights"):
        assert (report / "figures" / f"{stem}.png").stat().st_size > 0
    section = (report / "testbed" / "section.md").read_text()
    assert "](figures/testbed_exact_calls.png)" in section and "](testbed/summary.json)" in section
    assert "variance.json" not in section  # not linked unless the variance study is given
    for ext in ("csv", "md", "tex"):
        assert (report / "testbed" / f"testbed.{ext}").is_file()
