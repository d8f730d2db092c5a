"""Token regions, aligned to generated ids, with a real byte-level BPE tokenizer (paper §3.2.2; docs/method.md, section 3)."""

import json

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rest.formats import parse_completion, render_completion
from rest.regions import Region, RegionTagger, char_regions

F, N, P, T, O = Region.FORMAT, Region.NAME, Region.PARAMS, Region.THINK, Region.OTHER


@pytest.fixture(scope="module")
def tagger(tiny_tokenizer):
    return RegionTagger(tiny_tokenizer)


def encode(tok, text):
    return tok(text, add_special_tokens=False)["input_ids"]


def text_of(tok, ids, regions, region):
    """Bytes of the tokens in ``region``, joined, as text."""
    table = RegionTagger(tok)._bytes
    return b"".join(table[i] for i, r in zip(ids, regions) if r == region).decode("utf-8", "replace")


def runs(tok, ids, regions, region):
    """Texts of the maximal runs of consecutive tokens in ``region``."""
    table = RegionTagger(tok)._bytes
    out, current = [], []
    for i, r in zip(list(ids) + [None], list(regions) + [None]):
        if r == region:
            current.append(table[i])
        elif current:
            out.append(b"".join(current).decode("utf-8", "replace"))
            current = []
    return out


def spans(text):
    """Run-length view of char_regions: [(region, substring), ...]."""
    regs = char_regions(text)
    out, start = [], 0
    for i in range(1, len(text) + 1):
        if i == len(text) or regs[i] != regs[start]:
            out.append((Region(regs[start]).name, text[start:i]))
            start = i
    return out


def test_char_regions_hand_worked():
    text = '<think> hm </think>\n<tool_call>\n{"name": "get", "parameters": {"a": "}"}}\n</tool_call>\n<response> ok </response>'
    assert spans(text) == [
        ("FORMAT", "<think>"), ("THINK", " hm "), ("FORMAT", "</think>"), ("OTHER", "\n"),
        ("FORMAT", "<tool_call>"), ("OTHER", '\n{"name": "'), ("NAME", "get"), ("OTHER", '", "parameters": '),
        ("PARAMS", '{"a": "}"}'), ("OTHER", "}\n"), ("FORMAT", "</tool_call>"), ("OTHER", "\n"),
        ("FORMAT", "<response>"), ("OTHER", " ok "), ("FORMAT", "</response>"),
    ]


def test_name_inside_parameters_is_params_and_every_call_counts():
    text = '<tool_call>\n{"name": "a", "arguments": {"name": "x", "n": {"m": [1, {"k": 2}]}}}\n{"name": "b", "parameters": {}}\n</tool_call>'
    got = [(r, s) for r, s in spans(text) if r in ("NAME", "PARAMS")]
    assert got == [("NAME", "a"), ("PARAMS", '{"name": "x", "n": {"m": [1, {"k": 2}]}}'), ("NAME", "b"), ("PARAMS", "{}")]


def test_escaped_quotes_stay_inside_the_string():
    text = '<tool_call>\n{"name": "q\\"x", "parameters": {"s": "a\\"}b"}}\n</tool_call>'
    got = dict((r, s) for r, s in spans(text) if r in ("NAME", "PARAMS"))
    assert got == {"NAME": 'q\\"x', "PARAMS": '{"s": "a\\"}b"}'}


def test_unpaired_tags_are_not_format_and_truncation_keeps_regions():
    truncated = "<think> still thinking, and thinking"
    assert spans(truncated) == [("OTHER", "<think>"), ("THINK", " still thinking, and thinking")]
    call_only = '<tool_call>\n{"name": "f", "parameters": {"x": [1, 2'
    assert [(r, s) for r, s in spans(call_only) if r != "OTHER"] == [("NAME", "f"), ("PARAMS", '{"x": [1, 2')]
    assert spans("</think> stray close") == [("OTHER", "</think> stray close")]


