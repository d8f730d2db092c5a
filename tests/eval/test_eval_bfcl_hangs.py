"""No model call hangs multi-turn BFCL: argument limits, a killed worker, a bounded checker."""

from __future__ import annotations

import signal
import time

import pytest

from rest.eval import bfcl, bfcl_worker
from rest.eval import bfcl_multiturn as mt
from rest.formats import render_tool_calls

#: Each of these ran for hours in C, where neither alarms nor SIGTERM reach.
HANGS = [
    {"name": "power", "parameters": {"base": 10, "exponent": 100000000}},
    {"name": "square_root", "parameters": {"number": 2, "precision": 100000000}},
    {"name": "logarithm", "parameters": {"value": 10, "base": 3, "precision": 10000000}},
]


@pytest.fixture(scope="module")
def math_case():
    (case,) = [c for c in bfcl.load_cases("multi_turn_base", 16) if c.id == "multi_turn_base_15"]
    assert "MathAPI" in case.checker_entry["involved_classes"]
    return case


def _observations(episode) -> list[str]:
    return [m["content"] for m in episode.messages if m["role"] == "tool"]


def test_mathapi_hangs_are_refused_within_the_limit(math_case):
    episode = mt.Episode(math_case)
    start = time.monotonic()
    episode.feed(render_tool_calls(HANGS))
    assert time.monotonic() - start < bfcl_worker.CALL_TIMEOUT
    assert episode.rejected == 3 and episode.timed_out == 0 and episode.calls == [[]]
    obs = _observations(episode)
    assert "bits" in obs[0] and "above the limit 1000 of square_root" in obs[1] and "of logarithm" in obs[2]
    # sane calls of the same methods still run
    episode.feed(render_tool_calls([{"name": "power", "parameters": {"base": 2, "exponent": 10}},
                                    {"name": "square_root", "parameters": {"number": 2, "precision": 5}}]))
    assert "1024" in _observations(episode)[3] and "1.4142" in _observations(episode)[4]
    episode.close()


def test_a_call_past_the_time_limit_is_killed_and_the_episode_goes_on(math_case, monkeypatch):
    monkeypatch.setattr(bfcl_worker, "ARGUMENT_LIMITS", {})  # let the hang through to the worker
    monkeypatch.setattr(bfcl_worker, "MAX_POWER_BITS", float("inf"))
    episode = mt.Episode(math_case, call_timeout=2.0)
    episode.feed(render_tool_calls([{"name": "touch", "parameters": {"file_name": "kept.txt"}}]))
    generation = episode.worker.generation
    start = time.monotonic()
    episode.feed(render_tool_calls([HANGS[0], {"name": "mkdir", "parameters": {"dir_name": "after"}}]))
    assert time.monotonic() - start < 2.0 + bfcl_worker.START_TIMEOUT
    assert episode.timed_out == 1 and "timed out after 2 s" in _observations(episode)[1]
    assert episode.worker.generation == generation + 1  # a fresh worker, into which the touch was replayed
    # the checker sees what ran: the touch, then the mkdir, not the call that was stopped
    assert episode.calls == [[["touch(file_name='kept.txt')"], ["mkdir(dir_name='after')"]]]
    episode.feed(render_tool_calls([{"name": "ls", "parameters": {}}]))
    listing = _observations(episode)[-1]
    assert "kept.txt" in listing and "after" in listing
    episode.close()


def test_a_checker_past_the_time_limit_scores_the_entry_wrong(math_case):
    calls = [[["power(base=10, exponent=100000000)"]]] + [[] for _ in math_case.answer[1:]]
    start = time.monotonic()
    verdict = mt.score_multi_turn(math_case, calls, timeout=2.0)
    assert time.monotonic() - start < 10
    assert verdict == {"valid": False, "error": "checker timed out after 2 s",
                       "error_type": "multi_turn:checker_timeout"}


def test_importing_bfcl_keeps_our_sigterm_handler():
    bfcl.load_bfcl()
    assert getattr(signal.getsignal(signal.SIGTERM), "__module__", None) != "qwen_agent.utils.utils"
