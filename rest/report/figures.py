"""Figures (PNG and PDF, matplotlib Agg): training dynamics (paper Fig. 3), ResT's region
weights over training, and benchmark accuracy per method (paper Fig. 2). Training curves
run over rollouts, as the paper's do.

Training logs name their columns as TRL does (``reward``, ``entropy``,
``completion_length``); per-region series are ``entropy_by_region/<region>`` and
``region_weights/<region>``. A panel whose series no run logged is drawn empty with a note,
so a missing curve is visible rather than silently absent.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

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
        ax.set_title(title or "entropy per region")
        ax.set_xlabel(" / ".join(sorted(_x_label(k) for k in x_keys)) or "rollout")
        if drawn:
            ax.legend(fontsize=7)
        else:
            _empty(ax, title or "entropy/<region>")
    fig.suptitle(f"Training dynamics, {model} (mean over seeds)")
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


def accuracy_bars(scores: pd.DataFrame, model: str, metrics: list[tuple[str, str]],
                  method_order: list[str], labels: dict[str, str], stem: Path) -> list[Path]:
    """Fig. 2: accuracy per method, one group per (benchmark, metric); error bars = std over seeds."""
    own = scores[scores["model"] == model]
    methods = [m for m in method_order if m in set(own["method"])]
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(metrics) * max(1, len(methods)) / 3), 4))
    width = 0.8 / max(1, len(methods))
    for i, method in enumerate(methods):
        means, stds = [], []
        for bench, metric in metrics:
            v = own[(own["method"] == method) & (own["benchmark"] == bench) & (own["metric"] == metric)]["value"]
            means.append(v.mean() if len(v) else float("nan"))
            stds.append(v.std(ddof=1) if len(v) > 1 else 0.0)
        xs = [j + i * width for j in range(len(metrics))]
        ax.bar(xs, means, width, yerr=stds, label=labels.get(method, method))
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(metrics))])
    ax.set_xticklabels([f"{b}\n{m}" for b, m in metrics], fontsize=8)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"Benchmark accuracy per method, {model}")
    if methods:
        ax.legend(fontsize=7, ncol=2)
    else:
        _empty(ax, "no scores")
    fig.tight_layout()
    return _save(fig, stem)
