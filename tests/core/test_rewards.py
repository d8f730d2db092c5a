"""The rule reward against hand-worked examples (paper Eq. 10-14)."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rest.formats import render_completion
from rest.rewards import (
    STATIC_RANGES,
    RewardRanges,
    compute_reward,
    correctness_reward,
    format_reward,
    make_reward_funcs,
    multiset_jaccard,
    reward_ranges,
)

S = STATIC_RANGES


def calls_gt(*calls, response=None):
    return render_completion("gt thought", list(calls), response)


def pred(*lines, think=True, response=None):
    body = "<tool_call>\n" + "\n".join(lines) + "\n</tool_call>"
    out = ("<think> t </think>\n" if think else "") + body
    return out + (f"\n<response> {response} </response>" if response else "")


def call(name, **params):
    return {"name": name, "parameters": params}


J = json.dumps
GT_CALL = calls_gt(call("f", x=1))
GT_RESP = render_completion("gt", None, "hello")
GT_BOTH = calls_gt(call("f", x=1), response="done")
GT_NONE = "<think> only thinking </think>"


# ----------------------------------------------------------------- format, one row per case

@pytest.mark.parametrize(
    "completion, gt, ok",
    [
        # GT with <response> only
        ("<think> a </think>\n<response> b </response>", GT_RESP, True),
        ("  <think> a </think><response> b </response>  ", GT_RESP, True),
        ("<response> b </response><think> a </think>", GT_RESP, False),  # order
        ("<think> a </think><response> b </response><response> c </response>", GT_RESP, False),  # twice
        ("<think> a <response> b </response>", GT_RESP, False),  # no </think>
        ("<think> a </think><tool_call>\n{}\n</tool_call><response> b </response>", GT_RESP, True),  # extra call ok
        # GT with <tool_call> only
        (pred(J(call("f", x=1))), GT_CALL, True),
        (pred(J(call("f", x=1)), response="x"), GT_CALL, False),  # response forbidden
        ("<tool_call>\n{}\n</tool_call><think> a </think>", GT_CALL, False),  # order
        ("<think> a </think><tool_call>x</tool_call><tool_call>y</tool_call>", GT_CALL, False),  # twice
        ("<think> a </think><think> b </think><tool_call>x</tool_call>", GT_CALL, True),  # think count unchecked
        ("<think> a </think><tool_call>x", GT_CALL, False),  # unclosed
        # GT with both
        (pred(J(call("f", x=1)), response="ok"), GT_BOTH, True),
        (pred(J(call("f", x=1))), GT_BOTH, False),  # response missing
        ("<think> a </think><response> r </response><tool_call>x</tool_call>", GT_BOTH, False),  # order
        ("<think> a </think><tool_call>x</tool_call><response> r </response></response>", GT_BOTH, False),
        # GT with neither: exactly one think pair
        ("<think> a </think> anything", GT_NONE, True),
        ("<think> a </think><think> b </think>", GT_NONE, False),
        ("no tags at all", GT_NONE, False),
    ],
)
def test_format_table(completion, gt, ok):
    assert format_reward(completion, gt, S) == (1.0 if ok else 0.0)
    dyn = reward_ranges(0, dynamic=True)
    assert format_reward(completion, gt, dyn) == (2.0 if ok else -2.0)


# ----------------------------------------------------------------- correctness branches

def test_no_call_in_ground_truth_scores_zero():
    assert correctness_reward(pred(J(call("f", x=1))), GT_RESP, S) == 0.0
    assert correctness_reward("garbage", GT_NONE, S) == 0.0


@pytest.mark.parametrize(
    "completion",
    [
        "<think> t </think> no call",                      # tag missing
        "<think> t </think><tool_call>\n" + J(call("f", x=1)),  # closing tag missing
        pred("{not json"),                                  # line fails to parse
        pred(J(call("f", x=1)), "", J(call("f", x=1))),    # inner blank line fails json.loads
        pred("[1, 2]"),                                     # not an object
        pred(J({"parameters": {"x": 1}})),                  # lacks name
        pred(J({"name": "f"})),                             # compared, lacks parameters
        pred(J({"name": "f", "parameters": [1]})),          # compared, parameters not an object
        pred(J({"name": ["f"], "parameters": {}})),         # unhashable name
    ],
)
def test_malformed_prediction_scores_minimum(completion):
    assert correctness_reward(completion, GT_CALL, S) == -3.0


def test_exact_match_is_maximum_with_python_equality():
    assert correctness_reward(pred(J(call("f", x=1))), GT_CALL, S) == 3.0
    assert correctness_reward(pred(J(call("f", x=1.0))), GT_CALL, S) == 3.0  # 1 == 1.0
    assert correctness_reward(pred(J(call("f", x=True))), GT_CALL, S) == 3.0  # True == 1


def test_partial_values():
    gt = calls_gt(call("f", x=1, y=2))
    # names 1 + keys 1 + one equal value = 3 of 1 + (1 + 2) = 4 -> 6 * 3/4 - 3
    assert correctness_reward(pred(J(call("f", x=1, y=3))), gt, S) == pytest.approx(1.5)


def test_order_sensitive_exact_match_falls_back_to_score():
    gt = calls_gt(call("a", x=1), call("b", y=2))
    swapped = pred(J(call("b", y=2)), J(call("a", x=1)))
    # Not == (order differs) but every part matches: 5 / 5 -> maximum through the formula.
    assert correctness_reward(swapped, gt, S) == pytest.approx(3.0)


def test_multiset_jaccard():
    assert multiset_jaccard(["a", "a", "b"], ["a", "b", "c"]) == pytest.approx(2 / 4)
    assert multiset_jaccard([], ["a"]) == 0.0
    assert multiset_jaccard([], []) == 1.0
    assert multiset_jaccard(["a", "b"], ["b", "a"]) == 1.0


def test_greedy_matching_uses_each_prediction_once():
    gt = calls_gt(call("f", x=1), call("f", x=1))
    # names J([f,f],[f]) = 1/2; first GT call takes the prediction (2); second finds none.
    # (2.5 / 5) * 6 - 3 = 0
    assert correctness_reward(pred(J(call("f", x=1))), gt, S) == pytest.approx(0.0)


def test_ties_take_the_first_prediction():
    gt = calls_gt(call("f", x=1), call("f", x=3))
    completion = pred(J(call("f", x=2)), J(call("f", x=3)))
    # GT0 ties between both predictions (1.0 each) and takes the first; GT1 then gets the
    # exact one (2.0): score 1 + 1 + 2 = 4 of 5 -> 6 * 0.8 - 3.
    assert correctness_reward(completion, gt, S) == pytest.approx(1.8)


def test_only_positive_matches_count():
    # Keys Jaccard([x], []) = 0 and no equal value: nothing is matched. 1/3 -> -1.
    assert correctness_reward(pred(J(call("f"))), GT_CALL, S) == pytest.approx(-1.0)


def test_malformed_call_never_compared_is_harmless():
    completion = pred(J({"name": "g"}), J(call("f", x=1)))
    # names J([f],[g,f]) = 1/2, f matches 2: 2.5 / 3 -> 6 * 2.5/3 - 3 = 2
    assert correctness_reward(completion, GT_CALL, S) == pytest.approx(2.0)


def test_second_open_tag_ends_the_block_as_released():
    completion = "<think> t </think><tool_call>\n" + J(call("f", x=1)) + "\n<tool_call>\nnot json</tool_call>"
    assert correctness_reward(completion, GT_CALL, S) == 3.0


# ----------------------------------------------------------------- ranges

@pytest.mark.parametrize(
    "step, expected",
    [
        (0, (2.0, -2.0, 2.0, -2.0)),
        (75, (1.5, -1.0, 2.5, -2.5)),
        (150, (1.0, -1.0, 3.0, -3.0)),
        (300, (1.0, -1.0, 3.0, -3.0)),
    ],
)
def test_dynamic_ranges(step, expected):
    r = reward_ranges(step, dynamic=True, horizon=150)
    assert (r.fmt_max, r.fmt_min, r.cor_max, r.cor_min) == pytest.approx(expected)


def test_static_ranges_ignore_step():
    assert reward_ranges(999, dynamic=False) == RewardRanges(1.0, 0.0, 3.0, -3.0)


def test_dynamic_total_at_step_75():
    r = compute_reward(pred(J(call("f", x=1))), GT_CALL, step=75, dynamic=True)
    assert (r.format, r.correctness, r.total) == pytest.approx((1.5, 2.5, 4.0))


def test_trl_reward_functions_read_the_step():
    class State:
        global_step = 150

    fmt, cor = make_reward_funcs(dynamic=True)
    assert (fmt.__name__, cor.__name__) == ("format", "correctness")
    completions = [pred(J(call("f", x=1))), [{"role": "assistant", "content": "nothing"}]]
    kw = dict(prompts=["p", "p"], completions=completions, ground_truth=[GT_CALL, GT_CALL], trainer_state=State())
    assert fmt(**kw) == [1.0, -1.0]
    assert cor(**kw) == [3.0, -3.0]


# ----------------------------------------------------------------- never raises

TAGS = ["<think>", "</think>", "<tool_call>", "</tool_call>", "<response>", "</response>", "\n", "{", "}", '"']
texty = st.lists(st.one_of(st.text(max_size=12), st.sampled_from(TAGS)), max_size=20).map("".join)


@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(completion=st.one_of(st.text(), texty), step=st.integers(-5, 500), dynamic=st.booleans())
def test_arbitrary_completions_never_raise(completion, step, dynamic):
    r = compute_reward(completion, GT_BOTH, step=step, dynamic=dynamic)
    ranges = reward_ranges(step, dynamic)
    assert r.format in (ranges.fmt_min, ranges.fmt_max)
    assert ranges.cor_min - 1e-9 <= r.correctness <= ranges.cor_max + 1e-9


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(cut=st.integers(0, 200), junk=texty, data=st.data())
def test_ground_truth_mutations_never_raise(cut, junk, data):
    gt = GT_BOTH[:cut] + junk + GT_BOTH[cut:]
    completion = data.draw(st.sampled_from([GT_BOTH, gt, junk, ""]))
    compute_reward(completion, gt, step=data.draw(st.integers(0, 300)))
    compute_reward(completion, None, step=0)  # type: ignore[arg-type]
