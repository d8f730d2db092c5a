"""The tool-call testbed study (docs/method.md §8): its tasks and its report section.

  rest testbed data --output DIR [--seed 0] [--train 2000] [--val 100] [--test 200] [knobs]
  rest testbed report --scores FILE ... --output DIR --figures DIR

Evaluation is ``rest eval testbed``. ``data`` writes DIR/{train,val,test}.jsonl (training records: instruction, input, output, plus the
task's metadata) and DIR/testbed.json (sizes, seed and knobs), written last. The same seed
and knobs give byte-identical files; no prompt appears in two splits.
"""

from __future__ import annotations

import argparse
from dataclasses import fields

from rest.commands.eval import _positive as _count


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    _data_arguments(sub.add_parser("data", help="generate the train, validation and test splits"))
    r = sub.add_parser("report", help="the study's table, intervals against GRPO and figures")
    r.add_argument("--scores", nargs="+", required=True, metavar="FILE",
                   help="scores.json of `rest eval testbed` (warm-up and RL runs; identity inside)")
    r.add_argument("--runs", nargs="*", default=[], metavar="FILE",
                   help="summary.json of the training runs (their metrics.jsonl are read; identity inside)")
    r.add_argument("--output", required=True, help="folder for summary.json and the section's tables")
    r.add_argument("--figures", required=True, help="folder for the figures")
    r.add_argument("--baseline", default="grpo", help="method every other method is compared with")
    r.add_argument("--warmup", default="sft", help="the warm-up method (rollout 0 of every curve)")
    r.add_argument("--variance", help="the variance study's JSON, linked from the section when given")


def _data_arguments(parser: argparse.ArgumentParser) -> None:
    from rest.testbed.tasks import Knobs

    parser.add_argument("--output", required=True, help="folder for the split files")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train", type=_count, default=2000, help="training tasks")
    parser.add_argument("--val", type=_count, default=100, help="validation tasks (training curves)")
    parser.add_argument("--test", type=_count, default=200, help="held-out test tasks (final scores)")
    knobs = parser.add_argument_group("difficulty knobs")
    for f in fields(Knobs):
        knobs.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default,
                           help=f"default {f.default}")


def run(args: argparse.Namespace) -> int:
    if args.action == "report":
        from rest.report.testbed import verdict, write_testbed_report

        summary = write_testbed_report(args.scores, args.runs, args.output, args.figures, args.baseline,
                                       args.warmup, args.variance)
        print("\n".join(verdict(summary)))
        return 0
    return _data(args)


def _data(args: argparse.Namespace) -> int:
    from dataclasses import asdict
    from pathlib import Path

    from rest.io import InputError, atomic_write_json, atomic_write_jsonl
    from rest.testbed.tasks import SPLITS, Knobs, make_splits

    try:
        knobs = Knobs(**{f.name: getattr(args, f.name) for f in fields(Knobs)})
        splits = make_splits({s: getattr(args, s) for s in SPLITS}, args.seed, knobs)
    except ValueError as e:
        raise InputError(f"testbed: {e}") from e
    out = Path(args.output)
    for name, rows in splits.items():
        atomic_write_jsonl(out / f"{name}.jsonl", rows)
    atomic_write_json(out / "testbed.json", {"seed": args.seed, "sizes": {s: len(r) for s, r in splits.items()},
                                             "knobs": asdict(knobs)})
    print(f"testbed: {', '.join(f'{s} {len(r)}' for s, r in splits.items())} -> {out}")
    return 0
