"""Mixing per-source pools: sizes, seed, de-duplication on (prompt, ground truth)."""

from rest.curation.mix import mix
from rest.curation.records import make_record


def pool(source, n, start=0):
    return [make_record(f"{source}:{i}", source, "sys", f"in {i}", f"out {i}") for i in range(start, start + n)]


def test_sizes_seed_and_report():
    pools = {"toolace": pool("toolace", 50), "hammer": pool("hammer", 30, 100), "xlam": pool("xlam", 30, 200)}
    sizes = {"toolace": 20, "hammer": 10, "xlam": 10}
    mixed, report = mix(pools, sizes, seed=1)
    assert len(mixed) == 40
    assert {s: sum(r["source"] == s for r in mixed) for s in sizes} == sizes
    assert mix(pools, sizes, seed=1) == (mixed, report)
    assert mix(pools, sizes, seed=2)[0] != mixed
    assert report["toolace"] == {"available": 50, "requested": 20, "taken": 20, "duplicates_skipped": 0, "shortfall": 0}


def test_duplicates_across_and_within_sources_are_skipped_and_counted():
    shared = pool("toolace", 10)
    pools = {"toolace": shared + shared, "xlam": [{**r, "source": "xlam"} for r in shared] + pool("xlam", 5, 50)}
    mixed, report = mix(pools, {"toolace": 20, "xlam": 20}, seed=0)
    keys = [(r["instruction"], r["input"], r["output"]) for r in mixed]
    assert len(keys) == len(set(keys)) == 15
    assert report["toolace"] == {"available": 20, "requested": 20, "taken": 10, "duplicates_skipped": 10, "shortfall": 10}
    assert report["xlam"] == {"available": 15, "requested": 20, "taken": 5, "duplicates_skipped": 10, "shortfall": 15}
