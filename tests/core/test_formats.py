"""Prompt templates and completion parsing (docs/method.md, section 2)."""

import json

from hypothesis import given
from hypothesis import strategies as st

from rest.formats import (
    PLACEHOLDER_THOUGHT_CALL,
    SYSTEM_INSTRUCTIONS,
    SYSTEM_PREAMBLE,
    Turn,
    last_block,
    parse_completion,
    placeholder_ground_truth,
    render_history,
    render_system_prompt,
)
from rest.parsers import json_lines


def test_system_prompt_template_matches_the_corpus_and_apibank(data_dir, sft_records):
    for rec in sft_records:
        assert rec["instruction"].startswith(SYSTEM_PREAMBLE) and rec["instruction"].endswith(SYSTEM_INSTRUCTIONS)
    for level in (1, 2, 3):
        items = json.loads((data_dir / f"apibank/toolrl_processed/level-{level}-api_processed.json").read_text())
        assert all(item["system"].endswith(SYSTEM_INSTRUCTIONS) for item in items)


def test_rendered_system_prompt_is_byte_identical_to_a_record(sft_records):
    rec = sft_records[0]
    tools = [
        {"name": "Search Managers", "description": "Search for managers by name and retrieve their information",
         "parameters": {"name": {"description": "The name of the manager to search for", "type": "string", "default": ""}}},
    ]
    first_tool = render_system_prompt(tools)[len(SYSTEM_PREAMBLE):-len(SYSTEM_INSTRUCTIONS)]
    assert rec["instruction"][len(SYSTEM_PREAMBLE):].startswith(first_tool + "\n2. Name:")


def test_history_rendering():
    text = render_history([
        Turn("user", "hi"),
        Turn("assistant", placeholder_ground_truth([{"name": "f", "parameters": {}}])),
        Turn("tool", '[{"name": "f", "results": 1}]'),
        Turn("user", "thanks"),
    ])
    assert text == (
        "**Dialogue Records History**\n<user> hi </user>\n\n"
        f"<think> {PLACEHOLDER_THOUGHT_CALL} </think>\n<tool_call>\n"
        '{"name": "f", "parameters": {}}\n</tool_call>\n'
        '<obs> [{"name": "f", "results": 1}] </obs>\n\n<user> thanks </user>'
    )


def test_parse_completion_parts_and_calls():
    p = parse_completion('<think> a </think>\n<tool_call>\n{"name": "f", "parameters": {"x": 1}}\nbad\n{"name": "g", "arguments": {}}\n</tool_call>\n<response> r </response>')
    assert (p.think, p.response) == ("a", "r")
    assert p.calls == [("f", {"x": 1}), ("g", {})] and p.bad_call_lines == 1


def test_last_block_and_json_lines():
    text = "<tool_call>\n1\n</tool_call> then <tool_call>\n{\"a\": 1}\n\nnope\n</tool_call>"
    assert json_lines(last_block(text, "<tool_call>", "</tool_call>")) == [{"a": 1}]
    assert last_block("no tags", "<tool_call>", "</tool_call>") == "no tags"


@given(st.text())
def test_parsing_never_raises(text):
    p = parse_completion(text)
    assert all(isinstance(n, str) and isinstance(a, dict) for n, a in p.calls)
    json_lines(text)
