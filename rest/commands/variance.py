"""Measure the variance of the policy-gradient estimate under GRPO's and ResT's weights.

The paper's Theorems 1-2: entropy-aware token weighting lowers the variance of the policy
gradient. At each checkpoint (paired with its rollout count), for a fixed, seeded set of
--groups prompts from --data (training-record format):

  1. sample --group-size completions per prompt at --temperature (seeded per group);
  2. score them with the rule reward and form GRPO group advantages (r - mean) / (std + 1e-4);
  3. for each method, take the exact gradient of its own training loss on each group,
     with the same samples and advantages:
       GRPO (uniform weights)   -sum A*m*logp / sum m            (token-mean)
       ResT (released, paper)   -sum A*m*w*logp / sum m*w        (Eq. 19, Eq. 18 weights)
     The `paper` profile's Eq. 9 table is estimated from these samples' region entropies;
  4. over the groups: the trace of the covariance tr(S), the squared norm of the mean |g|^2,
     SNR = |g|^2 / tr(S), ResT/GRPO ratios of these (and the variance ratio after scaling
     both estimators to the same |g|), percentile bootstrap intervals over groups, and
     tr(S) of each region's part of the gradient (the terms Theorem 1 bounds by entropy).

  rest variance --checkpoints ck0 ck1 ck2 --rollouts 0 20 40 --data val.jsonl --output variance.json
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from rest.io import InputError, atomic_write_json

log = logging.getLogger("rest.variance")


def add_arguments(parser) -> None:
    parser.add_argument("--checkpoints", nargs="+", required=True, metavar="DIR",
                        help="model folders (with tokenizer), one per checkpoint")
    parser.add_argument("--rollouts", nargs="+", type=int, required=True, metavar="N",
                        help="the rollout count of each checkpoint (reward clock, weight ramp, curriculum)")
    parser.add_argument("--data", required=True, type=Path, help="training records (JSONL or JSON list)")
    parser.add_argument("--output", required=True, type=Path, help="variance.json to write")
    parser.add_argument("--groups", type=int, default=32, help="prompts, one gradient estimate each (default %(default)s)")
    parser.add_argument("--group-size", type=int, default=8, help="completions per prompt, G (default %(default)s)")
    parser.add_argument("--max-new-tokens", type=int, default=64, help="(default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="prompt choice, sampling and bootstrap (default %(default)s)")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default %(default)s)")
    parser.add_argument("--total-rollouts", type=int, default=None,
                        help="rollouts of the whole run, for the curriculum's progress (default: the largest --rollouts)")
    parser.add_argument("--reward", choices=["static", "dynamic"], default="static",
                        help="reward ranges for the advantages, shared by every method (default %(default)s)")
    parser.add_argument("--horizon", type=int, default=None, help="H of the dynamic reward (default: the reward's)")
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples (default %(default)s)")


def _check(args) -> None:
    if len(args.checkpoints) != len(args.rollouts):
        raise InputError(f"--checkpoints ({len(args.checkpoints)}) and --rollouts ({len(args.rollouts)}) "
                         "must pair one to one")
    for name in ("max_new_tokens", "resamples"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.groups < 2:
        raise InputError(f"--groups must be at least 2 for a covariance, got {args.groups}")
    if args.group_size < 2:
        raise InputError(f"--group-size must be at least 2 for group advantages, got {args.group_size}")
    if args.temperature <= 0:
        raise InputError(f"--temperature must be positive, got {args.temperature}")
    if any(r < 0 for r in args.rollouts):
        raise InputError(f"--rollouts must be non-negative, got {args.rollouts}")


def _prompts(records, tokenizer, args) -> list[tuple[list[int], str]]:
    """The fixed prompt set: ``--groups`` records chosen by ``--seed``, rendered and tokenized."""
    import numpy as np

    from rest.prompt import record_conversation, render_prompt
    from rest.train.data import check_rl_ground_truth

    if len(records) < args.groups:
        raise InputError(f"{args.data}: {len(records)} records, fewer than --groups {args.groups}")
    chosen = sorted(np.random.default_rng(args.seed).choice(len(records), args.groups, replace=False).tolist())
    out = []
    for i in chosen:
        check_rl_ground_truth(records[i]["output"], f"{args.data}: record {i}")
        out.append((render_prompt(tokenizer, record_conversation(records[i])).ids, records[i]["output"]))
    return out


def run(args) -> int:
    _check(args)
    import torch

    from rest.models.loading import load_model, load_tokenizer
    from rest.regions import RegionTagger
    from rest.rewards import DEFAULT_HORIZON, compute_reward
    from rest.train.data import load_records
    from rest.variance import checkpoint_variance, sample_group

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    records = load_records(args.data)
    total = args.total_rollouts if args.total_rollouts is not None else max(max(args.rollouts), 1)
    horizon = args.horizon or DEFAULT_HORIZON
    results = []
    for ckpt, rollout in zip(args.checkpoints, args.rollouts):
        start = time.time()
        tokenizer = load_tokenizer(ckpt)
        model = load_model(ckpt, dtype=torch.float32)
        model.eval()  # no dropout: the gradient of the loss as sampled
        tagger = RegionTagger(tokenizer)
        groups = []
        for g, (prompt, gt) in enumerate(_prompts(records, tokenizer, args)):
            def reward(text, gt=gt, step=rollout):
                return compute_reward(text, gt, step=step, dynamic=args.reward == "dynamic", horizon=horizon).total

            groups.append(sample_group(model, tokenizer, tagger, torch.tensor(prompt), reward,
                                       group_size=args.group_size, max_new_tokens=args.max_new_tokens,
                                       temperature=args.temperature, seed=args.seed * 1_000_003 + g))
        result = checkpoint_variance(model, groups, rollout=rollout, total_rollouts=total,
                                     temperature=args.temperature, n_resamples=args.resamples,
                                     seed=args.seed, log=log.info)
        result["checkpoint"] = Path(ckpt).name
        result["seconds"] = round(time.time() - start, 1)
        results.append(result)
        ratios = {p: (v["var_ratio"], v["snr_ratio"]) for p, v in result["profiles"].items()}
        log.info("rollout %d: (var_ratio, snr_ratio) %s in %.0f s", rollout, ratios, result["seconds"])
    settings = {k: getattr(args, k) for k in ("groups", "group_size", "max_new_tokens", "seed", "temperature",
                                              "reward", "resamples")}
    settings.update(total_rollouts=total, horizon=horizon, confidence=0.95, data=Path(args.data).name)
    atomic_write_json(args.output, {"estimator": "per-group gradient of each method's own loss (docs/method.md §8)",
                                    "settings": settings, "checkpoints": results})
    return 0
