"""The three completion parsers side by side, and the bounded JSON decoder they share."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rest.parsers import (
    MAX_JSON_DEPTH,
    JSONTooDeep,
    apibank_calls,
    bfcl_calls,
    json_depth,
    json_lines,
    loads_bounded,
    rlla_calls,
)
from rest.rewards import STATIC_RANGES, correctness_reward


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("text, depth", [
    ("1", 0), ("[]", 1), ('{"a": [1, {"b": []}]}', 4),
    ('"[[[[" ', 0), ('["\\"[[", [{}]]', 3),  # brackets inside strings, escaped quotes
    (nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH),
])
def test_json_depth(text, depth):
    assert json_depth(text) == depth


def test_depth_bound():
    assert loads_bounded(nested(MAX_JSON_DEPTH)) == json.loads(nested(MAX_JSON_DEPTH))
    # many brackets side by side are wide, not deep
    assert loads_bounded(json.dumps([[1]] * 500)) == [[1]] * 500
    for depth in (MAX_JSON_DEPTH + 1, 986, 100_000):
        with pytest.raises(JSONTooDeep):
            loads_bounded(nested(depth))
        assert json_lines(nested(depth) + "\n[1]") == [[1]]


# One completion, read three ways: the first block for the reward, the last for the evaluators.
TWO_BLOCKS = ('<think> t </think>\n<tool_call>\n{"name": "f", "parameters": {"x": 1}}\n</tool_call>\n'
              '<tool_call>\n{"name": "g", "parameters": {}}\nnot json\n{"x": 2}\n'
              '{"name": "None", "parameters": {}}\n</tool_call>')


def test_protocols_side_by_side():
    assert rlla_calls(TWO_BLOCKS) == [{"name": "f", "parameters": {"x": 1}}]
    assert apibank_calls(TWO_BLOCKS) == [{"name": "g", "parameters": {}}, {"x": 2},
                                         {"name": "None", "parameters": {}}]
    assert bfcl_calls(TWO_BLOCKS) == [("g", {})]
    # without a tag: the reward finds nothing to read, API-Bank reads the whole text, BFCL no call
    bare = '{"name": "f", "parameters": {}}'
    with pytest.raises(IndexError):
        rlla_calls(bare)
    assert apibank_calls(bare) == [{"name": "f", "parameters": {}}]
    assert bfcl_calls(bare) == []
    # one bad line makes the reward's whole prediction malformed; the evaluators skip it
    with pytest.raises(ValueError):
        rlla_calls("<tool_call>\nnot json\n</tool_call>")


def test_too_deep_is_a_wrong_call_everywhere():
    deep = '{"name": "f", "parameters": {"x": ' + nested(986) + "}}"
    text = f"<tool_call>\n{deep}\n</tool_call>"
    assert bfcl_calls(text) == [] and apibank_calls(text) == []
    gt = '<tool_call>\n{"name": "f", "parameters": {"x": 1}}\n</tool_call>'
    assert correctness_reward("<think> t </think>" + text, gt, STATIC_RANGES) == STATIC_RANGES.cor_min


@given(st.text())
def test_evaluator_parsers_never_raise(text):
    for wrapped in (text, "<tool_call>\n" + text):
        assert all(isinstance(n, str) and isinstance(p, dict) for n, p in bfcl_calls(wrapped))
        apibank_calls(wrapped)
