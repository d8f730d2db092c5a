"""The variance study (``rest variance``, paper Theorems 1-2) in the report: a figure and tables.

Both read the ``variance.json`` that ``rest variance`` writes (rest/variance.py).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from rest.io import InputError, read_json
from rest.regions import REGION_NAMES
from rest.report.figures import _save
from rest.report.tables import write_frame_table

#: What ``rest variance`` compares; every ratio is ResT over GRPO (``uniform``).
PROFILE_LABELS = {"released": "ResT (released weights)", "paper": "ResT (Eq. 9 entropy rule)"}
METHOD_LABELS = {"uniform": "GRPO", **PROFILE_LABELS}
RATIOS = [("var_ratio", "tr Σ ratio"), ("var_ratio_scaled", "tr Σ ratio at equal ‖ḡ‖"),
          ("mean_sq_norm_ratio", "‖ḡ‖² ratio"), ("snr_ratio", "SNR ratio"),
          ("snr_unbiased_ratio", "SNR ratio, unbiased ‖ḡ‖²")]
NOTE = ("Ratios are ResT / GRPO on the same sampled groups and advantages; [95% percentile bootstrap "
        "over groups]. Below 1, ResT's gradient estimate varies less; an SNR ratio above 1 means a "
        "cleaner gradient. The paper states Theorems 1-2 without measuring them.")


def load_variance(path: str | Path) -> dict:
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("checkpoints"), list):
        raise InputError(f"{path}: missing key 'checkpoints' (written by `rest variance`)")
    return data


def _fmt(x, digits=3) -> str:
    return "n/a" if x is None else f"{x:.{digits}g}"


def _with_ci(value, ci) -> str:
    if value is None:
        return "n/a"
    lo, hi = ci if ci else (None, None)
    return f"{_fmt(value)} [{_fmt(lo)}, {_fmt(hi)}]"


def ratio_frame(data: dict) -> pd.DataFrame:
    """One row per (checkpoint, ResT profile): GRPO's and ResT's moments and the ratios with CIs."""
    rows = []
    for ck in data["checkpoints"]:
        base = ck["methods"]["uniform"]
        for profile, r in ck["profiles"].items():
            m = ck["methods"][profile]
            row = {"rollout": ck["rollout"], "profile": profile, "groups": ck["groups"],
                   "groups_with_signal": ck["groups_with_signal"],
                   "grpo_trace_cov": base["trace_cov"], "grpo_snr": base["snr"],
                   "rest_trace_cov": m["trace_cov"], "rest_snr": m["snr"]}
            for key, _ in RATIOS:
                lo, hi = r.get(f"{key}_ci95") or (None, None)
                row.update({key: r[key], f"{key}_lo": lo, f"{key}_hi": hi})
            rows.append(row)
    return pd.DataFrame(rows)


def region_frame(data: dict) -> pd.DataFrame:
    """One row per (checkpoint, method, region): tr Σ_r, its share, the weight and the entropy."""
    rows = []
    for ck in data["checkpoints"]:
        for method, m in ck["methods"].items():
            for region in REGION_NAMES:
                part = m["regions"][region]
                rows.append({"rollout": ck["rollout"], "method": method, "region": region,
                             "trace_cov": part["trace_cov"], "share": part["share"],
                             "weight": (m.get("region_weights") or {}).get(region),
                             "entropy": ck["region_entropy"].get(region),
                             "tokens": ck["region_tokens"].get(region)})
    return pd.DataFrame(rows)


def variance_tables(data: dict, folder: Path, name: str = "variance") -> list[Path]:
    """``{name}.csv|md|tex`` (the ratios) and ``{name}_regions.csv|md|tex`` (Theorem 1's terms)."""
    ratios = ratio_frame(data)
    head = ["Rollout", "ResT profile", "groups (with signal)", "GRPO tr Σ", *[label for _, label in RATIOS]]
    text = [[str(r.rollout), PROFILE_LABELS.get(r.profile, r.profile), f"{r.groups} ({r.groups_with_signal})",
             _fmt(r.grpo_trace_cov), *[_with_ci(getattr(r, k), [getattr(r, f"{k}_lo"), getattr(r, f"{k}_hi")])
                                      for k, _ in RATIOS]]
            for r in ratios.itertuples()]
    paths = write_frame_table(ratios, text, head, folder, name,
                              "Policy-gradient variance, ResT over GRPO (Theorems 1-2)", NOTE)
    regions = region_frame(data)
    head = ["Rollout", "Method", *REGION_NAMES, "cross-region"]
    text = []
    for ck in data["checkpoints"]:
        for method, m in ck["methods"].items():
            cells = [f"{_fmt(m['regions'][r]['trace_cov'])} (w {_fmt((m.get('region_weights') or {}).get(r), 2)})"
                     for r in REGION_NAMES]
            text.append([str(ck["rollout"]), METHOD_LABELS.get(method, method), *cells, _fmt(m["cross_region_cov"])])
    entropy = "; ".join(f"rollout {ck['rollout']}: " + ", ".join(
        f"{r} {_fmt(ck['region_entropy'].get(r), 2)}" for r in REGION_NAMES) for ck in data["checkpoints"])
    note = ("Each cell: tr Σ of the region's part of the gradient (w: the region's weight before Eq. 18). "
            "Theorem 1 bounds these terms by the region entropies, here " + entropy + ".")
    return paths + write_frame_table(regions, text, head, folder, f"{name}_regions",
                                     "Policy-gradient variance by token region", note)


def _errorbar(ax, xs, ys, los, his, **kw):
    import numpy as np

    y = np.array([np.nan if v is None else v for v in ys], dtype=float)
    lo = np.array([np.nan if v is None else v for v in los], dtype=float)
    hi = np.array([np.nan if v is None else v for v in his], dtype=float)
    # A percentile interval need not contain the point: resampling biases ‖ḡ‖² upwards.
    err = [np.clip(np.nan_to_num(y - lo), 0, None), np.clip(np.nan_to_num(hi - y), 0, None)]
    ax.errorbar(xs, y, yerr=err, capsize=3, marker="o", **kw)


def variance_figure(data: dict, stem: Path) -> list[Path]:
    """Left: ResT/GRPO variance ratio (raw and at equal ‖ḡ‖) over rollouts with 95% intervals.
    Middle: each method's SNR. Right: tr Σ of each region's part at the last checkpoint."""
    ratios = ratio_frame(data)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    for i, (profile, g) in enumerate(ratios.groupby("profile", sort=False)):
        label, colour = PROFILE_LABELS.get(profile, profile), f"C{i + 1}"  # C0 is GRPO's
        _errorbar(ax, g["rollout"], g["var_ratio"], g["var_ratio_lo"], g["var_ratio_hi"], color=colour,
                  label=f"{label}: tr Σ")
        _errorbar(ax, g["rollout"], g["var_ratio_scaled"], g["var_ratio_scaled_lo"], g["var_ratio_scaled_hi"],
                  color=colour, linestyle="--", label=f"{label}: at equal ‖ḡ‖")
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_title("variance ratio ResT / GRPO (95% CI)")
    ax.set_xlabel("rollout")
    ax.legend(fontsize=7)
    ax = axes[1]
    rollouts = [ck["rollout"] for ck in data["checkpoints"]]
    for i, method in enumerate(next(iter(data["checkpoints"]), {}).get("methods", {})):
        ms = [ck["methods"][method] for ck in data["checkpoints"]]
        label = METHOD_LABELS.get(method, method)
        for key, style, what in (("snr", "-", "‖ḡ‖²"), ("snr_unbiased", "--", "unbiased")):
            if all(key in m for m in ms):
                _errorbar(ax, rollouts, [m[key] for m in ms], [m[f"{key}_ci95"][0] for m in ms],
                          [m[f"{key}_ci95"][1] for m in ms], color=f"C{i}", linestyle=style, label=f"{label}: {what}")
    ax.set_title("SNR = signal / tr Σ (95% CI)")
    ax.set_xlabel("rollout")
    ax.legend(fontsize=7)
    ax = axes[2]
    if data["checkpoints"]:
        last = data["checkpoints"][-1]
        methods = list(last["methods"])
        width = 0.8 / max(1, len(methods))
        for i, method in enumerate(methods):
            vals = [last["methods"][method]["regions"][r]["trace_cov"] or 0.0 for r in REGION_NAMES]
            ax.bar([j + i * width for j in range(len(REGION_NAMES))], vals, width, label=METHOD_LABELS.get(method, method))
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(REGION_NAMES))])
        ax.set_xticklabels([f"{r}\nH̄ {_fmt(last['region_entropy'].get(r), 2)}" for r in REGION_NAMES], fontsize=8)
        ax.set_title(f"tr Σ by region, rollout {last['rollout']}")
        ax.legend(fontsize=7)
    fig.suptitle("Policy-gradient variance on the same groups: GRPO vs ResT (Theorems 1-2)")
    fig.tight_layout()
    return _save(fig, Path(stem))
