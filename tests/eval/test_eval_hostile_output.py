"""Hostile model output never crashes or loses an evaluation (the generator is scripted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rest.cli import main
from rest.eval import generation


class ScriptedGenerator:
    """Answers every prompt with the same text; records the prompts it was given."""

    def __init__(self, text: str):
        self.text = text
        self.truncated_prompts = 0
        self.context_tokens = None
        self.prompts: list = []

    def generate(self, conversations, desc="generate", on_batch=None):
        self.prompts.extend(conversations)
        texts = [self.text for _ in conversations]
        if on_batch is not None:
            on_batch(list(range(len(texts))), texts)
        return texts


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
    context_tokens = None
    def generate(self, conversations, desc="", on_batch=None):
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
    proc = subprocess.run([sys.executable, "-c", _NESTED_SWEEP, str(tmp_path)], capture_output=True, text=True,
                          env=os.environ, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for depth in range(980, 996):
        (row,) = _rows(tmp_path / str(depth))
        assert row["valid"] is False and row["decoded"] == []


class TokenizingGenerator(ScriptedGenerator):
    """A scripted generator that tokenizes every prompt, as a real backend does first."""

    def __init__(self, texts, tokenizer):
        super().__init__("")
        self.texts, self.tokenizer = list(texts), tokenizer

    def generate(self, conversations, desc="generate", on_batch=None):
        from rest.prompt import render_prompt

        for c in conversations:
            render_prompt(self.tokenizer, c).ids
        self.prompts.extend(conversations)
        texts = [self.texts.pop(0) if self.texts else "<response> done </response>" for _ in conversations]
        if on_batch is not None:
            on_batch(list(range(len(texts))), texts)
        return texts


SURROGATE = "\\ud83d"  # the six characters of a JSON escape for half an emoji


def test_lone_surrogate_in_a_single_turn_call_is_written(scripted, tmp_path):
    scripted('<tool_call>\n{"name": "calculate_triangle_area", "parameters": {"base": "' + SURROGATE + '"}}\n'
             "</tool_call>")
    assert _bfcl(tmp_path / "o", "simple_python") == 0
    (row,) = _rows(tmp_path / "o")
    assert row["valid"] is False and row["decoded"] == [{"calculate_triangle_area": {"base": "\ufffd"}}]


def test_lone_surrogate_in_multi_turn_is_echoed_safely(monkeypatch, tmp_path, tiny_tokenizer):
    texts = [
        # a rejected name is echoed in the observation
        '<tool_call>\n{"name": "ls' + SURROGATE + '", "parameters": {}}\n</tool_call>',
        # an executed call stores it in the backend, and reading it back returns it
        '<tool_call>\n{"name": "touch", "parameters": {"file_name": "x.txt"}}\n</tool_call>',
        '<tool_call>\n{"name": "echo", "parameters": {"content": "a' + SURROGATE + '", "file_name": "x.txt"}}\n'
        "</tool_call>",
        '<tool_call>\n{"name": "cat", "parameters": {"file_name": "x.txt"}}\n</tool_call>',
    ]
    gen = TokenizingGenerator(texts, tiny_tokenizer)
    monkeypatch.setattr(generation, "load_generator", lambda *a, **k: gen)
    assert _bfcl(tmp_path / "o", "multi_turn_base") == 0
    (row,) = _rows(tmp_path / "o")
    assert row["valid"] is False and row["rejected_calls"] == 1
    last_prompt = gen.prompts[4][1]["content"]
    assert "You have made the tool call ls\ufffd(). Execution returns: Error" in last_prompt
    assert '{"file_content": "a\\ud83d"}' in last_prompt  # bfcl-eval returns results as escaped JSON
    last_prompt.encode("utf-8")
