"""Score completions with the rule reward (paper Eq. 10-14).

Input: JSON Lines, one object per line:
  {"completion": str, "ground_truth": str, "step": int, "dynamic": bool}
("step" defaults to 0 and "dynamic" to true). Output: one JSON line per input, in order:
  {"format": float, "correctness": float, "total": float}
"""

from __future__ import annotations

import json
import sys

from rest.io import InputError, iter_jsonl, require_keys
from rest.rewards import DEFAULT_HORIZON, compute_reward

#: Any real rollout count is far below this; larger ones cannot become a float progress.
MAX_STEP = 10**12


def add_arguments(parser) -> None:
    parser.add_argument("file", help="JSONL file of completions and ground truths ('-' for stdin)")
    parser.add_argument("--horizon", type=int, default=DEFAULT_HORIZON,
                        help="steps H over which the dynamic ranges move (default %(default)s)")


def run(args) -> int:
    if args.horizon <= 0:
        raise InputError(f"--horizon must be positive, got {args.horizon}")
    out = []
    for where, row in iter_jsonl(args.file):
        require_keys(row, {"completion": str, "ground_truth": str}, where)
        step, dynamic = row.get("step", 0), row.get("dynamic", True)
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEP:
            shown = step if not isinstance(step, int) or abs(step) < 10**18 else f"an integer of {len(str(step))} digits"
            raise InputError(f"{where}: key 'step' must be an integer from 0 to {MAX_STEP}, got {shown!r}")
        if not isinstance(dynamic, bool):
            raise InputError(f"{where}: key 'dynamic' must be true or false, got {dynamic!r}")
        r = compute_reward(row["completion"], row["ground_truth"], step=step, dynamic=dynamic, horizon=args.horizon)
        out.append(json.dumps(r.as_dict()))
    sys.stdout.write("".join(line + "\n" for line in out))
    return 0
