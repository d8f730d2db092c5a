"""Audit of the published tables: recompute every identity the tables must obey.

- API-Bank's overall is the micro-average over 399 / 67 / 131 items, so each level's
  percentage must come from an integer count and the overall from their sum.
- BFCL multi-turn's overall is the mean of its four categories.
- The abstract's headline claims follow from the tables: "up to 8.76%" (Qwen3-4B ResT over
  GRPO, BFCL multi-turn overall) and "GPT-4o by 1.50%" (multi-turn Base category).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

APIBANK_LEVEL_ITEMS = {"Level 1 Acc": 399, "Level 2 Acc": 67, "Level 3 Acc": 131}
MULTI_TURN_PARTS = ["Base", "Miss Func", "Miss Param", "Long Context"]
PRINT_TOLERANCE = 0.005 + 1e-9  # numbers are printed to two decimals


@dataclass(frozen=True)
class Finding:
    table: str
    model: str
    method: str
    check: str
    printed: float
    recomputed: float | None
    ok: bool
    note: str = ""


def level_count(percent: float, n: int) -> int | None:
    """The integer count k of n whose percentage prints as ``percent``; None if no k does."""
    k = round(percent * n / 100)
    return k if abs(100 * k / n - percent) <= PRINT_TOLERANCE else None


def audit_apibank_row(table, model, method, values: dict[str, float]) -> list[Finding]:
    """Micro-average identity: overall = (k1 + k2 + k3) / 597."""
    findings, counts = [], {}
    for metric, n in APIBANK_LEVEL_ITEMS.items():
        k = level_count(values[metric], n)
        if k is None:
            nearest = round(values[metric] * n / 100)
            findings.append(Finding(table, model, method, f"{metric} is a count of {n}", values[metric],
                                    100 * nearest / n, False,
                                    f"no count of {n} gives {values[metric]:.2f}; nearest {nearest}/{n}"))
            k = nearest
        counts[metric] = k
    total = sum(APIBANK_LEVEL_ITEMS.values())
    recomputed = 100 * sum(counts.values()) / total
    printed = values["Overall Acc"]
    ok = abs(recomputed - printed) <= PRINT_TOLERANCE
    note = "+".join(str(counts[m]) for m in APIBANK_LEVEL_ITEMS) + f" = {sum(counts.values())} of {total}"
    findings.append(Finding(table, model, method, "Overall = micro-average of levels", printed,
                            recomputed, ok, note))
    return findings


def audit_multi_turn_row(table, model, method, values: dict[str, float]) -> Finding:
    recomputed = sum(values[m] for m in MULTI_TURN_PARTS) / len(MULTI_TURN_PARTS)
    printed = values["Overall Acc"]
    return Finding(table, model, method, "Overall = mean of the four categories", printed, recomputed,
                   abs(recomputed - printed) <= PRINT_TOLERANCE)


def _value(paper, table, model, method, metric) -> float:
    sel = paper[(paper.table == table) & (paper.model == model) & (paper.method == method)
                & (paper.metric == metric)]
    return float(sel.value_percent.iloc[0])


def audit_claims(paper: pd.DataFrame) -> list[Finding]:
    """The headline numbers, recomputed from the tables."""
    t = "bfcl_multi_turn_qwen3"
    mt = paper[(paper.table == t) & (paper.metric == "Overall Acc")].pivot_table(
        index="model", columns="method", values="value_percent")
    gains = (mt["ResT"] - mt["GRPO"]).dropna()
    best = gains.idxmax()
    rest_base = paper[(paper.table == t) & (paper.method == "ResT") & (paper.metric == "Base")]
    top = rest_base.loc[rest_base.value_percent.idxmax()]
    gpt4o = _value(paper, t, "GPT-4o-2024-11-20", "Closed model", "Base")
    margin = float(top.value_percent) - gpt4o
    return [
        Finding(t, best, "ResT − GRPO", "claim: up to 8.76% over GRPO (multi-turn overall)", 8.76,
                float(gains.max()), abs(gains.max() - 8.76) <= PRINT_TOLERANCE,
                f"largest gain over the Qwen3 models is on {best}"),
        Finding(t, str(top.model), "ResT − GPT-4o", "claim: beats GPT-4o by 1.50% on multi-turn Base",
                1.50, margin, abs(margin - 1.50) <= PRINT_TOLERANCE,
                f"{float(top.value_percent):.2f} − {gpt4o:.2f}"),
    ]


def audit_paper(paper: pd.DataFrame) -> list[Finding]:
    """Every identity of every published row, then the headline claims."""
    findings: list[Finding] = []
    for (table, model, method), g in paper.groupby(["table", "model", "method"], sort=False):
        values = dict(zip(g.metric, g.value_percent.astype(float)))
        if set(APIBANK_LEVEL_ITEMS) | {"Overall Acc"} <= set(values):
            findings += audit_apibank_row(table, model, method, values)
        elif set(MULTI_TURN_PARTS) | {"Overall Acc"} <= set(values):
            findings.append(audit_multi_turn_row(table, model, method, values))
    return findings + audit_claims(paper)


def audit_markdown(findings: list[Finding]) -> str:
    bad = [f for f in findings if not f.ok]
    lines = ["# Audit of the published tables", "",
             f"{len(findings)} checks, {len(findings) - len(bad)} hold, {len(bad)} depart.", ""]
    if bad:
        lines += ["## Departures", "", "| table | model | method | check | printed | recomputed | note |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {f.table} | {f.model} | {f.method} | {f.check} | {f.printed:.2f} | "
                  f"{'' if f.recomputed is None else f'{f.recomputed:.2f}'} | {f.note} |" for f in bad]
        lines.append("")
    claims = [f for f in findings if f.check.startswith("claim")]
    lines += ["## Headline claims", "", "| claim | printed | from the tables | holds | note |", "|---|---|---|---|---|"]
    lines += [f"| {f.check[7:]} | {f.printed:.2f} | {f.recomputed:.2f} | {'yes' if f.ok else 'NO'} | {f.note} |"
              for f in claims]
    return "\n".join(lines) + "\n"


def findings_frame(findings: list[Finding]) -> pd.DataFrame:
    return pd.DataFrame([f.__dict__ for f in findings])
