"""The testbed's held-out evaluator: format %, exact-call % and the static-range reward.

Greedy completions of the study's held-out tasks are scored with the project's rule reward
(``rest.rewards``) under the **static** ranges (paper Eq. 14 with p fixed: format in {0, 1},
correctness in [-3, 3]), so that the dynamic schedule of ResT cannot pass for learning.
A call is exact when correctness reaches its maximum, i.e. the predicted call list equals
the ground truth's (order-sensitive, Python ``==`` on values).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rest.rewards import STATIC_RANGES, correctness_reward, format_reward


def score_completion(completion: str, ground_truth: str) -> dict[str, float]:
    """Per-task outcome: format (0/1), exact (0/1) and the static total reward. Never raises."""
    fmt = format_reward(completion, ground_truth, STATIC_RANGES)
    cor = correctness_reward(completion, ground_truth, STATIC_RANGES)
    return {"format": float(fmt == STATIC_RANGES.fmt_max), "exact": float(cor == STATIC_RANGES.cor_max),
            "reward_static": fmt + cor}


def summarize(outcomes: list[dict[str, float]]) -> dict[str, float]:
    """Percentages and the mean static reward over tasks."""
    n = len(outcomes)
    return {"format_pct": 100.0 * sum(o["format"] for o in outcomes) / n,
            "exact_pct": 100.0 * sum(o["exact"] for o in outcomes) / n,
            "reward_static": sum(o["reward_static"] for o in outcomes) / n, "n": n}


def conversation(record: dict[str, Any]) -> list[dict[str, str]]:
    return [{"role": "system", "content": record["instruction"]}, {"role": "user", "content": record["input"]}]


def evaluate_model(model: str | Path, records: list[dict[str, Any]], generation) -> tuple[dict, list[dict]]:
    """Greedy-decode ``records`` with ``model``; returns (summary, per-task rows)."""
    from rest.eval.generation import load_generator

    generator = load_generator("hf", str(model), generation)
    completions = generator.generate([conversation(r) for r in records], desc=f"testbed {Path(model).name}")
    rows = []
    for i, (rec, text) in enumerate(zip(records, completions)):
        rows.append({"index": i, "completion": text, **score_completion(text, rec["output"])})
    return summarize(rows), rows


def checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """A run's kept checkpoints as (optimizer step, folder), oldest first."""
    found = []
    for path in (Path(run_dir) / "checkpoints").glob("checkpoint-*"):
        step = path.name.removeprefix("checkpoint-")
        if step.isdigit() and (path / "trainer_state.json").exists():
            found.append((int(step), path))
    return sorted(found)


def _rollouts(run_dir: Path) -> dict[int, int]:
    """Optimizer step -> rollout count from the run's metrics.jsonl, where it records one."""
    from rest.io import read_jsonl

    path = run_dir / "metrics.jsonl"
    rows = read_jsonl(path) if path.exists() else []
    return {int(r["step"]): int(r["rollout"]) for r in rows if "step" in r and "rollout" in r}


def curve_points(run_dir: Path | None, model: str) -> list[tuple[int, int, Path]]:
    """(step, rollout, model folder) of each curve point: the run's kept checkpoints and its
    final model, or ``model`` alone as rollout 0 (the warm-up). Without a recorded rollout
    count, a step is one rollout (one generation batch per optimizer step in the testbed)."""
    if run_dir is None:
        return [(0, 0, Path(model))]
    from rest.io import read_json

    rollouts = _rollouts(run_dir)
    points = {step: path for step, path in checkpoints(run_dir)}
    final = int(read_json(run_dir / "summary.json").get("global_step", 0))
    points.setdefault(final, Path(model))
    return [(step, rollouts.get(step, step), path) for step, path in sorted(points.items())]


def run_eval(args) -> int:
    """``rest eval testbed``: scores.json (summary, curve, identity) and predictions.jsonl."""
    import logging
    import time

    from rest.eval.generation import GenerationConfig
    from rest.identity import RunIdentity
    from rest.io import atomic_write_json, atomic_write_jsonl
    from rest.train.data import load_records

    log = logging.getLogger("rest.eval")
    run = RunIdentity.parse(args.run_id) if args.run_id else None
    start = time.time()
    generation = GenerationConfig(max_new_tokens=args.max_new_tokens, batch_size=args.batch_size, progress=False)
    test = load_records(args.data)
    summary, rows = evaluate_model(args.model, test, generation)
    curve = []
    if args.curve_data is not None:
        val = load_records(args.curve_data)
        for step, rollout, path in curve_points(args.run, args.model):
            point, _ = evaluate_model(path, val, generation)
            curve.append({"step": step, "rollout": rollout, **point})
    atomic_write_jsonl(args.output / "predictions.jsonl", rows)
    scores = {"benchmark": "testbed", "run": run.as_dict() if run else None, "model": str(args.model),
              "data": str(args.data), "metrics": summary, "curve": curve, "curve_data": str(args.curve_data),
              "max_new_tokens": args.max_new_tokens, "seconds": round(time.time() - start, 1)}
    atomic_write_json(args.output / "scores.json", scores)
    log.info("testbed: %s", summary)
    return 0
