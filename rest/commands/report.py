"""Write the paper's tables, figures and an index from the run's score files and training logs.

Each score file and each run's summary.json names the run it belongs to (docs/scores.md);
the report reads those identities, never the files' places. Writes CSV, Markdown and LaTeX tables, PNG and PDF figures, an audit of the published
tables and ``index.md`` into ``--output``.
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scores", nargs="*", default=[], metavar="FILE",
                   help="scores.json files written by `rest eval`")
    p.add_argument("--runs", nargs="*", default=[], metavar="FILE",
                   help="summary.json files written by `rest train` (their training logs are read)")
    p.add_argument("--run-config", metavar="FILE_OR_JSON",
                   help="the workflow's resolved config (a YAML/JSON file, or inline JSON)")
    p.add_argument("--data-dir", metavar="DIR",
                   help="raw inputs of the run; their sha256 sums go into the index")
    p.add_argument("--results", metavar="DIR",
                   help="find every eval/**/scores.json and runs/**/summary.json under DIR "
                        "(in addition to --scores/--runs)")
    p.add_argument("--output", metavar="DIR", help="report folder (default: RESULTS/report)")
    p.add_argument("--testbed-scores", nargs="*", default=[], metavar="FILE",
                   help="the testbed study's scores.json files (`rest eval testbed`): adds its section")
    p.add_argument("--testbed-runs", nargs="*", default=[], metavar="FILE",
                   help="the testbed study's training summary.json files (its curves)")
    p.add_argument("--testbed-variance", metavar="FILE", help="the testbed study's variance.json (`rest variance`)")
    p.add_argument("--testbed-warmup", default="sft", help="the testbed's warm-up method (rollout 0 of its curves)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rest.io import InputError, check_output_folder
    from rest.report.build import write_report

    scores, runs = list(args.scores), list(args.runs)
    if args.results:
        root = Path(args.results)
        if not root.is_dir():
            raise InputError(f"--results {root}: not a folder")
        scores += sorted(map(str, (root / "eval").rglob("scores.json")))
        runs += sorted(map(str, (root / "runs").rglob("summary.json")))
        if not scores and not runs:
            raise InputError(f"--results {root}: no scores.json under eval/ and no summary.json under runs/")
    if not scores and not runs:
        raise InputError("nothing to report: give --scores, --runs or --results")
    output = args.output or (Path(args.results) / "report" if args.results else None)
    if output is None:
        raise InputError("give --output (or --results, which writes RESULTS/report)")
    check_output_folder(output)
    summary = write_report(scores=scores, runs=runs, run_config=args.run_config,
                           data_dir=args.data_dir, output=output,
                           testbed={"scores": args.testbed_scores, "runs": args.testbed_runs,
                                    "variance": args.testbed_variance, "warmup": args.testbed_warmup}
                           if args.testbed_scores else None)
    print(f"report: {len(summary['tables'])} table files, {len(summary['figures'])} figures, "
          f"{summary['published_rows_departing']} published rows depart from their identities -> {output}")
    return 0
