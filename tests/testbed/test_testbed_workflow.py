"""The testbed study in the default DAG (dry runs): its jobs, that every RL run starts from
its own seed's warm-up, the variance study's checkpoints, and the switch that turns it off."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))
from pipeline_helpers import REPO, job_counts, snakemake


def test_default_run_holds_the_study_and_rl_runs_start_from_their_seeds_warmup():
    proc = snakemake("-n", "-p", "--forceall", check=True)
    out = proc.stdout
    counts = job_counts(out)
    assert counts["testbed_train"] == 4 * 3 and counts["testbed_eval"] == 4 * 3
    assert counts["report"] == 1 and counts["testbed_variance"] == 1  # the report draws the study's section
    starts = re.findall(r"rest train --config config/recipes/testbed.yaml --method (\w+) --model (\S+)"
                        r" .*?seed=(\d)", out)
    assert len(starts) == 12
    for method, model, seed in starts:
        expected = ("results/testbed/models/base" if method == "sft"
                    else f"results/testbed/runs/sft/seed{seed}/model")
        assert model == expected, (method, seed, model)
    variance = re.search(r"rest variance --checkpoints (.*?) --rollouts (.*?) --data (\S+)", out)
    assert variance.group(1).split() == ["results/testbed/runs/sft/seed0/model",
                                         "results/testbed/runs/grpo/seed0/checkpoints/checkpoint-20",
                                         "results/testbed/runs/grpo/seed0/model"]
    assert variance.group(2).split() == ["0", "20", "40"]
    assert variance.group(3) == "results/testbed/data/test.jsonl"
    # never evaluated on API-Bank or BFCL
    assert not re.search(r"rest eval (apibank|bfcl) --model results/testbed", out)
    report = out.split("rest report ", 1)[1].split("\n", 1)[0]
    assert "--testbed-scores results/testbed/eval/sft/seed0/scores.json" in report
    assert "--testbed-variance results/report/testbed/variance.json" in report


def test_the_study_is_one_switch(tmp_path):
    import yaml

    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg["testbed"] = {"enabled": False}
    path = tmp_path / "no_testbed.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = snakemake("-n", "--forceall", "--configfile", str(path), check=True)
    assert not any(rule.startswith("testbed") for rule in job_counts(proc.stdout))
