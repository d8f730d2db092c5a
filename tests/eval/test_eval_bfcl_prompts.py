"""BFCL prompts against texts derived from ToolRL's handler (tests/eval/fixtures, see their _source)."""

from __future__ import annotations

import copy
import functools
import hashlib
import io
import json
from pathlib import Path

import pytest

from rest.eval import bfcl, bfcl_prompts
from rest.eval import bfcl_multiturn as mt

FIXTURES = Path(__file__).parent / "fixtures"
SINGLE_TURN_CATEGORIES = ("simple_python", "simple_java", "simple_javascript", "multiple", "parallel",
                          "parallel_multiple", "live_simple", "live_multiple", "live_parallel",
                          "live_parallel_multiple", "irrelevance", "live_irrelevance", "live_relevance")


def _load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@functools.cache
def _cases(category: str) -> dict[str, bfcl.Case]:
    return {c.id: c for c in bfcl.load_cases(category)}


def _case(entry_id: str) -> bfcl.Case:
    return copy.deepcopy(_cases(bfcl.category_of(entry_id))[entry_id])


def test_single_turn_categories_are_ours():
    assert set(SINGLE_TURN_CATEGORIES) == set(bfcl.SINGLE_TURN)


@pytest.mark.parametrize("entry_id", list(_load("bfcl_prompt_texts.json")["prompts"]))
def test_single_turn_texts_equal_the_handlers(entry_id):
    expected = _load("bfcl_prompt_texts.json")["prompts"][entry_id]
    system, user = bfcl.single_turn_conversation(_case(entry_id))
    assert system == {"role": "system", "content": expected["system"]}
    assert user == {"role": "user", "content": expected["user"]}


def test_show_prompts_equals_the_handler_on_every_single_turn_entry():
    expected = _load("bfcl_prompt_hashes.json")["prompts"]
    out = io.StringIO()
    n = bfcl_prompts.show_prompts(SINGLE_TURN_CATEGORIES, out=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert n == len(rows) == len(expected) == 3641
    wrong = [r["id"] for r in rows
             if [_sha(r["system"])[:16], _sha(r["user"])[:16]] != expected[r["id"]]]
    assert not wrong, f"{len(wrong)} prompts differ from the handler's, e.g. {wrong[:5]}"
    assert all(set(r) == {"id", "system", "user"} for r in rows)


def test_hand_checked_details():
    """What makes the handler's text its own, checked by eye on one entry."""
    system = _load("bfcl_prompt_texts.json")["prompts"]["live_simple_58-27-0"]["system"]
    assert system.endswith("noted as `<obs>` (if exists).\n")  # unlike the training records
    row = bfcl_prompts.first_turn_prompt(_case("live_simple_58-27-0").prompt_entry, "live_simple")
    assert row["system"] == system
    assert "You are an expert in composing functions" not in row["system"] + row["user"]
    entry = _case("live_multiple_8-4-0").prompt_entry
    assert "\\u" in bfcl_prompts.first_turn_prompt(entry, "live_multiple")["system"]  # json.dumps' ASCII escapes


@pytest.mark.parametrize("scenario", _load("bfcl_multiturn_prompts.json")["scenarios"], ids=lambda s: s["id"])
def test_multi_turn_prompts_equal_the_handlers_at_every_step(scenario):
    texts = _load("bfcl_multiturn_prompts.json")["texts"].get(scenario["id"])
    episode = mt.Episode(_case(scenario["id"]))
    step = 0
    try:
        for outputs in scenario["outputs"]:
            for output in outputs:
                system, user = episode.conversation()
                assert [_sha(system["content"]), _sha(user["content"])] == scenario["prompt_sha256"][step], step
                if texts and texts["step"] == step:
                    assert (system["content"], user["content"]) == (texts["system"], texts["user"])
                episode.feed(output)
                step += 1
    finally:
        episode.close()
    assert step == len(scenario["prompt_sha256"])


def test_miss_func_functions_arrive_as_a_user_turn_not_in_the_tool_list():
    texts = _load("bfcl_multiturn_prompts.json")["texts"]["multi_turn_miss_func_0"]
    assert "What about now?" in texts["user"] and "[{'name': 'sort'" in texts["user"]
    assert "Name: sort\n" not in texts["system"]


def test_show_prompts_cli_prints_json_lines_without_a_model(capsys):
    from rest.cli import main

    assert main(["eval", "bfcl", "--show-prompts", "--categories", "simple_java", "multi_turn_base",
                 "--limit-per-category", "2"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == ["simple_java_0", "simple_java_1", "multi_turn_base_0", "multi_turn_base_1"]
    first_step = _load("bfcl_multiturn_prompts.json")["scenarios"][0]
    assert first_step["id"] == "multi_turn_base_0"
    assert [_sha(rows[2]["system"]), _sha(rows[2]["user"])] == first_step["prompt_sha256"][0]
    assert bfcl_prompts.TURN_INSTRUCTIONS["multi_turn"] in rows[2]["user"]
    assert bfcl_prompts.TURN_INSTRUCTIONS["single_turn"] in rows[0]["user"]