def test_tokens_take_the_highest_priority_region(tiny_tokenizer, tagger):
    # ' {"' overlaps OTHER (space) and PARAMS ('{"'): PARAMS wins; tags are single tokens.
    text = '<think> x </think>\n<tool_call>\n{"name": "Get X", "parameters": {"k": 1}}\n</tool_call>'
    ids = encode(tiny_tokenizer, text)
    regions = tagger(ids)
    toks = [tiny_tokenizer.decode([i]) for i in ids]
    assert [t for t, r in zip(toks, regions) if r == F] == ["<think>", "</think>", "<tool_call>", "</tool_call>"]
    assert text_of(tiny_tokenizer, ids, regions, N) == "Get X"
    assert text_of(tiny_tokenizer, ids, regions, P).strip().startswith('{"k": 1}')
    assert text_of(tiny_tokenizer, ids, regions, T) == " x "


def test_alignment_is_to_the_generated_ids_not_a_retokenisation(tiny_tokenizer, tagger):
    # A model may emit a non-canonical split, e.g. "<think>" spelled character by character.
    text = '<think> ok </think>\n<tool_call>\n{"name": "f", "parameters": {"x": 1}}\n</tool_call>'
    ids = [i for ch in text for i in encode(tiny_tokenizer, ch)]
    assert len(ids) == len(text) and tiny_tokenizer.decode(ids) == text
    assert tagger(ids).tolist() == char_regions(text).tolist()


def test_multibyte_characters_split_across_tokens(tiny_tokenizer, tagger):
    name = "天气查询🌦"
    text = render_completion("想一想 🙂 emoji", [{"name": name, "parameters": {"城市": "北京"}}])
    ids = encode(tiny_tokenizer, text)
    assert any(len(tagger._bytes[i]) and not _is_utf8(tagger._bytes[i]) for i in ids), "expected split characters"
    regions = tagger(ids)
    assert text_of(tiny_tokenizer, ids, regions, N) == name
    assert "想一想 🙂 emoji" in text_of(tiny_tokenizer, ids, regions, T)
    assert '{"城市": "北京"}' in text_of(tiny_tokenizer, ids, regions, P)


def _is_utf8(b):
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def test_real_records(tiny_tokenizer, tagger, sft_records):
    """Every distilled record: tags are FORMAT, names are NAME, each call's params are in PARAMS."""
    for k, rec in enumerate(sft_records):
        out = rec["output"]
        ids = encode(tiny_tokenizer, out)
        regions = tagger(ids)
        assert len(regions) == len(ids)
        parsed = parse_completion(out)
        names_text = text_of(tiny_tokenizer, ids, regions, N)
        param_runs = runs(tiny_tokenizer, ids, regions, P)
        assert len(param_runs) == len(parsed.calls), k
        for (name, params), run in zip(parsed.calls, param_runs):
            assert json.dumps(name, ensure_ascii=False)[1:-1] in names_text, k
            # A run may end in the call's own closing brace, merged into one token.
            assert json.JSONDecoder().raw_decode(run.strip())[0] == params, k
        if "<tool_call>" not in out:
            assert N not in regions and P not in regions, k


def test_batch_pads_with_other(tiny_tokenizer, tagger):
    a = encode(tiny_tokenizer, "<think> a </think>")
    b = encode(tiny_tokenizer, "<think> a much longer thought here </think>")
    batch = tagger.batch([a, b])
    assert batch.shape == (2, len(b)) and batch.dtype == torch.long
    assert batch[0, len(a):].eq(O).all()
    assert batch[0, : len(a)].tolist() == tagger(a).tolist()
    # With a (B, T) tensor and a mask, masked positions are OTHER.
    ids = torch.tensor([b, b])
    mask = torch.ones_like(ids)
    mask[1, 3:] = 0
    masked = tagger.batch(ids, mask)
    assert masked[1, 3:].eq(O).all() and masked[0].tolist() == tagger(b).tolist()


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(st.text(max_size=8), st.sampled_from(['<think>', '</think>', '<tool_call>', '</tool_call>', '"name": "', '"parameters": {', "{", "}", '"', "\\"])), max_size=25).map("".join))
def test_arbitrary_text_tags_every_token_once(tiny_tokenizer, tagger, text):
    ids = encode(tiny_tokenizer, text)
    regions = tagger(ids)
    assert regions.shape == (len(ids),)
    assert set(np.unique(regions).tolist()) <= set(int(r) for r in Region)
