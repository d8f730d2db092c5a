"""Token weights: profiles, Eq. 9 initial weights, Eq. 16-17 curriculum, Eq. 18 normalisation."""

import math

import pytest
import torch

from rest.regions import Region, region_bits
from rest.weights import (
    TABLE_COLLECTING,
    TABLE_FROZEN,
    TABLE_PROVISIONAL,
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


def inputs_for(mode):
    """The ``released`` profile reads bit sets of regions; the others one region per token."""
    return region_bits(REGIONS) if mode == "released" else REGIONS


@pytest.mark.parametrize("mode", ["released", "paper"])
def test_eq18_mean_one_over_positive_tokens(mode):
    w = TokenWeighter(mode)(inputs_for(mode), MASK, ENT, step=10, total_steps=100)
    assert positive_means(w).tolist() == pytest.approx([1.0, 1.0])
    assert (w[MASK == 0] == 0).all() and (w[REGIONS == O] == 0).all()


def test_eq18_clamps_before_normalising():
    w = normalize_weights(torch.tensor([[100.0, 1.0, 0.0]]), torch.tensor([[1.0, 1.0, 1.0]]))
    assert w.tolist()[0] == pytest.approx([8.0 / 4.5, 1.0 / 4.5, 0.0])


def test_uniform_is_plain_grpo():
    w = TokenWeighter("uniform")(REGIONS, MASK, ENT, step=50, total_steps=100)
    assert torch.equal(w, MASK.float())


def test_released_constants_ramp_with_the_rollout():
    wt = TokenWeighter("released")
    assert wt.region_weights(0, 1).tolist() == pytest.approx([0.0, 1.0, 1.2, 0.6, 0.6])
    assert wt.region_weights(150, 1).tolist() == pytest.approx([0.0, 1.0, 1.2, 0.9, 0.9])
    assert wt.region_weights(500, 1).tolist() == pytest.approx([0.0, 1.0, 1.2, 1.2, 1.0])


def test_released_no_curriculum_holds_the_step0_weights():
    held = TokenWeighter("released", curriculum=False)
    assert held.region_weights(300, 1).tolist() == pytest.approx([0.0, 1.0, 1.2, 0.6, 0.6])
    a = held(region_bits(REGIONS), MASK, None, 1, 100)
    assert torch.equal(a, held(region_bits(REGIONS), MASK, None, 400, 100))


def test_released_overlapping_spans_take_the_max():
    # token 0: FORMAT and PARAMS; token 1: THINK and NAME; token 2: PARAMS only; token 3: nothing
    bits = torch.tensor([[(1 << F) | (1 << P), (1 << T) | (1 << N), 1 << P, 0]])
    mask = torch.ones(1, 4)
    for step, params in ((0, 0.6), (300, 1.2)):
        raw = [max(1.0, params), 1.2, params]
        w = TokenWeighter("released")(bits, mask, None, step, 1)[0]
        mean = sum(raw) / 3
        assert w.tolist() == pytest.approx([v / mean for v in raw] + [0.0])


def collected(k=1, **kw):
    """A ``paper`` weighter that has seen rollout 1 (FORMAT 0.5, THINK 2.0, NAME 0.2, PARAMS 1.0)."""
    wt = TokenWeighter("paper", entropy_init_steps=k, eps=0.0, **kw)
    wt(REGIONS, MASK, ENT, 1, 100)
    return wt


def test_paper_weighs_every_region_one_while_the_entropies_are_collected():
    wt = TokenWeighter("paper", entropy_init_steps=2)
    w = wt(REGIONS, MASK, ENT, 1, 100)
    assert wt.table_phase == TABLE_COLLECTING
    assert torch.equal(w, (REGIONS != O).float() * MASK)  # all 1, so Eq. 18 leaves them at 1
    wt(REGIONS, MASK, ENT * 3, 2, 100)
    assert wt.table_phase == TABLE_COLLECTING
    wt(REGIONS, MASK, ENT * 100, 3, 100)  # rollout K+1 = 3: the table of rollouts 1-2 applies
    assert wt.table_phase == TABLE_FROZEN
    assert wt.region_entropy[F].item() == pytest.approx(0.5 * (1 + 3) / 2)
    wt(REGIONS, MASK, ENT * 1000, 4, 100)  # frozen: no longer moves
    assert wt.region_entropy[F].item() == pytest.approx(1.0)


def test_paper_table_is_frozen_only_once_every_region_was_seen():
    wt = TokenWeighter("paper")
    no_name = REGIONS.masked_fill(REGIONS == N, O)
    wt(no_name, MASK, ENT, 1, 100)
    wt(no_name, MASK, ENT, 2, 100)
    assert wt.table_phase == TABLE_PROVISIONAL and math.isnan(wt.region_entropy[N])
    wt(REGIONS, MASK, ENT, 3, 100)  # NAME seen in this micro-batch: the next one freezes the table
    assert wt.table_phase == TABLE_PROVISIONAL
    wt(REGIONS, MASK, ENT, 3, 100)
    assert wt.table_phase == TABLE_FROZEN and wt.region_entropy[N].item() == pytest.approx(0.2)


def test_paper_curriculum_moves_format_down_params_up_think_synchronised():
    wt = collected(delta=0.3)
    wt(REGIONS, MASK, ENT, 2, 100)
    w0 = entropy_initial_weights(wt.region_entropy, eps=0.0)
    w_start, w_half, w_end = (wt.region_weights(s, 100) for s in (0, 50, 100))
    assert w_half[F] == pytest.approx(w0[F] - 0.15)
    assert w_half[P] == pytest.approx(w0[P] + 0.15)
    for w in (w_start, w_half, w_end):  # THINK takes PARAMS' value, at most 1 (released: shared ramp)
        assert w[T] == pytest.approx(min(w[P].item(), 1.0))
    assert w_end[N] == w_start[N] == w_half[N]


def test_paper_clips_every_region_name_included():
    wt = collected(delta=10.0)
    wt(REGIONS, MASK, ENT, 2, 100)
    # Eq. 9 NAME: (1/0.2) / mean(2, 5, 1, 0.5) = 2.35 < 3: within the bounds
    assert wt.region_weights(100, 100)[N] == pytest.approx(5 / 2.125)
    tight = collected(weight_bounds=(0.1, 2.0))
    tight(REGIONS, MASK, ENT, 2, 100)
    w = tight.region_weights(100, 100)
    assert w[N] == pytest.approx(2.0) and w[F] >= 0.1 and w[P] <= 2.0


def test_ema_tracking_keeps_moving():
    wt = collected(entropy_tracking="ema", ema_decay=0.5)
    wt(REGIONS, MASK, ENT, 2, 10)
    assert wt.region_entropy[F].item() == pytest.approx(0.5)
    wt(REGIONS, MASK, ENT * 3, 3, 10)  # observed here, blended in at the next micro-batch
    wt(REGIONS, MASK, ENT, 4, 10)
    assert wt.region_entropy[F].item() == pytest.approx(0.5 * 0.5 + 0.5 * 1.5)


def test_ablation_no_cot_gradients_zeroes_think():
    for mode in ("released", "paper"):
        wt = TokenWeighter(mode, cot_gradients=False)
        wt(inputs_for(mode), MASK, ENT, 1, 100)
        w = wt(inputs_for(mode), MASK, ENT, 10, 100)
        assert (w[REGIONS == T] == 0).all() and (w[(REGIONS != T) & (REGIONS != O)] > 0).all()
        assert positive_means(w).tolist() == pytest.approx([1.0, 1.0])


def test_ablation_no_curriculum_freezes_weights():
    wt = collected(curriculum=False)
    wt(REGIONS, MASK, ENT, 2, 100)
    assert torch.equal(wt.region_weights(2, 100), wt.region_weights(100, 100))
    moving = collected()
    moving(REGIONS, MASK, ENT, 2, 100)
    assert not torch.equal(moving.region_weights(2, 100), moving.region_weights(100, 100))


def test_state_dict_round_trip():
    wt = TokenWeighter("paper", entropy_init_steps=3)
    wt(REGIONS, MASK, ENT, 1, 10)
    fresh = TokenWeighter("paper", entropy_init_steps=3)
    fresh.load_state_dict(wt.state_dict())
    for step in (2, 4):
        a = wt(REGIONS, MASK, ENT * step, step, 10)
        b = fresh(REGIONS, MASK, ENT * step, step, 10)
        assert torch.equal(a, b)
    assert fresh.table_phase == wt.table_phase == TABLE_FROZEN


def test_bad_config_values_are_named():
    with pytest.raises(ValueError, match="weighting"):
        TokenWeighter("sometimes")
    with pytest.raises(ValueError, match="entropy_tracking"):
        TokenWeighter("paper", entropy_tracking="sometimes")


def _rank_table(rank, world, port, out):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    wt = TokenWeighter("paper")
    wt(REGIONS, MASK, ENT * (rank + 1), 1, 10)  # each process sees other entropies in rollout 1
    wt(REGIONS, MASK, ENT, 2, 10)
    out[rank] = wt.region_entropy.tolist()
    dist.destroy_process_group()


def test_paper_table_is_all_reduced_so_every_process_uses_one():
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = mp.Manager().dict()
    mp.spawn(_rank_table, args=(2, port, out), nprocs=2, join=True)
    assert out[0] == out[1]
    assert out[0][F] == pytest.approx(0.5 * 1.5)  # the token-weighted mean over both processes
