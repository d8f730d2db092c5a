"""A real local SLURM cluster runs a training job and its evaluation through the SLURM
profile; a training job killed mid-run leaves nothing taken for complete and resumes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from pipeline_helpers import REPO


@pytest.fixture(scope="module")
def prepared_tree(tmp_path_factory, smoke):
    """A clone of the finished smoke run, so these tests' changes stay out of the shared one."""
    return smoke.clone(tmp_path_factory.mktemp("pipeline") / "repo")


def _cluster_or_skip() -> None:
    if os.geteuid() != 0:
        pytest.skip("starting slurmctld/slurmd needs root")
    proc = subprocess.run(["bash", str(REPO / "scripts/slurm_local.sh")], check=False, capture_output=True, text=True,
                          timeout=900)
    if proc.returncode != 0:
        pytest.skip(f"slurmd cannot run here: {proc.stderr.strip() or proc.stdout.strip()}")


def _slurm_jobs() -> dict[str, dict[str, str]]:
    """Jobs slurmctld still knows (MinJobAge keeps finished ones): id -> scontrol fields."""
    out = subprocess.run(["scontrol", "show", "job", "--oneliner"], check=False, capture_output=True, text=True).stdout
    jobs = {}
    for line in out.splitlines():
        fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
        if "JobId" in fields:
            jobs[fields["JobId"]] = fields
    return jobs


@pytest.mark.slow
@pytest.mark.slurm
def test_training_and_evaluation_run_through_sbatch(prepared_tree):
    _cluster_or_skip()
    before = set(_slurm_jobs())
    target = "results/eval/tiny/sft/seed0/apibank/scores.json"
    local = ["slurm_partition=debug", "mem_mb=2000", "runtime=30", "cpus_per_task=1"]
    # the smoke run already trained SFT: force its training and evaluation through sbatch
    proc = prepared_tree.snakemake(
        target, "--forcerun", "train", "eval_apibank", "--workflow-profile", "profiles/slurm", "--executor", "slurm", "--jobs", "2",
        "--default-resources", *local,
        # the local cluster has one CPU partition and no GPU: replace the profile's GPU requests
        "--set-resources", *[f"{rule}:{r}" for rule in ("train", "eval_apibank") for r in local],
        "--slurm-init-seconds-before-status-checks", "5",
        timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert (prepared_tree.root / target).is_file()
    assert (prepared_tree.results / "runs/tiny/sft/seed0/summary.json").is_file()
    new = {k: v for k, v in _slurm_jobs().items() if k not in before}
    comments = " ".join(v.get("Comment", "") for v in new.values())
    assert "rule_train" in comments and "rule_eval_apibank" in comments, new
    assert all(v["JobState"] == "COMPLETED" for v in new.values()), new
    assert "sbatch" in proc.stderr or "SLURM jobid" in proc.stderr


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], check=False, capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        p, pp = map(int, line.split())
        children.setdefault(pp, []).append(p)
    found, stack = [], [pid]
    while stack:
        for c in children.get(stack.pop(), []):
            found.append(c)
            stack.append(c)
    return found


def _train_process(root: int) -> int | None:
    for pid in _descendants(root):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd[1:4] == [b"-m", b"rest", b"train"]:
            return pid
    return None


@pytest.mark.slow
def test_sigterm_mid_training_leaves_nothing_complete_and_rerun_resumes(prepared_tree):
    run = prepared_tree.results / "runs/tiny/grpo/seed0"
    target = "results/runs/tiny/grpo/seed0/summary.json"
    config = ["--config", "train_overrides={'max_steps': 6}"]
    shutil.rmtree(run)  # start GRPO afresh: the smoke run's own checkpoints must not be resumed
    job = prepared_tree.popen("--cores", "1", target, *config)
    deadline = time.time() + 300
    while not list((run / "checkpoints").glob("checkpoint-*/trainer_state.json")):
        assert job.poll() is None, job.stdout.read()
        assert time.time() < deadline, "no checkpoint within 5 minutes"
        time.sleep(0.5)
    train = _train_process(job.pid)
    assert train is not None
    os.kill(train, signal.SIGTERM)
    job.communicate(timeout=120)
    assert job.returncode != 0
    assert not (run / "summary.json").exists()
    # Snakemake itself still wants the job: nothing it would take for complete was left
    dry = prepared_tree.snakemake("-n", target, *config)
    assert "train" in dry.stdout and "Nothing to be done" not in dry.stdout + dry.stderr

    rerun = prepared_tree.snakemake("--cores", "1", target, *config, timeout=600)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["resumed_from"] and "checkpoint-" in summary["resumed_from"]
    assert "resuming from" in (prepared_tree.results / "logs/train/tiny/grpo/seed0.log").read_text()
