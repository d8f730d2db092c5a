"""Reruns through the DAG: an edited recipe retrains from scratch (no old checkpoint is
continued), a forced rerun of an unchanged run finalizes it without training, and a run
killed between its last checkpoint and summary.json is finalized by the next run."""

from __future__ import annotations

import json
import shutil

import pytest
from pipeline_helpers import copy_tree, snakemake

TARGET = "results/runs/tiny/sft/seed0/summary.json"
SMALL = ["--config", "train_overrides={'max_steps': 2, 'max_train_records': 8}"]


@pytest.mark.slow
def test_recipe_edit_forced_rerun_and_kill_after_last_checkpoint(tmp_path, data_dir):
    tree = copy_tree(tmp_path / "repo")
    run = tree / "results/runs/tiny/sft/seed0"
    snakemake("--cores", "2", TARGET, *SMALL, cwd=tree, timeout=900, check=True)
    first = json.loads((run / "summary.json").read_text())
    assert first["global_step"] == 2 and first["resumed_from"] is None

    recipe = tree / "config/recipes/tiny.yaml"
    recipe.write_text(recipe.read_text().replace("learning_rate: 1.0e-4", "learning_rate: 3.0e-4"))
    snakemake("--cores", "2", TARGET, *SMALL, cwd=tree, timeout=900, check=True)
    edited = json.loads((run / "summary.json").read_text())
    assert edited["resumed_from"] is None and not edited["finalized_without_training"]
    assert edited["global_step"] == 2 and edited["fingerprint"] != first["fingerprint"]
    log = (tree / "results/logs/train/tiny/sft/seed0.log").read_text()
    assert "config (learning_rate)" in log
    weights = (run / "model/model.safetensors").read_bytes()

    snakemake("--cores", "2", TARGET, *SMALL, "--forcerun", "train", cwd=tree, timeout=900, check=True)
    forced = json.loads((run / "summary.json").read_text())
    assert forced["finalized_without_training"] and forced["global_step"] == 2
    assert forced["train_loss"] == pytest.approx(edited["train_loss"], rel=1e-9)
    assert (run / "model/model.safetensors").read_bytes() == weights

    # killed after the last checkpoint: neither model/ nor summary.json was written
    shutil.rmtree(run / "model")
    (run / "summary.json").unlink()
    snakemake("--cores", "2", TARGET, *SMALL, cwd=tree, timeout=900, check=True)
    again = json.loads((run / "summary.json").read_text())
    assert again["finalized_without_training"] and again["global_step"] == 2
    assert again["train_loss"] == pytest.approx(edited["train_loss"], rel=1e-9)
    assert (run / "model/model.safetensors").read_bytes() == weights
