"""ToolACE, xLAM and Hammer converters, step decomposition and masking, field by field."""

import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rest.curation import hammer, toolace, xlam
from rest.curation.decompose import Action, decompose
from rest.curation.records import ConversionError, record_problem
from rest.formats import (
    HISTORY_HEADER,
    Turn,
    placeholder_ground_truth,
    render_observation,
    render_system_prompt,
    render_user,
)
from rest.rewards import compute_reward

FIXTURES = Path(__file__).parent / "fixtures"
TOOLACE = json.loads((FIXTURES / "toolace_sample.json").read_text(encoding="utf-8"))
XLAM = json.loads((FIXTURES / "xlam_sample.json").read_text(encoding="utf-8"))


def assert_max_reward(record):
    """The ground truth scored against itself gets format max, plus correctness max when it calls."""
    r = compute_reward(record["output"], record["output"], step=0, dynamic=True)
    has_call = "<tool_call>" in record["output"]
    assert (r.format, r.correctness) == (2.0, 2.0 if has_call else 0.0)
    r = compute_reward(record["output"], record["output"], step=0, dynamic=False)
    assert (r.format, r.correctness) == (1.0, 3.0 if has_call else 0.0)


def test_toolace_multi_turn_dialogue_gives_one_record_per_assistant_step():
    records = toolace.convert(TOOLACE[0], 0)
    assert [r["id"] for r in records] == [f"toolace:0:{k}" for k in range(4)]
    assert {r["source"] for r in records} == {"toolace"}
    tools = toolace.extract_tools(TOOLACE[0]["system"])
    assert [t["name"] for t in tools] == ["Convert Currency", "Get Stock Cash Flow Statement", "Météo Forecast (v2)"]
    assert tools[0]["parameters"] == {  # the JSON-schema wrapper is reduced to the properties
        "amount": {"description": "Amount to convert", "type": "float", "default": ""},
        "from": {"description": "Source currency code", "type": "string", "default": ""},
        "to": {"description": "Target currency code", "type": "string", "default": ""}}
    assert all(r["instruction"] == render_system_prompt(tools) for r in records)

    call0 = [{"name": "Convert Currency", "parameters": {"amount": 100.0, "from": "USD", "to": "EUR"}}]
    gt0 = placeholder_ground_truth(call0)
    gt1 = placeholder_ground_truth(None, "100 USD is 91.5 EUR.")
    call2 = [{"name": "Get Stock Cash Flow Statement", "parameters": {"symbol": "AAPL"}},
             {"name": "Météo Forecast (v2)", "parameters": {
                 "city": "Zürich", "options": {"units": "metric", "days": [1, 2], "alerts": True, "offset": -1}}}]
    gt2 = placeholder_ground_truth(call2)
    gt3 = placeholder_ground_truth(None, "Apple's net income was $57.4B; Zürich will be 4°C.")
    assert [r["output"] for r in records] == [gt0, gt1, gt2, gt3]

    obs0 = render_observation('[{"name": "Convert Currency", "results": {"converted_amount": 91.5}}]')
    user0 = render_user("Could you convert 100 USD to EUR?")
    user1 = render_user("Now Apple's cash flow, and the weather in Zürich for two days.")
    assert records[0]["input"] == f"{HISTORY_HEADER}\n{user0}"
    assert records[1]["input"] == f"{HISTORY_HEADER}\n{user0}\n\n{gt0}\n{obs0}"
    assert records[2]["input"] == f"{HISTORY_HEADER}\n{user0}\n\n{gt0}\n{obs0}\n\n{gt1}\n\n{user1}"
    assert records[3]["input"].startswith(records[2]["input"] + f"\n\n{gt2}\n<obs> ")
    for r in records:
        assert record_problem(r) is None
        assert_max_reward(r)


def test_toolace_no_call_turn_is_a_response_record():
    (record,) = toolace.convert(TOOLACE[1], 1)
    assert record["output"] == placeholder_ground_truth(None, "I can, but I need the text. Please provide it.")
    assert "1. Name: getSentenceLength" in record["instruction"]
    assert_max_reward(record)


@pytest.mark.parametrize("item, reason", [
    (TOOLACE[2], "an assistant call list does not parse"),
    (TOOLACE[3], "an assistant turn calls a tool that is not in the tool list"),
    ({"system": "no tools here", "conversations": []}, "system prompt has no JSON tool list"),
    ({"conversations": []}, "item has no system prompt"),
    ({**TOOLACE[1], "conversations": [{"from": "narrator", "value": "x"}]}, "a turn has an unknown role"),
    ({**TOOLACE[1], "conversations": []}, "conversations is missing or empty"),
])
def test_toolace_malformed_items(item, reason):
    with pytest.raises(ConversionError, match=re.escape(reason)):
        toolace.convert(item, 0)


