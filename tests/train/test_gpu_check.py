"""benchmarks/gpu_check: its CPU dry run exercises every step, and `rest plan` reads what it writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_dry_run_writes_the_json_plan_reads(tmp_path, data_dir):
    out = tmp_path / "dry.json"
    proc = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--device", "cpu", "--tiny", "--output", str(out),
                           "--data-dir", str(data_dir)], cwd=REPO, capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    check = json.loads(out.read_text())
    assert check["dry_run"] is True
    ratios = check["rest_vs_grpo"]
    assert len(ratios["grpo_s"]) == len(ratios["rest_s"]) == 2
    assert ratios["time_ratio"] == pytest.approx(ratios["rest_median_s"] / ratios["grpo_median_s"], rel=1e-2)
    assert check["train"]["tokens_per_s"] > 0 and check["hf_generate"]["tokens_per_s"] > 0
    assert check["batch"] == {"completions": 2, "prompt_tokens": 32, "completion_tokens": 64}

    plan = [sys.executable, "-m", "rest", "plan", "--configfile", "config/paper.yaml", "--json", "--gpu-check"]
    refused = subprocess.run([*plan, str(out)], cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 2 and "is a dry run" in refused.stderr

    # The same figures as if measured on an H100 replace only what they measure.
    check.update(dry_run=False, gpu_tflops=989)
    out.write_text(json.dumps(check))
    used = subprocess.run([*plan, str(out)], cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    a = json.loads(used.stdout)["assumptions"]
    assert a["train_mfu"] == {**a["train_mfu"], "from": "measured",
                              "value": pytest.approx(6 * check["params"] * check["train"]["tokens_per_s"] / 989e12)}
    assert a["vllm_decode_mfu"]["from"] == "assumed" and a["gpu_mem_gb"]["value"] == 80


def test_gpu_check_script_is_valid_bash():
    assert subprocess.run(["bash", "-n", str(REPO / "benchmarks/gpu_check.sh")], check=False).returncode == 0
