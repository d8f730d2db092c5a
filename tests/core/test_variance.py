"""The variance estimator (rest.variance) against a hand-computed case, and on the tiny model."""

import subprocess
import sys

import pytest
import torch

from rest.regions import Region
from rest.variance import (
    GroupGradients,
    group_advantages,
    loss_coefficients,
    region_gradients,
    summarize,
)

N, O, P, T, F = Region.NAME, Region.OTHER, Region.PARAMS, Region.THINK, Region.FORMAT

# A linear toy policy: log π(y_{i,t}) = θ · x_{i,t}, so ∇log π = x_{i,t}. Two groups of two
# completions of two tokens; the last token of group 2's second completion is padding.
GROUPS = [
    {"x": [[[1, 0], [0, 1]], [[2, 0], [0, 0]]], "adv": [1.0, -1.0], "mask": [[1, 1], [1, 1]],
     "regions": [[N, O], [N, P]], "w": [[1, 0], [2, 1]]},
    {"x": [[[0, 1], [1, 0]], [[1, 0], [5, 5]]], "adv": [-1.0, 1.0], "mask": [[1, 1], [1, 0]],
     "regions": [[T, T], [F, O]], "w": [[1, 1], [2, 9]]},
]


def _toy_gradients(weighted: bool) -> GroupGradients:
    theta = torch.zeros(2, requires_grad=True)
    parts = []
    for g in GROUPS:
        logps = torch.tensor(g["x"], dtype=torch.float32) @ theta
        coef = loss_coefficients(torch.tensor(g["adv"]), torch.tensor(g["mask"]),
                                 torch.tensor(g["w"], dtype=torch.float32) if weighted else None)
        parts.append(region_gradients(logps, [theta], coef, torch.tensor(g["regions"])))
    return GroupGradients.from_parts(torch.stack(parts, dim=1))


def test_two_groups_by_hand():
    # GRPO, token-mean: g1 = −¼[1,0] −¼[0,1] +¼[2,0] = [¼, −¼];  g2 = ⅓([0,1]+[1,0]) − ⅓[1,0] = [0, ⅓].
    #   ‖ḡ‖² = ‖[⅛, 1/24]‖² = 5/288;  tr Σ̂ = ‖g1 − g2‖² / (2 − 1) / 2 = 29/144.
    # ResT, Σ l·m·w / Σ m·w (Σ m·w = 4 in both groups; padding's weight 9 never counts):
    #   g1 = −¼[1,0] + ½[2,0] = [¾, 0];  g2 = ¼[0,1] + ¼[1,0] − ½[1,0] = [−¼, ¼].
    #   ‖ḡ‖² = ‖[¼, ⅛]‖² = 5/64;  tr Σ̂ = ‖[1, −¼]‖² / 2 = 17/32.
    out = summarize({"uniform": _toy_gradients(False), "released": _toy_gradients(True)}, n_resamples=200)
    grpo, rest = out["methods"]["uniform"], out["methods"]["released"]
    assert grpo["mean_sq_norm"] == pytest.approx(5 / 288)
    assert grpo["trace_cov"] == pytest.approx(29 / 144)
    assert grpo["snr"] == pytest.approx((5 / 288) / (29 / 144))
    assert rest["mean_sq_norm"] == pytest.approx(5 / 64)
    assert rest["trace_cov"] == pytest.approx(17 / 32)
    ratio = out["profiles"]["released"]
    assert ratio["var_ratio"] == pytest.approx((17 / 32) / (29 / 144))
    assert ratio["mean_sq_norm_ratio"] == pytest.approx(4.5)
    assert ratio["snr_ratio"] == pytest.approx(4.5 / ((17 / 32) / (29 / 144)))
    assert ratio["var_ratio_scaled"] == pytest.approx(1 / ratio["snr_ratio"])
    # unbiased signal ‖ḡ‖² − tr Σ̂ / N = ⟨g1, g2⟩ for two groups: −1/12 (GRPO), −3/16 (ResT)
    assert grpo["mean_sq_norm_unbiased"] == pytest.approx(-1 / 12)
    assert rest["mean_sq_norm_unbiased"] == pytest.approx(-3 / 16)
    assert grpo["snr_unbiased"] == pytest.approx((-1 / 12) / (29 / 144))
    assert ratio["snr_unbiased_ratio"] is None  # no ratio to a baseline signal that is not positive
    # Two groups: a resample either repeats one group (no variance: dropped) or is the sample.
    assert ratio["var_ratio_ci95"] == pytest.approx([ratio["var_ratio"]] * 2)


def test_region_parts_by_hand():
    # GRPO's parts: NAME g1 = [¼, 0]; OTHER g1 = [0, −¼]; THINK g2 = [⅓, ⅓]; FORMAT g2 = [−⅓, 0].
    # Each part is zero in the other group, so tr Σ̂_r = ‖part‖² / 2.
    whole = summarize({"uniform": _toy_gradients(False)}, n_resamples=10)["methods"]["uniform"]
    regions = whole["regions"]
    expected = {"NAME": 1 / 32, "OTHER": 1 / 32, "THINK": 1 / 9, "FORMAT": 1 / 18, "PARAMS": 0.0}
    assert {k: v["trace_cov"] for k, v in regions.items()} == pytest.approx(expected)
    # The region parts do not add up to the whole: the remainder is covariance across regions.
    assert whole["cross_region_cov"] == pytest.approx(29 / 144 - sum(expected.values()))


