"""A whole checkpoint of the variance study on the tiny model, and its figure and tables."""

from __future__ import annotations

import json

import pytest
import torch

from rest.regions import RegionTagger

COMPLETIONS = [
    '<think> call f </think>\n<tool_call>\n{"name": "f", "parameters": {"x": 1}}\n</tool_call>',
    '<think> g then </think>\n<tool_call>\n{"name": "g", "parameters": {"y": "a b"}}\n</tool_call>',
    '<think> none </think>\n<response> no tool </response>',
    'plain text with no tags at all',
]


@pytest.fixture(scope="module")
def variance_data(tiny_model_dir, tiny_tokenizer):
    """Three hand-built groups (fixed completions, varied rewards) at rollouts 0 and 40."""
    from transformers import AutoModelForCausalLM

    from rest.variance import Group, checkpoint_variance

    tok = tiny_tokenizer
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    enc = [tok(t, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for t in COMPLETIONS]
    width = max(map(len, enc))
    ids = torch.tensor([e + [tok.pad_token_id] * (width - len(e)) for e in enc])
    mask = torch.tensor([[1] * len(e) + [0] * (width - len(e)) for e in enc])
    regions = RegionTagger(tok).batch(ids, mask)
    rewards = [[4.0, 1.0, -1.0, -3.0], [0.0, 2.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]]
    prompts = ["<|im_start|>user\nfind x<|im_end|>\n", "<|im_start|>user\nuse g<|im_end|>\n", "hello"]
    out = []
    for rollout in (0, 40):
        groups = [Group(prompt_ids=torch.tensor(tok(p)["input_ids"]), completion_ids=ids, mask=mask,
                        regions=regions, rewards=torch.tensor(r)) for p, r in zip(prompts, rewards)]
        out.append(checkpoint_variance(model, groups, rollout=rollout, total_rollouts=40, temperature=1.0,
                                       n_resamples=200))
    return {"checkpoints": out}


def test_checkpoint_structure_and_weights(variance_data):
    first, last = variance_data["checkpoints"]
    assert first["groups"] == 3 and first["groups_with_signal"] == 2
    for ck in (first, last):
        assert set(ck["profiles"]) == {"released", "paper"}
        for profile in ("released", "paper"):
            m = ck["methods"][profile]
            # OTHER tokens carry weight 0 under ResT: that part of the gradient never varies
            assert m["region_weights"]["OTHER"] == 0.0 and m["regions"]["OTHER"]["trace_cov"] == 0.0
            r = ck["profiles"][profile]
            assert r["var_ratio"] == pytest.approx(m["trace_cov"] / ck["methods"]["uniform"]["trace_cov"])
            assert r["var_ratio_ci95"][0] <= r["var_ratio"] <= r["var_ratio_ci95"][1]
        assert ck["methods"]["uniform"]["regions"]["OTHER"]["trace_cov"] > 0
    # the released ramp moves with the rollout: 0.6 + 0.002·s
    assert last["methods"]["released"]["region_weights"]["PARAMS"] == pytest.approx(0.68)
    # Eq. 9 from these samples' entropies: lower entropy, higher weight (same samples at both rollouts)
    ent, w = first["region_entropy"], first["methods"]["paper"]["region_weights"]
    # (THINK is synchronized with PARAMS, so only FORMAT, NAME and PARAMS show their own w⁰ at rollout 0)
    lo, *_, hi = sorted(["FORMAT", "NAME", "PARAMS"], key=lambda r: ent[r])
    assert w[lo] > w[hi]


def test_figure_and_tables_from_variance_json(variance_data, tmp_path):
    from rest.report.variance import load_variance, variance_figure, variance_tables

    path = tmp_path / "variance.json"
    path.write_text(json.dumps(variance_data))
    data = load_variance(path)
    files = variance_tables(data, tmp_path / "tables")
    assert sorted(p.name for p in files) == sorted(
        f"{n}.{e}" for n in ("variance", "variance_regions") for e in ("csv", "md", "tex"))
    md = (tmp_path / "tables" / "variance.md").read_text()
    r = data["checkpoints"][1]["profiles"]["paper"]
    assert f"{r['var_ratio']:.3g} [{r['var_ratio_ci95'][0]:.3g}, {r['var_ratio_ci95'][1]:.3g}]" in md
    assert "bootstrap" in md
    assert len((tmp_path / "tables" / "variance_regions.csv").read_text().splitlines()) == 1 + 2 * 3 * 5
    figs = variance_figure(data, tmp_path / "figures" / "variance")
    assert [p.suffix for p in figs] == [".png", ".pdf"] and all(p.stat().st_size > 1000 for p in figs)
