"""Tables: our mean ± std beside the paper's value and the delta; unproduced cells marked."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from rest.identity import RunIdentity
from rest.io import InputError
from rest.report.build import method_registry
from rest.report.collect import SCORE_COLUMNS, load_items, load_scores
from rest.report.tables import NOT_RUN, build_tables, make_cell, paper_results
from rest.scores import scores_record

APIBANK = ["Level 1 Acc", "Level 2 Acc", "Level 3 Acc", "Overall Acc"]


def write_scores(root, model, method, seed, bench, metrics, items=()):
    folder = root / "eval" / model / method / ("" if seed is None else f"seed{seed}") / bench
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scores.json"
    record = scores_record(bench, RunIdentity("paper", model, method, seed), versions={}, generation={},
                           config={}, items=list(items), metrics=metrics)
    path.write_text(json.dumps(record))
    return path


def write_run(root, model, method, seed, log):
    """A run folder as `rest train` leaves it: summary.json naming its files, metrics.jsonl."""
    run = root / "runs" / model / method / f"seed{seed}"
    run.mkdir(parents=True)
    identity = RunIdentity("paper", model, method, seed).as_dict()
    header = {"run": identity, "config": {}}
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [header, *log]))
    (run / "summary.json").write_text(json.dumps({"run": identity, "files": {"metrics": "metrics.jsonl"}}))
    return run / "summary.json"


def test_cell_mean_std_delta_by_hand():
    c = make_cell([40.0, 50.0], paper=50.38)
    assert c.mean == 45.0 and abs(c.std - 7.0710678) < 1e-6 and c.n == 2
    assert abs(c.delta - (-5.38)) < 1e-9
    assert c.text() == "45.00 ± 7.07 / 50.38 (Δ -5.38)"
    assert make_cell([], paper=8.62).text() == f"{NOT_RUN} / 8.62"
    assert make_cell([10.0], paper=None).text() == "10.00 / —"


def test_every_paper_table_says_the_paper_reports_single_runs():
    _, labels, _ = method_registry()
    table = build_tables(pd.DataFrame(columns=SCORE_COLUMNS),
                         paper_results(), labels, {})[0]
    assert "The paper reports single runs" in table.markdown().splitlines()[-1]
    assert "The paper reports single runs" in table.latex() and r"mean $\pm$ std" in table.latex()


def test_identity_comes_from_the_record_not_the_folder(tmp_path):
    path = write_scores(tmp_path, "tiny", "rest", 3, "bfcl", {"Base": 50.0},
                        items=[{"id": "multi_turn_base_0", "correct": True}])
    moved = tmp_path / "anywhere" / "x.json"
    moved.parent.mkdir()
    path.rename(moved)
    frame = load_scores([moved])
    assert frame[["study", "model", "method", "seed", "benchmark", "metric", "value"]].values.tolist() == [
        ["paper", "tiny", "rest", 3, "bfcl", "Base", 50.0]]
    assert load_items([moved])[["method", "item", "correct"]].values.tolist() == [["rest", "multi_turn_base_0", True]]
    base = write_scores(tmp_path, "tiny", "base", None, "apibank", {"Overall Acc": 0.0})
    assert load_scores([base])["seed"].isna().all()
    assert RunIdentity.parse("study=paper,model=tiny,method=base") == RunIdentity("paper", "tiny", "base", None)
    assert RunIdentity.parse(RunIdentity("t", "m", "rest", 2).as_arg()) == RunIdentity("t", "m", "rest", 2)
    for bad, message in [("study=paper,model=tiny,method=rest", "needs a seed"),
                         ("study=paper,model=tiny,method=base,seed=1", "has no seed"),
                         ("model=tiny,method=rest,seed=0", "keys study, model, method, seed"),
                         ("study=paper,model=tiny,method=rest,seed=x", "seed must be"),
                         ("study=p,model=a/b,method=rest,seed=0", "model must be")]:
        with pytest.raises(InputError, match=message):
            RunIdentity.parse(bad)


def test_bad_score_file_names_file_and_key(tmp_path):
    path = write_scores(tmp_path, "m", "rest", 0, "apibank", {})
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "metrics": {"Overall Acc": "high"}}))
    with pytest.raises(InputError, match=r"scores.json: metric 'Overall Acc' must be a number"):
        load_scores([path])
    path.write_text('{"benchmark": "apibank"}')
    with pytest.raises(InputError, match="scores.json: schema_version None"):
        load_scores([path])
    path.write_text(json.dumps({k: v for k, v in record.items() if k != "items"}))
    with pytest.raises(InputError, match="scores.json: missing key 'items'"):
        load_scores([path])
    path.write_text(json.dumps({**record, "run": None}))
    with pytest.raises(InputError, match="scores.json: no run identity"):
        load_scores([path])


def test_paper_model_rows_filled_and_stand_in_tables(tmp_path):
    _, labels, _ = method_registry()
    paths = [
        write_scores(tmp_path, "Qwen3-1.7B", "rest", 0, "apibank", dict(zip(APIBANK, [70, 60, 50, 66.0]))),
        write_scores(tmp_path, "Qwen3-1.7B", "rest", 1, "apibank", dict(zip(APIBANK, [72, 62, 52, 68.0]))),
        write_scores(tmp_path, "tiny", "grpo", 0, "apibank", {"Overall Acc": 1.5}),
        write_scores(tmp_path, "tiny", "base", None, "bfcl", {"Base": 0.0}),
    ]
    tables = {t.name: t for t in build_tables(load_scores(paths), paper_results(), labels,
                                              {"Qwen3-1.7B": "Qwen3-1.7B", "tiny": "Qwen3-4B-2507"})}
    main = tables["apibank_qwen3"].frame().set_index(["model", "method"])
    row = main.loc[("Qwen3-1.7B", "ResT")]
    assert row["Overall Acc ours"] == 67.0 and row["Overall Acc n"] == 2
    assert abs(row["Overall Acc delta"] - (67.0 - row["Overall Acc paper"])) < 1e-9
    assert pd.isna(main.loc[("Qwen3-8B", "ResT"), "Overall Acc ours"])
    # the stand-in model never lands in the paper model's own rows
    assert pd.isna(main.loc[("Qwen3-4B-2507", "GRPO"), "Overall Acc ours"])
    tiny = tables["apibank_qwen3__tiny"].frame().set_index("method")
    assert tiny.loc["GRPO", "Overall Acc ours"] == 1.5
    paper = paper_results()
    published = paper[(paper.table == "apibank_qwen3") & (paper.model == "Qwen3-4B-2507")
                      & (paper.method == "GRPO") & (paper.metric == "Overall Acc")].value_percent.item()
    assert tiny.loc["GRPO", "Overall Acc paper"] == published
    assert tiny.loc["GRPO", "Overall Acc delta"] == pytest.approx(1.5 - published)
    assert pd.isna(tiny.loc["GRPO", "Level 1 Acc ours"])
    assert "apibank_llama__tiny" not in tables  # tiny stands in for a Qwen3 model only
    md = tables["bfcl_multi_turn_qwen3__tiny"].markdown()
    assert "| tiny (paper: Qwen3-4B-2507) | Base | not run /" in md
    assert "0.00 / " in md
    tex = tables["apibank_qwen3"].latex()
    assert r"$\pm$" in tex and r"\begin{tabular}" in tex


def test_every_table_has_a_rest_entropy_row_after_rest(tmp_path):
    _, labels, _ = method_registry()
    paths = [write_scores(tmp_path, "Qwen3-1.7B", "rest_entropy", 0, "apibank", dict(zip(APIBANK, [1, 2, 3, 4.0]))),
             write_scores(tmp_path, "tiny", "rest_entropy", 0, "bfcl", {"Base": 5.0})]
    tables = build_tables(load_scores(paths), paper_results(), labels, {"Qwen3-1.7B": "Qwen3-1.7B", "tiny": "Qwen3-4B-2507"})
    for table in tables:
        rows = table.rows
        for i, (model, method) in enumerate(rows):
            if method == "ResT":
                assert rows[i + 1] == (model, "ResT (entropy rule)"), table.name
    main = {t.name: t for t in tables}["apibank_qwen3"].frame().set_index(["model", "method"])
    row = main.loc[("Qwen3-1.7B", "ResT (entropy rule)")]
    assert row["Overall Acc ours"] == 4.0 and pd.isna(row["Overall Acc paper"])  # no published number
    tiny = {t.name: t for t in tables}["bfcl_multi_turn_qwen3__tiny"].frame().set_index("method")
    assert tiny.loc["ResT (entropy rule)", "Base ours"] == 5.0


def test_training_curves_run_over_rollouts(monkeypatch, tmp_path):
    from rest.report import figures

    drawn = {}
    monkeypatch.setattr(figures, "_save", lambda fig, stem: drawn.setdefault(stem.name, fig) and [])
    # 4 optimizer steps per rollout: the curves have one point per rollout, the mean of its steps
    metrics = pd.DataFrame({"model": "m", "method": "rest", "seed": 0, "step": range(1, 9),
                            "rollout": [1, 1, 1, 1, 2, 2, 2, 2], "reward": range(8),
                            "region_weights/THINK": [0.602] * 4 + [0.604] * 4})
    figures.training_dynamics(metrics, "m", {}, tmp_path / "dyn")
    figures.region_weights(metrics, "m", ["rest"], {}, tmp_path / "w")
    reward_ax = drawn["dyn"].axes[0]
    assert reward_ax.get_xlabel() == "rollout"
    assert list(reward_ax.lines[0].get_xdata()) == [1, 2] and list(reward_ax.lines[0].get_ydata()) == [1.5, 5.5]
    weight_ax = drawn["w"].axes[0]
    assert weight_ax.get_xlabel() == "rollout" and list(weight_ax.lines[0].get_ydata()) == pytest.approx([0.602, 0.604])


def test_write_report_end_to_end(tmp_path):
    scores = [
        write_scores(tmp_path, "tiny", "base", None, "apibank", dict(zip(APIBANK, [0, 0, 0, 0.0]))),
        write_scores(tmp_path, "tiny", "rest", 0, "apibank", dict(zip(APIBANK, [25.0, 0, 0, 2.5]))),
        write_scores(tmp_path, "tiny", "rest", 0, "bfcl", {"Base": 50.0, "Irrelevance Detection": 100.0}),
    ]
    log = [{"step": s, "reward": -4 + s, "entropy": 8.0 - s, "completion_length": 32,
            "entropy_by_region": {"THINK": 7.0, "NAME": 6.0},
            "region_weights": {"FORMAT": 1.0 - 0.1 * s, "THINK": 1.0 + 0.1 * s}} for s in (1, 2, 3)]
    run = write_run(tmp_path, "tiny", "rest", 0, log)
    data = tmp_path / "raw"
    data.mkdir()
    (data / "a.json").write_text("{}")
    out = tmp_path / "report"
    cfg = json.dumps({"models": {"tiny": {"source": "tiny", "paper_model": "Qwen3-4B-2507"}}})
    rc = subprocess.run([sys.executable, "-m", "rest", "report", "--scores", *map(str, scores),
                         "--runs", str(run), "--run-config", cfg,
                         "--data-dir", str(data), "--output", str(out)], check=False, capture_output=True, text=True)
    assert rc.returncode == 0, rc.stderr
    for table in set(paper_results()["table"]):
        for ext in ("csv", "md", "tex"):
            assert (out / "tables" / f"{table}.{ext}").stat().st_size > 0
    for stem in ("accuracy_tiny", "training_dynamics_tiny", "region_weights_tiny"):
        for ext in ("png", "pdf"):
            assert (out / "figures" / f"{stem}.{ext}").stat().st_size > 1000
    frame = pd.read_csv(out / "tables" / "apibank_qwen3__tiny.csv").set_index("method")
    assert frame.loc["ResT", "Level 1 Acc ours"] == 25.0
    assert frame.loc["Base", "Overall Acc ours"] == 0.0
    assert pd.isna(frame.loc["SFT", "Overall Acc ours"])
    index = (out / "index.md").read_text()
    assert "tables/apibank_qwen3.md" in index and "figures/region_weights_tiny.png" in index
    assert "tables/paired_differences.md" in index  # empty here: no per-item results to pair
    assert "| trl | " in index and "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" in index
    assert "paper_model: Qwen3-4B-2507" in index
    assert "63.65" in (out / "audit.md").read_text()


def test_report_cli_bad_input_exits_2(tmp_path):
    bad = tmp_path / "eval" / "m" / "rest" / "seed0" / "apibank" / "scores.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json")
    rc = subprocess.run([sys.executable, "-m", "rest", "report", "--scores", str(bad),
                         "--output", str(tmp_path / "out")], check=False, capture_output=True, text=True)
    assert rc.returncode == 2
    assert rc.stderr.startswith("error: ") and "scores.json:1" in rc.stderr


def test_report_discovers_results_folder(tmp_path):
    write_scores(tmp_path, "tiny", "rest", 0, "apibank", dict(zip(APIBANK, [25.0, 0, 0, 2.5])))
    rc = subprocess.run([sys.executable, "-m", "rest", "report", "--results", str(tmp_path)],
                        check=False, capture_output=True, text=True)
    assert rc.returncode == 0, rc.stderr
    assert "2 published rows depart" in rc.stdout
    # without a run config, tiny stands in for no paper model: its tables carry no paper values
    frame = pd.read_csv(tmp_path / "report" / "tables" / "apibank_qwen3__tiny.csv").set_index("method")
    assert frame["Overall Acc paper"].isna().all()
    assert frame.loc["ResT", "Overall Acc ours"] == 2.5
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["scores"] == 1 and summary["published_rows_departing"] == 2


def test_fig2_bars_take_the_paper_values_of_the_stood_in_model(tmp_path):
    """The paper's bar beside ours: Qwen3-4B-2507's ResT is 68.68 on API-Bank and 50.38 on BFCL
    multi-turn (printed as its table's Overall Acc); the figure fits a page."""
    from matplotlib.image import imread

    from rest.report.build import paper_bar_values
    from rest.report.figures import accuracy_bars

    _, labels, _ = method_registry()
    values = paper_bar_values(paper_results(), "Qwen3-4B-2507", labels)
    assert values[("apibank", "Overall Acc", "rest")] == 68.68
    assert values[("bfcl", "Multi Turn Acc", "rest")] == 50.38
    assert values[("bfcl", "Multi Turn Acc", "grpo")] == 41.62
    assert paper_bar_values(paper_results(), None, labels) == {}
    scores = load_scores([write_scores(tmp_path, "tiny", "rest", 0, "apibank", {"Overall Acc": 2.5})])
    png, _ = accuracy_bars(scores, "tiny", [("apibank", "Overall Acc"), ("bfcl", "Multi Turn Acc")],
                           list(labels), labels, tmp_path / "acc", values, "Qwen3-4B-2507")
    height, width = imread(png).shape[:2]
    assert width <= 1600 and height <= 1000
