"""Scoring throughput (entries/s) on precomputed predictions: API-Bank, BFCL-AST, BFCL multi-turn.

    python benchmarks/bench_eval.py [--data-dir DIR] [--repeats 3] [--multi-turn 20]

Predictions are built without a model: every gold answer written in our completion format
(so the checkers run their full, successful path) plus, for API-Bank, one garbage output
per item. Times are the best of ``--repeats`` runs, all measured in this one process.
"""

from __future__ import annotations

import argparse
import sys
import time


def best_rate(fn, n_entries: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n_entries / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--multi-turn", type=int, default=20, help="multi_turn_base entries to replay")
    args = parser.parse_args()

    from rest.eval import apibank, bfcl
    from rest.eval import bfcl_multiturn as mt
    from rest.eval.bfcl_reference import multi_turn_call, reference_completion
    from rest.formats import render_completion
    from rest.io import resolve_data_dir

    levels = apibank.load_levels(resolve_data_dir(args.data_dir))
    predictions = []
    for lv, items in levels.items():
        for i, item in enumerate(items):
            answer = item["answer"][0] if isinstance(item["answer"], list) else item["answer"]
            predictions.append({"level": lv, "index": i, "completion": render_completion("t", [answer], None)})
            predictions.append({"level": lv, "index": i, "completion": "<think> hmm </think>\n{not json"})
    rate_apibank = best_rate(lambda: apibank.score_predictions(predictions, levels), len(predictions), args.repeats)

    bfcl.load_bfcl()  # import cost (~10 s) is not scoring
    cases = [c for cat in bfcl.AST_NON_LIVE + bfcl.AST_LIVE for c in bfcl.load_cases(cat)]
    completions = [reference_completion(c) for c in cases]

    def score_ast():
        return [bfcl.score_single_turn(c, t) for c, t in zip(cases, completions)]

    rate_ast = best_rate(score_ast, len(cases), args.repeats)
    valid = sum(v["valid"] for v in score_ast())

    replays = []
    for case in bfcl.load_cases("multi_turn_base", args.multi_turn):
        episode = mt.Episode(case)
        for turn in case.answer:
            if turn:
                episode.feed(render_completion("t", [multi_turn_call(c, episode.methods) for c in turn], None))
            episode.feed(render_completion("t", None, "done"))
        replays.append((case, episode.calls))
    rate_mt = best_rate(lambda: [mt.score_multi_turn(c, calls) for c, calls in replays], len(replays), args.repeats)

    print(f"API-Bank scoring:          {rate_apibank:10.0f} entries/s  ({len(predictions)} predictions)")
    print(f"BFCL-AST scoring:          {rate_ast:10.0f} entries/s  ({len(cases)} entries, {valid} valid)")
    print(f"BFCL multi-turn scoring:   {rate_mt:10.1f} entries/s  ({len(replays)} multi_turn_base replays)")
    print(f"ratio API-Bank / BFCL-AST: {rate_apibank / rate_ast:10.1f}x")


if __name__ == "__main__":
    from rest.cli import exit_status

    sys.exit(exit_status(main))
