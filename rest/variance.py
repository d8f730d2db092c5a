"""The variance of the policy-gradient estimate under GRPO's and ResT's token weights.

The paper's Theorem 1 bounds the variance of the policy-gradient estimate by a sum over
token regions, each term growing with the region's policy entropy; Theorem 2 derives from it
that the variance-optimal weight of a region is inversely proportional to that term, which
motivates Eq. 9 (``w0_r ∝ 1/(H̄_r + ε)``). This module measures the claim on a model.

The estimator (one per prompt group, docs/method.md §8). For a prompt, G completions are
sampled from the policy; their rule rewards give GRPO group advantages ``A_i``. Each method's
estimate is the exact gradient of its own training loss on that group, aggregation included:

    GRPO (uniform)  L = −Σ_{i,t} A_i·m_{i,t}·log π(y_{i,t}) / Σ m            (token-mean)
    ResT            L = −Σ_{i,t} A_i·m_{i,t}·w_{i,t}·log π(y_{i,t}) / Σ m·w  (Eq. 19, weighted mean)

with ``w`` the method's token weights after Eq. 18. This is the gradient of the clipped
surrogate at the sampling policy (ratio 1, nothing clipped). Every method sees the same
samples and the same advantages, so the methods differ only in their weights.

Over N groups ``g_1 … g_N`` we report the trace of the covariance ``tr Σ̂`` (the total
variance), the squared norm of the mean ``‖ḡ‖²`` (the signal), and their ratio
``SNR = ‖ḡ‖² / tr Σ̂``. ``‖ḡ‖²`` overstates the squared norm of the true mean gradient
by ``tr Σ / N``, which dominates when the signal is weak, so we also give the unbiased
``‖ḡ‖² − tr Σ̂ / N = Σ_{n≠m} K_nm / (N(N − 1))`` and its SNR (it can be negative). All come from the Gram matrix ``K_nm = ⟨g_n, g_m⟩`` alone, so a
bootstrap over groups resamples rows and columns of K, never the gradients. The gradient
splits exactly by region (``g = Σ_r g_r``: each token's term belongs to one region), and
``tr Σ̂_r`` of each part is the quantity Theorem 1 bounds with the region's entropy; the
remainder ``tr Σ̂ − Σ_r tr Σ̂_r`` is the covariance across regions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from rest.regions import NUM_REGIONS, REGION_NAMES
from rest.stats import bootstrap_indices, percentile_interval

#: GRPO's weighting, the baseline of every ratio.
BASELINE = "uniform"
#: ResT's two weighting profiles (docs/method.md §3).
PROFILES = ("released", "paper")
#: TRL's group scaling: (r − mean) / (std + 1e-4), std with Bessel's correction.
ADVANTAGE_EPS = 1e-4


# --------------------------------------------------------------------------- one group


def group_advantages(rewards: torch.Tensor, eps: float = ADVANTAGE_EPS) -> torch.Tensor:
    """GRPO's group advantages ``(r_i − mean r) / (std r + eps)``, as TRL computes them."""
    rewards = rewards.to(torch.float64)
    if rewards.numel() < 2:
        return torch.zeros_like(rewards)
    return (rewards - rewards.mean()) / (rewards.std() + eps)


def loss_coefficients(advantages: torch.Tensor, mask: torch.Tensor,
                      weights: torch.Tensor | None = None) -> torch.Tensor:
    """``c`` with ``∇L = Σ_{i,t} c_{i,t} ∇log π(y_{i,t})`` for one group's loss (Eq. 19 at ratio 1).

    ``weights=None`` is GRPO's token-mean (``c = −A·m / Σ m``); otherwise ResT's weighted
    mean ``c = −A·m·w / Σ m·w``. A group whose weights are all zero has no gradient.
    """
    w = mask.to(torch.float64) if weights is None else mask.to(torch.float64) * weights.to(torch.float64)
    total = w.sum()
    if total <= 0:
        return torch.zeros_like(w)
    return -advantages.to(torch.float64).reshape(-1, 1) * w / total


