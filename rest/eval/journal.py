"""Generations that survive a crash: each finished batch is appended to ``generations.jsonl``.

The file's first line records the fingerprint of what produced it: the model's content (a
hash of every file in its folder, or the hub name), the prompt renderer, the generation
settings and the benchmark's versions. A rerun whose fingerprint matches reuses the stored
completions, found by a hash of each conversation, and generates only the rest; a different
fingerprint starts the file over, and the log names what changed (docs/method.md section 6).
Multi-turn episodes replay the same way: the backends are deterministic, so a replayed
episode asks for the same conversations until the step where the earlier run stopped.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rest.io import InputError, atomic_write_text
from rest.parsers import scrub

log = logging.getLogger("rest.eval")

FILE_NAME = "generations.jsonl"


def prepare_output(output: Path) -> Path:
    """Create the output folder, or say why it cannot be used, before any model is loaded."""
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise InputError(f"--output {output}: exists and is not a folder")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"--output {output}: cannot create the folder ({e.strerror or e})") from e
    if not os.access(output, os.W_OK | os.X_OK):
        raise InputError(f"--output {output}: the folder is not writable")
    return output


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_fingerprint(model: str) -> str:
    """``sha256:`` of every file in a local model folder (weights, config, tokenizer, chat
    template), or ``name:`` for a hub name, which names one published model."""
    folder = Path(model)
    if not folder.is_dir():
        return f"name:{model}"
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(f"{path.relative_to(folder).as_posix()}\0{_file_sha256(path)}\n".encode())
    return f"sha256:{h.hexdigest()}"


def renderer_fingerprint() -> str:
    """A hash of the code that turns a conversation into prompt tokens: the prompt formats
    and the chat-template rendering (conversation texts are keyed on their own)."""
    from rest import formats, prompt
    from rest.eval import bfcl_prompts

    source = inspect.getsource(formats) + inspect.getsource(bfcl_prompts) + inspect.getsource(prompt)
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def fingerprint(model: str, backend: str, config, extra: Mapping[str, Any] = ()) -> dict[str, Any]:
    """What must match for stored completions to be reused."""
    return {
        "model": model_fingerprint(model),
        "prompt_renderer": renderer_fingerprint(),
        "generation": {"backend": backend, "decoding": "greedy", "max_new_tokens": config.max_new_tokens,
                       "context_tokens": config.context_tokens, "reserve_tokens": config.reserve_tokens,
                       "max_prompt_tokens": config.max_prompt_tokens},
        **dict(extra),
    }


def conversation_key(conversation: Sequence[dict]) -> str:
    text = json.dumps(list(conversation), sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


class JournaledGenerator:
    """A generator that first looks up each conversation in the journal and appends every
    finished batch to it; otherwise it behaves as the generator it wraps."""

    def __init__(self, generator, path: Path, stored: dict[str, str], fingerprint: dict[str, Any]):
        self.generator = generator
        self.fingerprint = fingerprint
        self.path = Path(path)
        self.stored = stored
        self.reused = 0
        self.started = time.time()

    @property
    def truncated_prompts(self) -> int:
        return self.generator.truncated_prompts

    def generate(self, conversations: Sequence[Sequence[dict]], desc: str = "generate", on_batch=None) -> list[str]:
        keys = [conversation_key(c) for c in conversations]
        todo, asked = [], set()
        for i, key in enumerate(keys):  # each distinct conversation not stored, once
            if key not in self.stored and key not in asked:
                asked.add(key)
                todo.append(i)
        self.reused += len(conversations) - len(todo)

        def append(indices: list[int], texts: list[str]) -> None:
            with self.path.open("a", encoding="utf-8") as f:
                for i, text in zip(indices, texts):
                    key = keys[todo[i]]
                    self.stored[key] = text
                    f.write(json.dumps({"prompt": key, "completion": scrub(text)}, ensure_ascii=False) + "\n")
                f.flush()
                os.fsync(f.fileno())
            if on_batch is not None:
                on_batch([todo[i] for i in indices], texts)

        if todo:
            texts = self.generator.generate([conversations[i] for i in todo], desc=desc, on_batch=append)
            missed = [j for j, i in enumerate(todo) if keys[i] not in self.stored]  # a backend without on_batch
            if missed:
                append(missed, [texts[j] for j in missed])
        return [self.stored[k] for k in keys]

    def generation_info(self, backend: str) -> dict[str, Any]:
        """The ``generation`` field of ``scores.json`` (docs/scores.md)."""
        settings = self.fingerprint["generation"]
        return {"backend": backend, "decoding": "greedy", "max_new_tokens": settings["max_new_tokens"],
                "context_tokens": self.generator.context_tokens, "reserve_tokens": settings["reserve_tokens"],
                "max_prompt_tokens": settings["max_prompt_tokens"], "batch_size": getattr(getattr(self.generator, "config", None), "batch_size", None),
                "truncated_prompts": self.truncated_prompts, "reused_generations": self.reused,
                "seconds": round(time.time() - self.started, 1)}


def _read(path: Path) -> tuple[dict | None, dict[str, str]]:
    """The recorded fingerprint and the stored completions; a torn last line is dropped."""
    header, stored = None, {}
    with path.open(encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f):
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash
            if n == 0:
                header = row.get("fingerprint") if isinstance(row, dict) else None
                if not isinstance(header, dict):
                    return None, {}
            elif isinstance(row, dict) and isinstance(row.get("prompt"), str) \
                    and isinstance(row.get("completion"), str):
                stored[row["prompt"]] = row["completion"]
    return header, stored


def open_journal(generator, output: Path, current: dict[str, Any]) -> JournaledGenerator:
    """Wrap ``generator`` with the journal in ``output``: continue it if its fingerprint is
    ``current``, else start it over (and say why)."""
    path = Path(output) / FILE_NAME
    stored: dict[str, str] = {}
    if path.is_file():
        recorded, stored = _read(path)
        if recorded == current:
            log.info("%s: continuing from %d stored generations (same fingerprint)", path, len(stored))
            with path.open("rb+") as f:  # a line torn by a crash must not swallow the next one
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    f.write(b"\n")
            return JournaledGenerator(generator, path, stored, current)
        changed = ("no fingerprint recorded" if recorded is None else
                   "changed: " + ", ".join(k for k in sorted(set(recorded) | set(current))
                                           if recorded.get(k) != current.get(k)))
        log.info("%s: starting over, %d stored generations not reused (%s)", path, len(stored), changed)
        stored = {}
    atomic_write_text(path, json.dumps({"fingerprint": current}) + "\n")
    return JournaledGenerator(generator, path, stored, current)
