"""rlla records: ToolRL's split, validation, RL ground truths, loading the published files."""

import json

import numpy as np
import pytest

from rest.curation.records import (
    Screen,
    action_text,
    load_rlla,
    make_record,
    parse_action,
    record_problem,
    rl_ground_truth,
    seeded_subset,
    toolrl_split,
)
from rest.formats import (
    ALL_TAGS,
    PLACEHOLDER_THOUGHT_CALL,
    PLACEHOLDER_THOUGHT_RESPONSE,
    THINK_CLOSE,
    THINK_OPEN,
)
from rest.io import InputError
from rest.rewards import compute_reward


def toolrl_reference_split(dataset):
    """ToolRL's dataset/rlla_4k_raw/rlla.py, as that script does it (global seed, in place)."""
    state = np.random.get_state()
    try:
        np.random.seed(31415)
        np.random.shuffle(dataset)
        test_num = int(len(dataset) * 0.02)
        return dataset[:-test_num], dataset[-test_num:]
    finally:
        np.random.set_state(state)


def test_toolrl_split_selects_the_same_positions_as_toolrl():
    items = [{"position": i} for i in range(4000)]
    train, test = toolrl_split(items)
    ref_train, ref_test = toolrl_reference_split([dict(x) for x in items])
    assert (len(train), len(test)) == (3920, 80)
    assert [x["position"] for x in test] == [x["position"] for x in ref_test]
    assert [x["position"] for x in train] == [x["position"] for x in ref_train]
    assert sorted(x["position"] for x in train + test) == list(range(4000))
    assert items == [{"position": i} for i in range(4000)]  # input left as it was


def test_toolrl_split_leaves_the_global_generator_alone():
    np.random.seed(7)
    expected = np.random.rand()
    np.random.seed(7)
    toolrl_split(list(range(100)))
    assert np.random.rand() == expected


GOOD = make_record("x:0", "x", "system", "**Dialogue Records History**\n<user> hi </user>",
                   '<think> t </think>\n<tool_call>\n{"name": "f", "parameters": {"a": 1}}\n</tool_call>')


@pytest.mark.parametrize("change, reason", [
    ({"instruction": ""}, "missing or empty instruction"),
    ({"input": None}, "missing or empty input"),
    ({"input": "<user> hi </user>"}, "input has no dialogue history"),
    ({"output": "<think> t </think> hello"}, "ground truth has neither a tool call nor a response"),
    ({"output": "<think> t </think>\n<tool_call>\n{\"name\": \"f\"}"}, "tool-call block is not closed"),
    ({"output": "<think> t </think>\n<tool_call>\n{\"name\": \"f\", \"parameters\": {}\n</tool_call>"},
     "tool-call line does not parse"),
    ({"output": "<think> t </think>\n<tool_call>\n\n</tool_call>"}, "tool-call block is empty"),
    ({"output": "<think> t </think>\n<response> open"}, "response block is not closed"),
    ({"output": '<think> t </think>\n<tool_call>\n{"name": "f", "parameters": {"a": "</tool_call>"}}\n</tool_call>'},
     "a format tag appears inside the tool calls or response"),
    ({"output": "<think> t </think>\n<response> I <think> twice </response>"},
     "a format tag appears inside the tool calls or response"),
])
def test_record_problems(change, reason):
    assert record_problem(GOOD) is None
    assert record_problem({**GOOD, **change}).startswith(reason)
    assert record_problem(["not", "a", "record"]) == "not a JSON object"


def test_screen_strict_names_the_record_and_non_strict_counts():
    bad = {**GOOD, "id": "x:1", "output": "<think> t </think>"}
    with pytest.raises(InputError, match=r"data.json: record 1 \(id x:1\): ground truth has neither"):
        Screen(strict=True).keep_valid([GOOD, bad], "data.json")
    screen = Screen(strict=False)
    assert screen.keep_valid([GOOD, bad, bad], "data.json") == [GOOD]
    report = screen.report()
    assert report["total"] == 2
    assert report["by_reason"] == {"ground truth has neither a tool call nor a response": 2}
    assert report["first_example"]["ground truth has neither a tool call nor a response"].startswith("data.json: record 1")


