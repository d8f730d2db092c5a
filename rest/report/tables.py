"""The paper's result tables, laid out like the paper's, with our numbers beside theirs.

Each cell carries our value (mean ± std over seeds), the paper's value and the delta.
A cell the run did not produce says so; it is never blank and never filled in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from rest.io import atomic_write_text
from rest.methods import METHODS

NOT_RUN = "not run"
NOT_PUBLISHED = "—"
CLOSED_MODEL = "Closed model"  # rows of closed models: the paper's numbers only
SINGLE_RUN_NOTE = "The paper reports single runs: its tables give no spread and no intervals."


#: Methods the paper publishes no number for, each shown right after the row it is a variant
#: of: ResT with the paper's entropy rule beside ResT as released.
VARIANT_ROWS = {METHODS["rest"].display: (METHODS["rest_entropy"].display,)}


def with_variant_rows(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``rows`` with each (model, method)'s ``VARIANT_ROWS`` inserted after it."""
    out = []
    for model, method in rows:
        out.append((model, method))
        out.extend((model, variant) for variant in VARIANT_ROWS.get(method, ()))
    return list(dict.fromkeys(out))


def paper_results() -> pd.DataFrame:
    """The paper's published numbers (columns table, model, method, metric, value_percent)."""
    with resources.files("rest.resources").joinpath("paper_results.csv").open() as f:
        return pd.read_csv(f)


def table_benchmark(table: str) -> str:
    """Which benchmark's scores a paper table reports."""
    return "bfcl" if table.startswith("bfcl") else "apibank"


@dataclass(frozen=True)
class Cell:
    """One table cell: our seeds' mean and std (n seeds) and the paper's value."""

    mean: float | None
    std: float | None
    n: int
    paper: float | None

    @property
    def delta(self) -> float | None:
        return None if self.mean is None or self.paper is None else self.mean - self.paper

    def text(self) -> str:
        ours = NOT_RUN if self.mean is None else (
            f"{self.mean:.2f} ± {self.std:.2f}" if self.n > 1 else f"{self.mean:.2f}")
        paper = NOT_PUBLISHED if self.paper is None else f"{self.paper:.2f}"
        delta = "" if self.delta is None else f" (Δ {self.delta:+.2f})"
        return f"{ours} / {paper}{delta}"


def make_cell(values: list[float], paper: float | None) -> Cell:
    if not values:
        return Cell(None, None, 0, paper)
    s = pd.Series(values, dtype=float)
    std = float(s.std(ddof=1)) if len(s) > 1 else 0.0
    return Cell(float(s.mean()), std, len(s), paper)


@dataclass
class Table:
    """A paper table: ``rows`` of (model label, method label) and a cell per metric."""

    name: str
    title: str
    metrics: list[str]
    rows: list[tuple[str, str]]
    cells: dict[tuple[str, str, str], Cell]

    def frame(self) -> pd.DataFrame:
        """Numeric form: per metric, ours / std / n / paper / delta columns."""
        records = []
        for model, method in self.rows:
            rec: dict[str, object] = {"model": model, "method": method}
            for metric in self.metrics:
                c = self.cells[(model, method, metric)]
                rec[f"{metric} ours"] = c.mean
                rec[f"{metric} std"] = c.std
                rec[f"{metric} n"] = c.n
                rec[f"{metric} paper"] = c.paper
                rec[f"{metric} delta"] = c.delta
            records.append(rec)
        return pd.DataFrame(records)

    def text_rows(self) -> list[list[str]]:
        return [[model, method] + [self.cells[(model, method, m)].text() for m in self.metrics]
                for model, method in self.rows]

    def markdown(self) -> str:
        head = ["Model", "Method", *self.metrics]
        lines = [f"### {self.title}", "",
                 ("Each cell: ours (mean ± std over seeds) / paper (Δ = ours − paper). "
                  f"`{NOT_RUN}`: this run did not produce it; `{NOT_PUBLISHED}`: not in the paper."), "",
                 "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in self.text_rows()]
        lines += ["", f"Ours: mean ± std (sample std) where a cell has two or more seeds. {SINGLE_RUN_NOTE}"]
        return "\n".join(lines) + "\n"

    def latex(self) -> str:
        cols = "ll" + "c" * len(self.metrics)
        head = " & ".join(_tex(h) for h in ["Model", "Method", *self.metrics])
        body = [" & ".join(_tex(c) for c in r) + r" \\" for r in self.text_rows()]
        return "\n".join([
            r"\begin{table}[t]", r"\centering", r"\small",
            (rf"\caption{{{_tex(self.title)}. Each cell: ours (mean $\pm$ std over seeds) / paper ($\Delta$). "
             rf"{_tex(SINGLE_RUN_NOTE)}}}"),
            rf"\label{{tab:{self.name}}}",
            rf"\begin{{tabular}}{{{cols}}}", r"\toprule", head + r" \\", r"\midrule",
            *body, r"\bottomrule", r"\end{tabular}", r"\end{table}",
        ]) + "\n"

    def write(self, folder: Path) -> list[Path]:
        folder = Path(folder)
        paths = [folder / f"{self.name}.{ext}" for ext in ("csv", "md", "tex")]
        atomic_write_text(paths[0], self.frame().to_csv(index=False))
        atomic_write_text(paths[1], self.markdown())
        atomic_write_text(paths[2], self.latex())
        return paths


def write_frame_table(frame: pd.DataFrame, text_rows: list[list[str]], head: list[str], folder: Path,
                      name: str, title: str, note: str) -> list[Path]:
    """A table that is no paper table: ``frame`` as CSV, ``text_rows`` under ``head`` as
    Markdown and LaTeX, with ``note`` under it."""
    folder = Path(folder)
    paths = [folder / f"{name}.{ext}" for ext in ("csv", "md", "tex")]
    atomic_write_text(paths[0], frame.to_csv(index=False))
    md = [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    md += ["| " + " | ".join(r) + " |" for r in text_rows]
    atomic_write_text(paths[1], "\n".join(md + ["", note]) + "\n")
    body = [" & ".join(_tex(c) for c in r) + r" \\" for r in text_rows]
    atomic_write_text(paths[2], "\n".join([
        r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{_tex(title)}. {_tex(note)}}}",
        rf"\label{{tab:{name}}}", rf"\begin{{tabular}}{{{'l' * len(head)}}}", r"\toprule",
        " & ".join(_tex(h) for h in head) + r" \\", r"\midrule", *body, r"\bottomrule",
        r"\end{tabular}", r"\end{table}"]) + "\n")
    return paths


