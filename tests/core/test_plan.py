"""``rest plan``: architecture figures, the memory model, the paper matrix, the preflight check."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rest.models.shapes import SHAPES
from rest.plan import load_workflow_config, make_plan, model_state_bytes, vllm_fit

REPO = Path(__file__).resolve().parents[2]


def _plan_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rest", "plan", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.mark.parametrize("name", list(SHAPES))
def test_parameter_counts_match_the_architecture(name):
    """Counted on a meta-device model of the same shape: no weights, no hub."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

    s = SHAPES[name]
    kw = s.config_kwargs()
    with torch.device("meta"):
        model = Qwen3ForCausalLM(Qwen3Config(**kw)) if s.qk_norm else LlamaForCausalLM(LlamaConfig(**kw))
    assert s.params == sum(p.numel() for p in model.parameters())


def test_published_sizes():
    assert round(SHAPES["Qwen3-14B"].params / 1e9, 2) == 14.77
    assert round(SHAPES["Llama-3.2-3B-Instruct"].params / 1e9, 2) == 3.21
    assert round(SHAPES["SmolLM2-135M-Instruct"].params / 1e6, 1) == 134.5


def test_model_states_are_16_bytes_per_parameter_sharded_by_zero_stage():
    n = 10**9
    assert model_state_bytes(n, 1, 0) == 16e9
    assert model_state_bytes(n, 8, 2) == 2e9 + 14e9 / 8  # bf16 weights whole; grads + fp32 states sharded
    assert model_state_bytes(n, 8, 3) == 2e9


def test_vllm_share_holds_weights_and_capped_context():
    a = {"vllm_overhead_gb": 2.0}
    s = SHAPES["Qwen3-14B"]  # 40 layers x 8 KV heads x 128 x 2 (K, V) x 2 bytes = 163,840 bytes per token
    assert s.kv_bytes_per_token() == 163840
    weights, seqs = vllm_fit(s, share_gb=28.0, tp=2, context=4096, a=a)
    assert weights == pytest.approx(2 * s.params / 2 / 1e9)
    assert seqs == pytest.approx((28.0 - weights - 2.0) / (163840 / 2 * 4096 / 1e9))


def test_paper_plan_json_fits_and_totals():
    proc = _plan_cli("--configfile", "config/paper.yaml", "--json")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    trains = [j for j in plan["jobs"] if j["rule"] == "train"]
    assert len(trains) == 132  # 117 of the paper plus rest_entropy on 5 models x 3 seeds
    for j in plan["jobs"]:
        assert {"job", "gpus", "mem_gb_per_gpu", "gpu_hours"} <= set(j)
        assert j["mem_gb_per_gpu"] <= 80
    assert all(j["gpus"] == 8 for j in trains)
    assert plan["total_gpu_hours"] == pytest.approx(sum(j["gpu_hours"] for j in plan["jobs"]), abs=0.5)
    assert plan["over_memory"] == []
    # The released schedule: 15 epochs x floor(3,920 x 4 / 2,048) = 105 rollouts of 8 updates each.
    rest4b = next(j for j in trains if j["job"] == "train Qwen3-4B-2507/rest/seed0")
    assert rest4b["work"]["rollouts"] == 105 and rest4b["work"]["optimizer_steps"] == 840
    assert rest4b["work"]["vllm_sequences_at_once"] >= 1


def test_text_plan_prints_every_assumption_beside_its_value():
    proc = _plan_cli("--configfile", "config/paper.yaml")
    assert proc.returncode == 0, proc.stderr
    for line in ("train_mfu                         0.3  assumed", "total GPU-hours:", "16 bytes/parameter"):
        assert line in proc.stdout


def _over_memory_config(tmp_path: Path) -> Path:
    cfg = yaml.safe_load((REPO / "config/paper.yaml").read_text())
    cfg["models"]["Qwen3-14B"]["train"]["zero_stage"] = 2
    cfg["models"]["Qwen3-14B"]["train_overrides"] = {"per_device_train_batch_size": 8}
    path = tmp_path / "paper-too-big.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_job_over_memory_fails_naming_job_and_fix(tmp_path):
    proc = _plan_cli("--configfile", str(_over_memory_config(tmp_path)))
    assert proc.returncode == 2
    assert "error: train Qwen3-14B/sft/seed0: needs" in proc.stderr
    assert "try zero_stage: 3, or a smaller per_device_train_batch_size" in proc.stderr


def test_dag_refuses_to_start_when_a_job_does_not_fit(tmp_path):
    proc = subprocess.run(["snakemake", "-n", "--configfile", str(_over_memory_config(tmp_path))], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode != 0
    assert "rest plan: train Qwen3-14B/sft/seed0: needs" in proc.stdout + proc.stderr


def test_gpu_check_replaces_only_what_it_measured():
    config = load_workflow_config(REPO / "config/paper.yaml")
    base = make_plan(config, None, REPO)
    check = {"gpu_tflops": 989, "train": {"params": 6e8, "tokens_per_s": 82416.7},
             "hf_generate": {"params": 6e8, "tokens_per_s": 1000.0}}
    measured = make_plan(config, check, REPO)
    a = measured["assumptions"]
    assert a["train_mfu"]["from"] == "measured"
    assert a["train_mfu"]["value"] == pytest.approx(6 * 6e8 * 82416.7 / 989e12)  # 0.30
    assert a["hf_decode_mfu"]["from"] == "measured"
    assert a["vllm_decode_mfu"]["from"] == "assumed"  # an HF rate says nothing about vLLM
    assert a["vllm_decode_mfu"]["value"] == base["assumptions"]["vllm_decode_mfu"]["value"]
    assert measured["total_gpu_hours"] == pytest.approx(base["total_gpu_hours"], rel=1e-3)


def test_unknown_assumption_in_config_is_named(tmp_path):
    cfg = yaml.safe_load((REPO / "config/paper.yaml").read_text())
    cfg["plan"] = {"train_mfuu": 0.4}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = _plan_cli("--configfile", str(path))
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: config plan.train_mfuu: unknown assumption")
