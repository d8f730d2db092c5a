"""Every method trains a step on CPU with the tiny model and writes its outputs; runs repeat exactly."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from rest.identity import BASE, RunIdentity
from rest.io import InputError
from rest.report.collect import read_training_log
from rest.methods import METHODS
from rest.train.run import train

REGIONS = {"FORMAT", "NAME", "PARAMS", "THINK", "OTHER"}


def read_metrics(run):
    """The step rows (the header line, which has no step, left out)."""
    return [row for line in (run / "metrics.jsonl").read_text().splitlines() if "step" in (row := json.loads(line))]


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_trains_and_writes_its_outputs(method, tiny_model_dir, data_for, tiny_recipe,
                                                     fast_overrides, tmp_path):
    m = METHODS[method]
    run = tmp_path / method
    run_id = RunIdentity("paper", "tiny", method, None if method == BASE else 0)
    summary = train(method, str(tiny_recipe), str(tiny_model_dir), str(data_for(method)), str(run),
                    fast_overrides(m.trainer), run_id)
    assert json.loads((run / "summary.json").read_text()) == summary
    assert summary["method"] == method and summary["display_name"] == m.display
    assert (run / "model" / "config.json").exists() and (run / "model" / "tokenizer.json").exists()
    config = yaml.safe_load((run / "config.yaml").read_text())
    # the run's identity and resolved config are in its summary and its training log
    assert summary["run"] == run_id.as_dict() and summary["config"] == config
    header = json.loads((run / summary["files"]["metrics"]).read_text().splitlines()[0])
    assert header == {"run": run_id.as_dict(), "config": config}
    assert read_training_log(run / "metrics.jsonl")[0] == run_id
    rows = read_metrics(run)
    if m.trainer == "none":
        assert summary["global_step"] == 0 and rows == []
        return
    for key, value in m.delta.items():
        assert config[key] == value
    assert summary["global_step"] == 1 and [r["step"] for r in rows] == [1]
    row = rows[0]
    assert {"loss", "entropy", "step_time_s", "learning_rate"} <= set(row)
    if m.trainer == "sft":
        assert not any(k.startswith("reward") for k in row)
        assert "region_weights" not in row and "rollout" not in row
    else:
        assert {"reward", "reward_format", "reward_correctness", "completion_length"} <= set(row)
        assert row["rollout"] == 1
        assert row["reward"] == pytest.approx(row["reward_format"] + row["reward_correctness"], abs=1e-5)
        assert set(row["region_weights"]) == REGIONS
        assert set(row["entropy_by_region"]) <= REGIONS and row["entropy_by_region"]
        if m.trainer == "grpo":
            assert set(row["region_weights"].values()) == {1.0}
        else:
            assert row["region_weights"]["OTHER"] == 0.0
            assert (row["region_weights"]["THINK"] == 0.0) == (method == "rest_no_cot_gradients")


@pytest.mark.slow
def test_same_config_and_seed_give_identical_metrics(tiny_model_dir, rl_jsonl, tiny_recipe, fast_overrides,
                                                     tmp_path):
    runs = []
    for name in ("a", "b"):
        train("rest", str(tiny_recipe), str(tiny_model_dir), str(rl_jsonl), str(tmp_path / name),
              fast_overrides("rest", max_steps=2, max_completion_length=12))
        runs.append([{k: v for k, v in r.items() if k != "step_time_s"} for r in read_metrics(tmp_path / name)])
    assert runs[0] == runs[1] and len(runs[0]) == 2


def test_cli_errors_name_the_bad_input(tiny_model_dir, train_jsonl, tiny_recipe, tmp_path):
    r = subprocess.run([sys.executable, "-m", "rest", "train", "--config", str(tiny_recipe), "--method", "ppo",
                        "--model", str(tiny_model_dir), "--data", str(train_jsonl), "--output", str(tmp_path / "x")],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 2 and "error: --method 'ppo'" in r.stderr
    with pytest.raises(InputError, match="nope: no such folder"):
        train("grpo", str(tiny_recipe), str(tmp_path / "nope"), str(train_jsonl), str(tmp_path / "y"))
    with pytest.raises(InputError, match="--data is required"):
        train("sft", str(tiny_recipe), str(tiny_model_dir), None, str(tmp_path / "z"))
    assert not any((tmp_path / d / "summary.json").exists() for d in "xyz")
    with pytest.raises(InputError, match="--run-id seed=3 but the run's seed is 0"):
        train("sft", str(tiny_recipe), str(tiny_model_dir), str(train_jsonl), str(tmp_path / "w"),
              run_id=RunIdentity("paper", "tiny", "sft", 3))
    with pytest.raises(InputError, match="--run-id method=grpo but --method sft"):
        train("sft", str(tiny_recipe), str(tiny_model_dir), str(train_jsonl), str(tmp_path / "w"),
              run_id=RunIdentity("paper", "tiny", "grpo", 0))
