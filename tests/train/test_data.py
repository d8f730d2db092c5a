"""Training data preparation: prompts through the chat template, ground truths that parse."""

from __future__ import annotations

import json

import pytest

from rest.formats import (
    PLACEHOLDER_THOUGHT_CALL,
    THINK_CLOSE,
    THINK_OPEN,
    TOOL_CALL_CLOSE,
    TOOL_CALL_OPEN,
    first_block,
)
from rest.io import InputError
from rest.rewards import compute_reward
from rest.train.data import load_records, render_prompt, rl_dataset, rl_ground_truth, sft_dataset


def test_distilled_thoughts_that_mention_tags_get_the_placeholder(sft_records):
    replaced = 0
    for i, rec in enumerate(sft_records):
        gt, changed = rl_ground_truth(rec["output"], f"record {i}")
        replaced += changed
        if changed:
            assert first_block(gt, THINK_OPEN, THINK_CLOSE).strip() == PLACEHOLDER_THOUGHT_CALL
        else:
            assert gt == rec["output"]
        # every ground truth scores itself at the top of the reward (tool calls parse)
        r = compute_reward(gt, gt, step=0, dynamic=True)
        assert r.format == 2.0
        assert r.correctness == (2.0 if TOOL_CALL_OPEN in gt else 0.0)
    assert replaced == 17


def test_placeholder_keeps_the_real_calls():
    calls = [{"name": "a", "parameters": {"x": 1}}]
    out = (f"{THINK_OPEN} I will write {TOOL_CALL_OPEN} then {TOOL_CALL_CLOSE} {THINK_CLOSE}\n"
           f"{TOOL_CALL_OPEN}\n{json.dumps(calls[0])}\n{TOOL_CALL_CLOSE}")
    gt, changed = rl_ground_truth(out, "r")
    assert changed
    assert json.loads(first_block(gt, TOOL_CALL_OPEN, TOOL_CALL_CLOSE).strip()) == calls[0]
    assert compute_reward(out, out).correctness < compute_reward(gt, gt).correctness


@pytest.mark.parametrize("bad", [
    f"{THINK_OPEN} t {THINK_CLOSE}\n{TOOL_CALL_OPEN}\n{{\"name\": \"a\", \n{TOOL_CALL_CLOSE}",
    f"{THINK_OPEN} t {THINK_CLOSE}\n{TOOL_CALL_OPEN}\n[1, 2]\n{TOOL_CALL_CLOSE}",
    f"{THINK_OPEN} t {THINK_CLOSE}\n{TOOL_CALL_OPEN}\n{{\"name\": \"a\", \"parameters\": {{}}}}",
])
def test_a_ground_truth_whose_calls_do_not_parse_names_the_record(tmp_path, tiny_tokenizer, bad):
    good = {"instruction": "sys", "input": "user", "output": f"{THINK_OPEN} t {THINK_CLOSE}\n<response> hi </response>"}
    path = tmp_path / "rl.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [good, good, {**good, "output": bad}]) + "\n")
    with pytest.raises(InputError, match=r"rl.jsonl: record 2: ground-truth|rl.jsonl: record 2: ground truth"):
        rl_dataset(load_records(path), tiny_tokenizer, str(path))


def test_malformed_record_names_file_and_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"instruction": "a", "input": "b", "output": "c"}\n{"instruction": "a"}\n')
    with pytest.raises(InputError, match="x.jsonl: record 1: missing key 'input'"):
        load_records(path)
    path.write_text('{"instruction": "a", "input": "b", "output": "c"}\nnot json\n')
    with pytest.raises(InputError, match="x.jsonl:2"):
        load_records(path)


def test_prompts_are_system_and_user_through_the_chat_template(sft_records, tiny_tokenizer):
    rec = sft_records[0]
    prompt = render_prompt(tiny_tokenizer, rec)
    assert prompt.index(rec["instruction"]) < prompt.index(rec["input"])
    assert prompt.endswith("<|im_start|>assistant\n")
    data = rl_dataset(sft_records[:5], tiny_tokenizer, "sft", limit=3)
    assert data.dataset.column_names == ["prompt", "ground_truth"]
    assert data.report == {"records": 3, "thoughts_replaced_by_placeholder": 0, "records_not_used_over_limit": 2}
    sft = sft_dataset(sft_records[:2], tiny_tokenizer)
    assert sft.dataset[0] == {"prompt": prompt, "completion": rec["output"]}