def test_decompose_counts_steps_and_keeps_history():
    dialogue = [Turn("user", "a"), Action(response="r1"), Turn("user", "b"),
                Action(calls=({"name": "f", "parameters": {}},)), Turn("tool", "o"), Action(response="r2")]
    instances = decompose(dialogue)
    assert [i.step for i in instances] == [0, 1, 2]
    assert instances[0].input == f"{HISTORY_HEADER}\n{render_user('a')}"
    assert instances[2].input.endswith(f"{placeholder_ground_truth([{'name': 'f', 'parameters': {}}])}\n"
                                       f"{render_observation('o')}")


def test_xlam_single_and_parallel_calls_nested_unicode():
    r11 = xlam.convert(XLAM[0], 0)[0]
    assert r11["id"] == "xlam:11" and r11["source"] == "xlam"
    assert r11["input"] == f"{HISTORY_HEADER}\n{render_user(XLAM[0]['query'])}"
    assert r11["instruction"] == render_system_prompt(json.loads(XLAM[0]["tools"]))
    assert r11["output"] == placeholder_ground_truth([{"name": "reverse_string", "parameters": {"text": "Python programming"}}])
    r12 = xlam.convert(XLAM[1], 1)[0]
    assert r12["output"].count('"name": "live_giveaways_by_platform"') == 2
    r13 = xlam.convert(XLAM[2], 2)[0]
    assert '"owner": {"name": "Café"}' in r13["output"]
    for r in (r11, r12, r13):
        assert record_problem(r) is None
        assert_max_reward(r)


def test_xlam_irrelevance_and_malformed_items():
    with pytest.raises(ConversionError, match="no call and no response text"):
        xlam.convert(XLAM[3], 3)
    with pytest.raises(ConversionError, match="answers is not valid JSON"):
        xlam.convert(XLAM[4], 4)
    with pytest.raises(ConversionError, match="item has no query"):
        xlam.convert({"tools": "[]", "answers": "[]"}, 5)


MASKED_TOOL = re.compile(r"[A-Za-z0-9_.]{5,15}")
MASKED_ARG = re.compile(r"[A-Za-z0-9_.]{4,10}")


def test_masking_renames_consistently_and_is_deterministic():
    query, tools, answers = xlam.decode_item(XLAM[2])
    m1 = hammer.mask(query, tools, answers, random.Random(5))
    m2 = hammer.mask(query, tools, answers, random.Random(5))
    assert m1 == m2 and m1 != hammer.mask(query, tools, answers, random.Random(6))
    new_query, new_tools, new_answers = m1
    assert tools == json.loads(XLAM[2]["tools"])  # inputs untouched
    (tool,) = {t["name"]: t for t in new_tools}.values()
    assert MASKED_TOOL.fullmatch(tool["name"]) and tool["name"] != "advanced"
    assert all(MASKED_ARG.fullmatch(p) for p in tool["parameters"])
    (ans,) = new_answers
    assert ans["name"] == tool["name"] and set(ans["arguments"]) == set(tool["parameters"])
    # Defaults equal to the answer (10 and "1200") are perturbed everywhere; others stay.
    by_old = dict(zip(["number_of_puzzles", "rating", "filters"], tool["parameters"]))
    n_key, r_key, f_key = by_old["number_of_puzzles"], by_old["rating"], by_old["filters"]
    new_n, new_r = tool["parameters"][n_key]["default"], tool["parameters"][r_key]["default"]
    assert 11 <= new_n <= 14 and ans["arguments"][n_key] == new_n
    assert isinstance(new_r, str) and len(new_r) == 5 and new_r != "1200" and ans["arguments"][r_key] == new_r
    assert new_r in tool["parameters"][r_key]["description"] and "1200" not in tool["parameters"][r_key]["description"]
    assert f"Fetch {new_n} puzzles rated {new_r}" in new_query
    assert tool["parameters"][f_key]["default"] == "" and ans["arguments"][f_key]["owner"] == {"name": "Café"}


def test_masking_pads_duplicate_tools_back():
    query, tools, answers = xlam.decode_item(XLAM[1])
    for seed in range(20):
        _, new_tools, new_answers = hammer.mask(query, tools, answers, random.Random(seed))
        assert 1 <= len(new_tools) <= 3 and len({t["name"] for t in new_tools}) == 1
        assert {a["name"] for a in new_answers} == {new_tools[0]["name"]}


