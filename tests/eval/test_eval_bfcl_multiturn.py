"""BFCL multi-turn: inert execution of model calls, ground-truth replay, no stale backend state."""

from __future__ import annotations

import ast
import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rest.eval import bfcl, bfcl_prompts
from rest.eval import bfcl_multiturn as mt
from rest.eval.bfcl_reference import multi_turn_call
from rest.eval.bfcl_worker import shared_worker
from rest.formats import render_completion, render_tool_calls, render_user

DONE = render_completion("done", None, "All done.")


@pytest.fixture(scope="module")
def base_cases():
    return bfcl.load_cases("multi_turn_base", 3)


def _cached_instances(prefix: str = "rest_") -> list[str]:
    """Backend instances bfcl-eval holds in the worker."""
    return shared_worker().request("cached", prefix)


def _replay(case) -> mt.Episode:
    """Play the ground truth: each turn, all its calls in one step, then a plain response."""
    episode = mt.Episode(case)
    for turn in case.answer:
        assert not episode.done
        if turn:
            episode.feed(render_completion("t", [multi_turn_call(c, episode.methods) for c in turn], None))
        episode.feed(DONE)
    assert episode.done and not episode.force_quit
    return episode


@pytest.mark.parametrize("category", bfcl.MULTI_TURN)
def test_ground_truth_replay_scores_valid(category):
    before = set(_cached_instances())
    for case in bfcl.load_cases(category, 3):
        episode = _replay(case)
        assert episode.rejected == 0
        verdict = mt.score_multi_turn(case, episode.calls)
        assert verdict["valid"], (case.id, verdict)
    assert set(_cached_instances()) == before  # every episode and scoring released its backends


def test_scoring_twice_in_one_process_is_not_stale(base_cases):
    case = base_cases[0]
    calls = _replay(case).calls
    first = mt.score_multi_turn(case, calls)
    # a wrong run in between (every call dropped) must not leak into the next scoring
    wrong = mt.score_multi_turn(case, [[] for _ in calls])
    second = mt.score_multi_turn(case, calls)
    assert first["valid"] and second["valid"] and not wrong["valid"]
    # the demonstration: with one shared key, the wrong run's ground-truth backends stay
    # mutated and the right run is then judged against a doubly-applied ground truth
    bf = bfcl.load_bfcl()
    shared_key = "stale_demo"
    try:
        assert not bf.multi_turn_checker([[] for _ in calls], case.answer, case.checker_entry, case.category,
                                         shared_key)["valid"]
        assert not bf.multi_turn_checker(calls, case.answer, case.checker_entry, case.category, shared_key)["valid"]
    finally:
        for k in [k for k in vars(bf.multi_turn_utils) if k.startswith(shared_key)]:
            del vars(bf.multi_turn_utils)[k]


def test_execution_results_are_fed_back(base_cases):
    episode = mt.Episode(base_cases[0])
    episode.feed(render_tool_calls([{"name": "ls", "parameters": {}}]))
    user = episode.conversation()[1]["content"]
    # the handler names the executed call string, and asks for a reflection after the last result
    assert "<obs> You have made the tool call ls(). Execution returns: " in user
    assert "document" in user.split("Execution returns:")[-1]  # the listing of the initial workspace
    assert user.endswith(render_user(bfcl_prompts.AFTER_OBSERVATION))
    assert episode.calls == [[["ls()"]]]
    assert _cached_instances(episode.key)
    episode.close()
    assert not _cached_instances(episode.key)


def test_step_limit_force_quits_and_fails(base_cases):
    case = base_cases[0]
    episode = mt.Episode(case, max_steps_per_turn=2)
    for _ in range(3):
        episode.feed(render_tool_calls([{"name": "pwd", "parameters": {}}]))
    assert episode.done and episode.force_quit
    verdict = mt.score_multi_turn(case, episode.calls)
    assert not verdict["valid"] and verdict["error_type"] == "multi_turn:force_terminated"


