"""Hostile model output never crashes or loses an evaluation (the generator is scripted)."""

from __future__ import annotations

import json

import pytest

from rest.cli import main
from rest.eval import generation


class ScriptedGenerator:
    """Answers every prompt with the same text; records the prompts it was given."""

    def __init__(self, text: str):
        self.text = text
        self.truncated_prompts = 0
        self.prompts: list = []

    def generate(self, conversations, desc="generate"):
        self.prompts.extend(conversations)
        return [self.text for _ in conversations]


@pytest.fixture
def scripted(monkeypatch):
    def install(text: str) -> ScriptedGenerator:
        gen = ScriptedGenerator(text)
        monkeypatch.setattr(generation, "load_generator", lambda *a, **k: gen)
        return gen
    return install


def _bfcl(out, *categories, extra=()):
    return main(["eval", "bfcl", "--model", "scripted", "--output", str(out), "--categories", *categories,
                 "--limit-per-category", "1", *extra])


def _rows(out):
    return [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]


#: Runs the CLI at a shallow stack, as a user does: there a call nested ~986 levels decodes
#: but overflows the stack when the results are written (how deep depends on the stack,
#: so the script sweeps the depths around it).
_NESTED_SWEEP = """
import sys
from rest.eval import generation
class Deep:
    truncated_prompts = 0
    def generate(self, conversations, desc=""):
        deep = "[" * depth + "]" * depth
        return ['<tool_call>\\n{"name": "f", "parameters": {"base": ' + deep + '}}\\n</tool_call>'] * len(conversations)
generation.load_generator = lambda *a, **k: Deep()
from rest.cli import main
for depth in range(980, 996):
    out = sys.argv[1] + "/" + str(depth)
    assert main(["eval", "bfcl", "--model", "m", "--output", out, "--categories", "simple_python",
                 "--limit-per-category", "1"]) == 0, depth
"""


def test_deeply_nested_call_is_scored_wrong_and_written(tmp_path):
    import os
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _NESTED_SWEEP, str(tmp_path)], capture_output=True, text=True,
                          env=os.environ, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for depth in range(980, 996):
        (row,) = _rows(tmp_path / str(depth))
        assert row["valid"] is False and row["decoded"] == []
