"""API-Bank scoring under the ToolRL protocol, against hand-worked cases."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rest.eval import apibank
from rest.formats import render_completion, render_tool_calls

ANSWER = [{"name": "AddAlarm", "parameters": {"token": "a9s8", "time": "2023-03-20 07:00:00"}}]
CALL = ANSWER[0]


@pytest.fixture(scope="module")
def levels(data_dir):
    return apibank.load_levels(data_dir)


def test_level_files_have_the_protocol_sizes(levels):
    assert {lv: len(items) for lv, items in levels.items()} == apibank.LEVEL_SIZES


@pytest.mark.parametrize("completion, expected", [
    (render_completion("t", [CALL], None), True),
    (render_completion("t", [CALL], "done"), True),
    # the answer may be a bare dict too; a one-element list is unwrapped
    (render_tool_calls([{"name": "AddAlarm", "parameters": {"time": "2023-03-20 07:00:00", "token": "a9s8"}}]), True),
    # a bare parameter dict counts, with the answer's name
    (render_tool_calls([CALL["parameters"]]), True),
    # wrong value, wrong name
    (render_tool_calls([{"name": "AddAlarm", "parameters": {"token": "a9s8", "time": "07:00"}}]), False),
    (render_tool_calls([{"name": "AddAgenda", "parameters": CALL["parameters"]}]), False),
    # any matching call among several
    (render_tool_calls([{"name": "GetUserToken", "parameters": {}}, CALL]), True),
    # the last block wins: a correct first block is ignored
    (render_tool_calls([CALL]) + "\n" + render_tool_calls([{"name": "X", "parameters": {}}]), False),
    (render_tool_calls([{"name": "X", "parameters": {}}]) + "\n" + render_tool_calls([CALL]), True),
    # bad JSON lines are skipped
    ("<tool_call>\n{not json\n" + json.dumps(CALL) + "\n</tool_call>", True),
    # no tag: the whole output is read line by line
    ("Sure.\n" + json.dumps(CALL), True),
    # a value that cannot be checked (an int) ends the check as wrong, even before a match
    ("<tool_call>\n5\n" + json.dumps(CALL) + "\n</tool_call>", False),
    # a list is compared as parameters (unequal) and the check goes on, as in the released code
    ("<tool_call>\n[1]\n" + json.dumps(CALL) + "\n</tool_call>", True),
    # a JSON string holding the call is decoded once more
    ("<tool_call>\n" + json.dumps(json.dumps(CALL)) + "\n</tool_call>", True),
    ("", False),
    ("<tool_call>\n</tool_call>", False),
])
def test_is_correct_hand_cases(completion, expected):
    assert apibank.is_correct(completion, ANSWER) is expected
    assert apibank.is_correct(completion, ANSWER[0]) is expected


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_is_correct_never_raises(text):
    assert apibank.is_correct(text, ANSWER) in (True, False)
    assert apibank.is_correct("<tool_call>\n" + text + "\n</tool_call>", ANSWER) in (True, False)


def _predictions(levels, n_correct):
    rows = []
    for lv, n in n_correct.items():
        for i in range(n):
            rows.append({"level": lv, "index": i,
                         "completion": render_completion("t", [_answer(levels[lv][i])], None)})
    return rows


def _answer(item):
    a = item["answer"]
    return a[0] if isinstance(a, list) else a


def test_paper_arithmetic_qwen3_4b_rest(levels):
    """Qwen3-4B ResT: 294 + 43 + 73 of 597 prints as 73.68 / 64.18 / 55.73 / 68.68."""
    rows = _predictions(levels, {1: 294, 2: 43, 3: 73})
    # wrong predictions for the rest of level 1 do not change the count
    rows += [{"level": 1, "index": i, "completion": "no call"} for i in range(294, 399)]
    scores, _ = apibank.score_predictions(rows, levels)
    assert scores.short() == {"level_1": 73.68, "level_2": 64.18, "level_3": 55.73, "overall": 68.68}
    assert scores.metrics()["Overall Acc"] == 68.68
    assert scores.counts()["level_2"] == {"correct": 43, "total": 67, "predicted": 43}


def test_missing_predictions_count_as_wrong(levels):
    scores, _ = apibank.score_predictions(_predictions(levels, {3: 131}), levels)
    assert scores.short() == {"level_1": 0.0, "level_2": 0.0, "level_3": 100.0, "overall": round(100 * 131 / 597, 2)}


def _write(tmp_path, rows, name="p.jsonl"):
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_predictions_cli_prints_one_json_object(tmp_path, levels, capsys):
    from rest.cli import main

    path = _write(tmp_path, _predictions(levels, {1: 2, 2: 1}))
    assert main(["eval", "apibank", "--predictions", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert json.loads(out) == {"level_1": round(200 / 399, 2), "level_2": round(100 / 67, 2), "level_3": 0.0,
                               "overall": round(300 / 597, 2)}


@pytest.mark.parametrize("row, message", [
    ('{"level": 1, "index": 0', "p.jsonl:2: invalid JSON"),
    ({"level": 4, "index": 0, "completion": ""}, "p.jsonl:2: key 'level' must be 1, 2 or 3"),
    ({"level": 2, "index": 67, "completion": ""}, "p.jsonl:2: key 'index' 67 is out of range"),
    ({"level": 1, "index": 0}, "p.jsonl:2: missing key 'completion'"),
    ({"level": 1, "index": 0, "completion": "x"}, "p.jsonl:2: duplicate prediction for level 1 index 0"),
])
def test_bad_prediction_files_name_the_line(tmp_path, capsys, row, message):
    from rest.cli import main

    path = _write(tmp_path, [{"level": 1, "index": 0, "completion": ""}, row])
    assert main(["eval", "apibank", "--predictions", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
