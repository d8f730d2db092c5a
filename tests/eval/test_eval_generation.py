"""The generation interface: batching with left padding changes nothing; vLLM runs where it can."""

from __future__ import annotations

import pytest

from rest.eval.generation import GenerationConfig, HFGenerator, load_generator
from rest.prompt import render_prompt


def _conversations():
    return [
        [{"role": "system", "content": "You are a tool user."}, {"role": "user", "content": "Add an alarm."}],
        [{"role": "system", "content": "s"}, {"role": "user", "content": "a much longer question " * 12}],
        [{"role": "user", "content": "hi"}],
    ]


def test_batched_left_padded_greedy_equals_one_at_a_time(tiny_model_dir):
    import torch

    gen = HFGenerator(str(tiny_model_dir), GenerationConfig(max_new_tokens=12, batch_size=3, progress=False))
    # Larger random weights make the untrained model's outputs differ by prompt, so that
    # a padding or position error would show.
    torch.manual_seed(1)
    with torch.no_grad():
        for p in gen.model.parameters():
            p.normal_(0, 0.5)
    convs = _conversations()
    batched = gen.generate(convs)
    gen.config.batch_size = 1
    assert gen.generate(convs) == batched
    assert len(set(batched)) == 3 and all(t.strip() for t in batched)
    assert gen.tokenizer.padding_side == "left"


def test_prompt_uses_chat_template_with_generation_prompt(tiny_tokenizer):
    ids = render_prompt(tiny_tokenizer, _conversations()[0]).ids
    text = tiny_tokenizer.decode(ids)
    assert text.endswith("<|im_start|>assistant\n")
    assert "Add an alarm." in text


def test_long_prompts_are_cut_from_the_left_and_counted(tiny_model_dir):
    gen = HFGenerator(str(tiny_model_dir), GenerationConfig(max_new_tokens=2, max_prompt_tokens=16, progress=False))
    gen.generate(_conversations())
    assert gen.truncated_prompts == 2  # the third prompt fits


def test_unknown_backend_is_an_input_error(tiny_model_dir):
    from rest.io import InputError

    with pytest.raises(InputError, match="unknown backend 'tgi'"):
        load_generator("tgi", str(tiny_model_dir))


def _vllm_usable() -> bool:
    try:
        import torch
        import vllm  # noqa: F401
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.mark.gpu
@pytest.mark.skipif(not _vllm_usable(), reason="needs CUDA and vllm")
def test_vllm_matches_hf_greedy(tiny_model_dir):
    convs = _conversations()
    config = GenerationConfig(max_new_tokens=8, progress=False)
    hf = load_generator("hf", str(tiny_model_dir), config).generate(convs)
    vl = load_generator("vllm", str(tiny_model_dir), config).generate(convs)
    assert len(vl) == len(hf) and all(isinstance(t, str) for t in vl)


def test_missing_model_is_an_input_error(tmp_path, capsys, data_dir):
    from rest.cli import main

    assert main(["eval", "apibank", "--model", str(tmp_path / "nope"), "--output", str(tmp_path / "o")]) == 2
    assert "--model: cannot load" in capsys.readouterr().err
    assert not (tmp_path / "o" / "scores.json").exists()
