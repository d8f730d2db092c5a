"""The one shared smoke run: every DAG test drives `config/smoke.yaml`, never the default
config, so the tests' time stays fixed while the default run grows. The whole smoke DAG runs
once per session; tests that change runs work on a clone of its finished tree."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pipeline_helpers import SMOKE, copy_tree, snakemake


@dataclass
class SmokeTree:
    """A copy of the repository whose Snakemake calls all read the smoke config."""

    root: Path
    dag: subprocess.CompletedProcess | None = field(default=None, repr=False)

    @property
    def results(self) -> Path:
        return self.root / "results"

    def snakemake(self, *args: str, timeout: int = 300, check: bool = False):
        # `=`: a bare --configfile would swallow the targets that follow it as more config files
        return snakemake(f"--configfile={SMOKE}", *args, cwd=self.root, timeout=timeout, check=check)

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(["snakemake", f"--configfile={SMOKE}", *args], cwd=self.root,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def clone(self, dest: Path) -> SmokeTree:
        """A copy with its results and Snakemake's records (timestamps kept), to change freely."""
        shutil.copytree(self.root, dest, symlinks=True)
        return SmokeTree(dest, self.dag)


@pytest.fixture(scope="session")
def smoke(tmp_path_factory, data_dir) -> SmokeTree:
    """The smoke DAG, run to the end once per session (its outcome in `.dag`)."""
    tree = SmokeTree(copy_tree(tmp_path_factory.mktemp("smoke") / "repo"))
    tree.dag = tree.snakemake("--cores", "2", timeout=1800)
    if tree.dag.returncode != 0:
        pytest.fail("the smoke DAG failed:\n" + tree.dag.stdout[-3000:] + tree.dag.stderr[-6000:])
    return tree
