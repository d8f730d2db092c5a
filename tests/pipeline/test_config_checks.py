"""Configs that would fail only inside a job, or plan outputs at the filesystem root, fail at
`snakemake -n`, naming the key."""

from __future__ import annotations

import pytest
import yaml
from pipeline_helpers import REPO, snakemake


def _dry_run(tmp_path, **changes):
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    for key, value in changes.items():
        target = cfg
        *parents, last = key.split(".")
        for part in parents:
            target = target[part]
        target[last] = value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = snakemake("-n", "--quiet", "rules", "--configfile", str(path))
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("results", ["", "//"])
def test_results_must_be_a_folder_other_than_the_root(tmp_path, results):
    code, out = _dry_run(tmp_path, results=results)
    assert code != 0
    assert "results" in out and "does not match" in out


@pytest.mark.parametrize("key, value, message", [
    ("eval.bfcl.categories", ["simple_python", "simple_cobol"],
     "config eval.bfcl.categories: --categories: unknown category or group 'simple_cobol'"),
    ("train_overrides", {"max_steps": "abc"}, "config train_overrides / recipe: override: max_steps='abc' must be int"),
    ("train_overrides", {"fresh": "sometimes"}, "override fresh='sometimes': expected true or false"),
])
def test_values_only_a_job_would_reject_fail_the_dry_run(tmp_path, key, value, message):
    code, out = _dry_run(tmp_path, **{key: value})
    assert code != 0
    assert message in out


def test_typed_overrides_and_lists_pass_the_dry_run(tmp_path):
    code, out = _dry_run(tmp_path, train_overrides={"learning_rate": "3e-3", "report_to": ["none"], "max_steps": 3},
                         results="out dir")
    assert code == 0, out
