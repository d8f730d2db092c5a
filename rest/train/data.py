"""Training records -> TRL datasets (docs/method.md, section 2).

RL: the prompt is the system and user messages rendered with the model's chat template,
plus a ``ground_truth`` column for the reward. SFT: the same prompt plus the gold
completion (TRL's prompt-completion format; TRL appends the EOS token).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rest.curation.records import action_text, tool_call_problem
from rest.curation.records import rl_ground_truth as placeholder_rl_ground_truth
from rest.formats import ALL_TAGS, THINK_CLOSE, THINK_OPEN
from rest.io import InputError, read_json, read_jsonl, require_keys

RECORD_KEYS = {"instruction": str, "input": str, "output": str}


def load_records(path: str | Path) -> list[dict[str, Any]]:
    """rlla records from JSONL (curated sets) or a JSON list (``rlla_sft.json``)."""
    path = Path(path)
    rows = read_json(path) if path.suffix == ".json" else read_jsonl(path)
    if not isinstance(rows, list):
        raise InputError(f"{path}: expected a list of records")
    for i, row in enumerate(rows):
        require_keys(row, RECORD_KEYS, f"{path}: record {i}")
    if not rows:
        raise InputError(f"{path}: no records")
    return rows


def render_prompt(tokenizer, record: dict[str, Any]) -> str:
    """System + user message through the chat template, ending with the assistant header."""
    messages = [{"role": "system", "content": record["instruction"]}, {"role": "user", "content": record["input"]}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    # TRL tokenizes text prompts with special tokens on; a template that writes BOS itself would double it.
    # Only a tokenizer that adds BOS loses it here: SmolLM2's BOS is <|im_start|>, which its
    # template writes and its tokenizer never adds.
    bos = getattr(tokenizer, "bos_token", None)
    if bos and text.startswith(bos) and tokenizer("x").input_ids[:1] == [tokenizer.bos_token_id]:
        text = text[len(bos):]
    return text


def _thought_mentions_tag(output: str) -> bool:
    start, cut = output.find(THINK_OPEN), output.find(THINK_CLOSE)
    if start < 0 or cut < 0:
        return False
    thought = output[start + len(THINK_OPEN):cut]
    return any(tag in thought for tag in ALL_TAGS)


def rl_ground_truth(output: str, where: str) -> tuple[str, bool]:
    """The reward's ground truth for one record, and whether its thought was replaced.

    A distilled thought that mentions a tag (e.g. "then I close with </tool_call>") would
    make the reward parse the wrong block, so such ground truths get the placeholder
    thought of the RL corpus. Every tool-call block must parse: the error names the record.
    """
    reason = tool_call_problem(action_text(output))
    if reason:
        raise InputError(f"{where}: ground truth: {reason}")
    if _thought_mentions_tag(output):
        return placeholder_rl_ground_truth(output), True
    return output, False


@dataclass
class PreparedData:
    dataset: Any
    #: what was changed or left out, with counts (written into summary.json)
    report: dict[str, int]


def rl_dataset(records: list[dict[str, Any]], tokenizer, where: str, limit: int | None = None) -> PreparedData:
    """``prompt`` (rendered text) and ``ground_truth`` columns for GRPO/ResT."""
    from datasets import Dataset

    rows, replaced = [], 0
    for i, rec in enumerate(records[:limit] if limit else records):
        gt, changed = rl_ground_truth(rec["output"], f"{where}: record {i}")
        replaced += changed
        rows.append({"prompt": render_prompt(tokenizer, rec), "ground_truth": gt})
    report = {"records": len(rows), "thoughts_replaced_by_placeholder": replaced,
              "records_not_used_over_limit": len(records) - len(rows)}
    return PreparedData(Dataset.from_list(rows), report)


def sft_dataset(records: list[dict[str, Any]], tokenizer, limit: int | None = None) -> PreparedData:
    """``prompt`` (rendered text) and ``completion`` (the gold output) for SFT."""
    from datasets import Dataset

    used = records[:limit] if limit else records
    rows = [{"prompt": render_prompt(tokenizer, r), "completion": r["output"]} for r in used]
    return PreparedData(Dataset.from_list(rows), {"records": len(rows), "records_not_used_over_limit": len(records) - len(rows)})