def region_gradients(logps: torch.Tensor, params: Sequence[torch.nn.Parameter], coefficients: torch.Tensor,
                     regions: torch.Tensor) -> torch.Tensor:
    """The estimator of one group split by region: ``(NUM_REGIONS, P)``, rows summing to ∇L.

    ``logps`` ``(G, T)`` must carry the graph to ``params``. One batched backward pass
    (a vector-Jacobian product per region with a non-zero coefficient) does every region.
    """
    size = sum(p.numel() for p in params)
    out = torch.zeros(NUM_REGIONS, size, dtype=torch.float32)
    c = coefficients.to(logps.dtype)
    cotangents = {r: c * (regions == r) for r in range(NUM_REGIONS)}
    active = [r for r, v in cotangents.items() if torch.any(v != 0)]
    if not active:
        return out
    grads = torch.autograd.grad(logps, list(params), grad_outputs=torch.stack([cotangents[r] for r in active]),
                                is_grads_batched=True, allow_unused=True)
    k = len(active)
    out[active] = torch.cat([(g if g is not None else torch.zeros(k, *p.shape)).reshape(k, -1).float().cpu()
                             for g, p in zip(grads, params)], dim=1)
    return out


# --------------------------------------------------------------------------- moments over groups


def gram(vectors: torch.Tensor) -> np.ndarray:
    """``K_nm = ⟨g_n, g_m⟩`` in float64 for ``(N, P)`` vectors."""
    v = vectors.to(torch.float64)
    return (v @ v.T).numpy()


