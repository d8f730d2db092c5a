"""An evaluation checks its output first, keeps every finished batch, and continues only
what the same model and settings generated (the generator is scripted)."""

from __future__ import annotations

import json
import logging

import pytest

from rest.cli import main
from rest.eval import generation

FILE_NAME = "generations.jsonl"


class BatchedGenerator:
    """Answers in batches of two, reporting each batch; can crash after some batches."""

    def __init__(self, crash_after: int | None = None):
        self.crash_after = crash_after
        self.asked: list = []
        self.truncated_prompts = 0
        self.context_tokens = None

    def generate(self, conversations, desc="generate", on_batch=None):
        texts = []
        for n, start in enumerate(range(0, len(conversations), 2)):
            if self.crash_after is not None and n == self.crash_after:
                raise RuntimeError("CUDA out of memory")
            batch = conversations[start:start + 2]
            self.asked.extend(batch)
            out = [f"<response> answer {len(self.asked) - len(batch) + k} </response>" for k in range(len(batch))]
            texts.extend(out)
            if on_batch is not None:
                on_batch(list(range(start, start + len(batch))), out)
        return texts


@pytest.fixture
def loads(monkeypatch):
    """Install a generator; the list records every model load."""
    loaded = []

    def install(gen):
        def load(backend, model, config=None):
            loaded.append(model)
            return gen
        monkeypatch.setattr(generation, "load_generator", load)
        return loaded
    return install


ARGS = {
    "bfcl": ["--categories", "irrelevance", "--limit-per-category", "5"],
    "apibank": ["--limit", "2"],  # 6 items
}


def _eval(bench, out, *extra):
    return main(["eval", bench, "--model", "scripted", "--output", str(out), *ARGS[bench], *extra])


@pytest.mark.parametrize("bench", ["bfcl", "apibank"])
def test_unusable_output_fails_before_the_model_loads(bench, loads, tmp_path, capsys, data_dir):
    loaded = loads(BatchedGenerator())
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out in (blocker, blocker / "sub"):
        assert _eval(bench, out) == 2
        assert f"--output {out}" in capsys.readouterr().err
    assert loaded == []


@pytest.mark.parametrize("bench", ["bfcl", "apibank"])
def test_a_crash_keeps_finished_batches_and_a_rerun_continues(bench, loads, tmp_path, caplog, data_dir):
    out = tmp_path / "o"
    loads(BatchedGenerator(crash_after=2))
    with pytest.raises(RuntimeError, match="out of memory"):
        _eval(bench, out)
    lines = (out / FILE_NAME).read_text().splitlines()
    assert "fingerprint" in json.loads(lines[0]) and len(lines) == 1 + 4  # two batches of two

    resumed = BatchedGenerator()
    loads(resumed)
    with caplog.at_level(logging.INFO, logger="rest.eval"):
        assert _eval(bench, out) == 0
    total = 5 if bench == "bfcl" else 6
    assert len(resumed.asked) == total - 4
    assert "continuing from 4 stored generations" in caplog.text
    scores = json.loads((out / "scores.json").read_text())
    assert scores["generation"]["reused_generations"] == 4

    # the same run again generates nothing; its scores are the same
    again = BatchedGenerator()
    loads(again)
    assert _eval(bench, out) == 0 and again.asked == []
    rescored = json.loads((out / "scores.json").read_text())
    assert rescored["metrics"] == scores["metrics"] and rescored["counts"] == scores["counts"]


def test_a_changed_fingerprint_starts_over(loads, tmp_path, caplog, tiny_model_dir):
    import shutil

    tiny_model_dir = shutil.copytree(tiny_model_dir, tmp_path / "model")
    out = tmp_path / "o"
    loads(BatchedGenerator())
    assert main(["eval", "bfcl", "--model", str(tiny_model_dir), "--output", str(out), *ARGS["bfcl"]]) == 0
    cases = [(["--max-new-tokens", "7"], "changed: generation"), ([], "changed: generation")]
    for extra, changed in cases:
        fresh = BatchedGenerator()
        loads(fresh)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="rest.eval"):
            assert main(["eval", "bfcl", "--model", str(tiny_model_dir), "--output", str(out), *ARGS["bfcl"],
                         *extra]) == 0
        assert len(fresh.asked) == 5 and "starting over" in caplog.text and changed in caplog.text
    # new weights under the same path are a different model
    weights = next(tiny_model_dir.glob("*.safetensors"))
    original = weights.read_bytes()
    weights.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    fresh = BatchedGenerator()
    loads(fresh)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="rest.eval"):
        assert main(["eval", "bfcl", "--model", str(tiny_model_dir), "--output", str(out), *ARGS["bfcl"]]) == 0
    assert len(fresh.asked) == 5 and "changed: model" in caplog.text


def test_a_torn_last_line_is_dropped(loads, tmp_path):
    out = tmp_path / "o"
    loads(BatchedGenerator())
    assert _eval("bfcl", out) == 0
    path = out / FILE_NAME
    path.write_text(path.read_text()[:-10])  # a crash in the middle of the last write
    again = BatchedGenerator()
    loads(again)
    assert _eval("bfcl", out) == 0 and len(again.asked) == 1
    # the regenerated line was not glued to the torn one
    last = BatchedGenerator()
    loads(last)
    assert _eval("bfcl", out) == 0 and last.asked == []
