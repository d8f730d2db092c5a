"""The tiny embedded base model: a randomly initialised Qwen3 and a locally trained tokenizer.

It stands in for the paper's models wherever no model hub or GPU can be had, and goes
through exactly the same code paths (``save_pretrained`` / ``Auto*.from_pretrained``).
The tokenizer is a byte-level BPE trained on the corpus text, with Qwen's chat markers
as special tokens and the format tags as *ordinary* added tokens, so that the tags survive
``decode(..., skip_special_tokens=True)`` exactly as they do with the real Qwen3 tokenizer.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rest.formats import ALL_TAGS

BOS_EOS_PAD = "<|endoftext|>"
IM_START, IM_END = "<|im_start|>", "<|im_end|>"

# Qwen-style ChatML without tool or thinking extras: prompts are pre-rendered text.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

DEFAULT_ARCH = dict(
    hidden_size=64,
    intermediate_size=192,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    max_position_embeddings=8192,
    tie_word_embeddings=True,
)


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4096):
    """Train a byte-level BPE on ``texts`` and wrap it as a ``PreTrainedTokenizerFast``."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[BOS_EOS_PAD, IM_START, IM_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in ALL_TAGS])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=None,
        eos_token=IM_END,
        pad_token=BOS_EOS_PAD,
        chat_template=CHAT_TEMPLATE,
        padding_side="left",
        model_max_length=DEFAULT_ARCH["max_position_embeddings"],
    )


def build_tiny_model(
    output_dir: str | Path,
    texts: Iterable[str],
    seed: int = 0,
    vocab_size: int = 4096,
    **arch,
) -> Path:
    """Build, seed and save the tiny Qwen3 model with its tokenizer; returns ``output_dir``.

    The same ``texts`` and ``seed`` give byte-identical weights and vocabulary.
    """
    import torch
    from transformers import GenerationConfig, Qwen3Config, Qwen3ForCausalLM

    output_dir = Path(output_dir)
    tokenizer = train_tokenizer(texts, vocab_size=vocab_size)
    cfg = Qwen3Config(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **{**DEFAULT_ARCH, **arch},
    )
    torch.manual_seed(seed)
    model = Qwen3ForCausalLM(cfg)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    return output_dir


def corpus_texts(path: str) -> list[str]:
    """Tokenizer training text: each record's system prompt, user message and output."""
    from rest.train.data import load_records

    return [r["instruction"] + "\n" + r["input"] + "\n" + r["output"] for r in load_records(path)]
