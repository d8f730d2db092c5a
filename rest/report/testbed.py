"""The testbed study's report section: its table, intervals against GRPO, figures, verdict.

Inputs are the study's ``scores.json`` files (``rest eval testbed``; run identity inside)
with their ``predictions.jsonl`` beside them, and the runs' ``summary.json`` (their ``metrics.jsonl``). Every
difference comes with a 95% paired bootstrap interval (``rest.stats.paired_bootstrap``):
the pairs are the same held-out task under the same seed, so task difficulty and the
seed's warm-up cancel out.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from rest.identity import RunIdentity
from rest.io import InputError, atomic_write_json, atomic_write_text, read_json, read_jsonl
from rest.stats import paired_bootstrap

STUDY = "testbed"
#: summary metric -> (per-task field of predictions.jsonl, factor to the summary's unit)
METRICS = {"format_pct": ("format", 100.0), "exact_pct": ("exact", 100.0), "reward_static": ("reward_static", 1.0)}
LABELS = {"format_pct": "format %", "exact_pct": "exact calls %", "reward_static": "reward (static)"}
WEIGHTED_REGIONS = ("FORMAT", "NAME", "PARAMS", "THINK")


def load_study(paths: list[str | Path]) -> dict[str, dict[int, dict]]:
    """method -> seed -> {"metrics", "curve", "tasks" (per-task outcome arrays)}."""
    runs: dict[str, dict[int, dict]] = {}
    for path in map(Path, paths):
        scores = read_json(path)
        if not isinstance(scores, dict) or "metrics" not in scores:
            raise InputError(f"{path}: missing key 'metrics' (written by `rest eval testbed`)")
        run = RunIdentity.from_record(scores.get("run"), str(path))
        if run.study != STUDY:
            raise InputError(f"{path}: study {run.study!r} is not {STUDY!r}")
        rows = read_jsonl(path.parent / "predictions.jsonl")
        tasks = {field: np.array([float(r[field]) for r in rows]) * factor
                 for field, factor in METRICS.values()}
        seed = run.seed
        if seed in runs.setdefault(run.method, {}):
            raise InputError(f"{path}: a second score file for {run.method} seed {seed}")
        runs[run.method][seed] = {"metrics": scores["metrics"], "curve": scores.get("curve", []),
                                        "tasks": tasks}
    return runs


def compare(runs: dict, a: str, b: str, seed: int = 0) -> dict[str, dict]:
    """``a − b`` for every metric, paired over (seed, task) on the seeds both methods ran."""
    seeds = sorted(set(runs[a]) & set(runs[b]))
    if not seeds:
        raise InputError(f"no seed has both {a} and {b}")
    out = {}
    for metric, (field, _) in METRICS.items():
        xa = np.concatenate([runs[a][s]["tasks"][field] for s in seeds])
        xb = np.concatenate([runs[b][s]["tasks"][field] for s in seeds])
        if xa.shape != xb.shape:
            raise InputError(f"{a} and {b} were scored on different task sets")
        out[metric] = {**paired_bootstrap(xa, xb, seed=seed).as_dict(), "seeds": seeds,
                       "mean_a": float(xa.mean()), "mean_b": float(xb.mean())}
    return out


def mean_std(values: list[float]) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def build_summary(runs: dict, baseline: str, warmup: str, labels: dict[str, str]) -> dict:
    methods = {}
    for method, seeds in runs.items():
        per_seed = {str(s): {m: float(seeds[s]["metrics"][m]) for m in METRICS} for s in sorted(seeds)}
        stats = {m: mean_std([v[m] for v in per_seed.values()]) for m in METRICS}
        methods[method] = {"display": labels.get(method, method), "seeds": per_seed,
                           "mean": {m: v[0] for m, v in stats.items()}, "std": {m: v[1] for m, v in stats.items()}}
    if baseline not in runs:
        raise InputError(f"the baseline {baseline!r} has no score file")
    vs = {m: compare(runs, m, baseline) for m in runs if m not in (baseline, warmup)}
    moved = compare(runs, baseline, warmup) if warmup in runs else None
    return {"study": STUDY, "baseline": baseline, "warmup": warmup, "methods": methods,
            f"vs_{baseline}": vs, f"{baseline}_vs_{warmup}": moved,
            "interval": "95% paired percentile bootstrap over (seed, held-out task), 2000 resamples"}


# --------------------------------------------------------------------------- tables and text


def _cell(summary: dict, method: str, metric: str) -> str:
    m, s = summary["methods"][method]["mean"][metric], summary["methods"][method]["std"][metric]
    n = len(summary["methods"][method]["seeds"])
    return f"{m:.2f} ± {s:.2f}" if n > 1 else f"{m:.2f}"


def _diff(d: dict) -> str:
    flag = " *" if d["excludes_zero"] else ""
    return f"{d['diff']:+.2f} [{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}]{flag}"


def table_frame(summary: dict, order: list[str], warm_vs: dict) -> pd.DataFrame:
    """One row per method; Δ columns are the row minus the baseline (``warm_vs`` for the warm-up)."""
    base = summary["baseline"]
    vs = summary[f"vs_{base}"]
    rows = []
    for method in order:
        row = {"method": summary["methods"][method]["display"], "seeds": len(summary["methods"][method]["seeds"])}
        for metric in METRICS:
            row[LABELS[metric]] = _cell(summary, method, metric)
        diffs = vs.get(method) or (warm_vs if method == summary["warmup"] else {})
        for metric in METRICS:
            d = diffs.get(metric)
            row[f"Δ {LABELS[metric]} vs {summary['methods'][base]['display']}"] = _diff(d) if d else "—"
        rows.append(row)
    return pd.DataFrame(rows)


def verdict(summary: dict) -> list[str]:
    """The result in plain words, whatever it is."""
    base, warm = summary["baseline"], summary["warmup"]
    names = {m: v["display"] for m, v in summary["methods"].items()}
    lines = []
    moved = summary[f"{base}_vs_{warm}"]
    if moved:
        e = moved["exact_pct"]
        g, w = e["mean_a"], e["mean_b"]  # over the seeds both ran
        word = ("raised" if e["ci95"][0] > 0 else "lowered" if e["ci95"][1] < 0 else
                "did not move, within the interval,")
        lines.append(f"- {names[base]} {word} held-out exact calls: {w:.1f}% after the {names[warm]} warm-up → "
                     f"{g:.1f}% (Δ {e['diff']:+.1f} points, 95% CI [{e['ci95'][0]:+.1f}, {e['ci95'][1]:+.1f}]).")
    for method, diffs in summary[f"vs_{base}"].items():
        e, r = diffs["exact_pct"], diffs["reward_static"]
        if e["ci95"][0] > 0:
            head = f"{names[method]} beat {names[base]} on exact calls"
        elif e["ci95"][1] < 0:
            head = f"{names[method]} did worse than {names[base]} on exact calls"
        else:
            head = f"{names[method]} and {names[base]} are not distinguishable on exact calls at this scale"
        f = diffs["format_pct"]
        also = "".join(f"; {what} Δ {d['diff']:+.2f} [{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}]"
                       + (" (interval excludes 0)" if d["excludes_zero"] else "")
                       for what, d in (("static reward", r), ("format %", f)))
        lines.append(f"- {head}: Δ {e['diff']:+.1f} points, 95% CI [{e['ci95'][0]:+.1f}, {e['ci95'][1]:+.1f}]{also}.")
    return lines


def markdown_table(frame: pd.DataFrame) -> str:
    head = list(frame.columns)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def latex_table(frame: pd.DataFrame, caption: str) -> str:
    from rest.report.tables import _tex

    body = [" & ".join(_tex(str(v)) for v in row) + r" \\" for row in frame.itertuples(index=False)]
    return "\n".join([r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{_tex(caption)}}}",
                      r"\label{tab:testbed}", rf"\begin{{tabular}}{{l{'c' * (len(frame.columns) - 1)}}}",
                      r"\toprule", " & ".join(_tex(c) for c in frame.columns) + r" \\", r"\midrule", *body,
                      r"\bottomrule", r"\end{tabular}", r"\end{table}"]) + "\n"


CAPTION = ("Tool-call testbed, held-out tasks: mean ± std over seeds; Δ vs GRPO with its 95% paired "
           "bootstrap interval over (seed, task), * where it excludes 0. The paper reports single runs.")


def section_markdown(summary: dict, table: pd.DataFrame, files: dict[str, str], figures: list[str],
                     variance: str | None, variance_tables: str | None = None) -> str:
    link = lambda p: f"[{p}]({p})"
    n_tasks = next(iter(summary[f"vs_{summary['baseline']}"].values()), {}).get("exact_pct", {}).get("n_pairs")
    lines = ["## Tool-call testbed study", "",
             "A tiny Qwen3 learns short generated tool-call tasks on a CPU (docs/method.md §8). Each seed "
             "has an SFT warm-up; GRPO and both ResT variants start from it. Held-out tasks, greedy decoding, "
             "rewards re-scored with the static ranges. Cells: mean ± std over seeds; Δ: difference with "
             "its 95% paired bootstrap interval over (seed, task)"
             + (f" ({n_tasks} pairs)" if n_tasks else "") + "; `*`: the interval excludes 0. "
             "The warm-up row's Δ is warm-up minus GRPO: how far GRPO moved the held-out tasks, negated. "
             "The paper reports single runs.", "",
             markdown_table(table), "**Result.**", ""]
    lines += verdict(summary)
    lines += ["", "Files: " + ", ".join(link(p) for p in files.values())
              + (f", {link(variance)}" if variance else ""), ""]
    lines += [f"![{Path(f).stem}]({f})" for f in figures if f.endswith(".png")]
    if variance_tables:
        lines += ["", "### The variance of the policy gradient (Theorems 1-2)", "",
                  "`rest variance` on seed 0's GRPO run at the warm-up, the middle and the end; "
                  "each ResT profile's ratio to GRPO, with 95% bootstrap intervals over groups.", "",
                  variance_tables]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- figures


def _band(ax, frame: pd.DataFrame, x: str, y: str, label: str) -> None:
    """Mean over seeds with a ± std band."""
    g = frame.groupby(x)[y]
    mean, std = g.mean(), g.std(ddof=1).fillna(0.0)
    ax.plot(mean.index, mean.values, marker="." if len(mean) <= 12 else None, label=label)
    ax.fill_between(mean.index, (mean - std).values, (mean + std).values, alpha=0.2)


def curve_frame(runs: dict, warmup: str) -> pd.DataFrame:
    """Held-out validation curve of every RL run; rollout 0 is that seed's warm-up."""
    rows = []
    for method, seeds in runs.items():
        if method == warmup:
            continue
        for seed, run in seeds.items():
            start = runs.get(warmup, {}).get(seed, {}).get("curve", [])
            for point in [p for p in start if p["rollout"] == 0] + run["curve"]:
                rows.append({"method": method, "seed": seed, **point})
    return pd.DataFrame(rows)


