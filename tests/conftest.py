"""Shared fixtures: the data directory and a tiny model built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _default_data_dir() -> Path | None:
    value = os.environ.get("REST_DATA_DIR")
    if value:
        # Absolute, so subprocesses that change directory still find it.
        os.environ["REST_DATA_DIR"] = str(Path(value).resolve())
        return Path(value).resolve()
    candidate = REPO.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


_DATA = _default_data_dir()
if _DATA is not None:
    # Subprocesses started by tests (the CLI, Snakemake) read it from the environment.
    os.environ.setdefault("REST_DATA_DIR", str(_DATA))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if _DATA is None or not _DATA.is_dir():
        pytest.fail("REST_DATA_DIR is not set and ../shared/data does not exist; the tests need the real data")
    return _DATA


@pytest.fixture(scope="session")
def sft_records(data_dir):
    import json

    return json.loads((data_dir / "train/toolrl_rlla_4k_raw/rlla_sft.json").read_text())


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, sft_records) -> Path:
    """A tiny Qwen3 model and byte-level BPE tokenizer trained on the SFT corpus (seed 0)."""
    from rest.models.tiny import build_tiny_model

    out = tmp_path_factory.mktemp("tiny-model")
    texts = [r["instruction"] + "\n" + r["input"] + "\n" + r["output"] for r in sft_records]
    return build_tiny_model(out, texts, seed=0)


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)