def gram_moments(K: np.ndarray, idx: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(tr Σ̂, ‖ḡ‖²)`` of the vectors behind ``K``, for each resample row of ``idx`` ``(B, N)``.

    ``‖ḡ‖² = mean_nm K_nm`` and ``tr Σ̂ = (Σ_n K_nn − N‖ḡ‖²) / (N − 1)`` (unbiased).
    Without ``idx``, the plain sample (arrays of one value).
    """
    n = K.shape[0]
    if idx is None:
        idx = np.arange(n)[None, :]
    sub = K[idx[:, :, None], idx[:, None, :]]
    mean_sq = sub.mean(axis=(1, 2))
    diag = np.diagonal(sub, axis1=1, axis2=2).sum(axis=1)
    trace = (diag - n * mean_sq) / max(n - 1, 1)
    return np.maximum(trace, 0.0), mean_sq


def unbiased_signal(K: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
    """``Σ_{n≠m} K_nm / (N(N − 1))``, the unbiased ``‖E g‖²``, for each resample row of ``idx``.

    Equal to ``‖ḡ‖² − tr Σ̂ / N`` on the sample. In a resample, pairs that repeat one group
    are left out (they would bring back the ``K_nn`` bias this estimator removes).
    """
    n = K.shape[0]
    if idx is None:
        idx = np.arange(n)[None, :]
    sub = K[idx[:, :, None], idx[:, None, :]]
    distinct = idx[:, :, None] != idx[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(distinct.any(axis=(1, 2)), (sub * distinct).sum(axis=(1, 2)) / distinct.sum(axis=(1, 2)),
                        np.nan)


def _div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def _num(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _ci(values, confidence: float) -> list[float | None]:
    lo, hi = percentile_interval(values, confidence)
    return [_num(lo), _num(hi)]


@dataclass
class GroupGradients:
    """One method's per-group estimates, kept as Gram matrices: ``total`` and one per region."""

    grams: dict[str, np.ndarray]

    @classmethod
    def from_parts(cls, parts: torch.Tensor) -> GroupGradients:
        """From the per-group region parts ``(NUM_REGIONS, N, P)`` of :func:`region_gradients`."""
        grams = {"total": gram(parts.sum(0))}
        for r, name in enumerate(REGION_NAMES):
            grams[name] = gram(parts[r])
        return cls(grams)

    @property
    def groups(self) -> int:
        return self.grams["total"].shape[0]


def method_summary(g: GroupGradients, idx: np.ndarray, confidence: float) -> dict:
    """One method's ``tr Σ̂``, ``‖ḡ‖²`` and SNR with bootstrap intervals, and the region parts."""
    trace, mean_sq = gram_moments(g.grams["total"])
    b_trace, b_mean = gram_moments(g.grams["total"], idx)
    signal, b_signal = unbiased_signal(g.grams["total"]), unbiased_signal(g.grams["total"], idx)
    out = {"trace_cov": _num(trace[0]), "trace_cov_ci95": _ci(b_trace, confidence),
           "mean_sq_norm": _num(mean_sq[0]), "mean_sq_norm_ci95": _ci(b_mean, confidence),
           "snr": _num(_div(mean_sq, trace)[0]), "snr_ci95": _ci(_div(b_mean, b_trace), confidence),
           "mean_sq_norm_unbiased": _num(signal[0]), "mean_sq_norm_unbiased_ci95": _ci(b_signal, confidence),
           "snr_unbiased": _num(_div(signal, trace)[0]),
           "snr_unbiased_ci95": _ci(_div(b_signal, b_trace), confidence)}
    regions, region_sum = {}, 0.0
    for name in REGION_NAMES:
        t, m = gram_moments(g.grams[name])
        region_sum += t[0]
        regions[name] = {"trace_cov": _num(t[0]), "mean_sq_norm": _num(m[0]),
                         "share": _num(_div(t, trace)[0])}
    out["regions"] = regions
    out["cross_region_cov"] = _num(trace[0] - region_sum)
    return out


def compare(method: GroupGradients, baseline: GroupGradients, idx: np.ndarray, confidence: float) -> dict:
    """ResT/GRPO ratios of ``tr Σ̂``, ``‖ḡ‖²`` and both SNRs, with paired bootstrap intervals.

    Both methods' groups are resampled with the same indices. ``var_ratio_scaled`` compares
    the variances after scaling each estimator to the same ``‖ḡ‖``: it equals 1 / ``snr_ratio``.
    """
    t_m, m_m = gram_moments(method.grams["total"])
    t_b, m_b = gram_moments(baseline.grams["total"])
    bt_m, bm_m = gram_moments(method.grams["total"], idx)
    bt_b, bm_b = gram_moments(baseline.grams["total"], idx)

    def both(point, boot, key):
        return {key: _num(point[0]), f"{key}_ci95": _ci(boot, confidence)}

    var = _div(t_m, t_b), _div(bt_m, bt_b)
    sig = _div(m_m, m_b), _div(bm_m, bm_b)
    snr = _div(_div(m_m, t_m), _div(m_b, t_b)), _div(_div(bm_m, bt_m), _div(bm_b, bt_b))
    scaled = _div(_div(t_m, m_m), _div(t_b, m_b)), _div(_div(bt_m, bm_m), _div(bt_b, bm_b))
    k_m, k_b = method.grams["total"], baseline.grams["total"]
    u_m, u_b, bu_m, bu_b = unbiased_signal(k_m), unbiased_signal(k_b), unbiased_signal(k_m, idx), unbiased_signal(k_b, idx)
    snr_u = _div(_div(u_m, t_m), _div(u_b, t_b)), _div(_div(bu_m, bt_m), _div(bu_b, bt_b))
    out = {**both(*var, "var_ratio"), **both(*sig, "mean_sq_norm_ratio"), **both(*snr, "snr_ratio"),
           **both(*scaled, "var_ratio_scaled"), **both(*snr_u, "snr_unbiased_ratio")}
    out["region_var_ratio"] = {
        name: _num(_div(gram_moments(method.grams[name])[0], gram_moments(baseline.grams[name])[0])[0])
        for name in REGION_NAMES}
    return out


def summarize(by_method: dict[str, GroupGradients], *, n_resamples: int = 2000, confidence: float = 0.95,
              seed: int = 0) -> dict:
    """Per method: moments and region parts; per ResT profile: ratios against ``uniform``."""
    n = by_method[BASELINE].groups
    idx = bootstrap_indices(n, n_resamples, seed)
    methods = {name: method_summary(g, idx, confidence) for name, g in by_method.items()}
    profiles = {name: compare(g, by_method[BASELINE], idx, confidence)
                for name, g in by_method.items() if name != BASELINE}
    return {"methods": methods, "profiles": profiles}


# --------------------------------------------------------------------------- token weights


def profile_weighter(profile: str, regions: torch.Tensor, mask: torch.Tensor, entropies: torch.Tensor | None):
    """The weighter of a profile, ready to weight tokens; ``paper`` gets its Eq. 9 table from
    the entropies of these samples (one batch, all groups). Every call to the weighting code
    of ``rest.weights`` is here and in :func:`profile_weights`."""
    from rest.weights import WEIGHTED_REGIONS, TokenWeighter, region_mean_entropy

    weighter = TokenWeighter(profile)
    if profile == "paper" and entropies is not None:
        mean = region_mean_entropy(regions, mask, entropies)
        weighter.set_entropy_table({r.name: float(mean[r]) for r in WEIGHTED_REGIONS})
    return weighter


def profile_weights(weighter, regions: torch.Tensor, mask: torch.Tensor, rollout: int,
                    total_rollouts: int) -> tuple[torch.Tensor | None, list[float]]:
    """Token weights (after Eq. 18) for one group at ``rollout``, and the region table.

    ``None`` for the uniform profile: GRPO's token-mean uses no weights.
    """
    table = weighter.region_weights(rollout, total_rollouts).tolist()
    if weighter.mode == BASELINE:
        return None, table
    return weighter(regions, mask, None, rollout, total_rollouts), table


# --------------------------------------------------------------------------- a whole checkpoint


@dataclass
class Group:
    """One prompt's G sampled completions, with everything the estimators need."""

    prompt_ids: torch.Tensor      # (P,)
    completion_ids: torch.Tensor  # (G, T)
    mask: torch.Tensor            # (G, T), 1 up to and including EOS
    regions: torch.Tensor         # (G, T)
    rewards: torch.Tensor         # (G,)
    entropies: torch.Tensor | None = None  # (G, T), at the sampling temperature


def sequence_logps(model, group: Group, temperature: float, with_entropy: bool = False):
    """Per-token log-probs ``(G, T)`` of the completions (and entropies), logits / temperature as TRL."""
    from trl.trainer.utils import entropy_from_logits, selective_log_softmax

    g = group.completion_ids.shape[0]
    p = group.prompt_ids.numel()
    ids = torch.cat([group.prompt_ids.expand(g, p), group.completion_ids], dim=1)
    attention = torch.cat([torch.ones(g, p, dtype=torch.long), group.mask.long()], dim=1)
    logits = model(input_ids=ids, attention_mask=attention).logits[:, p - 1:-1, :] / temperature
    logps = selective_log_softmax(logits, group.completion_ids)
    return (logps, entropy_from_logits(logits)) if with_entropy else logps


def checkpoint_variance(model, groups: list[Group], *, rollout: int, total_rollouts: int, temperature: float,
                        profiles: Sequence[str] = PROFILES, n_resamples: int = 2000, confidence: float = 0.95,
                        seed: int = 0, log: Callable[[str], None] | None = None) -> dict:
    """The variance study at one checkpoint from its sampled ``groups`` (see the module doc).

    GRPO goes first: its forward passes also give the entropies from which the ``paper``
    profile's Eq. 9 table is estimated before any ResT gradient is taken.
    """
    from rest.weights import region_mean_entropy

    params = [p for p in model.parameters() if p.requires_grad]
    size = sum(p.numel() for p in params)
    advantages = [group_advantages(grp.rewards) for grp in groups]
    width = max(grp.completion_ids.shape[1] for grp in groups)

    def stacked(name):
        return torch.cat([torch.nn.functional.pad(getattr(grp, name).float(), (0, width - getattr(grp, name).shape[1]))
                          for grp in groups])

    by_method, tables = {}, {}
    for profile in (BASELINE, *profiles):
        weighter = None
        parts = torch.zeros(NUM_REGIONS, len(groups), size)
        for n, (grp, adv) in enumerate(zip(groups, advantages)):
            if profile == BASELINE:
                logps, entropies = sequence_logps(model, grp, temperature, with_entropy=True)
                grp.entropies = entropies.detach()
            if weighter is None:  # after GRPO's pass every group has its entropies
                regions, mask = stacked("regions").long(), stacked("mask")
                weighter = profile_weighter(profile, regions, mask, stacked("entropies") if profile != BASELINE else None)
            weights, tables[profile] = profile_weights(weighter, grp.regions, grp.mask.float(), rollout, total_rollouts)
            coef = loss_coefficients(adv, grp.mask, weights)
            if torch.any(coef != 0):  # equal rewards: the group carries no gradient under any method
                if profile != BASELINE:
                    logps = sequence_logps(model, grp, temperature)
                parts[:, n] = region_gradients(logps, params, coef, grp.regions)
        by_method[profile] = GroupGradients.from_parts(parts)
        del parts
        if log:
            log(f"rollout {rollout}: {profile} gradients of {len(groups)} groups done")

    summary = summarize(by_method, n_resamples=n_resamples, confidence=confidence, seed=seed)
    for profile, table in tables.items():
        summary["methods"][profile]["region_weights"] = dict(zip(REGION_NAMES, table))
    regions, mask, entropy = stacked("regions").long(), stacked("mask"), stacked("entropies")
    region_entropy = region_mean_entropy(regions, mask, entropy).tolist()
    counts = torch.bincount(regions[mask.bool()], minlength=NUM_REGIONS).tolist()
    rewards = torch.cat([grp.rewards.float() for grp in groups])
    return {
        "rollout": rollout,
        "groups": len(groups),
        "groups_with_signal": sum(bool(torch.any(a != 0)) for a in advantages),
        "reward_mean": float(rewards.mean()),
        "region_entropy": {n: _num(h) for n, h in zip(REGION_NAMES, region_entropy)},
        "region_tokens": dict(zip(REGION_NAMES, counts)),
        "parameters": size,
        **summary,
    }


def sample_group(model, tokenizer, tagger, prompt_ids: torch.Tensor, reward: Callable[[str], float], *,
                 group_size: int, max_new_tokens: int, temperature: float, seed: int) -> Group:
    """G completions of one prompt, sampled at ``temperature`` (no top-k/top-p) from ``seed``.

    The mask keeps each completion up to and including its first EOS, as TRL's does; the
    rewards score the decoded text (special tokens skipped, as TRL decodes).
    """
    torch.manual_seed(seed)
    ids = prompt_ids.reshape(1, -1).expand(group_size, -1)
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True,
                             temperature=temperature, top_k=0, top_p=1.0, max_new_tokens=max_new_tokens,
                             pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    completion = out[:, ids.shape[1]:]
    is_eos = completion == tokenizer.eos_token_id
    first = torch.where(is_eos.any(1), is_eos.int().argmax(1), completion.shape[1])
    mask = (torch.arange(completion.shape[1]).unsqueeze(0) <= first.unsqueeze(1)).long()
    texts = [tokenizer.decode(c[m.bool()], skip_special_tokens=True) for c, m in zip(completion, mask)]
    return Group(prompt_ids=prompt_ids.reshape(-1), completion_ids=completion, mask=mask,
                 regions=tagger.batch(completion, mask),
                 rewards=torch.tensor([reward(t) for t in texts], dtype=torch.float64))
