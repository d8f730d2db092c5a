"""Mix per-source pools into one corpus with a seed, de-duplicated on (prompt, ground truth)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any


def dedup_key(record: Mapping[str, str]) -> tuple[str, str, str]:
    return record["instruction"], record["input"], record["output"]


def mix(pools: Mapping[str, Sequence[dict[str, Any]]], sizes: Mapping[str, int], seed: int
        ) -> tuple[list[dict[str, Any]], dict[str, dict[str, int]]]:
    """Sample ``sizes[source]`` records from each pool, skipping duplicates.

    Sources are drawn in the order of ``sizes``; a record equal (prompt and ground truth)
    to one already taken, from any source, is skipped and the next candidate tried, so a
    large enough pool still yields its full size. A pool that runs short gives what it
    has, and the report says so. The result is shuffled with the same seed.
    """
    rng = random.Random(seed)
    seen: set[tuple[str, str, str]] = set()
    taken: list[dict[str, Any]] = []
    report: dict[str, dict[str, int]] = {}
    for source, size in sizes.items():
        if size < 0:
            raise ValueError(f"size for {source} must be >= 0, got {size}")
        pool = list(pools.get(source, ()))
        order = list(range(len(pool)))
        rng.shuffle(order)
        got = dups = 0
        for i in order:
            if got == size:
                break
            key = dedup_key(pool[i])
            if key in seen:
                dups += 1
                continue
            seen.add(key)
            taken.append(pool[i])
            got += 1
        report[source] = {"available": len(pool), "requested": size, "taken": got,
                          "duplicates_skipped": dups, "shortfall": size - got}
    rng.shuffle(taken)
    return taken, report
