"""One generation interface, two backends: Hugging Face ``generate`` (CPU or GPU) and vLLM (GPU).

Both take chat conversations (lists of ``{"role", "content"}`` messages), render them to ids
with the renderer training uses (``rest.prompt``: the model's own chat template with the
assistant header), decode greedily and return the new
text decoded with ``skip_special_tokens=True`` so the format tags survive. Evaluation never
trains: the HF backend runs under ``torch.inference_mode``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from rest.prompt import Conversation, render_prompt

log = logging.getLogger(__name__)

BACKENDS = ("hf", "vllm")


@dataclass
class GenerationConfig:
    max_new_tokens: int = 1024
    batch_size: int = 8
    #: Prompts longer than this are cut from the left (the oldest history goes first);
    #: None means the model's context window minus ``max_new_tokens``.
    max_prompt_tokens: int | None = None
    device: str | None = None  # HF only: None picks cuda when available
    progress: bool = True


class Generator(Protocol):
    config: GenerationConfig
    #: How many prompts had to be cut to fit the context window so far.
    truncated_prompts: int

    def generate(self, conversations: Sequence[Conversation], desc: str = "generate") -> list[str]: ...


def _context_limit(model_config) -> int | None:
    for key in ("max_position_embeddings", "n_positions", "max_seq_len"):
        value = getattr(model_config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


class _LeftTruncation:
    """Cuts an over-long prompt from the left (the oldest history goes first) and counts it."""

    max_prompt_tokens: int | None
    truncated_prompts: int

    def _fit(self, ids: list[int]) -> list[int]:
        if self.max_prompt_tokens is not None and len(ids) > self.max_prompt_tokens:
            self.truncated_prompts += 1
            return ids[-self.max_prompt_tokens:]
        return ids


class HFGenerator(_LeftTruncation):
    """Batched greedy decoding with ``transformers``; left padding; a tqdm progress bar."""

    def __init__(self, model_path: str, config: GenerationConfig | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.config = config or GenerationConfig()
        self.device = self.config.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype).to(self.device)
        self.model.eval()
        limit = _context_limit(self.model.config)
        self.max_prompt_tokens = self.config.max_prompt_tokens or (
            max(limit - self.config.max_new_tokens, 1) if limit else None
        )
        self.truncated_prompts = 0

    def generate(self, conversations: Sequence[Conversation], desc: str = "generate") -> list[str]:
        import torch
        from tqdm.auto import tqdm

        prompts = [self._fit(render_prompt(self.tokenizer, c).ids) for c in conversations]
        # Similar lengths in one batch waste less compute on padding.
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        outputs: list[str] = [""] * len(prompts)
        bs = max(1, self.config.batch_size)
        pad = self.tokenizer.pad_token_id
        bar = tqdm(total=len(prompts), desc=desc, file=sys.stderr, disable=not self.config.progress)
        for start in range(0, len(order), bs):
            idx = order[start:start + bs]
            width = max(len(prompts[i]) for i in idx)
            input_ids = torch.full((len(idx), width), pad, dtype=torch.long)
            attention = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                ids = prompts[i]
                input_ids[row, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
                attention[row, width - len(ids):] = 1
            with torch.inference_mode():
                out = self.model.generate(
                    input_ids=input_ids.to(self.device),
                    attention_mask=attention.to(self.device),
                    max_new_tokens=self.config.max_new_tokens,
                    do_sample=False,
                    pad_token_id=pad,
                )
            new = out[:, width:].tolist()
            for row, i in enumerate(idx):
                outputs[i] = self.tokenizer.decode(new[row], skip_special_tokens=True)
            bar.update(len(idx))
        bar.close()
        return outputs


class VLLMGenerator(_LeftTruncation):
    """Greedy decoding with vLLM (GPU only); prompts are token ids from the same chat template."""

    def __init__(self, model_path: str, config: GenerationConfig | None = None, **llm_kwargs):
        try:
            from vllm import LLM, SamplingParams
        except ImportError as e:  # pragma: no cover - exercised only where vllm is missing
            raise RuntimeError("the vllm backend needs the optional extra: pip install 'rest[vllm]'") from e
        self.config = config or GenerationConfig()
        self.llm = LLM(model=str(model_path), **llm_kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        self.sampling = SamplingParams(
            temperature=0.0, max_tokens=self.config.max_new_tokens, skip_special_tokens=True
        )
        model_config = getattr(getattr(self.llm, "llm_engine", None), "model_config", None)
        limit = getattr(model_config, "max_model_len", None) or self.tokenizer.model_max_length
        self.max_prompt_tokens = self.config.max_prompt_tokens or max(limit - self.config.max_new_tokens, 1)
        self.truncated_prompts = 0

    def generate(self, conversations: Sequence[Conversation], desc: str = "generate") -> list[str]:
        prompts = [{"prompt_token_ids": self._fit(render_prompt(self.tokenizer, c).ids)} for c in conversations]
        results = self.llm.generate(prompts, self.sampling, use_tqdm=self.config.progress)
        return [r.outputs[0].text for r in results]


def load_generator(backend: str, model_path: str, config: GenerationConfig | None = None) -> Generator:
    """The generator for ``backend`` (``hf`` or ``vllm``)."""
    from rest.io import InputError

    if backend not in BACKENDS:
        raise InputError(f"--backend: unknown backend {backend!r} (expected one of {', '.join(BACKENDS)})")
    try:
        return HFGenerator(model_path, config) if backend == "hf" else VLLMGenerator(model_path, config)
    except OSError as e:  # what transformers raises for a missing folder or an unreachable hub name
        from pathlib import Path

        how = "local folder" if Path(model_path).exists() else "no such local folder; tried as a hub name"
        raise InputError(f"--model: cannot load {model_path!r} ({how}): {e}") from e
