"""Training data preparation: prompts through the chat template, ground truths that parse."""

from __future__ import annotations

import json

import pytest

from rest.curation.records import rl_ground_truth
from rest.formats import (
    PLACEHOLDER_THOUGHT_CALL,
    THINK_CLOSE,
    THINK_OPEN,
    TOOL_CALL_CLOSE,
    TOOL_CALL_OPEN,
    first_block,
)
from rest.io import InputError
from rest.prompt import record_conversation, render_prompt
from rest.rewards import compute_reward
from rest.train.data import check_rl_ground_truth, load_records, rl_dataset, sft_dataset


def test_training_rejects_thoughts_that_mention_tags_which_curation_rewrites(sft_records):
    """17 of the 400 distilled thoughts name a tag: training refuses them, curation's RL
    ground truth (the placeholder thought) passes and scores itself at the top."""
    rejected = 0
    for i, rec in enumerate(sft_records):
        try:
            check_rl_ground_truth(rec["output"], f"record {i}")
        except InputError as e:
            assert f"record {i}: ground truth: its thought mentions a tag" in str(e)
            rejected += 1
        gt = rl_ground_truth(rec["output"])
        check_rl_ground_truth(gt, f"record {i}")
        assert first_block(gt, THINK_OPEN, THINK_CLOSE).strip() == PLACEHOLDER_THOUGHT_CALL or \
            TOOL_CALL_OPEN not in gt
        r = compute_reward(gt, gt, step=0, dynamic=True)
        assert r.format == 2.0
        assert r.correctness == (2.0 if TOOL_CALL_OPEN in gt else 0.0)
    assert rejected == 17


def test_placeholder_keeps_the_real_calls():
    calls = [{"name": "a", "parameters": {"x": 1}}]
    out = (f"{THINK_OPEN} I will write {TOOL_CALL_OPEN} then {TOOL_CALL_CLOSE} {THINK_CLOSE}\n"
           f"{TOOL_CALL_OPEN}\n{json.dumps(calls[0])}\n{TOOL_CALL_CLOSE}")
    gt = rl_ground_truth(out)
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
    prompt = render_prompt(tiny_tokenizer, record_conversation(rec))
    assert prompt.text.index(rec["instruction"]) < prompt.text.index(rec["input"])
    assert prompt.text.endswith("<|im_start|>assistant\n")
    assert tiny_tokenizer.decode(prompt.ids) == prompt.text
    data = rl_dataset(sft_records[:5], tiny_tokenizer, "sft", limit=3)
    assert data.dataset.column_names == ["prompt", "prompt_ids", "ground_truth"]
    assert data.dataset[0] == {"prompt": prompt.text, "prompt_ids": prompt.ids, "ground_truth": rec["output"]}
    assert data.report == {"records": 3, "records_not_used_over_limit": 2}
    sft = sft_dataset(sft_records[:2], tiny_tokenizer).dataset[0]
    completion = tiny_tokenizer(rec["output"] + tiny_tokenizer.eos_token, add_special_tokens=False)["input_ids"]
    assert sft == {"input_ids": prompt.ids + completion, "labels": [-100] * len(prompt.ids) + completion}


def test_a_record_is_the_same_ids_in_training_and_in_evaluation(sft_records, tiny_model_dir, make_trainer):
    """The claim that train and test prompts match: one record's prompt ids as GRPO/ResT
    generate from them, as SFT trains on them, and as the evaluators' generator feeds them."""
    import torch

    from rest.eval.generation import GenerationConfig, HFGenerator

    rec = sft_records[3]
    trainer = make_trainer("rest")
    expected = render_prompt(trainer.processing_class, record_conversation(rec)).ids
    rl = rl_dataset([rec], trainer.processing_class, "r").dataset[0]
    trainer._prompt_ids = [rl["prompt_ids"]]
    assert trainer._tokenize_prompts([rl["prompt"]])[0] == [expected]
    sft = sft_dataset([rec], trainer.processing_class).dataset[0]
    assert sft["input_ids"][:len(expected)] == expected and sft["labels"][len(expected)] != -100

    gen = HFGenerator(str(tiny_model_dir), GenerationConfig(max_new_tokens=1, progress=False))
    seen = []

    def capture(input_ids, attention_mask, **kw):
        seen.append(input_ids[attention_mask.bool()].tolist())
        return torch.cat([input_ids, input_ids[:, -1:]], dim=1)

    gen.model.generate = capture
    gen.generate([record_conversation(rec)])
    assert seen == [expected]
