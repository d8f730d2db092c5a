"""The ``released`` profile: the released ``build_token_weight``, reproduced from the token ids.

The pinned weights in ``fixtures/released_weights.json`` were computed by running the
released function itself on the tiny tokenizer; here they come from the ids alone.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rest.regions import Region, ReleasedTagger, dominant_region, released_char_spans
from rest.weights import completion_weights

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "released_weights.json").read_text())["cases"]
F, N, P, T = Region.FORMAT, Region.NAME, Region.PARAMS, Region.THINK


def small_bpe(texts, vocab_size=400, trim_offsets=None):
    """A byte-level BPE too small to hold the tags whole: ``<think>`` becomes several tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    if trim_offsets is not None:
        tok.post_processor = processors.ByteLevel(trim_offsets=trim_offsets)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")


@pytest.fixture(scope="module")
def outputs(sft_records):
    return [r["output"] for r in sft_records[:60]]


@pytest.fixture(scope="module")
def tokenizers(tiny_tokenizer, outputs):
    return {"tiny": tiny_tokenizer, "split tags": small_bpe(outputs),
            "trimmed offsets": small_bpe(outputs, vocab_size=800, trim_offsets=True)}


def test_hand_worked_spans():
    text = '<think> a </think><toolcall>{"parameters": {"name": "x", "s": "}"}, "name": "f"}</tool_call>'
    spans = {(text[s:e], r) for s, e, r in released_char_spans(text)}
    assert spans == {("<think>", F), ("</think>", F), (" a ", T),
                     ("x", N),  # the first "name" match, even inside the parameters
                     ('{"name": "x", "s": "}"}', P)}  # string-aware braces
    # <toolcall> tags are no FORMAT; an unclosed block weighs nothing; an empty name is no name
    assert released_char_spans('<think> cut off') == []
    empty = '<tool_call>{"name": "", "arguments": {}}</tool_call>'
    assert [(empty[s:e], r) for s, e, r in released_char_spans(empty)] == [
        ("<tool_call>", F), ("</tool_call>", F), ("{}", P)]


def test_offsets_from_ids_equal_the_tokenizers_own(tokenizers, outputs):
    texts = outputs + ["héllo 😀 wörld <think> 中文 </think>", "a<|im_end|>b <|endoftext|>", "  \n\n x  \t y"]
    for name, tok in tokenizers.items():
        tagger = ReleasedTagger(tok)
        for text in texts:
            enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
            decoded, start, end = tagger.offsets(enc["input_ids"])
            assert decoded == text, name
            assert list(zip(start.tolist(), end.tolist())) == [tuple(o) for o in enc["offset_mapping"]], (name, text[:40])


def test_split_tags_lose_their_last_token_as_released(tokenizers):
    tok = tokenizers["split tags"]
    text = "<think> go </think><response> ok </response>"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    pieces = [tok.decode([i]) for i in ids]
    bits = ReleasedTagger(tok)(ids)
    opening = len(tok("<think>", add_special_tokens=False)["input_ids"])
    assert opening > 1
    # the opening tag's last piece ('>') is cut off the span, like every span's last token
    assert all(bits[k] >> F & 1 for k in range(opening - 1)) and not bits[opening - 1] >> F & 1
    assert "".join(pieces) == text


@pytest.mark.parametrize("case", FIXTURES, ids=lambda c: f"step{c['step']}")
def test_pinned_weights_of_the_released_function(tiny_tokenizer, case):
    got = completion_weights(tiny_tokenizer, [case["completion"]], [case["step"]], "released")[0]
    assert got == pytest.approx(case["weights"], abs=1e-5)


def test_curriculum_false_holds_step0_and_overlaps_take_the_max(tiny_tokenizer):
    case = FIXTURES[2]  # step 400: PARAMS at 1.2 outweighs FORMAT
    held = completion_weights(tiny_tokenizer, [case["completion"]], [case["step"]], "released", curriculum=False)[0]
    step0 = completion_weights(tiny_tokenizer, [case["completion"]], [0], "released")[0]
    assert held == pytest.approx(step0) and held != pytest.approx(case["weights"])


def test_batched_ids_with_padding_give_the_per_sequence_weights(tiny_tokenizer):
    tagger = ReleasedTagger(tiny_tokenizer)
    ids = [tiny_tokenizer(c["completion"], add_special_tokens=False)["input_ids"] for c in FIXTURES]
    width = max(map(len, ids)) + 2
    padded = torch.tensor([[0] * (width - len(i)) + i for i in ids])  # left padding
    mask = torch.tensor([[0] * (width - len(i)) + [1] * len(i) for i in ids])
    bits = tagger.batch(padded, mask)
    for b, i in enumerate(ids):
        assert bits[b, width - len(i):].tolist() == tagger(i).tolist()
        assert (bits[b, : width - len(i)] == 0).all()
    assert set(dominant_region(bits).unique().tolist()) <= {int(r) for r in Region}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(['<think>', '</think>', '<tool_call>', '</tool_call>', '<toolcall>', '</toolcall>',
                                 '<response>', '</response>', '"name"', ': ', '"f"', '"parameters"', '{', '}', '"',
                                 '\\', 'é', '😀', ' ', '\n', 'x']), max_size=40).map("".join))
def test_never_raises_and_marks_only_weighted_bits(tiny_tokenizer, text):
    ids = tiny_tokenizer(text, add_special_tokens=False)["input_ids"]
    bits = ReleasedTagger(tiny_tokenizer)(ids)
    assert bits.shape == (len(ids),) and not np.any(bits & 1)  # OTHER has no bit
