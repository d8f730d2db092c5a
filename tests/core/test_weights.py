"""Token weights: modes, Eq. 9 initial weights, Eq. 16-17 curriculum, Eq. 18 normalisation."""

import math

import pytest
import torch

from rest.regions import Region
from rest.weights import (
    TokenWeighter,
    entropy_initial_weights,
    normalize_weights,
    region_mean_entropy,
)

F, N, P, T, O = (int(r) for r in (Region.FORMAT, Region.NAME, Region.PARAMS, Region.THINK, Region.OTHER))

REGIONS = torch.tensor([[F, T, T, N, P, P, O, F], [F, T, N, P, O, O, O, O]])
MASK = torch.tensor([[1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0, 0]])
# Region entropies: FORMAT 0.5, THINK 2.0, NAME 0.2, PARAMS 1.0, OTHER 3.0
ENT = torch.tensor([[0.5, 2.0, 2.0, 0.2, 1.0, 1.0, 3.0, 0.5], [0.5, 2.0, 0.2, 1.0, 3.0, 9.0, 9.0, 9.0]])


def positive_means(w):
    pos = w > 0
    return (w * pos).sum(-1) / pos.sum(-1)


def test_region_mean_entropy_ignores_padding():
    h = region_mean_entropy(REGIONS, MASK, ENT)
    assert h.tolist() == pytest.approx([3.0, 0.5, 0.2, 1.0, 2.0])
    h2 = region_mean_entropy(torch.tensor([[F, F]]), torch.tensor([[1, 1]]), torch.tensor([[1.0, 3.0]]))
    assert h2[F] == 2.0 and all(math.isnan(h2[r]) for r in (N, P, T, O))


def test_eq9_initial_weights_inverse_entropy_mean_one():
    w = entropy_initial_weights(torch.tensor([3.0, 0.5, 0.2, 1.0, 2.0]), eps=0.0)
    inv = {F: 2.0, N: 5.0, P: 1.0, T: 0.5}  # 1 / H
    mean = sum(inv.values()) / 4
    for r, v in inv.items():
        assert w[r].item() == pytest.approx(v / mean)
    assert w[O] == 0.0
    assert w[[F, N, P, T]].mean().item() == pytest.approx(1.0)


def test_eq9_without_entropy_is_uniform():
    assert entropy_initial_weights(torch.full((5,), math.nan))[[F, N, P, T]].tolist() == [1.0] * 4


@pytest.mark.parametrize("mode", ["released", "paper"])
def test_eq18_mean_one_over_positive_tokens(mode):
    w = TokenWeighter(mode)(REGIONS, MASK, ENT, step=10, total_steps=100)
    assert positive_means(w).tolist() == pytest.approx([1.0, 1.0])
    assert (w[MASK == 0] == 0).all() and (w[REGIONS == O] == 0).all()


def test_eq18_clamps_before_normalising():
    w = normalize_weights(torch.tensor([[100.0, 1.0, 0.0]]), torch.tensor([[1.0, 1.0, 1.0]]))
    assert w.tolist()[0] == pytest.approx([8.0 / 4.5, 1.0 / 4.5, 0.0])


def test_uniform_is_plain_grpo():
    w = TokenWeighter("uniform")(REGIONS, MASK, ENT, step=50, total_steps=100)
    assert torch.equal(w, MASK.float())


def test_released_constants():
    wt = TokenWeighter("released")
    assert wt.region_weights(0, 1).tolist() == pytest.approx([0.0, 1.0, 1.2, 0.6, 0.6])
    assert wt.region_weights(150, 1).tolist() == pytest.approx([0.0, 1.0, 1.2, 0.9, 0.9])
    assert wt.region_weights(500, 1).tolist() == pytest.approx([0.0, 1.0, 1.2, 1.2, 1.0])


def test_paper_curriculum_moves_format_down_params_and_think_up():
    wt = TokenWeighter("paper", delta=0.3, eps=0.0)
    wt.observe(REGIONS, MASK, ENT)
    w0 = wt.region_weights(0, 100)
    w_half = wt.region_weights(50, 100)
    w_end = wt.region_weights(100, 100)
    assert w_half[F] == pytest.approx(w0[F] - 0.15)
    assert w_half[P] == pytest.approx(w0[P] + 0.15) and w_half[T] == pytest.approx(w0[T] + 0.15)
    assert w_end[N] == w0[N] == w_half[N]
    # Clipped to [0.1, 3.0]: NAME's w0 (5 / 2.125 = 2.35) is not moved; FORMAT cannot drop below 0.1.
    low = TokenWeighter("paper", delta=10.0).region_weights(100, 100)
    assert low[F] == pytest.approx(0.1) and low[P] == pytest.approx(3.0)


def test_entropy_estimated_on_first_batches_then_fixed():
    wt = TokenWeighter("paper", entropy_init_steps=2)
    wt(REGIONS, MASK, ENT, 0, 10)
    wt(REGIONS, MASK, ENT * 3, 1, 10)
    assert wt.region_entropy[F].item() == pytest.approx((0.5 + 1.5) / 2)
    wt(REGIONS, MASK, ENT * 100, 2, 10)
    assert wt.region_entropy[F].item() == pytest.approx(1.0)


def test_ema_tracking_keeps_moving():
    wt = TokenWeighter("paper", entropy_tracking="ema", ema_decay=0.5)
    wt(REGIONS, MASK, ENT, 0, 10)
    wt(REGIONS, MASK, ENT * 3, 1, 10)
    assert wt.region_entropy[F].item() == pytest.approx(0.5 * 0.5 + 0.5 * 1.5)


def test_ablation_no_cot_gradients_zeroes_think():
    for mode in ("released", "paper"):
        w = TokenWeighter(mode, cot_gradients=False)(REGIONS, MASK, ENT, 10, 100)
        assert (w[REGIONS == T] == 0).all() and (w[(REGIONS != T) & (REGIONS != O)] > 0).all()
        assert positive_means(w).tolist() == pytest.approx([1.0, 1.0])


def test_ablation_no_curriculum_freezes_weights():
    wt = TokenWeighter("paper", curriculum=False)
    wt.observe(REGIONS, MASK, ENT)
    assert torch.equal(wt.region_weights(0, 100), wt.region_weights(100, 100))
    moving = TokenWeighter("paper")
    moving.observe(REGIONS, MASK, ENT)
    assert not torch.equal(moving.region_weights(0, 100), moving.region_weights(100, 100))


def test_state_dict_round_trip():
    wt = TokenWeighter("paper", entropy_init_steps=3)
    wt(REGIONS, MASK, ENT, 0, 10)
    fresh = TokenWeighter("paper", entropy_init_steps=3)
    fresh.load_state_dict(wt.state_dict())
    a = wt(REGIONS, MASK, ENT * 2, 1, 10)
    b = fresh(REGIONS, MASK, ENT * 2, 1, 10)
    assert torch.equal(a, b)


def test_bad_config_values_are_named():
    with pytest.raises(ValueError, match="weighting"):
        TokenWeighter("sometimes")
    with pytest.raises(ValueError, match="entropy_tracking"):
        TokenWeighter("paper", entropy_tracking="sometimes")
