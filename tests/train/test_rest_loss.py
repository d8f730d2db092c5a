"""The ResT loss (Eq. 19) on a tiny fixed batch: by hand, against veRL's objective, against plain
TRL GRPO, one forward."""

from __future__ import annotations

import copy

import pytest
import torch

from rest.regions import Region, region_bits

F, N, P, T, O = Region.FORMAT, Region.NAME, Region.PARAMS, Region.THINK, Region.OTHER
#: Hand-set regions; the last token of row 2 is padding.
REGIONS = torch.tensor([[F, T, N, O], [P, P, F, O]])
MASK = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
ADVANTAGES = torch.tensor([1.0, -0.5])
#: released constants at rollout 1, the first (FORMAT 1, THINK and PARAMS 0.6 + 0.002, NAME 1.2,
#: OTHER 0), each row divided by the mean of its positive weights (Eq. 18): 2.802/3 and 2.204/3.
HAND_WEIGHTS = torch.tensor([[1.0, 0.602, 1.2, 0.0], [0.602, 0.602, 1.0, 0.0]])
HAND_WEIGHTS = HAND_WEIGHTS / torch.tensor([[2.802 / 3], [2.204 / 3]])


def fixed_batch(trainer, old_logp_noise: float | None = None) -> dict:
    tok = trainer.processing_class
    prompt = tok("<|im_start|>user\nfind the weather<|im_end|>\n<|im_start|>assistant\n")["input_ids"]
    gen = torch.Generator().manual_seed(0)
    completion = torch.randint(10, len(tok) - 20, (2, 4), generator=gen)
    completion[1, 3] = tok.pad_token_id
    batch = {
        "prompt_ids": torch.tensor([prompt, prompt]),
        "prompt_mask": torch.ones(2, len(prompt), dtype=torch.long),
        "completion_ids": completion,
        "completion_mask": MASK.clone(),
        # the released profile reads bit sets of regions
        "completion_regions": region_bits(REGIONS) if trainer.args.weighting == "released" else REGIONS.clone(),
        "advantages": ADVANTAGES.clone(),
        "num_items_in_batch": MASK.sum(),
    }
    if old_logp_noise is not None:
        with torch.no_grad():
            logp = manual_logps(trainer.model, batch)
        batch["old_per_token_logps"] = logp + old_logp_noise * torch.randn(logp.shape, generator=gen)
    return batch


def manual_logps(model, batch) -> torch.Tensor:
    ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], 1)
    attn = torch.cat([batch["prompt_mask"], batch["completion_mask"]], 1)
    k = batch["completion_ids"].shape[1]
    logits = model(input_ids=ids, attention_mask=attn).logits[:, -k - 1:-1].float()
    return torch.log_softmax(logits, -1).gather(-1, batch["completion_ids"].unsqueeze(-1)).squeeze(-1)


def grads(model) -> list[torch.Tensor]:
    return [p.grad.clone() for p in model.parameters() if p.grad is not None]


def test_rest_loss_equals_hand_computed_weighted_loss_at_ratio_one(make_trainer):
    trainer = make_trainer("rest", weighting="released")
    assert trainer.args.loss_type == "bnpo" and trainer.args.aggregation == "token-mean-weighted"
    loss = trainer._compute_loss(trainer.model, fixed_batch(trainer))
    # ratio 1: per-token loss -A·w; Σ m·w = 3 + 3 (each row's positive weights average 1)
    # so loss = -(1.0·3 - 0.5·3) / 6 = -0.25
    assert loss.item() == pytest.approx(-0.25, abs=1e-6)


def test_rest_loss_and_gradient_match_eq19_with_clipping(make_trainer):
    trainer = make_trainer("rest", weighting="released")
    batch = fixed_batch(trainer, old_logp_noise=0.5)  # ratios far from 1: both clips act
    loss = trainer._compute_loss(trainer.model, batch)
    loss.backward()
    got = grads(trainer.model)
    trainer.model.zero_grad()

    a = trainer.args
    ratio = torch.exp(manual_logps(trainer.model, batch) - batch["old_per_token_logps"])
    adv = ADVANTAGES[:, None]
    per_token = -torch.min(ratio.clamp(max=a.delta) * adv, ratio.clamp(1 - a.epsilon, 1 + a.epsilon) * adv)
    expected = (per_token * MASK * HAND_WEIGHTS).sum() / (MASK * HAND_WEIGHTS).sum()
    expected.backward()
    want = grads(trainer.model)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5, abs=1e-6)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-6)
    # the clipping really was exercised
    assert ((ratio > 1 + a.epsilon) | (ratio < 1 - a.epsilon)).any()


@pytest.mark.parametrize("aggregation", ["grpo", "token-mean"])
def test_uniform_weighting_is_exactly_trl_grpo(make_trainer, aggregation):
    from trl import GRPOTrainer

    trainer = make_trainer("grpo", aggregation=aggregation)
    assert trainer.args.weighting == "uniform"
    args = copy.deepcopy(trainer.args)
    plain = GRPOTrainer(model=trainer.model.name_or_path, reward_funcs=trainer.reward_funcs, args=args,
                        train_dataset=trainer.train_dataset, processing_class=trainer.processing_class)
    plain.model.train()
    plain.current_gradient_accumulation_steps = 1

    batch = fixed_batch(trainer, old_logp_noise=0.5)
    ours = trainer._compute_loss(trainer.model, dict(batch))
    theirs = plain._compute_loss(plain.model, {k: v for k, v in batch.items() if k != "completion_regions"})
    assert torch.equal(ours, theirs)
    ours.backward()
    theirs.backward()
    for g, h in zip(grads(trainer.model), grads(plain.model)):
        assert torch.equal(g, h)


