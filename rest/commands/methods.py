"""List the training methods and what each trains with.

Without options, one line per method. With --json, one JSON list of objects with the keys
name, display, trainer, weighting (uniform, released or paper), dynamic_reward,
cot_gradients, curriculum and init_from; a key is null where its switch does not apply.
dynamic_reward of GRPO and SFT+GRPO is the default of the recipe switch
baseline_dynamic_reward. See docs/method.md.
"""

from __future__ import annotations

import json


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON list")


def run(args) -> int:
    from rest.methods import METHODS, describe

    rows = [describe(m) for m in METHODS.values()]
    if args.json:
        print(json.dumps(rows))
        return 0
    keys = list(rows[0])
    print("\t".join(keys))
    for row in rows:
        print("\t".join("-" if row[k] is None else str(row[k]) for k in keys))
    return 0