def figures(runs: dict, metrics: pd.DataFrame, warmup: str, labels: dict[str, str], folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rest.report.figures import _save

    paths = []
    curves = curve_frame(runs, warmup)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, (y, title) in zip(axes, [("exact_pct", "exact calls (%)"), ("reward_static", "reward, static ranges")]):
        for method, g in curves.groupby("method", sort=False) if len(curves) else []:
            _band(ax, g, "rollout", y, labels.get(method, method))
        ax.set_xlabel("rollout")
        ax.set_title(f"held-out {title}")
        ax.legend(fontsize=8)
    fig.suptitle("Testbed: validation tasks over training (mean ± std over seeds; rollout 0 = SFT warm-up)")
    fig.tight_layout()
    paths += _save(fig, folder / "testbed_exact_calls")

    x = "rollout" if "rollout" in metrics.columns and metrics["rollout"].notna().all() else "step"
    for prefix, stem, ylabel in (("entropy_by_region/", "testbed_region_entropy", "mean token entropy"),
                                 ("region_weights/", "testbed_region_weights", "region weight")):
        regions = [r for r in WEIGHTED_REGIONS if f"{prefix}{r}" in metrics.columns]
        methods = list(dict.fromkeys(metrics["method"])) if len(metrics) else []
        if prefix == "region_weights/":  # one panel per method: lines per region
            fig, axes = plt.subplots(1, max(1, len(methods)), figsize=(4.5 * max(1, len(methods)), 3.6),
                                     squeeze=False)
            for ax, method in zip(axes.flat, methods):
                g = metrics[metrics["method"] == method]
                for r in regions:
                    _band(ax, g[[x, f"{prefix}{r}"]].dropna(), x, f"{prefix}{r}", r)
                ax.set_title(labels.get(method, method))
                ax.set_xlabel(x)
                ax.set_ylabel(ylabel)
                ax.legend(fontsize=7)
        else:  # one panel per region: lines per method
            fig, axes = plt.subplots(1, max(1, len(regions)), figsize=(4 * max(1, len(regions)), 3.4),
                                     squeeze=False)
            for ax, r in zip(axes.flat, regions):
                for method in methods:
                    g = metrics[metrics["method"] == method][[x, f"{prefix}{r}"]].dropna()
                    if len(g):
                        _band(ax, g, x, f"{prefix}{r}", labels.get(method, method))
                ax.set_title(r)
                ax.set_xlabel(x)
                ax.set_ylabel(ylabel)
                ax.legend(fontsize=7)
        fig.suptitle(f"Testbed: {ylabel} per region over training (mean ± std over seeds)")
        fig.tight_layout()
        paths += _save(fig, folder / stem)
    return paths


# --------------------------------------------------------------------------- entry point


def write_testbed_report(scores: list[str], run_summaries: list[str], output: str | Path, figures_dir: str | Path,
                         baseline: str = "grpo", warmup: str = "sft", variance: str | None = None) -> dict:
    """Write summary.json, testbed.{csv,md,tex}, the figures and section.md (for index.md).

    ``variance`` is the variance study's file (linked, not read: it may come later)."""
    from rest.report.build import method_registry
    from rest.report.collect import load_runs

    out, fig_dir = Path(output), Path(figures_dir)
    order, labels, _ = method_registry()
    runs = load_study(scores)
    summary = build_summary(runs, baseline, warmup, labels)
    present = [m for m in [warmup, *order] if m in runs]
    present = list(dict.fromkeys(present))
    warm_vs = compare(runs, warmup, baseline) if warmup in runs else {}
    table = table_frame(summary, present, warm_vs)
    report_root = out.parent
    files = {}
    for ext, text in (("csv", table.to_csv(index=False)), ("md", markdown_table(table)),
                      ("tex", latex_table(table, CAPTION))):
        atomic_write_text(out / f"testbed.{ext}", text)
        files[ext] = (out / f"testbed.{ext}").relative_to(report_root).as_posix()
    metric_df = load_runs(run_summaries) if run_summaries else pd.DataFrame()
    fig_paths = figures(runs, metric_df, warmup, labels, fig_dir)
    rel = lambda p: Path(os.path.relpath(Path(p).resolve(), report_root.resolve())).as_posix()
    summary["figures"] = [rel(p) for p in fig_paths]
    summary["tables"] = list(files.values())
    variance_md = None
    if variance:
        from rest.report.variance import load_variance, variance_figure, variance_tables

        data = load_variance(variance)
        tables = variance_tables(data, out)
        variance_md = "\n".join(p.read_text(encoding="utf-8").rstrip() + "\n" for p in tables if p.suffix == ".md")
        summary["tables"] += [rel(p) for p in tables]
        summary["figures"] += [rel(p) for p in variance_figure(data, fig_dir / "testbed_variance")]
    atomic_write_json(out / "summary.json", summary)
    files = {"summary": rel(out / "summary.json"), **files}
    link = rel(variance) if variance else None
    atomic_write_text(out / "section.md", section_markdown(summary, table, files, summary["figures"], link,
                                                           variance_md))
    return summary