def payloads(target):
    shell = f"__import__('os').system('touch {target}')"
    return [
        {"name": shell, "parameters": {}},
        {"name": "cd(folder='x');" + shell + "#", "parameters": {}},
        {"name": "eval", "parameters": {"source": shell}},
        {"name": "exec", "parameters": {"source": shell}},
        {"name": "__import__", "parameters": {"name": "os"}},
        {"name": "_load_scenario", "parameters": {"scenario": {}}},
        {"name": "cd", "parameters": {f"folder={shell},x": 1}},
        {"name": "cd", "parameters": {"folder": 1, "**{'a':" + shell + "}": 2}},
        # inert: the payload travels as a string or dict key literal and is executed as data
        {"name": "cd", "parameters": {"folder": shell}},
        {"name": "cd", "parameters": {"folder": "')" + "; " + shell + " #"}},
        {"name": "mkdir", "parameters": {"dir_name": {shell: [shell]}}},
        {"name": "echo", "parameters": {"content": "\"\"\"" + shell, "file_name": "a.txt"}},
    ]


def test_payloads_are_inert(base_cases, tmp_path):
    target = tmp_path / "pwned"
    case = base_cases[0]
    episode = mt.Episode(case)
    episode.feed(render_tool_calls(payloads(target)) + "\n")
    episode.feed("<tool_call>\n{\"name\": \"cd\", \"parameters\": {\"folder\": NaN}}\n</tool_call>")
    assert not target.exists()
    assert episode.rejected == 8 + 1
    user = episode.conversation()[1]["content"]
    assert user.count("Execution returns: Error during execution:") >= 9
    # every executed string is one call of a backend method with literal arguments
    for step in (s for turn in episode.calls for s in turn):
        for call in step:
            node = ast.parse(call, mode="eval").body
            assert isinstance(node, ast.Call) and node.func.id in episode.methods
            for kw in node.keywords:
                ast.literal_eval(kw.value)
    # replaying them through the official checker is inert too
    episode.close()
    mt.score_multi_turn(case, episode.calls + [[] for _ in case.answer[1:]])
    assert not target.exists()


@settings(max_examples=300, deadline=None)
@given(name=st.one_of(st.text(max_size=30), st.sampled_from(["cd", "ls", "mkdir", "echo", "__import__", "eval"])),
       params=st.dictionaries(st.text(max_size=12), st.recursive(
           st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
           max_leaves=8), max_size=4))
@example(name="cd", params={"\u00aa": None})  # an identifier Python folds to "a"
def test_call_strings_are_only_literal_method_calls(name, params):
    methods = {"cd", "ls", "mkdir", "echo"}
    try:
        s = mt.call_string(name, params, methods)
    except mt.RejectedCall:
        return
    node = ast.parse(s, mode="eval").body
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in methods
    assert not node.args
    assert {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords} == params


def test_garbage_completions_never_crash(base_cases):
    episode = mt.Episode(base_cases[1])
    for text in ["", "<tool_call>", "<tool_call>\n{\"name\": 5}\n</tool_call>", "\x00" * 10,
                 render_tool_calls([{"name": "cd", "parameters": {"nope": [1, {"a": None}]}}])]:
        if not episode.done:
            episode.feed(text)
    while not episode.done:
        episode.feed(DONE)
    assert mt.score_multi_turn(base_cases[1], episode.calls)["valid"] is False
    assert json.dumps(episode.outputs)


_json_call = st.fixed_dictionaries({"name": st.sampled_from(["cd", "ls", "touch", "nope", "None"]) | st.text(max_size=10),
                                    "parameters": st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8),
                                                                  max_size=3)}).map(json.dumps)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=60), _json_call.map(lambda c: "<tool_call>\n" + c + "\n</tool_call>")),
                min_size=1, max_size=4))
def test_any_output_sequence_plays_and_scores(base_cases, outputs):
    case = base_cases[2]
    episode = mt.Episode(case, max_steps_per_turn=3)
    for text in outputs:
        if episode.done:
            break
        episode.feed(text)
    while not episode.done:
        episode.feed(DONE)
    assert mt.score_multi_turn(case, episode.calls)["valid"] in (True, False)
    assert not _cached_instances(episode.key)
