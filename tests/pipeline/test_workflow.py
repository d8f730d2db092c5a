"""The workflow's static checks: lint, schema, the paper matrix's job counts, envs, profiles."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml
from pipeline_helpers import REPO, SMOKE, job_counts, snakemake

from rest.report.tables import VARIANT_ROWS, paper_results
from rest.methods import METHODS


def test_lint_is_clean():
    proc = snakemake("--lint")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Lints for" not in proc.stdout + proc.stderr


def test_paper_dry_run_lists_every_job():
    """Counts derived from the paper's tables, not from config/paper.yaml's own lists."""
    paper = paper_results()
    published = paper[paper.method != "Closed model"]
    models = set(published.model)
    labels = {m.display: m.name for m in METHODS.values()}
    main_methods = set(published[published.table != "ablation_apibank"].method)
    ablation = published[published.table == "ablation_apibank"]
    ablation_methods = set(ablation.method) - main_methods
    ablation_models = set(ablation.model)
    seeds = len(yaml.safe_load((REPO / "config/paper.yaml").read_text())["seeds"])
    assert (len(models), len(main_methods), len(ablation_models), len(ablation_methods)) == (5, 7, 3, 3)
    assert all(label in labels for label in main_methods | ablation_methods)

    # plus the rows the paper publishes no number for: ResT with the entropy rule beside ResT
    variants = {labels[v] for vs in VARIANT_ROWS.values() for v in vs}
    assert variants == {"rest_entropy"}
    trainings = (len(models) * (len(main_methods) - 1 + len(variants)) * seeds
                 + len(ablation_models) * len(ablation_methods) * seeds)
    proc = snakemake("-n", "--configfile", "config/paper.yaml")
    assert proc.returncode == 0, proc.stderr
    counts = job_counts(proc.stdout)
    assert counts["train"] == trainings == 132
    runs = set(re.findall(r"wildcards: model=(\S+), method=(\w+), seed=(\d+)", proc.stdout))
    for model in models:
        for seed in range(seeds):
            assert {(model, "rest", str(seed)), (model, "rest_entropy", str(seed))} <= runs
    assert counts["build_model"] == len(models)
    for bench in ("apibank", "bfcl"):
        assert counts[f"eval_{bench}"] == trainings
        assert counts[f"eval_{bench}_base"] == len(models)
    assert counts["fetch_data"] == counts["curate"] == counts["report"] == 1


def test_smoke_dry_run_is_the_tiny_matrix():
    proc = snakemake("-n", "--quiet", "rules", "--configfile", SMOKE)
    counts = job_counts(proc.stdout)
    assert counts["build_model"] == 1 and counts["train"] == 10 and counts["eval_bfcl"] == 10


@pytest.mark.parametrize("override, message", [
    ("bogus_key=1", "Additional properties are not allowed ('bogus_key' was unexpected)"),
    ("eval={'backend':'tgi','apibank':{'enabled':True},'bfcl':{'enabled':True}}", "'tgi' is not one of"),
    ("seeds=[]", "should be non-empty"),
])
def test_schema_rejects_bad_config(override, message):
    proc = snakemake("-n", "--configfile", SMOKE, "--config", override)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr


def test_unknown_method_is_named():
    proc = snakemake("-n", "--configfile", SMOKE, "--config", "methods=['base','ppo']")
    assert proc.returncode != 0
    assert "config methods: unknown method 'ppo'" in proc.stdout + proc.stderr


def _requirement_name(req: str) -> str:
    return req.split("==")[0].split(">=")[0].split("<")[0].strip().lower().replace("_", "-")


def test_conda_envs_in_step_with_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = project["dependencies"] + extras["eval"] + extras["slurm"]
    for name, pins in (("rest", wanted), ("rest-gpu", wanted + extras["vllm"])):
        env = yaml.safe_load((REPO / f"envs/{name}.yaml").read_text())
        pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
        assert sorted(pip) == sorted(pins), f"envs/{name}.yaml's pip list differs from pyproject.toml"
        python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
        assert project["requires-python"] == ">=" + python.split("=")[1]
        assert "-r envs/no-deps.txt" in (REPO / f"envs/{name}.post-deploy.sh").read_text()
    for rules in (REPO / "workflow/rules").glob("*.smk"):
        for line in rules.read_text().splitlines():
            if line.strip().startswith('"../../envs/'):
                assert (rules.parent / line.strip().strip('"')).resolve().is_file()


def test_slurm_profile_sets_resources_for_every_rule():
    """The profile maps partitions; GPUs come from the rules (the models' resources), never the profile."""
    assert not (REPO / "profiles/default").exists(), "an empty profiles/default breaks snakemake"
    profile = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    rules = set(snakemake("--list-rules", check=True).stdout.split()) - {"all"}
    assert rules <= set(profile["set-resources"])
    for rule, res in profile["set-resources"].items():
        gpu = rule == "train" or rule.startswith("eval_")
        assert res.get("slurm_partition") == ("gpu" if gpu else None) or not gpu, rule
        assert "gpu" not in res and "gres" not in res, rule
    assert profile["executor"] == "slurm"
    assert profile["slurm-status-command"] == "squeue"


def test_paper_training_launches_eight_processes_on_one_node():
    """Every paper-model training job: accelerate launch, 8 processes, its ZeRO config, 8 GPUs on one node."""
    cfg = yaml.safe_load((REPO / "config/paper.yaml").read_text())
    proc = snakemake("-n", "-p", "--forceall", "--configfile", "config/paper.yaml")
    assert proc.returncode == 0, proc.stderr
    jobs = [j.split("\n\n")[0] for j in proc.stdout.split("rule train:")[1:]]
    assert len(jobs) == 132
    for job in jobs:
        model = re.search(r"wildcards: model=([^,]+),", job).group(1)
        stage = cfg["models"][model]["train"]["zero_stage"]
        assert (f"accelerate launch --num_processes 8 --num_machines 1 --config_file "
                f"config/accelerate/zero{stage}.yaml -m rest train") in job
        assert re.search(r"resources: .*gpu=8, .*nodes=1", job), job
    # Paper runs keep the released arithmetic whatever the per-device batch: 256 per update.
    assert "gradient_accumulation_steps" not in proc.stdout


def test_rebuild_route_is_one_config_switch(tmp_path):
    """Route 2 (rebuild the 4k mix from the raw corpora) reaches `rest curate` and data fetch."""
    cfg = yaml.safe_load((REPO / "config/paper.yaml").read_text())
    cfg["data_files"] = "rebuild"
    cfg["curate"] = {"route": "rebuild", "seed": 3, "toolace_size": 20, "hammer_size": 10, "xlam_size": 10}
    path = tmp_path / "rebuild.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = snakemake("curate", "fetch_data", "-n", "-p", "--forceall", "--configfile", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "rest data fetch --config rebuild" in proc.stdout
    curate = next(line for line in proc.stdout.splitlines() if "python -m rest curate" in line)
    for flag in ("--route rebuild", "--seed 3", "--toolace-size 20", "--hammer-size 10", "--xlam-size 10"):
        assert flag in curate


def test_config_readme_is_generated_from_the_schema():
    """config/README.md documents every schema key; regenerate it with scripts/config_readme.py."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, str(REPO / "scripts/config_readme.py"), "--check"], check=False,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    readme = (REPO / "config/README.md").read_text()
    for key in ("`results`", "`curate.route`", "`models.<name>.paper_model`", "`eval.bfcl.max_steps_per_turn`"):
        assert key in readme