def test_masked_records_with_probability():
    rng = random.Random(0)
    names = [hammer.convert_masked(XLAM[0], 0, rng, mask_prob=2 / 3)[0] for _ in range(300)]
    masked = sum('"name": "reverse_string"' not in r["output"] for r in names)
    assert 170 < masked < 230  # 2/3 of 300 = 200
    for r in names[:20]:
        assert r["source"] == "hammer" and record_problem(r) is None
        assert_max_reward(r)
    assert hammer.convert_masked(XLAM[0], 0, random.Random(1), mask_prob=0.0)[0]["output"] == \
        xlam.convert(XLAM[0], 0)[0]["output"]


def test_real_hammer_example_parses(data_dir):
    items = json.loads((data_dir / "sources/hammer/masking_sft_data_example.json").read_text(encoding="utf-8"))
    assert len(items) == 10
    converted, irrelevant = [], 0
    for i, item in enumerate(items):
        raw = hammer.read_sft_item(item)
        assert isinstance(raw["tools"], list) and raw["query"] and isinstance(raw["answers"], list)
        if not raw["answers"]:
            irrelevant += 1
            with pytest.raises(ConversionError, match="no call and no response text"):
                hammer.convert_sft(item, i)
            continue
        (record,) = hammer.convert_sft(item, i)
        assert record["id"] == f"hammer:{i}" and record_problem(record) is None
        assert record["input"] == f"{HISTORY_HEADER}\n{render_user(raw['query'])}"
        expected = [{"name": a["name"], "parameters": a["arguments"]} for a in raw["answers"]]
        assert record["output"] == placeholder_ground_truth(expected)
        assert_max_reward(record)
        converted.append(record)
    assert irrelevant >= 1 and len(converted) + irrelevant == 10
    masked = [r for r in converted if '"name": "qVxf6_Ly.HR21p"' in r["output"]]
    assert len(masked) == 1 and "1. Name: qVxf6_Ly.HR21p\n" in masked[0]["instruction"]


def test_hammer_sft_item_with_python_repr_tools():
    """Hammer's script writes the tool list with Python's repr; that form parses too."""
    tools = [{"name": "f", "description": "d", "parameters": {"a": {"type": "int", "default": None}}}]
    item = {"instruction": f"[BEGIN OF AVAILABLE TOOLS]\n{tools!r}\n[END OF AVAILABLE TOOLS]\n"
                           "[BEGIN OF QUERY]\nq?\n[END OF QUERY]\n", "input": "",
            "output": '```\n[{"name": "f", "arguments": {"a": 2}}]\n```'}
    (record,) = hammer.convert_sft(item, 0)
    assert record["output"] == placeholder_ground_truth([{"name": "f", "parameters": {"a": 2}}])
    with pytest.raises(ConversionError, match="lacks its"):
        hammer.convert_sft({"instruction": "no sections", "output": "[]"}, 0)

free_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=80) | st.sampled_from([
    "[Convert Currency(", "[Convert Currency(amount=1)]", "[Convert Currency(amount=1), x]", "[(", "<tool_call>",
    "</think>", "[Convert Currency(amount=[1, {\"a\": ]})]", ""])


@settings(max_examples=150, deadline=None)
@given(user=free_text, assistant=free_text, tool=free_text)
def test_toolace_free_text_turns_give_valid_records_or_a_conversion_error(user, assistant, tool):
    item = {"system": TOOLACE[2]["system"], "conversations": [
        {"from": "user", "value": user}, {"from": "assistant", "value": assistant},
        {"from": "tool", "value": tool}, {"from": "assistant", "value": "Done."}]}
    try:
        records = toolace.convert(item, 0)
    except ConversionError:
        return
    assert len(records) == 2
    assert records[1]["output"] == placeholder_ground_truth(None, "Done.")
    for record in records:
        if record_problem(record) is None:  # whatever validation lets through scores the maximum
            assert_max_reward(record)


@settings(max_examples=100, deadline=None)
@given(query=free_text, value=free_text)
def test_xlam_free_text_gives_a_record_whose_truth_round_trips(query, value):
    item = {"query": query, "tools": XLAM[0]["tools"],
            "answers": json.dumps([{"name": "reverse_string", "arguments": {"text": value}}])}
    try:
        (record,) = xlam.convert(item, 0)
    except ConversionError:
        assert not query.strip()
        return
    if record_problem(record) is None:  # whatever validation lets through scores the maximum
        assert_max_reward(record)
    else:
        assert any(t in value for t in ("<think>", "</think>", "<tool_call>", "</tool_call>", "<response>",
                                        "</response>"))
