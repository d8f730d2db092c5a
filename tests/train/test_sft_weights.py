"""TSFT and RSFT: the up-weighted tokens are the tool-call or the thought tokens, and only those."""

from __future__ import annotations

import pytest
import torch

from rest.formats import THINK_CLOSE, THINK_OPEN, TOOL_CALL_CLOSE, TOOL_CALL_OPEN, first_block


def collated(trainer, n=2):
    batch = next(iter(trainer.get_train_dataloader()))
    return {k: v[:n] if torch.is_tensor(v) else v for k, v in batch.items()}


def upweighted_text(trainer, labels, weights, row):
    shifted = labels[row, 1:]
    picked = shifted[weights[row] == trainer.args.upweight_factor]
    return trainer.processing_class.decode(picked.tolist(), skip_special_tokens=True)


def gold_completion(trainer, labels, row):
    ids = labels[row][labels[row] != -100]
    return trainer.processing_class.decode(ids.tolist(), skip_special_tokens=True)


def test_rsft_upweights_exactly_the_thought(make_trainer):
    trainer = make_trainer("rsft", max_length=2048)
    labels = collated(trainer)["labels"]
    weights = trainer.token_weights(labels)
    assert weights.shape == (labels.shape[0], labels.shape[1] - 1)
    for row in range(labels.shape[0]):
        gold = gold_completion(trainer, labels, row)
        thought = first_block(gold, THINK_OPEN, THINK_CLOSE)
        assert upweighted_text(trainer, labels, weights, row).strip() == thought.strip()
        # every other supervised token keeps weight 1; prompt and padding 0
        sup = labels[row, 1:] != -100
        assert set(weights[row][sup].unique().tolist()) <= {1.0, 2.0}
        assert (weights[row][~sup] == 0).all()


def test_tsft_upweights_tool_call_tags_names_and_parameters(make_trainer):
    trainer = make_trainer("tsft", max_length=2048)
    labels = collated(trainer, n=4)["labels"]
    weights = trainer.token_weights(labels)
    seen_call = False
    for row in range(labels.shape[0]):
        gold = gold_completion(trainer, labels, row)
        text = upweighted_text(trainer, labels, weights, row)
        assert THINK_OPEN not in text and THINK_CLOSE not in text
        block = first_block(gold[gold.rfind(THINK_CLOSE):], TOOL_CALL_OPEN, TOOL_CALL_CLOSE)
        if block is None:
            assert text == ""
            continue
        seen_call = True
        assert text.count(TOOL_CALL_OPEN) == 1 and text.count(TOOL_CALL_CLOSE) == 1
        import json

        for line in block.strip().split("\n"):
            call = json.loads(line)
            assert call["name"] in text
            for key in call["parameters"]:
                assert key in text
        # JSON keys outside name/params ("name":, "parameters":) are not up-weighted
        assert '"parameters"' not in text
    assert seen_call


def test_weighted_sft_loss_scales_the_per_token_loss(make_trainer):
    plain = make_trainer("sft")
    doubled = make_trainer("sft", upweight_regions=["FORMAT", "NAME", "PARAMS", "THINK", "OTHER"], upweight_factor=2.0)
    batch = collated(plain)
    loss_plain = plain.compute_loss(plain.model, dict(batch))
    loss_doubled = doubled.compute_loss(doubled.model, dict(batch))
    assert loss_doubled.item() == pytest.approx(2 * loss_plain.item(), rel=1e-6)

    rsft = make_trainer("rsft")
    loss_rsft = rsft.compute_loss(rsft.model, dict(batch))
    assert loss_plain.item() < loss_rsft.item() < loss_doubled.item()


def test_unknown_region_name_is_a_clear_error(make_trainer):
    from rest.io import InputError

    with pytest.raises(InputError, match="upweight_regions"):
        make_trainer("sft", upweight_regions=["TOOLS"], upweight_factor=2.0)
