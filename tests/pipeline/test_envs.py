"""Every package a rule's code imports is in the conda env that rule declares (envs/*.yaml).

A rule runs ``python -m rest COMMAND`` (or ``accelerate launch ... -m rest COMMAND``); the
packages it needs are the third-party imports of ``rest.commands.COMMAND`` and of every
``rest`` module it reaches, function-local imports included, plus what its launcher and
config switches load (DeepSpeed under a ZeRO config, vLLM when the recipe rolls out with it,
the package a GGUF model ships in).
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml
from pipeline_helpers import REPO, snakemake


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lines) -> set[str]:
    return {_norm(re.split(r"[=<>\[ ]", line.strip())[0]) for line in lines
            if line.strip() and not line.strip().startswith("#")}


@cache
def env_packages(env_file: Path) -> frozenset[str]:
    """pip packages of an env, plus what its post-deploy script installs."""
    env = yaml.safe_load(env_file.read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    found = _pins(pip)
    post = env_file.with_name(env_file.name.replace(".yaml", ".post-deploy.sh"))
    for req in re.findall(r"-r (\S+)", post.read_text() if post.exists() else ""):
        found |= _pins((REPO / req).read_text().splitlines())
    return frozenset(found)


def _module_file(name: str) -> Path | None:
    base = REPO / Path(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


@cache
def third_party_imports(module: str) -> frozenset[str]:
    """Top-level third-party modules imported by ``module`` and the rest modules it reaches."""
    seen, todo, found = set(), [module], set()
    while todo:
        name = todo.pop()
        path = _module_file(name)
        if name in seen or path is None:
            continue
        seen.add(name)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for n in names:
                top = n.split(".")[0]
                if top == "rest":
                    todo.append(n)
                elif top not in sys.stdlib_module_names and top != "__future__":
                    found.add(top)
    return frozenset(found)


@cache
def distribution(module: str) -> str:
    """The pip distribution of a top-level module (its own name when not installed here)."""
    dists = importlib.metadata.packages_distributions().get(module)
    return _norm(dists[0]) if dists else _norm(module)


def rule_envs() -> dict[str, Path]:
    """Rule name (a regex for rules named in a loop) -> the env file of its ``conda:`` directive."""
    out = {}
    for smk in (REPO / "workflow/rules").glob("*.smk"):
        text = smk.read_text()
        names = [(m.start(), re.escape(m.group(1)) if m.group(1) else
                  re.escape(m.group(2)).replace(r"\{bench\}", r"\w+").replace("\\{", "{"))
                 for m in re.finditer(r'^rule (\w+):|^\s+f"(\w+_\{bench\})"', text, re.MULTILINE)]
        for m in re.finditer(r'conda:\s*\n\s*"([^"]+)"', text):
            rule = max((n for n in names if n[0] < m.start()), key=lambda n: n[0])[1]
            out[rule] = (smk.parent / m.group(1)).resolve()
    return out


@cache
def dry_run_jobs(configfile: str) -> list[tuple[str, str]]:
    """(rule, shell command) of every job of a dry run."""
    proc = snakemake("-n", "-p", "--forceall", "--configfile", configfile, check=True)
    jobs = []
    for block in proc.stdout.split("\nrule ")[1:]:
        rule = block.split(":", 1)[0].strip()
        shell = re.search(r"Shell command: (.*-m rest .*)", block)
        if shell:
            jobs.append((rule, shell.group(1)))
    return jobs


def needed(rule: str, shell: str, config: dict) -> set[str]:
    command = re.search(r"-m rest ([a-z-]+)", shell).group(1).replace("-", "_")
    modules = set(third_party_imports(f"rest.commands.{command}"))
    if "accelerate launch" in shell:
        modules.add("accelerate")
        if "zero" in shell:
            modules.add("deepspeed")
    if rule == "train" and "--method" in shell:
        recipe = yaml.safe_load((REPO / config["recipe"]).read_text())
        if (recipe.get("grpo") or {}).get("use_vllm"):
            modules.add("vllm")  # TRL imports it for rollouts
    if rule == "build_model" and " gguf " in shell:
        package = re.search(r"--name (\S+)", shell).group(1).split("/")[0]
        if not Path(package).exists():
            modules.add(package)
    return {distribution(m) for m in modules}


# The paper matrix has every rule and the multi-GPU launcher; smol adds a GGUF model.
@pytest.mark.parametrize("configfile", ["config/paper.yaml", "config/smol.yaml"])
def test_every_rule_env_has_what_its_code_imports(configfile):
    config = yaml.safe_load((REPO / configfile).read_text())
    envs = rule_envs()
    checked = set()
    for rule, shell in dry_run_jobs(configfile):
        env = next((e for pattern, e in envs.items() if re.fullmatch(pattern, rule)), None)
        assert env is not None, f"rule {rule} declares no conda env"
        missing = needed(rule, shell, config) - env_packages(env)
        assert not missing, f"rule {rule} ({shell[:60]}...) needs {sorted(missing)} missing from {env.name}"
        checked.add(rule)
    assert {"fetch_data", "curate", "build_model", "train", "eval_apibank", "eval_bfcl", "report"} <= checked


def test_the_check_sees_lazy_imports():
    """Imports inside functions count: vLLM and bfcl-eval are imported only when used."""
    assert {"vllm", "bfcl_eval", "torch", "transformers"} <= third_party_imports("rest.commands.eval")
    assert {"trl", "datasets", "accelerate"} & third_party_imports("rest.commands.train")
    assert "gguf" in third_party_imports("rest.commands.build_model")
    assert "vllm" not in env_packages(REPO / "envs/rest.yaml")
    assert {"vllm", "deepspeed", "bfcl-eval", "gguf"} <= env_packages(REPO / "envs/rest-gpu.yaml")
