"""The testbed evaluator's per-task scores, checked against hand-worked rule rewards."""

from __future__ import annotations

import pytest

from rest.formats import render_completion
from rest.testbed.evaluate import score_completion, summarize

GOLD = render_completion("use book_hotel", [{"name": "book_hotel", "parameters": {"city": "Paris", "nights": 3}}])


def test_exact_answer_scores_format_exact_and_the_static_maximum():
    assert score_completion(GOLD, GOLD) == {"format": 1.0, "exact": 1.0, "reward_static": 4.0}


def test_one_wrong_value_is_not_exact_and_scores_by_hand():
    wrong = render_completion("use book_hotel", [{"name": "book_hotel", "parameters": {"city": "Paris", "nights": 4}}])
    # names Jaccard 1 + keys Jaccard 1 + one equal value = 3 of local max 1 + (1 + 2) = 4
    # correctness = 6 * 3/4 - 3 = 1.5; format 1
    assert score_completion(wrong, GOLD) == {"format": 1.0, "exact": 0.0, "reward_static": pytest.approx(2.5)}


def test_missing_think_loses_format_but_not_correctness():
    bare = render_completion(None, [{"name": "book_hotel", "parameters": {"city": "Paris", "nights": 3}}])
    assert score_completion(bare, GOLD) == {"format": 0.0, "exact": 1.0, "reward_static": 3.0}


def test_garbage_never_raises_and_scores_the_minimum():
    assert score_completion("<tool_call>\n{oops\n</tool_call>", GOLD) == {"format": 0.0, "exact": 0.0,
                                                                         "reward_static": -3.0}


def test_summary_is_in_percent():
    rows = [score_completion(GOLD, GOLD), score_completion("", GOLD)]
    assert summarize(rows) == {"format_pct": 50.0, "exact_pct": 50.0, "reward_static": 0.5, "n": 2}
