"""Load a model or tokenizer by hub name or local path: one code path for the tiny model and Qwen3/Llama."""

from __future__ import annotations

from pathlib import Path

from rest.io import InputError


def _check(name_or_path: str) -> None:
    looks_local = name_or_path.startswith((".", "/", "~")) or Path(name_or_path).exists()
    if looks_local and not (Path(name_or_path).expanduser() / "config.json").exists():
        raise InputError(f"--model {name_or_path}: no config.json there (build it with `rest build-model`)")


def load_tokenizer(name_or_path: str):
    from transformers import AutoTokenizer

    _check(name_or_path)
    try:
        return AutoTokenizer.from_pretrained(name_or_path)
    except OSError as e:
        raise InputError(f"--model {name_or_path}: cannot load the tokenizer ({e})") from e


def load_model(name_or_path: str, **kwargs):
    from transformers import AutoModelForCausalLM

    _check(name_or_path)
    try:
        return AutoModelForCausalLM.from_pretrained(name_or_path, **kwargs)
    except OSError as e:
        raise InputError(f"--model {name_or_path}: cannot load the model ({e})") from e