def test_group_advantages_as_trl_scales_them():
    a = group_advantages(torch.tensor([1.0, 0.0, 0.0, 1.0]))
    s = (1 / 3) ** 0.5  # Bessel-corrected std of (1, 0, 0, 1)
    k = 0.5 / (s + 1e-4)
    assert a.tolist() == pytest.approx([k, -k, -k, k])
    assert group_advantages(torch.tensor([2.0, 2.0, 2.0])).tolist() == [0.0, 0.0, 0.0]


def test_token_mean_gradient_matches_a_direct_loss_on_the_tiny_model(tiny_model_dir, tiny_tokenizer):
    """On a real model, the region parts sum to the autograd gradient of GRPO's token-mean loss."""
    from transformers import AutoModelForCausalLM

    from rest.regions import RegionTagger
    from rest.variance import Group, sequence_logps

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    texts = ['<think> a </think>\n<tool_call>\n{"name": "f", "parameters": {"x": 1}}\n</tool_call>',
             '<think> b </think>\n<tool_call>\n{"name": "g", "parameters": {}}\n</tool_call>']
    enc = [tiny_tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    width = max(map(len, enc))
    ids = torch.tensor([e + [tiny_tokenizer.pad_token_id] * (width - len(e)) for e in enc])
    mask = torch.tensor([[1] * len(e) + [0] * (width - len(e)) for e in enc])
    group = Group(prompt_ids=torch.tensor(tiny_tokenizer("<|im_start|>user\nhi")["input_ids"]),
                  completion_ids=ids, mask=mask, regions=RegionTagger(tiny_tokenizer).batch(ids, mask),
                  rewards=torch.tensor([4.0, -1.0]))
    params = [p for p in model.parameters() if p.requires_grad]
    adv = group_advantages(group.rewards)
    parts = region_gradients(sequence_logps(model, group, 1.0), params, loss_coefficients(adv, mask), group.regions)
    logps = sequence_logps(model, group, 1.0)
    loss = -(adv.float().unsqueeze(1) * logps * mask).sum() / mask.sum()
    direct = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)])
    assert torch.allclose(parts.sum(0), direct, atol=1e-6, rtol=1e-4)
    assert parts[Region.NAME].abs().sum() > 0 and parts[Region.PARAMS].abs().sum() > 0


def test_help_explains_the_estimator_and_bad_pairing_is_one_line(tmp_path):
    def rest(*args):
        return subprocess.run([sys.executable, "-m", "rest", "variance", *args], capture_output=True, text=True, check=False)

    help_text = rest("--help").stdout
    assert "trace of the covariance" in help_text and "same samples and advantages" in help_text
    out = rest("--checkpoints", "a", "b", "--rollouts", "0", "--data", "d.jsonl", "--output", str(tmp_path / "v.json"))
    assert out.returncode == 2
    assert out.stderr.strip() == "error: --checkpoints (2) and --rollouts (1) must pair one to one"


def test_sampling_is_seeded_and_masks_after_eos(tiny_model_dir, tiny_tokenizer):
    from transformers import AutoModelForCausalLM

    from rest.regions import RegionTagger
    from rest.variance import sample_group

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    prompt = torch.tensor(tiny_tokenizer("<|im_start|>user\nhi<|im_end|>\n")["input_ids"])
    lengths = []

    def reward(text):
        lengths.append(len(text))
        return float(len(text))

    kw = {"group_size": 3, "max_new_tokens": 6, "temperature": 1.0}
    a = sample_group(model, tiny_tokenizer, RegionTagger(tiny_tokenizer), prompt, reward, seed=5, **kw)
    b = sample_group(model, tiny_tokenizer, RegionTagger(tiny_tokenizer), prompt, reward, seed=5, **kw)
    assert torch.equal(a.completion_ids, b.completion_ids) and torch.equal(a.rewards, b.rewards)
    assert a.rewards.tolist() == lengths[:3]
    eos = tiny_tokenizer.eos_token_id
    for ids, mask in zip(a.completion_ids.tolist(), a.mask.tolist()):
        cut = ids.index(eos) + 1 if eos in ids else len(ids)
        assert mask == [1] * cut + [0] * (len(ids) - cut)


def test_unbiased_signal_is_the_off_diagonal_mean_and_resamples_skip_repeats():
    import numpy as np

    from rest.variance import gram_moments, unbiased_signal

    K = np.array([[4.0, 1.0, 2.0], [1.0, 9.0, 0.0], [2.0, 0.0, 16.0]])
    trace, mean_sq = gram_moments(K)
    assert unbiased_signal(K)[0] == pytest.approx((1 + 2 + 0) * 2 / 6)
    assert unbiased_signal(K)[0] == pytest.approx(mean_sq[0] - trace[0] / 3)
    # resample (0, 0, 2): the pairs (0, 2) twice each way count, the repeated 0-0 pairs do not
    assert unbiased_signal(K, np.array([[0, 0, 2]]))[0] == pytest.approx(2.0)
    assert np.isnan(unbiased_signal(K, np.array([[1, 1, 1]]))[0])
