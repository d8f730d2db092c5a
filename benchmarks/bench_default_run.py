"""Wall time of the default run (`snakemake --cores 2`, config/config.yaml) from a fresh copy.

    REST_DATA_DIR=/path/to/data python benchmarks/bench_default_run.py [--cores 2] [--repeats 1]
        [--output bench_default_run.json] [--keep DIR]

Copies the working tree as git sees it (tracked and unignored files, no results/) into a
temporary folder, runs the whole default DAG there, and reports the wall time of each
repeat, the CPU time and wall time summed per study (the paper smoke versus the testbed
study) from Snakemake's own per-job benchmark files, the slowest jobs, and the load
average before and after: a number taken on a busy machine says so. Run it on a quiet
machine; the README quotes its result. Target: <= 600 s on 2 cores.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def copy_tree(dest: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                           cwd=REPO, capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, files):
        src = REPO / name
        if src.is_file() and not name.startswith("results/"):
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def job_times(results: Path) -> list[dict]:
    """Every job's wall and CPU seconds from Snakemake's ``benchmark:`` files."""
    rows = []
    for path in sorted((results / "benchmarks").rglob("*.tsv")):
        with path.open() as f:
            for rec in csv.DictReader(f, delimiter="\t"):
                job = path.relative_to(results / "benchmarks").with_suffix("").as_posix()
                rows.append({"job": job, "study": "testbed" if job.startswith("testbed/") else "paper",
                             "wall_s": float(rec["s"]), "cpu_s": float(rec["cpu_time"])})
    return rows


def one_run(cores: int, keep: Path | None) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="rest-bench-"))
    tree = copy_tree(tmp / "repo")
    load_before = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.run(["snakemake", "--cores", str(cores)], cwd=tree, capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - start
    load_after = os.getloadavg()
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"snakemake failed (exit {proc.returncode}); tree kept at {tree}")
    jobs = job_times(tree / "results")
    by_study = {s: {"jobs": sum(j["study"] == s for j in jobs),
                    "wall_s": round(sum(j["wall_s"] for j in jobs if j["study"] == s), 1),
                    "cpu_s": round(sum(j["cpu_s"] for j in jobs if j["study"] == s), 1)}
                for s in ("paper", "testbed")}
    result = {"wall_s": round(wall, 1), "load_before": load_before, "load_after": load_after,
              "by_study": by_study, "slowest_jobs": sorted(jobs, key=lambda j: -j["wall_s"])[:8]}
    if keep:
        shutil.copytree(tree / "results", keep, dirs_exist_ok=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--output", type=Path, default=Path("bench_default_run.json"))
    p.add_argument("--keep", type=Path, help="copy the run's results/ here (the last repeat)")
    args = p.parse_args(argv)
    if not os.environ.get("REST_DATA_DIR"):
        raise SystemExit("set REST_DATA_DIR to the raw data folder first")
    runs = [one_run(args.cores, args.keep) for _ in range(args.repeats)]
    walls = [r["wall_s"] for r in runs]
    report = {"cores": args.cores, "cpu_count": os.cpu_count(), "wall_s": walls,
              "wall_median_s": statistics.median(walls), "target_s": 600, "runs": runs}
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"default run: median {report['wall_median_s']:.0f} s over {len(walls)} run(s) on {args.cores} cores "
          f"(target 600 s); load average before/after {runs[-1]['load_before'][0]:.1f}/"
          f"{runs[-1]['load_after'][0]:.1f}; per study: {json.dumps(runs[-1]['by_study'])} -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
