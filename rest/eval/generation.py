"""One generation interface, two backends: Hugging Face ``generate`` (CPU or GPU) and vLLM (GPU).

Both take chat conversations (lists of ``{"role", "content"}`` messages), render them to ids
with the renderer training uses (``rest.prompt``: the model's own chat template with the
assistant header), decode greedily and return the new
text decoded with ``skip_special_tokens=True`` so the format tags survive. Evaluation never
trains: the HF backend runs under ``torch.inference_mode``. ``on_batch(indices, texts)`` is
called as each batch finishes, so a caller can keep what was generated before a crash.

Length: each prompt gets ``new_token_budget`` new tokens, the cap or what is left of the
context, as the released API-Bank script (vLLM's ``max_model_len``) and bfcl-eval's OSS handler
do (docs/method.md, section 5).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from rest.prompt import Conversation, render_prompt

#: Called with the indices (into the conversations given) and the texts of a finished batch.
OnBatch = Callable[[list[int], list[str]], None]

BACKENDS = ("hf", "vllm")
#: vLLM gets this many batches' worth of prompts per call.
VLLM_CHUNK_BATCHES = 32


@dataclass
class GenerationConfig:
    #: Cap on the new tokens of one prompt.
    max_new_tokens: int = 4096
    #: Prompt + completion stay within this many tokens, and within the model's context window;
    #: None means the model's context window alone.
    context_tokens: int | None = None
    #: Tokens left unused at the end of the context (bfcl-eval's OSS handler keeps 2).
    reserve_tokens: int = 0
    batch_size: int = 8
    #: Prompts longer than this are cut from the left (the oldest history goes first);
    #: None means as long as the context allows with one new token.
    max_prompt_tokens: int | None = None
    device: str | None = None  # HF only: None picks cuda when available
    progress: bool = True


class Generator(Protocol):
    config: GenerationConfig
    #: Prompt + completion stay within this many tokens (None: unknown, the cap alone applies).
    context_tokens: int | None
    #: How many prompts had to be cut to fit the context window so far.
    truncated_prompts: int

    def generate(self, conversations: Sequence[Conversation], desc: str = "generate",
                 on_batch: OnBatch | None = None) -> list[str]: ...


def _context_limit(model_config) -> int | None:
    for key in ("max_position_embeddings", "n_positions", "max_seq_len"):
        value = getattr(model_config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def new_token_budget(prompt_tokens: int, max_new_tokens: int, context_tokens: int | None,
                     reserve_tokens: int = 0) -> int:
    """``min(max_new_tokens, context − prompt − reserve)`` new tokens, at least one.

    With ``reserve_tokens=2`` this is bfcl-eval's OSS handler; with ``context_tokens=4096`` and
    no reserve, the released API-Bank script's vLLM ``max_model_len=4096``.
    """
    if context_tokens is None:
        return max_new_tokens
    return max(1, min(max_new_tokens, context_tokens - prompt_tokens - reserve_tokens))


class _LeftTruncation:
    """Sizes each prompt's completion to the context; cuts an over-long prompt from the left
    (the oldest history goes first) and counts it."""

    config: GenerationConfig
    context_tokens: int | None
    max_prompt_tokens: int | None
    truncated_prompts: int

    def _set_context(self, model_limit: int | None) -> None:
        limits = [n for n in (self.config.context_tokens, model_limit) if n]
        self.context_tokens = min(limits) if limits else None
        self.max_prompt_tokens = self.config.max_prompt_tokens or (
            max(self.context_tokens - self.config.reserve_tokens - 1, 1) if self.context_tokens else None
        )
        self.truncated_prompts = 0

    def _budget(self, ids: list[int]) -> int:
        return new_token_budget(len(ids), self.config.max_new_tokens, self.context_tokens,
                                self.config.reserve_tokens)

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
        self._set_context(_context_limit(self.model.config))

    def generate(self, conversations: Sequence[Conversation], desc: str = "generate",
                 on_batch: OnBatch | None = None) -> list[str]:
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
            # One batch runs to its largest budget; each row keeps its own (greedy, so the
            # same tokens as a run with that budget alone).
            budgets = [self._budget(prompts[i]) for i in idx]
            with torch.inference_mode():
                out = self.model.generate(
                    input_ids=input_ids.to(self.device),
                    attention_mask=attention.to(self.device),
                    max_new_tokens=max(budgets),
                    do_sample=False,
                    pad_token_id=pad,
                )
            new = out[:, width:].tolist()
            for row, i in enumerate(idx):
                outputs[i] = self.tokenizer.decode(new[row][:budgets[row]], skip_special_tokens=True)
            if on_batch is not None:
                on_batch(idx, [outputs[i] for i in idx])
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
        self._sampling = SamplingParams
        model_config = getattr(getattr(self.llm, "llm_engine", None), "model_config", None)
        self._set_context(getattr(model_config, "max_model_len", None) or self.tokenizer.model_max_length)

    def generate(self, conversations: Sequence[Conversation], desc: str = "generate",
                 on_batch: OnBatch | None = None) -> list[str]:
        ids = [self._fit(render_prompt(self.tokenizer, c).ids) for c in conversations]
        # vLLM schedules its own batches; chunks of prompts bound what a crash can lose.
        chunk = max(1, self.config.batch_size) * VLLM_CHUNK_BATCHES
        outputs: list[str] = []
        for start in range(0, len(ids), chunk):
            part = ids[start:start + chunk]
            sampling = [self._sampling(temperature=0.0, max_tokens=self._budget(x), skip_special_tokens=True)
                        for x in part]
            results = self.llm.generate([{"prompt_token_ids": x} for x in part], sampling,
                                        use_tqdm=self.config.progress)
            texts = [r.outputs[0].text for r in results]
            outputs.extend(texts)
            if on_batch is not None:
                on_batch(list(range(start, start + len(texts))), texts)
        return outputs


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
