"""Build the RL, SFT and validation sets (rlla records) from raw records.

Route ``published`` reads ToolRL's corpus from the data directory: RL prompts from
rlla_sft.json (default, with the distilled thoughts replaced by the placeholder
thought) or from the full rlla_rl.json / its parquet split (--rl-from rlla_rl, the
paper config), split 3,920/80 exactly as ToolRL does. Route ``rebuild`` converts ToolACE,
xLAM and Hammer-masked xLAM into rlla records, splits multi-turn dialogues into one
instance per assistant step, mixes 2k/1k/1k with a seed and then splits like ToolRL.

Writes rl_train.jsonl, rl_val.jsonl, sft.jsonl and curation_report.json into --output.
A malformed record stops curation with its file, index and reason; with --no-strict it
is dropped and counted in the report.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--route", choices=["published", "rebuild"], default="published")
    parser.add_argument("--data-dir", default=None, help="raw data folder (default: $REST_DATA_DIR)")
    parser.add_argument("--output", required=True, help="folder for the curated sets and report")
    parser.add_argument("--seed", type=int, default=0, help="seed for subsets, masking and mixing")
    parser.add_argument("--rl-limit", type=int, default=None, help="keep a seeded subset of N RL records")
    parser.add_argument("--sft-limit", type=int, default=None, help="keep a seeded subset of N SFT records")
    parser.add_argument("--val-limit", type=int, default=None, help="keep a seeded subset of N validation records")
    parser.add_argument("--no-strict", dest="strict", action="store_false",
                        help="drop malformed records (counted in the report) instead of stopping")
    pub = parser.add_argument_group("route published")
    pub.add_argument("--rl-from", choices=["rlla_sft", "rlla_rl"], default="rlla_sft",
                     help="RL prompts: the 400 rlla_sft records (tiny) or the full 4k rlla_rl corpus (paper)")
    pub.add_argument("--rl-file", default=None,
                     help="explicit rlla_rl.json, or the train.parquet of its split (default: from the data dir)")
    reb = parser.add_argument_group("route rebuild")
    reb.add_argument("--toolace", default=None, help="ToolACE data.json (default: from the data dir)")
    reb.add_argument("--xlam", default=None, help="xLAM-60k json (default: from the data dir)")
    reb.add_argument("--hammer", default=None,
                     help="Hammer's masked SFT file; without it the xLAM items are masked here")
    reb.add_argument("--toolace-size", type=int, default=2000)
    reb.add_argument("--hammer-size", type=int, default=1000)
    reb.add_argument("--xlam-size", type=int, default=1000)
    reb.add_argument("--mask-prob", type=float, default=2 / 3, help="chance an item is masked (Hammer: 2/3)")


def run(args: argparse.Namespace) -> int:
    import json

    from rest.curation.pipeline import curate
    from rest.io import check_output_folder

    check_output_folder(args.output)
    rebuild = args.route != "published"
    report = curate(
        args.output, data_dir=args.data_dir, route=args.route, seed=args.seed, strict=args.strict,
        rl_from=args.rl_from, rl_file=args.rl_file,
        sizes={"toolace": args.toolace_size, "hammer": args.hammer_size, "xlam": args.xlam_size} if rebuild else None,
        mask_prob=args.mask_prob if rebuild else 2 / 3,
        sources={"toolace": args.toolace, "xlam": args.xlam, "hammer": args.hammer} if rebuild else None,
        limits={"rl_train": args.rl_limit, "rl_val": args.val_limit, "sft": args.sft_limit})
    print(json.dumps({"route": report["route"], "counts": report["counts"], "dropped": report["dropped"]}, indent=2))
    return 0
