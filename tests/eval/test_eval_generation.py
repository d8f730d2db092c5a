"""The generation interface: batching with left padding changes nothing; vLLM runs where it can."""

from __future__ import annotations

import pytest

from rest.eval.generation import GenerationConfig, HFGenerator, load_generator, new_token_budget
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


@pytest.mark.parametrize("prompt, cap, context, reserve, expected", [
    (100, 4096, 4096, 0, 3996),     # API-Bank: max_model_len 4096 holds prompt + completion
    (100, 4096, 40960, 2, 4096),    # BFCL on Qwen3: the 4096 cap
    (6000, 4096, 8192, 2, 2190),    # BFCL on the tiny model's 8192 context: 8192 - 6000 - 2
    (8191, 4096, 8192, 2, 1),       # never below one token
    (100, 48, 8192, 2, 48),         # an explicit small cap (the default CPU run)
    (100, 4096, None, 2, 4096),     # no known context: the cap
])
def test_new_token_budget_hand_worked(prompt, cap, context, reserve, expected):
    assert new_token_budget(prompt, cap, context, reserve) == expected


def test_each_prompt_gets_its_own_budget_in_one_batch(tiny_model_dir):
    import torch

    convs = _conversations()
    gen = HFGenerator(str(tiny_model_dir), GenerationConfig(max_new_tokens=12, batch_size=3, progress=False))
    assert gen.context_tokens == 8192  # the tiny model's declared context
    torch.manual_seed(1)
    with torch.no_grad():
        for p in gen.model.parameters():
            p.normal_(0, 0.5)
    gen.model.generation_config.eos_token_id = None  # run every row to its budget
    lengths = [len(render_prompt(gen.tokenizer, c).ids) for c in convs]
    gen.context_tokens = max(lengths) + 2 + 3  # the longest prompt keeps 3 new tokens after the reserve
    gen.config.reserve_tokens = 2
    budgets = [min(12, gen.context_tokens - n - 2) for n in lengths]
    assert min(budgets) == 3 and max(budgets) == 12
    batched = gen.generate(convs)
    alone = []
    for conv, budget in zip(convs, budgets):
        gen.context_tokens, gen.config.max_new_tokens = None, budget
        alone.append(gen.generate([conv])[0])
    assert batched == alone and all(batched)


def test_benchmark_length_defaults():
    """API-Bank: 4096 new tokens within a 4096-token context; BFCL: min(4096, context - prompt - 2)."""
    from rest.cli import command_parser

    parser = command_parser("eval")[0]
    api = parser.parse_args(["apibank", "--model", "m", "--output", "o"])
    assert (api.max_new_tokens, api.context_tokens, api.reserve_tokens) == (4096, 4096, 0)
    bf = parser.parse_args(["bfcl", "--model", "m", "--output", "o"])
    assert (bf.max_new_tokens, bf.context_tokens, bf.reserve_tokens) == (4096, None, 2)
