"""Assemble the whole report folder: tables, audit, figures, index."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from rest.identity import BASE
from rest.io import InputError, atomic_write_text, check_input_file, read_text
from rest.report import figures
from rest.report.audit import audit_markdown, audit_paper, findings_frame
from rest.report.collect import load_runs, load_scores
from rest.report.index import data_checksums, index_markdown
from rest.report.intervals import write_intervals
from rest.report.tables import build_tables, paper_results, table_benchmark

#: Bars of Fig. 2: the overall accuracy of each benchmark plus BFCL's summary columns.
BAR_METRICS = [("apibank", "Overall Acc"), ("bfcl", "Non-Live AST Acc"), ("bfcl", "Live Acc"),
               ("bfcl", "Multi Turn Acc"), ("bfcl", "Relevance Detection"),
               ("bfcl", "Irrelevance Detection")]


def paper_bar_values(paper, paper_model: str | None, labels: dict[str, str]) -> dict[tuple[str, str, str], float]:
    """(benchmark, metric, method id) -> the paper's % for ``paper_model``, under our column
    names: the paper prints BFCL's multi-turn overall as its multi-turn table's ``Overall Acc``."""
    if paper_model is None:
        return {}
    ids = {label: name for name, label in labels.items()}
    out = {}
    for r in paper[paper["model"] == paper_model].itertuples():
        metric = "Multi Turn Acc" if r.table.startswith("bfcl_multi_turn") and r.metric == "Overall Acc" else r.metric
        if r.method in ids:
            out.setdefault((table_benchmark(r.table), metric, ids[r.method]), float(r.value_percent))
    return out


def method_registry() -> tuple[list[str], dict[str, str], list[str]]:
    """(method ids in the paper's order, id -> paper label, ids that weight tokens)."""
    from rest.methods import METHODS

    order = list(METHODS)
    labels = {name: spec.display for name, spec in METHODS.items()}
    weighted = [name for name, spec in METHODS.items() if spec.trainer == "rest"]
    return order, labels, weighted


def load_run_config(value: str | None) -> dict | None:
    if not value:
        return None
    text = value
    if not value.lstrip().startswith("{"):
        text = read_text(check_input_file(value, "run config"))
    try:
        cfg = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise InputError(f"--run-config: not YAML/JSON ({e})") from e
    if not isinstance(cfg, dict):
        raise InputError("--run-config: expected a mapping")
    return cfg


def model_aliases(run_config: dict | None, run_models: set[str]) -> dict[str, str | None]:
    """Each run model -> the paper model it stands in for (config ``models.<name>.paper_model``)."""
    configured = (run_config or {}).get("models", {}) or {}
    return {m: (configured.get(m) or {}).get("paper_model") for m in sorted(run_models)}


def write_report(scores, runs, run_config, data_dir, output, testbed=None) -> dict:
    """``scores``: scores.json files; ``runs``: the runs' summary.json files; ``testbed``: the
    testbed study's ``scores``, ``runs`` and ``variance`` files, whose section this report draws too."""
    out = Path(output)
    cfg = load_run_config(run_config)
    score_df = load_scores(scores)
    metric_df = load_runs(runs)
    order, labels, weighted = method_registry()
    run_models = set(score_df["model"]) | (set(metric_df["model"]) if len(metric_df) else set())
    run_models |= set(((cfg or {}).get("models") or {}).keys())

    table_files = []
    for table in build_tables(score_df, paper_results(), labels, model_aliases(cfg, run_models)):
        table_files += [p.relative_to(out).as_posix() for p in table.write(out / "tables")]
    table_files += [p.relative_to(out).as_posix() for p in write_intervals(scores, out / "tables", labels)]

    findings = audit_paper(paper_results())
    atomic_write_text(out / "audit.md", audit_markdown(findings))
    atomic_write_text(out / "audit.csv", findings_frame(findings).to_csv(index=False))

    figure_files = []
    bar_order = [BASE] + [m for m in order if m != BASE]
    aliases = model_aliases(cfg, run_models)
    for model in sorted(run_models):
        fig_dir = out / "figures"
        paper_model = model if model in set(paper_results()["model"]) else aliases.get(model)
        paths = figures.accuracy_bars(score_df, model, BAR_METRICS, bar_order, labels,
                                      fig_dir / f"accuracy_{model}",
                                      paper_bar_values(paper_results(), paper_model, labels), paper_model)
        if len(metric_df):
            paths += figures.training_dynamics(metric_df, model, labels, fig_dir / f"training_dynamics_{model}")
            paths += figures.region_weights(metric_df, model, weighted or ["rest"], labels,
                                            fig_dir / f"region_weights_{model}")
        figure_files += [p.relative_to(out).as_posix() for p in paths]

    summary = {"tables": table_files, "figures": figure_files, "audit": "audit.md",
               "scores": len(scores), "training_logs": len(runs),
               "published_rows_departing": len({(f.table, f.model, f.method) for f in findings if not f.ok})}
    extra = []  # other studies' sections of index.md
    if testbed:
        from rest.report.testbed import write_testbed_report

        study = write_testbed_report(testbed["scores"], testbed["runs"], out / "testbed", out / "figures",
                                     warmup=testbed.get("warmup", "sft"), variance=testbed.get("variance"))
        summary["figures"] += study["figures"]
        summary["tables"] += study["tables"]
        extra.append((out / "testbed" / "section.md").read_text(encoding="utf-8"))
    atomic_write_text(out / "index.md", index_markdown(out, table_files, figure_files, "audit.md",
                                                       cfg, data_checksums(data_dir), extra))
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary
