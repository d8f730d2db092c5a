"""The one prompt renderer: a conversation (system + user messages) -> token ids.

Training (SFT, GRPO, ResT) and both evaluators (API-Bank, BFCL) render every prompt here,
so the same record is the same ids in training and in evaluation: the model's chat
template with the assistant header appended, tokenized as written (a template that writes
BOS itself gets it once; nothing is added on top).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Conversation = Sequence[dict[str, str]]


@dataclass(frozen=True)
class RenderedPrompt:
    text: str
    ids: list[int]


def conversation(system: str, user: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def record_conversation(record: dict[str, Any]) -> list[dict[str, str]]:
    """An rlla training record's prompt: ``instruction`` is the system message, ``input`` the user's."""
    return conversation(record["instruction"], record["input"])


def render_prompt(tokenizer, messages: Conversation) -> RenderedPrompt:
    """The chat template's text, ending with the assistant header, and its token ids."""
    text = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False)
    return RenderedPrompt(text, tokenizer(text, add_special_tokens=False)["input_ids"])