def test_seeded_subset_is_deterministic_and_ordered():
    rows = list(range(50))
    a, b = seeded_subset(rows, 10, seed=3), seeded_subset(rows, 10, seed=3)
    assert a == b and a == sorted(a) and len(set(a)) == 10
    assert seeded_subset(rows, 10, seed=4) != a
    assert seeded_subset(rows, None, seed=3) == rows and seeded_subset(rows, 99, seed=3) == rows


def test_published_sft_records_all_valid_and_rl_truths_score_maximum(sft_records):
    """All 400 rlla_sft records validate; as RL ground truths (placeholder thought) they
    score the reward's maximum against themselves, the 17 with a tag in the thought included."""
    tagged = 0
    for i, rec in enumerate(sft_records):
        assert record_problem(rec) is None, i
        thought = rec["output"][: rec["output"].find(THINK_CLOSE)]
        tagged += any(t in thought[len(THINK_OPEN):] for t in ALL_TAGS)
        gt = rl_ground_truth(rec["output"])
        calls, response = parse_action(rec["output"])
        assert parse_action(gt) == (calls, response)
        assert gt.startswith(f"{THINK_OPEN} {PLACEHOLDER_THOUGHT_CALL if calls else PLACEHOLDER_THOUGHT_RESPONSE} ")
        r = compute_reward(gt, gt, step=0, dynamic=True)
        assert r.format == 2.0 and r.correctness == (2.0 if calls else 0.0), i
    assert tagged == 17


def test_action_text_skips_tags_named_in_the_thought():
    out = ('<think> I will use <tool_call> here </think>\n<tool_call>\n'
           '{"name": "f", "parameters": {"a": 1}}\n</tool_call>')
    assert action_text(out).startswith("\n<tool_call>")
    assert parse_action(out) == ([{"name": "f", "parameters": {"a": 1}}], None)


def test_load_published_parquet_split(data_dir):
    records = load_rlla(data_dir / "train/toolrl_rlla_4k/test.parquet", "rlla_test")
    assert len(records) == 80
    assert [r["id"] for r in records] == [f"rlla_test:{i}" for i in range(80)]
    assert all(record_problem(r) is None for r in records)
    first = records[0]
    assert first["source"] == "rlla_test"
    assert first["input"].startswith("**Dialogue Records History**\n<user> Hey, I'm looking to stay current on Azure")
    assert first["output"] == (f"{THINK_OPEN} {PLACEHOLDER_THOUGHT_CALL} {THINK_CLOSE}\n<tool_call>\n"
                               '{"name": "GetNews", "parameters": {"page": "1"}}\n</tool_call>')


def test_load_reports_bad_files(tmp_path):
    (tmp_path / "bad.json").write_text('{"not": "a list"}')
    with pytest.raises(InputError, match="bad.json: expected a JSON list"):
        load_rlla(tmp_path / "bad.json", "x")
    (tmp_path / "bad.jsonl").write_text(json.dumps(GOOD) + "\n{oops\n")
    with pytest.raises(InputError, match="bad.jsonl:2: invalid JSON"):
        load_rlla(tmp_path / "bad.jsonl", "x")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(InputError, match="bad.parquet: not a readable parquet"):
        load_rlla(tmp_path / "bad.parquet", "x")
    with pytest.raises(InputError, match="missing.json: file not found"):
        load_rlla(tmp_path / "missing.json", "x")


def test_a_non_object_entry_is_reported_by_index(tmp_path):
    (tmp_path / "rl.json").write_text(json.dumps([dict(GOOD), "stray string"]))
    records = load_rlla(tmp_path / "rl.json", "rlla_rl")
    with pytest.raises(InputError, match=r"rl.json: record 1 \(id \?\): not a JSON object"):
        Screen(strict=True).keep_valid(records, "rl.json")
