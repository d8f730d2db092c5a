"""Architecture figures of the paper's models, for ``rest plan``'s memory and FLOPs estimates.

Copied from each model's published ``config.json`` (no hub is needed to plan). A model folder
with a ``config.json`` is read instead, so a built model always plans with its own figures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rest.io import InputError


@dataclass(frozen=True)
class Shape:
    """A decoder-only transformer (Qwen3 / Llama): enough to count parameters and KV bytes."""

    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    tied: bool
    qk_norm: bool = True  # Qwen3 normalises q and k per head; Llama does not

    @property
    def params(self) -> int:
        """Parameters: embeddings (twice if untied), attention, SwiGLU MLP and norms."""
        h, d = self.hidden, self.head_dim
        attn = h * self.heads * d + 2 * h * self.kv_heads * d + self.heads * d * h
        norms = 2 * h + (2 * d if self.qk_norm else 0)
        layer = attn + 3 * h * self.intermediate + norms
        embed = self.vocab * h * (1 if self.tied else 2)
        return self.layers * layer + embed + h

    def config_kwargs(self) -> dict:
        """Keyword arguments of the transformers config (``Qwen3Config`` / ``LlamaConfig``) of this shape."""
        return {"vocab_size": self.vocab, "hidden_size": self.hidden, "num_hidden_layers": self.layers,
                "num_attention_heads": self.heads, "num_key_value_heads": self.kv_heads, "head_dim": self.head_dim,
                "intermediate_size": self.intermediate, "tie_word_embeddings": self.tied}

    def kv_bytes_per_token(self, dtype_bytes: int = 2) -> int:
        """K and V of every layer for one token."""
        return 2 * self.layers * self.kv_heads * self.head_dim * dtype_bytes


SHAPES: dict[str, Shape] = {
    "Qwen3-0.6B": Shape(28, 1024, 16, 8, 128, 3072, 151936, tied=True),
    "Qwen3-1.7B": Shape(28, 2048, 16, 8, 128, 6144, 151936, tied=True),
    "Qwen3-4B-2507": Shape(36, 2560, 32, 8, 128, 9728, 151936, tied=True),
    "Qwen3-8B": Shape(36, 4096, 32, 8, 128, 12288, 151936, tied=False),
    "Qwen3-14B": Shape(40, 5120, 40, 8, 128, 17408, 151936, tied=False),
    "Llama-3.2-3B-Instruct": Shape(28, 3072, 24, 8, 128, 8192, 128256, tied=True, qk_norm=False),
    "SmolLM2-135M-Instruct": Shape(30, 576, 9, 3, 64, 1536, 49152, tied=True, qk_norm=False),
}


def shape_from_config(path: str | Path) -> Shape:
    """The shape of a saved model from its ``config.json``."""
    cfg = json.loads(Path(path).read_text(encoding="utf-8"))
    heads = cfg["num_attention_heads"]
    return Shape(
        layers=cfg["num_hidden_layers"], hidden=cfg["hidden_size"], heads=heads,
        kv_heads=cfg.get("num_key_value_heads") or heads,
        head_dim=cfg.get("head_dim") or cfg["hidden_size"] // heads,
        intermediate=cfg["intermediate_size"], vocab=cfg["vocab_size"],
        tied=bool(cfg.get("tie_word_embeddings", False)), qk_norm=cfg.get("model_type") == "qwen3",
    )


def model_shape(key: str, spec: dict, model_dir: str | Path | None = None) -> Shape:
    """A configured model's shape: its built folder if there, else ``shape``, ``paper_model`` or the key."""
    if model_dir is not None and (Path(model_dir) / "config.json").exists():
        return shape_from_config(Path(model_dir) / "config.json")
    for name in (spec.get("shape"), spec.get("paper_model") if spec.get("source") != "tiny" else None, key):
        if name in SHAPES:
            return SHAPES[name]
    if spec.get("source") == "tiny":
        from rest.models.tiny import DEFAULT_ARCH

        a = DEFAULT_ARCH
        return Shape(a["num_hidden_layers"], a["hidden_size"], a["num_attention_heads"], a["num_key_value_heads"],
                     a["head_dim"], a["intermediate_size"], 4096, tied=a["tie_word_embeddings"])
    raise InputError(f"config models.{key}: no architecture figures for {key!r}; set `shape:` to one of "
                     f"{', '.join(SHAPES)} (rest/models/shapes.py), or build the model first")
