"""The whole smoke DAG on CPU from a clean copy of the tree: every table and figure exists,
and the tables carry exactly the numbers of the per-job score files."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from rest.identity import BASE, RunIdentity
from rest.report.tables import paper_results, table_benchmark
from rest.scores import read_scores
from rest.methods import METHODS


@pytest.mark.slow
def test_smoke_dag_end_to_end(smoke):
    results = smoke.results
    report = results / "report"
    assert (report / "index.md").is_file()
    summary = json.loads((report / "summary.json").read_text())
    for rel in summary["tables"] + summary["figures"]:
        assert (report / rel).stat().st_size > 0, rel
    for table in set(paper_results()["table"]):
        for ext in ("csv", "md", "tex"):
            assert (report / "tables" / f"{table}.{ext}").is_file()
    for stem in ("accuracy_tiny", "training_dynamics_tiny", "region_weights_tiny"):
        for ext in ("png", "pdf"):
            assert (report / "figures" / f"{stem}.{ext}").is_file()

    # every job's score lands, unchanged, in the stand-in model's tables
    tables = {p.stem: pd.read_csv(p) for p in (report / "tables").glob("*__tiny.csv")}
    score_files = sorted((results / "eval" / "tiny").rglob("scores.json"))
    assert len(score_files) == 2 * (1 + 10)  # base, then 6 trained methods, rest_entropy and 3 ablations
    checked = 0
    for path in score_files:
        run, scores = read_scores(path)
        # each job recorded the identity of the run it scored (the layout is only checked here)
        rel = path.relative_to(results / "eval").parts
        seed = None if rel[1] == BASE else int(rel[2].removeprefix("seed"))
        assert run == RunIdentity("paper", rel[0], rel[1], seed) and scores["benchmark"] == rel[-2]
        assert {item["id"] for item in scores["items"]} and scores["versions"]["trl"]
        label = METHODS[run.method].display
        for name, frame in tables.items():
            if table_benchmark(name) != scores["benchmark"] or label not in set(frame["method"]):
                continue
            row = frame[frame["method"] == label].iloc[0]
            for metric, value in scores["metrics"].items():
                if f"{metric} ours" in frame.columns:
                    assert row[f"{metric} ours"] == pytest.approx(value), (name, label, metric)
                    assert row[f"{metric} n"] == 1
                    checked += 1
    assert checked >= 20
    for summary_path in (results / "runs").rglob("summary.json"):
        summary = json.loads(summary_path.read_text())
        header = json.loads((summary_path.parent / summary["files"]["metrics"]).read_text().splitlines()[0])
        assert summary["run"] == header["run"] and summary["run"]["method"] == summary_path.parts[-3]
        assert summary["config"] == header["config"] and summary["config"]["seed"] == summary["run"]["seed"]
    assert sorted((results / "benchmarks" / "train").rglob("*.tsv"))
    assert (results / "logs" / "report.log").is_file()


@pytest.mark.slow
def test_snakemake_report_holds_every_table_and_figure(smoke):
    """`snakemake --report` after the smoke DAG: one self-contained HTML page."""
    proc = smoke.snakemake("--report", "results/report.html", timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    html = (smoke.results / "report.html").read_text(encoding="utf-8")
    report = smoke.results / "report"
    tables = sorted(p.name for p in (report / "tables").glob("*.csv"))
    figures = sorted(p.name for p in (report / "figures").glob("*.png"))
    assert len(tables) == 11 and len(figures) == 3  # the paper's tables, tiny's own, the paired differences
    assert "paired_differences.csv" in tables
    for name in [*tables, *figures, "audit.csv"]:
        assert name in html, name
    assert "Tables" in html and "Figures" in html and "Audit" in html
    index = (report / "index.md").read_text()
    for fig in ("Fig. 2", "Fig. 3", "Fig. 4"):
        assert f"| {fig} |" in index
    assert "[figures/accuracy_tiny.png](figures/accuracy_tiny.png)" in index
