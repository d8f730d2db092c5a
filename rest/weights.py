"""Entropy-aware token weights and their curriculum (paper Eq. 9, 16-18).

A ``TokenWeighter`` turns a ``(B, T)`` batch of token regions (``rest.regions``) into
per-token weights that ResT multiplies into the GRPO advantages (Eq. 19). Three profiles:

``uniform``   w = 1 on every valid token: plain GRPO.
``released``  the released code's rule (``recipe/custom/token_weighting.py``): fixed
              constants ramped by the rollout count. Its input is, per token, the *bit
              set* of released regions (``rest.regions.ReleasedTagger``); a token covered by
              several spans takes the largest weight.
``paper``     Eq. 9 initial weights from region-average entropy, moved by the Eq. 16-17
              curriculum over training progress. Its input is one region per token.

The clock of both ramps is the rollout (veRL's ``global_steps``, from 1), see
``rest.rewards.RolloutClock``. Everything is vectorised over the batch.
"""

from __future__ import annotations

import math
from typing import Literal

import torch

from rest.regions import NUM_REGIONS, Region

WeightingMode = Literal["uniform", "released", "paper"]
WEIGHTED_REGIONS = (Region.FORMAT, Region.NAME, Region.PARAMS, Region.THINK)
#: Phases of the ``paper`` profile's entropy table, logged each step as ``weight/table``.
TABLE_COLLECTING, TABLE_PROVISIONAL, TABLE_FROZEN = 0, 1, 2


def region_mean_entropy(regions: torch.Tensor, mask: torch.Tensor, entropies: torch.Tensor) -> torch.Tensor:
    """Mean entropy of the valid tokens of each region (``NaN`` where a region is absent)."""
    valid = mask.bool()
    idx = regions[valid].long()
    ent = entropies.detach()[valid].float()
    sums = torch.zeros(NUM_REGIONS, dtype=torch.float32, device=ent.device).scatter_add_(0, idx, ent)
    counts = torch.zeros(NUM_REGIONS, dtype=torch.float32, device=ent.device).scatter_add_(0, idx, torch.ones_like(ent))
    return torch.where(counts > 0, sums / counts.clamp(min=1), torch.full_like(sums, math.nan))


