"""Write the paper's tables, figures and an index from the run's score files and training logs.

Score files are found by their place in the results layout:
``eval/{model}/{method}/seed{N}/{benchmark}/scores.json`` (``eval/{model}/base/{benchmark}/``
for the untrained model) and ``runs/{model}/{method}/seed{N}/metrics.jsonl``.
Writes CSV, Markdown and LaTeX tables, PNG and PDF figures, an audit of the published
tables and ``index.md`` into ``--output``.
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scores", nargs="*", default=[], metavar="FILE",
                   help="scores.json files written by `rest eval`")
    p.add_argument("--metrics", nargs="*", default=[], metavar="FILE",
                   help="metrics.jsonl files written by `rest train`")
    p.add_argument("--run-config", metavar="FILE_OR_JSON",
                   help="the workflow's resolved config (a YAML/JSON file, or inline JSON)")
    p.add_argument("--data-dir", metavar="DIR",
                   help="raw inputs of the run; their sha256 sums go into the index")
    p.add_argument("--results", metavar="DIR",
                   help="find every eval/**/scores.json and runs/**/metrics.jsonl under DIR "
                        "(in addition to --scores/--metrics)")
    p.add_argument("--output", metavar="DIR", help="report folder (default: RESULTS/report)")
    p.add_argument("--sections", nargs="*", default=[], metavar="FILE.md",
                   help="Markdown sections of other studies, inserted into index.md (links relative "
                        "to the report folder)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rest.io import InputError, check_output_folder
    from rest.report.build import write_report

    scores, metrics = list(args.scores), list(args.metrics)
    if args.results:
        root = Path(args.results)
        if not root.is_dir():
            raise InputError(f"--results {root}: not a folder")
        scores += sorted(map(str, (root / "eval").rglob("scores.json")))
        metrics += sorted(map(str, (root / "runs").rglob("metrics.jsonl")))
        if not scores and not metrics:
            raise InputError(f"--results {root}: no scores.json under eval/ and no metrics.jsonl under runs/")
    if not scores and not metrics:
        raise InputError("nothing to report: give --scores, --metrics or --results")
    output = args.output or (Path(args.results) / "report" if args.results else None)
    if output is None:
        raise InputError("give --output (or --results, which writes RESULTS/report)")
    check_output_folder(output)
    summary = write_report(scores=scores, metrics=metrics, run_config=args.run_config,
                           data_dir=args.data_dir, output=output, sections=args.sections)
    print(f"report: {len(summary['tables'])} table files, {len(summary['figures'])} figures, "
          f"{summary['published_rows_departing']} published rows depart from their identities -> {output}")
    return 0
