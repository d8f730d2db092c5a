"""Entropy-aware token weights and their curriculum (paper Eq. 9, 16-18; SPEC §4).

A ``TokenWeighter`` turns a ``(B, T)`` batch of token regions (``rest.regions``) into
per-token weights that ResT multiplies into the GRPO advantages (Eq. 19). Three modes:

``uniform``   w = 1 on every valid token: plain GRPO.
``released``  the authors' released constants, ramped by the global step.
``paper``     Eq. 9 initial weights from region-average entropy, moved by the Eq. 16-17
              curriculum over training progress.

Everything is vectorised over the batch; nothing loops per token.
"""

from __future__ import annotations

import math
from typing import Literal

import torch

from rest.regions import NUM_REGIONS, Region

WeightingMode = Literal["uniform", "released", "paper"]
WEIGHTED_REGIONS = (Region.FORMAT, Region.NAME, Region.PARAMS, Region.THINK)


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
    """Stateful region-to-weight map: keeps the Eq. 9 entropy estimate across steps."""

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
        self.delta = delta if curriculum else 0.0
        self.weight_bounds = tuple(weight_bounds)
        self.entropy_init_steps = entropy_init_steps
        self.entropy_tracking = entropy_tracking
        self.ema_decay = ema_decay
        self.eps = eps
        self.norm_bounds = tuple(norm_bounds)
        self._entropy_sum = torch.zeros(NUM_REGIONS)
        self._entropy_count = torch.zeros(NUM_REGIONS)
        self._batches_seen = 0
        self.region_entropy = torch.full((NUM_REGIONS,), math.nan)

    # ------------------------------------------------------------------ entropy estimate

    def observe(self, regions: torch.Tensor, mask: torch.Tensor, entropies: torch.Tensor) -> None:
        """Fold one batch's region entropies into the Eq. 9 estimate (first batches, or EMA)."""
        batch = region_mean_entropy(regions, mask, entropies).cpu()
        seen = ~torch.isnan(batch)
        if self._batches_seen < self.entropy_init_steps:
            self._entropy_sum += torch.where(seen, batch, 0.0)
            self._entropy_count += seen.float()
            self.region_entropy = torch.where(
                self._entropy_count > 0, self._entropy_sum / self._entropy_count.clamp(min=1), math.nan
            )
        elif self.entropy_tracking == "ema":
            old = self.region_entropy
            blended = self.ema_decay * old + (1 - self.ema_decay) * batch
            self.region_entropy = torch.where(seen, torch.where(torch.isnan(old), batch, blended), old)
        self._batches_seen += 1

    # ------------------------------------------------------------------ weights

    def region_weights(self, step: int, total_steps: int) -> torch.Tensor:
        """The weight of each region at ``step`` (indexed by ``Region``), before Eq. 18."""
        w = torch.zeros(NUM_REGIONS)
        if self.mode == "uniform":
            w[:] = 1.0
        elif self.mode == "released":
            ramp = 0.6 + 0.002 * step
            w[Region.FORMAT], w[Region.NAME] = 1.0, 1.2
            w[Region.THINK], w[Region.PARAMS] = min(ramp, 1.0), min(ramp, 1.2)
        else:
            w = self._curriculum(entropy_initial_weights(self.region_entropy, self.eps), step, total_steps)
        if not self.cot_gradients:
            w[Region.THINK] = 0.0
        return w

    def _curriculum(self, w0: torch.Tensor, step: int, total_steps: int) -> torch.Tensor:
        """Eq. 16-17: NAME fixed; FORMAT falls and PARAMS and THINK rise by δ·p, clipped."""
        p = min(max(step / max(total_steps, 1), 0.0), 1.0)
        lo, hi = self.weight_bounds
        w = w0.clone()
        w[Region.FORMAT] = min(max(w0[Region.FORMAT].item() - self.delta * p, lo), hi)
        for r in (Region.PARAMS, Region.THINK):
            w[r] = min(max(w0[r].item() + self.delta * p, lo), hi)
        w[Region.OTHER] = 0.0
        return w

    def __call__(
        self,
        regions: torch.Tensor,
        mask: torch.Tensor,
        entropies: torch.Tensor | None,
        step: int,
        total_steps: int,
    ) -> torch.Tensor:
        """Per-token weights ``(B, T)`` for one batch, normalised by Eq. 18 (except ``uniform``)."""
        mask = mask.to(torch.float32)
        if self.mode == "paper" and entropies is not None:
            self.observe(regions, mask, entropies)
        table = self.region_weights(step, total_steps).to(regions.device)
        w = table[regions.long()] * mask
        if self.mode == "uniform":
            return w
        return normalize_weights(w, mask, self.norm_bounds)

    # ------------------------------------------------------------------ checkpointing

    def state_dict(self) -> dict:
        return {
            "entropy_sum": self._entropy_sum.tolist(),
            "entropy_count": self._entropy_count.tolist(),
            "batches_seen": self._batches_seen,
            "region_entropy": self.region_entropy.tolist(),
        }

    def load_state_dict(self, state: dict) -> None:
        self._entropy_sum = torch.tensor(state["entropy_sum"], dtype=torch.float32)
        self._entropy_count = torch.tensor(state["entropy_count"], dtype=torch.float32)
        self._batches_seen = int(state["batches_seen"])
        self.region_entropy = torch.tensor(state["region_entropy"], dtype=torch.float32)
