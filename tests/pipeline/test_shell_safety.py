"""No config value reaches a shell as code: `;`, `$(...)`, backticks and spaces in every
string-valued key the rules use arrive in the command as plain words, and paths still work."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from pipeline_helpers import REPO, copy_tree, snakemake


def hostile(tag: str) -> str:
    """A name that runs three commands if a shell ever reads it unquoted (each creates a marker)."""
    return f"{tag} x; touch PWNED_{tag}_1; $(touch PWNED_{tag}_2) `touch PWNED_{tag}_3` y"


def _markers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("PWNED_*"))


@pytest.fixture(scope="module")
def tree(tmp_path_factory, data_dir) -> Path:
    """A copy of the tree, a data folder and a recipe under hostile names, and a config using them."""
    tree = copy_tree(tmp_path_factory.mktemp("hostile") / "repo")
    os.symlink(data_dir, tree / hostile("data"))
    recipe = f"config/{hostile('recipe')}.yaml"
    (tree / recipe).write_text((REPO / "config/recipes/tiny.yaml").read_text())
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg.update(results=hostile("results"), data_dir=hostile("data"), recipe=recipe)
    cfg["models"]["hubbed"] = {"source": "hub", "hub_name": hostile("hub")}
    cfg["train_overrides"] = {"run_name": hostile("override"), "report_to": ["none"], "learning_rate": "3e-3"}
    cfg["curate"]["rl_file"] = hostile("rlfile")
    (tree / "hostile.yaml").write_text(yaml.safe_dump(cfg))
    return tree


def test_every_rule_passes_config_values_as_plain_words(tree, tmp_path):
    proc = snakemake("-n", "-p", "--forceall", "--configfile", "hostile.yaml", cwd=tree)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    commands = [line.split("Shell command: ", 1)[1] for line in proc.stdout.splitlines()
                if line.startswith("Shell command: python")]
    rules = {c.split()[3] for c in commands}
    assert rules == {"data", "curate", "build-model", "train", "eval", "report", "testbed", "variance"}

    # Run every command with a stand-in `python` that records its words; logs go where the rule says.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python"
    fake.write_text('#!/bin/sh\nexec "$RECORDER" "$0" "$@"\n')
    recorder = bin_dir / "record"
    recorder.write_text(f"#!{os.sys.executable}\nimport json, os, sys\n"
                        "open(os.environ['ARGV_LOG'], 'a').write(json.dumps(sys.argv[2:]) + '\\n')\n")
    for script in (fake, recorder):
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    argv_log = tmp_path / "argv.jsonl"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "RECORDER": str(recorder),
           "ARGV_LOG": str(argv_log)}
    for command in commands:
        words = shlex.split(command)
        (tree / words[words.index(">") + 1]).parent.mkdir(parents=True, exist_ok=True)
        run = subprocess.run(["bash", "-c", command], cwd=tree, env=env, capture_output=True, text=True, check=False)
        assert run.returncode == 0, (command, run.stderr)
    assert _markers(tree) == [] and _markers(tmp_path) == []

    calls = [json.loads(line) for line in argv_log.read_text().splitlines()]
    assert len(calls) == len(commands)
    results = hostile("results")
    words = [w for call in calls for w in call]
    assert f"{results}/data/raw" in words
    assert hostile("data") in words and hostile("hub") in words and hostile("rlfile") in words
    assert f"config/{hostile('recipe')}.yaml" in words
    train = next(c for c in calls if c[2] == "train" and c[c.index("--method") + 1] == "sft"
                 and c[c.index("--config") + 1] == f"config/{hostile('recipe')}.yaml")
    assert f"run_name={hostile('override')}" in train
    assert 'report_to=["none"]' in train and "learning_rate=3e-3" in train
    report = next(c for c in calls if c[2] == "report")
    assert json.loads(report[report.index("--run-config") + 1])["train_overrides"]["run_name"] == hostile("override")


def test_hostile_paths_still_work(tree):
    """The raw data and curated sets are really built under a results folder and from a data folder
    whose names hold shell syntax."""
    cfg = yaml.safe_load((tree / "hostile.yaml").read_text())
    del cfg["models"]["hubbed"], cfg["curate"]["rl_file"]
    (tree / "paths.yaml").write_text(yaml.safe_dump(cfg))
    target = f"{hostile('results')}/data/curated/sft.jsonl"
    proc = snakemake("--cores", "1", target, "--configfile", "paths.yaml", cwd=tree, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert len((tree / target).read_text().splitlines()) == 64
    assert _markers(tree) == []
