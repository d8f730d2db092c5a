"""The testbed's task generator: deterministic, disjoint splits, knobs that do what they say,
gold answers that the project's own reward and parser accept."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rest.formats import TOOL_CALL_OPEN, parse_completion
from rest.rewards import compute_reward
from rest.testbed.tasks import BY_NAME, CATALOGUE, SLOTS, Knobs, make_splits
from rest.train.data import check_rl_ground_truth


def _splits(knobs=None, sizes=None, seed=0):
    return make_splits(sizes or {"train": 300, "val": 40, "test": 60}, seed, knobs or Knobs())


def test_same_seed_same_tasks_other_seed_other_tasks():
    a, b, c = _splits(), _splits(), _splits(seed=1)
    assert a == b
    assert a["test"] != c["test"]


def test_splits_are_disjoint_and_held_out_tasks_do_not_depend_on_train_size():
    s = _splits()
    keys = {n: {t["instruction"] + t["input"] for t in rows} for n, rows in s.items()}
    assert not keys["train"] & keys["test"] and not keys["train"] & keys["val"] and not keys["val"] & keys["test"]
    bigger = _splits(sizes={"train": 500, "val": 40, "test": 60})
    assert bigger["test"] == s["test"] and bigger["val"] == s["val"]


def test_gold_answers_are_in_the_project_format_and_score_the_static_maximum():
    for task in _splits()["test"]:
        check_rl_ground_truth(task["output"], "gold")  # the training data's own check
        parsed = parse_completion(task["output"])
        assert parsed.think and parsed.bad_call_lines == 0 and parsed.response is None
        assert task["output"].startswith("<think>") and TOOL_CALL_OPEN in task["output"]
        r = compute_reward(task["output"], task["output"], dynamic=False)
        assert (r.format, r.correctness) == (1.0, 3.0)
        shown = task["task"]["tools_shown"]
        assert all(name in shown for name, _ in parsed.calls)


@pytest.mark.parametrize("knobs", [Knobs(tools_shown=5, distractors=2, params_min=2, params_max=2),
                                   Knobs(tools_shown=4, calls_min=2, calls_max=2, params_min=1, params_max=1)])
def test_knobs_shape_the_prompt_and_the_answer(knobs):
    for task in _splits(knobs)["train"][:100]:
        calls = parse_completion(task["output"]).calls
        shown = task["task"]["tools_shown"]
        assert len(shown) == knobs.tools_shown
        assert task["instruction"].count("Name: ") == knobs.tools_shown
        assert knobs.calls_min <= len(calls) <= knobs.calls_max
        for name, params in calls:
            assert len(params) == task["task"]["params"]
            assert knobs.params_min <= len(params) <= knobs.params_max
        targets = {name for name, _ in calls}
        def is_near(n, targets=targets):
            return n not in targets and any(n.split("_")[0] == t.split("_")[0] for t in targets)

        available = [t.name for t in CATALOGUE if is_near(t.name)]
        assert len([n for n in shown if is_near(n)]) >= min(knobs.distractors, len(available))


def test_copied_values_appear_verbatim_and_inferred_ones_do_not():
    copied = _splits(Knobs(inferred_fraction=0.0))["test"]
    inferred = _splits(Knobs(inferred_fraction=1.0))["test"]
    paraphrased = {str(v) for kind in SLOTS.values() for v, copy, infer in kind if copy != infer}
    for task in copied:
        assert task["task"]["inferred_values"] == 0
        for _, params in parse_completion(task["output"]).calls:
            assert all(str(v) in task["input"] for v in params.values())
    hidden = 0
    for task in inferred:
        for _, params in parse_completion(task["output"]).calls:
            for v in params.values():
                if str(v) in paraphrased:
                    hidden += f" {v}" not in task["input"] and f" {v}." not in task["input"]
    assert task["task"]["inferred_values"] > 0 and hidden > 0.5 * len(inferred)


def test_shown_parameters_match_the_answer_keys():
    for task in _splits()["val"]:
        for name, params in parse_completion(task["output"]).calls:
            assert list(params) == [p.name for p in BY_NAME[name].params[:len(params)]]
            assert f'Name: {name}' in task["instruction"]
            schema = BY_NAME[name].schema(len(params))
            assert json.dumps(schema["parameters"]) in task["instruction"]


def test_cli_writes_the_splits_and_rejects_impossible_knobs(tmp_path):
    from rest.cli import main

    assert main(["testbed", "data", "--output", str(tmp_path), "--train", "20", "--val", "5", "--test", "5"]) == 0
    assert [len((tmp_path / f"{s}.jsonl").read_text().splitlines()) for s in ("train", "val", "test")] == [20, 5, 5]
    spec = json.loads((tmp_path / "testbed.json").read_text())
    assert spec["knobs"]["tools_shown"] == 3 and spec["sizes"]["train"] == 20
    proc = subprocess.run([sys.executable, "-m", "rest", "testbed", "data", "--output", str(tmp_path / "x"),
                           "--tools-shown", "2", "--distractors", "2"], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: testbed: distractors: need 0 <= distractors < tools_shown, got 2"]