def entropy_initial_weights(region_entropy: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Eq. 9: ``w0_r ∝ 1 / (H̄_r + ε)``, scaled to mean 1 over FORMAT, NAME, PARAMS and THINK.

    Theorem 2 of the paper: the variance-optimal weight of a region is inversely
    proportional to its variance contribution, which its entropy bounds. A region never
    seen takes the mean entropy of the others; with none seen, every weight is 1.
    """
    h = region_entropy.detach().float().cpu()[list(WEIGHTED_REGIONS)]
    seen = ~torch.isnan(h)
    w = torch.zeros(NUM_REGIONS)
    if not seen.any():
        w[list(WEIGHTED_REGIONS)] = 1.0
        return w
    h = torch.where(seen, h, h[seen].mean())
    inv = 1.0 / (h.clamp(min=0) + eps)
    w[list(WEIGHTED_REGIONS)] = inv / inv.mean()
    return w


def normalize_weights(weights: torch.Tensor, mask: torch.Tensor, bounds: tuple[float, float] = (0.001, 8.0)) -> torch.Tensor:
    """Eq. 18: per sequence, clamp the positive weights to ``bounds`` and divide by their mean.

    Tokens with weight 0 (and padding) stay 0, so each sequence's positive tokens average 1.
    """
    w = weights * mask
    positive = w > 0
    w = torch.where(positive, w.clamp(*bounds), torch.zeros_like(w))
    mean = w.sum(-1, keepdim=True) / positive.sum(-1, keepdim=True).clamp(min=1)
    return torch.where(positive, w / mean.clamp(min=1e-12), torch.zeros_like(w))


class TokenWeighter:
    """Stateful region-to-weight map: keeps the Eq. 9 entropy estimate across steps.

    ``step`` arguments are rollouts (from 1) and ``total_steps`` the run's rollouts.
    """

    def __init__(
        self,
        mode: WeightingMode = "uniform",
        cot_gradients: bool = True,
        curriculum: bool = True,
        delta: float = 0.3,
        weight_bounds: tuple[float, float] = (0.1, 3.0),
        entropy_init_steps: int = 1,
        entropy_tracking: Literal["fixed", "ema"] = "fixed",
        ema_decay: float = 0.9,
        eps: float = 1e-6,
        norm_bounds: tuple[float, float] = (0.001, 8.0),
    ):
        if mode not in ("uniform", "released", "paper"):
            raise ValueError(f"weighting: expected uniform, released or paper, got {mode!r}")
        if entropy_tracking not in ("fixed", "ema"):
            raise ValueError(f"entropy_tracking: expected fixed or ema, got {entropy_tracking!r}")
        if entropy_init_steps < 1:
            raise ValueError(f"entropy_init_steps must be >= 1, got {entropy_init_steps}")
        self.mode = mode
        self.cot_gradients = cot_gradients
        self.curriculum = curriculum
        self.delta = delta if curriculum else 0.0
        self.weight_bounds = tuple(weight_bounds)
        self.entropy_init_steps = entropy_init_steps
        self.entropy_tracking = entropy_tracking
        self.ema_decay = ema_decay
        self.eps = eps
        self.norm_bounds = tuple(norm_bounds)
        # This process's entropy sums and token counts per region, before the all-reduce.
        self._entropy_sum = torch.zeros(NUM_REGIONS, dtype=torch.float64)
        self._entropy_count = torch.zeros(NUM_REGIONS, dtype=torch.float64)
        self._batches_seen = 0
        self.table_phase = TABLE_COLLECTING
        self.region_entropy = torch.full((NUM_REGIONS,), math.nan)

    # ------------------------------------------------------------------ entropy estimate

    def observe(self, regions: torch.Tensor, mask: torch.Tensor, entropies: torch.Tensor) -> None:
        """Fold one micro-batch's entropies into this process's Eq. 9 sums (until the table freezes)."""
        valid = mask.bool()
        idx = regions[valid].long().cpu()
        ent = entropies.detach()[valid].double().cpu()
        if self.table_phase == TABLE_FROZEN:
            if self.entropy_tracking != "ema":
                return
            self._entropy_sum.zero_()
            self._entropy_count.zero_()
        self._entropy_sum.scatter_add_(0, idx, ent)
        self._entropy_count.scatter_add_(0, idx, torch.ones_like(ent))
        self._batches_seen += 1

    def set_entropy_table(self, region_entropy: dict[str, float]) -> None:
        """Use given mean entropies (keyed FORMAT, NAME, PARAMS, THINK) as the frozen Eq. 9 estimate."""
        h = torch.full((NUM_REGIONS,), math.nan)
        for r in WEIGHTED_REGIONS:
            h[r] = float(region_entropy[r.name])
        self.region_entropy = h
        self.table_phase = TABLE_FROZEN

    def _update_table(self) -> None:
        """All-reduce the sums so that every process uses one table; freeze once all regions are seen."""
        sums, counts = _all_reduce_sum(torch.stack([self._entropy_sum, self._entropy_count]))
        mean = torch.where(counts > 0, sums / counts.clamp(min=1), math.nan).float()
        if self.table_phase == TABLE_FROZEN:  # ema
            old = self.region_entropy
            blended = self.ema_decay * old + (1 - self.ema_decay) * mean
            self.region_entropy = torch.where(torch.isnan(mean), old, blended)
            return
        self.region_entropy = mean
        seen = ~torch.isnan(mean[list(WEIGHTED_REGIONS)])
        self.table_phase = TABLE_FROZEN if bool(seen.all()) else TABLE_PROVISIONAL

    # ------------------------------------------------------------------ weights

    def region_weights(self, step: int, total_steps: int) -> torch.Tensor:
        """The weight of each region at rollout ``step`` (indexed by ``Region``), before Eq. 18."""
        w = torch.zeros(NUM_REGIONS)
        if self.mode == "uniform":
            w[:] = 1.0
        elif self.mode == "released":
            ramp = 0.6 + 0.002 * (step if self.curriculum else 0)
            w[Region.FORMAT], w[Region.NAME] = 1.0, 1.2
            w[Region.THINK], w[Region.PARAMS] = min(ramp, 1.0), min(ramp, 1.2)
        elif self.table_phase == TABLE_COLLECTING:
            w[list(WEIGHTED_REGIONS)] = 1.0
        else:
            w = self._curriculum(entropy_initial_weights(self.region_entropy, self.eps), step, total_steps)
        if not self.cot_gradients:
            w[Region.THINK] = 0.0
        return w

    def _curriculum(self, w0: torch.Tensor, step: int, total_steps: int) -> torch.Tensor:
        """Eq. 16-17: NAME held; FORMAT falls and PARAMS rises by δ·p; THINK takes PARAMS' value, at most 1.

        Every region is clipped to ``weight_bounds``. THINK and PARAMS are synchronized by
        value, as the released code's shared ``0.6 + 0.002·s`` ramp is.
        """
        p = min(max(step / max(total_steps, 1), 0.0), 1.0)
        lo, hi = self.weight_bounds
        clip = lambda v: min(max(float(v), lo), hi)  # noqa: E731
        w = torch.zeros(NUM_REGIONS)
        w[Region.NAME] = clip(w0[Region.NAME])
        w[Region.FORMAT] = clip(w0[Region.FORMAT] - self.delta * p)
        w[Region.PARAMS] = clip(w0[Region.PARAMS] + self.delta * p)
        w[Region.THINK] = clip(min(w[Region.PARAMS].item(), 1.0))
        return w

    def token_weights(self, regions: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """Look each token's weight up in ``table``: the max over its bit set under ``released``."""
        if self.mode == "released":
            # One lookup per token: the weight of each of the 2^5 possible bit sets.
            member = (torch.arange(1 << NUM_REGIONS)[:, None] >> torch.arange(NUM_REGIONS)) & 1
            table = (member * table.cpu()).amax(1)  # weights are >= 0: an empty set weighs 0
        return table.to(regions.device)[regions.long()]

    def __call__(
        self,
        regions: torch.Tensor,
        mask: torch.Tensor,
        entropies: torch.Tensor | None,
        step: int,
        total_steps: int,
        observe: bool = True,
    ) -> torch.Tensor:
        """Per-token weights ``(B, T)`` for one micro-batch at rollout ``step``, normalised by Eq. 18.

        Under ``paper``, the micro-batches of the first ``entropy_init_steps`` rollouts feed
        the Eq. 9 estimate (with ``observe``) and weigh every weighted region 1; from the
        next rollout the table applies. Every process must call this equally often: the
        table is all-reduced when it is built.
        """
        mask = mask.to(torch.float32)
        if self.mode == "paper" and (self.table_phase != TABLE_FROZEN or self.entropy_tracking == "ema"):
            if step > self.entropy_init_steps:
                self._update_table()  # from the micro-batches before this one
            if observe and entropies is not None:
                self.observe(regions, mask, entropies)
        w = self.token_weights(regions, self.region_weights(step, total_steps)) * mask
        if self.mode == "uniform":
            return w
        return normalize_weights(w, mask, self.norm_bounds)

    # ------------------------------------------------------------------ checkpointing

    def state_dict(self) -> dict:
        return {
            "entropy_sum": self._entropy_sum.tolist(),
            "entropy_count": self._entropy_count.tolist(),
            "batches_seen": self._batches_seen,
            "table_phase": self.table_phase,
            "region_entropy": self.region_entropy.tolist(),
        }

    def load_state_dict(self, state: dict) -> None:
        self._entropy_sum = torch.tensor(state["entropy_sum"], dtype=torch.float64)
        self._entropy_count = torch.tensor(state["entropy_count"], dtype=torch.float64)
        self._batches_seen = int(state["batches_seen"])
        self.table_phase = int(state.get("table_phase", TABLE_COLLECTING))
        self.region_entropy = torch.tensor(state["region_entropy"], dtype=torch.float32)


def _all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum ``t`` over processes when torch.distributed runs; a copy of ``t`` otherwise."""
    import torch.distributed as dist

    t = t.clone()
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        backend = dist.get_backend()
        device = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")
        moved = t.to(device)
        dist.all_reduce(moved)
        t = moved.cpu()
    return t


def completion_weights(
    tokenizer,
    completions: list[str],
    steps: list[int],
    profile: WeightingMode = "released",
    total_rollouts: int | None = None,
    entropy_table: dict[str, float] | None = None,
    **switches,
) -> list[list[float]]:
    """The weights a profile gives each token of ``tokenizer(completion, add_special_tokens=False)``.

    ``steps`` are rollouts (from 1; 0 gives the released step-0 constants). Under ``paper``,
    a rollout within the first ``entropy_init_steps`` weighs every weighted region 1, as in
    training; later ones use ``entropy_table`` (mean entropy by region name, equal for all
    regions when absent) with the curriculum at ``step / total_rollouts``. ``switches`` are
    ``TokenWeighter`` options (``cot_gradients``, ``curriculum``, ...). This is what the
    ``weights`` and ``regions`` commands print; training computes the same from the ids.
    """
    from rest.regions import RegionTagger, ReleasedTagger

    if profile == "paper" and not total_rollouts:
        raise ValueError("the paper profile needs the run's total rollouts")
    tagger = ReleasedTagger(tokenizer) if profile == "released" else RegionTagger(tokenizer)
    ids = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in completions]
    width = max((len(i) for i in ids), default=0)
    mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i in ids], dtype=torch.float32).reshape(len(ids), width)
    regions = tagger.batch([i + [0] * (width - len(i)) for i in ids], mask)
    out = torch.zeros(len(ids), width)
    for step in sorted(set(steps)):
        weighter = TokenWeighter(profile, **switches)
        if profile == "paper" and step > weighter.entropy_init_steps:
            weighter.set_entropy_table(entropy_table or {r.name: 1.0 for r in WEIGHTED_REGIONS})
        rows = torch.tensor([s == step for s in steps])
        out[rows] = weighter(regions[rows], mask[rows], None, step, total_rollouts or 1, observe=False)
    return [out[b, : len(i)].tolist() for b, i in enumerate(ids)]