def _tex(text: str) -> str:
    out = text
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#")):
        out = out.replace(a, b)
    for a, b in (("±", r"$\pm$"), ("Δ", r"$\Delta$"), ("—", "--"), ("−", "$-$"), ("✱", r"$\ast$"), ("×", r"$\times$"),
                 ("‖ḡ‖²", r"$\|\bar g\|^2$"), ("‖ḡ‖", r"$\|\bar g\|$"), ("Σ", r"$\Sigma$"), ("H̄", r"$\bar H$")):
        out = out.replace(a, b)
    return out


TITLES = {
    "bfcl_multi_turn_qwen3": "BFCL multi-turn accuracy, Qwen3",
    "apibank_qwen3": "API-Bank accuracy, Qwen3",
    "ablation_apibank": "Ablations on API-Bank",
    "bfcl_llama": "BFCL accuracy, Llama-3.2-3B-Instruct",
    "apibank_llama": "API-Bank accuracy, Llama-3.2-3B-Instruct",
    "bfcl_single_turn_qwen3": "BFCL single-turn accuracy, Qwen3",
}


def build_tables(scores: pd.DataFrame, paper: pd.DataFrame, method_labels: dict[str, str],
                 model_aliases: dict[str, str | None]) -> list[Table]:
    """One table per paper table, plus one per (paper table, run model that is no paper model).

    ``scores`` is :func:`rest.report.collect.load_scores`'s frame; ``method_labels`` maps
    method ids (``sft_grpo``) to the paper's labels (``SFT+GRPO``); ``model_aliases`` maps
    each run model to the paper model it stands in for (None: none). A run model whose name
    is a paper model fills that model's rows of the paper table itself.
    """
    tables = []
    for name, pt in paper.groupby("table", sort=False):
        metrics = list(dict.fromkeys(pt["metric"]))
        bench = table_benchmark(name)
        ours = scores[scores["benchmark"] == bench]
        published = {(r.model, r.method, r.metric): float(r.value_percent) for r in pt.itertuples()}
        rows = with_variant_rows(list(dict.fromkeys(zip(pt["model"], pt["method"]))))
        tables.append(_fill(name, TITLES.get(name, name), metrics, rows, ours, published,
                            method_labels, run_model=None))
        paper_models = set(pt["model"])
        methods = [m for m in dict.fromkeys(pt["method"]) if m != CLOSED_MODEL]
        for run_model, alias in model_aliases.items():
            if run_model in paper_models or (alias is not None and alias not in paper_models):
                continue
            label = f"{run_model} (paper: {alias})" if alias else run_model
            extra_rows = with_variant_rows([(label, m) for m in methods])
            aliased = {((label, meth, met) if mod == alias else (mod, meth, met)): v
                       for (mod, meth, met), v in published.items()}
            title = f"{TITLES.get(name, name)}: run model {run_model}" + (
                f" beside the paper's {alias}" if alias else "")
            tables.append(_fill(f"{name}__{run_model}", title, metrics, extra_rows,
                                ours[ours["model"] == run_model], aliased, method_labels,
                                run_model=run_model))
    return tables


def _fill(name, title, metrics, rows, ours, published, method_labels, run_model) -> Table:
    labelled = ours.assign(label=ours["method"].map(lambda m: method_labels.get(m, m)))
    cells = {}
    for model, method in rows:
        source_model = run_model or model
        sel = labelled[(labelled["model"] == source_model) & (labelled["label"] == method)]
        for metric in metrics:
            values = [v for v in sel.loc[sel["metric"] == metric, "value"] if not math.isnan(v)]
            cells[(model, method, metric)] = make_cell(values, published.get((model, method, metric)))
    return Table(name, title, metrics, rows, cells)
