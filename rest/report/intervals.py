"""Paired bootstrap intervals of the differences the paper discusses (docs/method.md §8).

The paper reports single runs. For each difference it discusses — each ResT variant against
GRPO, each ablation against ResT, SFT+GRPO against GRPO — we give the mean difference in
percentage points and a 95% paired bootstrap interval, pairing the two methods' outcomes on
the same held-out item under the same seed (units ``(item id, seed)``), so that item
difficulty and seed cancel out.

Every paper column is a fixed linear combination of per-group accuracies (API-Bank levels,
BFCL categories): Overall is a micro-average, Non-Live AST an unweighted mean of category
means. So each column is ``Σ_i w_i · correct_i`` over items, with per-item weights that we
read off the benchmark's own column function (:func:`item_weights`) rather than restate it;
the difference of a column is then the weighted mean difference that
:func:`rest.stats.paired_bootstrap` resamples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rest.io import InputError, read_json
from rest.report.tables import SINGLE_RUN_NOTE, write_frame_table
from rest.scores import read_scores
from rest.stats import paired_bootstrap

#: ResT variants, compared with GRPO; every other ResT-trainer method is an ablation of ``rest``.
REST_VARIANTS = ("rest", "rest_entropy")
BASELINE, ABLATED, SFT_GRPO = "grpo", "rest", "sft_grpo"
ITEM_COLUMNS = ["item", "group", "correct"]


def comparisons(registry: dict | None = None) -> list[tuple[str, str]]:
    """``(method, baseline)`` pairs the paper discusses, from the method registry."""
    if registry is None:
        from rest.methods import METHODS as registry
    pairs = [(m, BASELINE) for m in REST_VARIANTS if m in registry]
    pairs += [(m, ABLATED) for m, spec in registry.items() if spec.trainer == "rest" and m not in REST_VARIANTS]
    if SFT_GRPO in registry:
        pairs.append((SFT_GRPO, BASELINE))
    return pairs


# --------------------------------------------------------------------------- per-item results


def item_outcomes(scores_path: str | Path) -> pd.DataFrame | None:
    """Per-item results of one evaluation: ``item`` (stable id), ``group``, ``correct`` (0/1).

    Read from the ``items`` of scores.json (docs/scores.md): each has an ``id``, its
    ``group`` (API-Bank level, BFCL category) and ``correct``. None when it lists no items.
    """
    path = Path(scores_path)
    _, record = read_scores(path)
    try:
        rows = [{"item": str(r["id"]), "group": r["group"], "correct": r["correct"]} for r in record["items"]]
    except (KeyError, TypeError) as e:
        raise InputError(f"{path}: per-item results lack key {e}") from e
    if not rows:
        return None
    df = pd.DataFrame(rows, columns=ITEM_COLUMNS)
    df["correct"] = df["correct"].astype(float)
    if df["item"].duplicated().any():
        raise InputError(f"{path}: item {df.loc[df['item'].duplicated(), 'item'].iloc[0]!r} appears twice")
    return df


# --------------------------------------------------------------------------- per-item weights


def _apibank_columns(correct: dict[str, float], total: dict[str, int]) -> dict[str, float]:
    from rest.eval.apibank import LEVELS, ApiBankScores

    def by_level(d):
        return {lv: d.get(f"level_{lv}", 0) for lv in LEVELS}

    return ApiBankScores(by_level(correct), by_level(total), by_level(total)).metrics()


def _bfcl_columns(correct: dict[str, float], total: dict[str, int]) -> dict[str, float]:
    from rest.eval.bfcl import paper_columns

    return paper_columns({g: {"correct": correct.get(g, 0), "total": n} for g, n in total.items()})


COLUMN_FUNCTIONS: dict[str, Callable[[dict, dict], dict[str, float]]] = {
    "apibank": _apibank_columns, "bfcl": _bfcl_columns}
#: A probe marks every item of one group correct this many times over, so that the column
#: function's rounding to 0.01 points costs nothing.
_PROBE = 1e9


def item_weights(benchmark: str, totals: dict[str, int]) -> dict[str, dict[str, float]]:
    """``{column: {group: w}}``: each item of ``group`` adds ``w`` to the column's fraction.

    The columns are linear in the per-group correct counts and zero at zero, so probing the
    benchmark's own column function one group at a time reads the coefficients off exactly.
    """
    columns = COLUMN_FUNCTIONS[benchmark]
    out: dict[str, dict[str, float]] = {}
    for group, n in totals.items():
        if n <= 0:
            continue
        for column, percent in columns({group: _PROBE * n}, totals).items():
            out.setdefault(column, {})[group] = percent / (100.0 * _PROBE * n)
    return out


def _totals(scores_path: Path) -> dict[str, int]:
    counts = read_json(scores_path).get("counts")
    if not isinstance(counts, dict):
        raise InputError(f"{scores_path}: missing key 'counts' (items per level or category)")
    return {g: int(c["total"]) for g, c in counts.items() if isinstance(c, dict) and "total" in c}


# --------------------------------------------------------------------------- the intervals


@dataclass(frozen=True)
class Evaluation:
    model: str
    method: str
    seed: int | None
    benchmark: str
    path: Path


def _evaluations(score_paths) -> list[Evaluation]:
    """Each evaluation with the identity its scores.json records."""
    out = []
    for p in score_paths:
        run, record = read_scores(p)
        out.append(Evaluation(run.model, run.method, run.seed, record["benchmark"], Path(p)))
    return out


def paired_differences(score_paths, pairs: list[tuple[str, str]] | None = None, *,
                       n_resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """One row per (model, benchmark, column, method − baseline) with both methods run.

    Pairs are ``(item, seed)`` for the seeds both methods ran and the items both evaluated;
    ``diff`` and the interval are in percentage points. An evaluation without per-item
    results is left out, and so is a comparison whose seeds never meet.
    """
    pairs = comparisons() if pairs is None else pairs
    evals = _evaluations(score_paths)
    cache: dict[Path, pd.DataFrame | None] = {}

    def outcomes(e):
        if e.path not in cache:
            cache[e.path] = item_outcomes(e.path)
        return cache[e.path]

    rows = []
    for model, bench in dict.fromkeys((e.model, e.benchmark) for e in evals):
        if bench not in COLUMN_FUNCTIONS:
            continue
        mine = [e for e in evals if e.model == model and e.benchmark == bench and e.seed is not None]
        for method, baseline in pairs:
            a = {e.seed: e for e in mine if e.method == method and outcomes(e) is not None}
            b = {e.seed: e for e in mine if e.method == baseline and outcomes(e) is not None}
            seeds = sorted(set(a) & set(b))
            if not seeds:
                continue
            joined = []
            for s in seeds:
                if _totals(a[s].path) != _totals(b[s].path):
                    raise InputError(f"{a[s].path}: its item counts differ from {b[s].path}; "
                                     "the two evaluations cannot be paired")
                j = outcomes(a[s]).merge(outcomes(b[s]), on=["item", "group"], suffixes=("_a", "_b"))
                joined.append(j.assign(seed=s))
            units = pd.concat(joined, ignore_index=True)
            for column, by_group in item_weights(bench, _totals(b[seeds[0]].path)).items():
                w = units["group"].map(by_group).fillna(0.0)
                sel = units[w > 0]
                if sel.empty:
                    continue
                r = paired_bootstrap(sel["correct_a"].to_numpy(), sel["correct_b"].to_numpy(),
                                     weights=w[w > 0].to_numpy(),
                                     n_resamples=n_resamples, seed=seed)
                rows.append({"model": model, "benchmark": bench, "metric": column, "method": method,
                             "baseline": baseline, "seeds": len(seeds), "n_pairs": r.n_pairs,
                             "diff": 100 * r.diff, "ci_lo": 100 * r.lo, "ci_hi": 100 * r.hi,
                             "excludes_zero": r.excludes_zero})
    return pd.DataFrame(rows, columns=["model", "benchmark", "metric", "method", "baseline", "seeds", "n_pairs",
                                       "diff", "ci_lo", "ci_hi", "excludes_zero"])


def write_intervals(score_paths, folder: Path, labels: dict[str, str], name: str = "paired_differences",
                    **kwargs) -> list[Path]:
    """``{name}.csv|md|tex``: every difference with its interval; ✱ marks one that excludes 0."""
    frame = paired_differences(score_paths, **kwargs)
    head = ["Model", "Benchmark", "Metric", "Difference", "Δ (points)", "95% CI", "seeds × items", "excludes 0"]
    text = [[r.model, r.benchmark, r.metric, f"{labels.get(r.method, r.method)} − {labels.get(r.baseline, r.baseline)}",
             f"{r.diff:+.2f}", f"[{r.ci_lo:+.2f}, {r.ci_hi:+.2f}]", str(r.n_pairs), "✱ yes" if r.excludes_zero else "no"]
            for r in frame.itertuples()]
    if not text:
        text = [["(no pair of methods with per-item results on common seeds)", "", "", "", "", "", "", ""]]
    note = ("Paired bootstrap over (held-out item, seed), 2,000 resamples, percentile interval; a column that "
            "averages categories weights each item as the column does. ✱: the interval excludes 0. "
            + SINGLE_RUN_NOTE)
    return write_frame_table(frame, text, head, folder, name,
                             "Differences the paper discusses, with 95% paired bootstrap intervals", note)