def test_weights_come_from_the_loss_forward_without_a_second_forward(make_trainer):
    trainer = make_trainer("rest_entropy")  # paper profile: needs the entropies
    calls = []
    forward = trainer.model.forward
    trainer.model.forward = lambda *a, **k: calls.append(1) or forward(*a, **k)
    batch = fixed_batch(trainer)
    trainer._compute_loss(trainer.model, batch)
    assert len(calls) == 1
    # the Eq. 9 entropy estimate was fed from that forward
    assert trainer.weighter._batches_seen == 1
    assert trainer.weighter._entropy_count[Region.NAME] == 1
    # the buffered batch keeps its (B,) advantages (num_iterations > 1 reuses it)
    assert batch["advantages"].shape == (2,)


def test_paper_weighting_changes_the_gradient(make_trainer):
    uniform = make_trainer("grpo", aggregation="token-mean-weighted")
    rest = make_trainer("rest")
    gu, gr = [], []
    for trainer, out in ((uniform, gu), (rest, gr)):
        trainer._compute_loss(trainer.model, fixed_batch(trainer, old_logp_noise=0.5)).backward()
        out.extend(grads(trainer.model))
    diff = sum((a - b).norm() for a, b in zip(gu, gr)) / sum(a.norm() for a in gu)
    assert diff > 0.01


# --------------------------------------------------------------------------- veRL's objective
#
# The released run's policy loss, written here from veRL's formulas (``compute_policy_loss_vanilla``
# of ``verl/trainer/ppo/core_algos.py``): PPO clipping with ε = 0.2 and, for negative
# advantages, the dual clip at c = 3; aggregated as ``token-mean`` (GRPO) or, for ResT, as
# ``token-mean-weighted``: Σ l·m·w / Σ m·w with the *unweighted* advantages inside l.

#: Target ratios π/π_old from 0.05 to 20, both sides of both clips; row 2 ends in padding.
RATIOS = torch.tensor([[0.05, 0.7, 1.1, 20.0], [0.5, 1.3, 5.0, 1.0]])


def verl_dual_clip(ratio, adv, eps=0.2, c=3.0):
    adv = adv[:, None].expand_as(ratio)
    clipped = torch.maximum(-adv * ratio, -adv * ratio.clamp(1 - eps, 1 + eps))
    return torch.where(adv < 0, torch.minimum(-adv * c, clipped), clipped)


def batch_with_ratios(trainer):
    """``fixed_batch`` whose old log-probs put the ratios at ``RATIOS`` exactly."""
    batch = fixed_batch(trainer)
    with torch.no_grad():
        batch["old_per_token_logps"] = manual_logps(trainer.model, batch) - RATIOS.log()
    return batch


@pytest.mark.parametrize("method", ["rest", "grpo"])
def test_loss_and_gradients_equal_verl_dual_clip(make_trainer, method):
    trainer = make_trainer(method) if method == "rest" else make_trainer(method, aggregation="token-mean")
    assert (trainer.args.epsilon, trainer.args.delta) == (0.2, 3.0)
    batch = batch_with_ratios(trainer)
    loss = trainer._compute_loss(trainer.model, batch)
    loss.backward()
    got = grads(trainer.model)
    trainer.model.zero_grad()

    ratio = torch.exp(manual_logps(trainer.model, batch) - batch["old_per_token_logps"])
    torch.testing.assert_close(ratio.detach(), RATIOS, rtol=1e-5, atol=1e-6)
    per_token = verl_dual_clip(ratio, ADVANTAGES)
    w = HAND_WEIGHTS if method == "rest" else torch.ones_like(HAND_WEIGHTS)  # rest: zeros on OTHER
    expected = (per_token * MASK * w).sum() / (MASK * w).sum()  # token-mean(-weighted)
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5, abs=1e-7)
    for g, h in zip(got, grads(trainer.model), strict=True):
        torch.testing.assert_close(g, h, rtol=1e-4, atol=1e-7)
    # every branch of the dual clip was taken on a valid token
    adv = ADVANTAGES[:, None].expand_as(RATIOS)
    valid = MASK.bool()
    assert ((adv < 0) & (RATIOS > 3) & valid).any() and ((adv > 0) & (RATIOS > 1.2) & valid).any()
    assert ((adv > 0) & (RATIOS < 0.8) & valid).any() and ((adv < 0) & (RATIOS < 0.8) & valid).any()


def test_hook_fires_on_every_micro_batch_of_a_training_step(make_trainer):
    """One real step of two micro-batches (4 completions, 2 per micro-batch): each loss went
    through the weighting hook."""
    trainer = make_trainer("rest", gradient_accumulation_steps=2, num_generations=2,
                           per_device_train_batch_size=2)
    trainer.train()
    assert trainer.state.global_step == 1
    assert trainer.hooked_micro_batches == 2


def test_a_weighted_loss_without_the_hook_names_the_trl_version(make_trainer, monkeypatch):
    """As if TRL renamed the hooked method: the weights would silently be dropped."""
    import trl
    from trl import GRPOTrainer

    from rest.train.trainers import ResTTrainer

    monkeypatch.setattr(ResTTrainer, "_get_per_token_logps_and_entropies",
                        GRPOTrainer._get_per_token_logps_and_entropies)
    trainer = make_trainer("rest", weighting="released")
    with pytest.raises(RuntimeError, match=f"TRL {trl.__version__} computed a GRPO loss without"):
        trainer._compute_loss(trainer.model, fixed_batch(trainer))
    # plain GRPO (uniform) needs no weights: the same situation is not an error
    uniform = make_trainer("grpo")
    uniform._compute_loss(uniform.model, fixed_batch(uniform))
