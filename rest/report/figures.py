"""Figures (PNG and PDF, matplotlib Agg): training dynamics (paper Fig. 3), ResT's region
weights over training, and benchmark accuracy per method (paper Fig. 2). Training curves
run over rollouts, as the paper's do.

Training logs name their columns as TRL does (``reward``, ``entropy``,
``completion_length``); per-region series are ``entropy_by_region/<region>`` and
``region_weights/<region>``. A panel whose series no run logged is drawn empty with a note,
so a missing curve is visible rather than silently absent.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from rest.io import atomic_path

REWARD_KEYS = ("reward", "train/reward")
ENTROPY_KEYS = ("entropy", "train/entropy")
LENGTH_KEYS = ("completions/mean_length", "completion_length", "train/completions/mean_length")
#: The x-axis: the rollout (one generation batch, as the paper's figures count training), else
#: the optimizer step for runs that log no rollouts (SFT).
STEP_KEYS = ("rollout", "step", "global_step")
REGION_ENTROPY_PREFIX = "entropy_by_region/"
REGION_WEIGHT_PREFIX = "region_weights/"


def _first(df: pd.DataFrame, keys) -> str | None:
    return next((k for k in keys if k in df.columns and df[k].notna().any()), None)


def _save(fig, stem: Path) -> list[Path]:
    paths = []
    for ext in ("png", "pdf"):
        path = stem.with_suffix(f".{ext}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext, dpi=120, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths


def _x_label(step: str) -> str:
    return "rollout" if step == "rollout" else "training step"


def _seed_mean(df: pd.DataFrame, step: str, key: str) -> pd.Series:
    """Mean over seeds (and over a rollout's optimizer steps) at each point of the x-axis."""
    sel = df[[step, key]].dropna()
    return sel.groupby(step)[key].mean()


def _region_columns(df: pd.DataFrame, prefix: str) -> list[str]:
    return [c for c in df.columns if c.startswith(prefix) and df[c].notna().any()]


def _empty(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"not logged: {what}", ha="center", va="center", transform=ax.transAxes,
            color="grey")


def training_dynamics(metrics: pd.DataFrame, model: str, labels: dict[str, str], stem: Path) -> list[Path]:
    """Fig. 3: reward, entropy (overall and per region) and completion length over steps."""
    runs = metrics[metrics["model"] == model]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    panels = [("reward", REWARD_KEYS), ("entropy", ENTROPY_KEYS), (None, None),
              ("completion length (tokens)", LENGTH_KEYS)]
    for ax, (title, keys) in zip(axes.flat, panels):
        drawn, x_keys = False, set()
        for method, g in runs.groupby("method", sort=False):
            step = _first(g, STEP_KEYS)
            if step is None:
                continue
            x_keys.add(step)
            if keys is None:
                for col in _region_columns(g, REGION_ENTROPY_PREFIX):
                    s = _seed_mean(g, step, col)
                    ax.plot(s.index, s.values, label=f"{labels.get(method, method)}: {col[len(REGION_ENTROPY_PREFIX):]}")
                    drawn = True
                continue
            key = _first(g, keys)
            if key is not None:
                s = _seed_mean(g, step, key)
                ax.plot(s.index, s.values, marker=".", label=labels.get(method, method))
                drawn = True
        ax.set_title(title or "entropy per region (paper Fig. 4)")
        ax.set_xlabel(" / ".join(sorted(_x_label(k) for k in x_keys)) or "rollout")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.ticklabel_format(axis="y", useOffset=False)
        if drawn:
            ax.legend(fontsize=7)
        else:
            _empty(ax, title or "entropy/<region>")
    fig.suptitle(f"Training dynamics, {model} (mean over seeds; paper Fig. 3)")
    fig.tight_layout()
    return _save(fig, stem)


def region_weights(metrics: pd.DataFrame, model: str, methods: list[str], labels: dict[str, str],
                   stem: Path) -> list[Path]:
    """ResT's per-region token weights over training (one panel per weighted method)."""
    runs = metrics[(metrics["model"] == model) & (metrics["method"].isin(methods))]
    panels = [m for m in methods if m in set(runs["method"])] or methods[:1]
    ncols = min(2, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.5 * ncols, 4 * nrows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, method in zip(axes.flat, panels):
        g = runs[runs["method"] == method]
        step = _first(g, STEP_KEYS) if len(g) else None
        cols = _region_columns(g, REGION_WEIGHT_PREFIX) if step else []
        for col in cols:
            s = _seed_mean(g, step, col)
            ax.plot(s.index, s.values, label=col[len(REGION_WEIGHT_PREFIX):])
        ax.set_title(labels.get(method, method))
        ax.set_xlabel(_x_label(step) if step else "rollout")
        ax.set_ylabel("region weight")
        if cols:
            ax.legend(fontsize=7)
        else:
            _empty(ax, "weights/<region>")
    fig.suptitle(f"Region weights over training, {model}")
    fig.tight_layout()
    return _save(fig, stem)


BENCHMARK_NAMES = {"apibank": "API-Bank", "bfcl": "BFCL"}


def accuracy_bars(scores: pd.DataFrame, model: str, metrics: list[tuple[str, str]],
                  method_order: list[str], labels: dict[str, str], stem: Path,
                  paper: dict[tuple[str, str, str], float] | None = None,
                  paper_model: str | None = None) -> list[Path]:
    """Fig. 2: one panel per benchmark column; per method, ours (mean over seeds, error bar =
    std) beside the paper's value for ``paper_model`` (``paper``: (bench, metric, method) ->
    %), on a 0-100 axis."""
    own = scores[scores["model"] == model]
    paper = paper or {}
    methods = [m for m in method_order if m in set(own["method"])
               or any(k[2] == m for k in paper)] or method_order
    ncols = min(3, len(metrics))
    nrows = -(-len(metrics) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 3.1 * nrows), squeeze=False, sharey=True)
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    xs = range(len(methods))
    for ax, (bench, metric) in zip(axes.flat, metrics):
        means, stds, published = [], [], []
        for method in methods:
            v = own[(own["method"] == method) & (own["benchmark"] == bench) & (own["metric"] == metric)]["value"]
            means.append(v.mean() if len(v) else float("nan"))
            stds.append(v.std(ddof=1) if len(v) > 1 else 0.0)
            published.append(paper.get((bench, metric, method), float("nan")))
        ax.bar([x - 0.2 for x in xs], means, 0.4, yerr=stds, color="tab:blue", label=f"ours ({model})")
        ax.bar([x + 0.2 for x in xs], published, 0.4, color="lightgrey", edgecolor="grey", hatch="//",
               label=f"paper ({paper_model})" if paper_model else "paper")
        for x, m in zip(xs, means):
            missing = math.isnan(m)  # not run: say so, a bar of 0 would read as a score
            ax.text(x - 0.2, (0 if missing else m) + 1.5, "not run" if missing else f"{m:.0f}", ha="center",
                    va="bottom", fontsize=6, color="tab:blue", rotation=90 if missing else 0)
        ax.set_ylim(0, 100)
        ax.set_title(f"{BENCHMARK_NAMES.get(bench, bench)}: {metric}", fontsize=9)
        ax.set_xticks(list(xs))
        ax.set_xticklabels([labels.get(m, m) for m in methods], rotation=55, ha="right", fontsize=7)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy (%)")
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="upper right", fontsize=8, ncol=2)
    fig.suptitle(f"Benchmark accuracy per method, {model} (paper Fig. 2)", x=0.02, ha="left", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return _save(fig, stem)
