# Job matrix and path helpers shared by the rules. The method list, the paper's labels and
# which run a method starts from come from the training registry, never copied here. Each
# job passes its run's identity (--run-id) to the command, which records it in its outputs.
import json
import os
import shlex

from rest.plan import check as plan_check
from rest.scale import job_resources, launcher, slurm_resources, train_overrides
from rest.identity import BASE, DEFAULT_STUDY, RunIdentity
from rest.methods import METHODS

R = config["results"]

for _key, _names in (("methods", config["methods"]), ("ablations.methods", config["ablations"]["methods"])):
    for _name in _names:
        if _name not in METHODS:
            raise ValueError(f"config {_key}: unknown method {_name!r}; expected one of {', '.join(METHODS)}")
for _name in config["ablations"]["models"]:
    if _name not in config["models"]:
        raise ValueError(f"config ablations.models: {_name!r} is not a key of config models")

wildcard_constraints:
    model=r"[^/]+",
    method=r"[^/]+",
    seed=r"\d+",


def trained_runs():
    """(model, method, seed) for every training job: the main matrix plus the ablations."""
    runs = [(m, meth, s) for m in config["models"] for meth in config["methods"] if meth != BASE
            for s in config["seeds"]]
    runs += [(m, meth, s) for m in config["ablations"]["models"] for meth in config["ablations"]["methods"]
             for s in config["seeds"]]
    return list(dict.fromkeys(runs))


def run_dir(model, method, seed):
    return f"{R}/runs/{model}/{method}/seed{seed}"


def run_summary(model, method, seed):
    return os.path.join(run_dir(model, method, seed), "summary.json")


def run_model_dir(model, method, seed):
    return os.path.join(run_dir(model, method, seed), "model")


def base_model_dir(model):
    return f"{R}/models/{model}/{BASE}"


def run_id(wildcards, study=DEFAULT_STUDY):
    """The job's run identity as `--run-id` takes it (Base: no seed)."""
    method = wildcards.get("method", BASE)
    seed = None if method == BASE else int(wildcards.seed)
    return RunIdentity(study, wildcards.model, method, seed).as_arg()


def benchmarks():
    return [b for b in ("apibank", "bfcl") if config["eval"][b]["enabled"]]


def all_scores():
    """Every scores.json: Base once per model, then each run, for each enabled benchmark."""
    dirs = [f"{R}/eval/{m}/{BASE}" for m in config["models"] if BASE in config["methods"]]
    dirs += [f"{R}/eval/{m}/{meth}/seed{s}" for m, meth, s in trained_runs()]
    return [os.path.join(d, b, "scores.json") for d in dirs for b in benchmarks()]


def all_runs():
    return [run_summary(m, meth, s) for m, meth, s in trained_runs()]


def train_data(wildcards):
    """SFT methods learn from the SFT set, RL methods from the RL training set."""
    kind = "sft" if METHODS[wildcards.method].trainer == "sft" else "rl_train"
    return f"{R}/data/curated/{kind}.jsonl"


def train_init(wildcards):
    """The model a run starts from (the registry's init_from)."""
    if METHODS[wildcards.method].init_from == "sft":
        return run_model_dir(wildcards.model, "sft", wildcards.seed)
    return base_model_dir(wildcards.model)


def parent(path):
    return os.path.dirname(path)


def shell_words(*words):
    """Words of a shell command line, each quoted: no config value can start a command.

    A list stands for several words; None is left out. Every rule builds its options here.
    """
    out = []
    for word in words:
        if word is None:
            continue
        out += [shlex.quote(str(w)) for w in (word if isinstance(word, (list, tuple)) else [word])]
    return " ".join(out)


def cli_flags(options):
    """`--key value` flags for the set options of a config section (True: bare flag)."""
    words = []
    for key, value in options.items():
        if key == "enabled" or value is None or value is False:
            continue
        words.append(f"--{key.replace('_', '-')}")
        if value is not True:
            words.append(value)
    return shell_words(*words)


def override_pairs(options):
    """`key=value` words of `rest train` (lists and numbers as JSON, which its YAML parser reads)."""
    return [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in options.items()]


def overrides(options):
    return shell_words(override_pairs(options))


def data_dir_flag():
    return shell_words("--data-dir", config["data_dir"]) if config.get("data_dir") else ""


def build_model_args(wildcards, input):
    spec = config["models"][wildcards.model]
    if spec["source"] == "tiny":
        return shell_words("tiny", "--corpus", input.corpus, "--seed", spec.get("seed", 0))
    if spec["source"] in ("local", "gguf"):
        return shell_words(spec["source"], "--name", spec["path"])
    hub = config.get("hub") or {}
    return shell_words("hub", "--name", spec["hub_name"], "--allow-download" if hub.get("allow_download") else None,
                       *(["--cache-dir", hub["cache"]] if hub.get("cache") else []))


def eval_flags(bench):
    data = ["--data-dir", f"{R}/data/raw"] if bench == "apibank" else []
    return f"{shell_words(*data, '--backend', config['eval']['backend'])} {cli_flags(config['eval'][bench])}"


def check_config():
    """Settings that only a job would reject, rejected at `snakemake -n`, naming the config key."""
    from rest.eval.bfcl import expand_categories
    from rest.io import InputError
    from rest.train.config import load_recipe, parse_overrides, recipe_values
    from rest.train.resume import split_fresh

    try:
        expand_categories(config["eval"]["bfcl"].get("categories") or [])
    except InputError as e:
        raise ValueError(f"config eval.bfcl.categories: {e}") from None
    try:
        recipe = load_recipe(config["recipe"])
        values, _ = split_fresh(parse_overrides(override_pairs(config["train_overrides"])))
        for name in {meth for _, meth, _ in trained_runs()}:
            method = METHODS[name]
            if method.trainer != "none":
                recipe_values(recipe, method.trainer, method.delta, values, where=config["recipe"])
    except InputError as e:
        raise ValueError(f"config train_overrides / recipe: {e}") from None


def resources_of(kind):
    """Snakemake resources of a train or eval job, from its model's config (rest/scale.py)."""
    def get(name):
        return lambda wc: slurm_resources(job_resources(config, wc.model, kind))[name]
    return {name: get(name) for name in ("gpu", "mem_mb", "runtime", "nodes", "cpus_per_gpu", "cpus_per_task")}


if workflow.is_main_process:  # jobs run on a cluster re-read the workflow: checked once is enough
    check_config()
    # Before anything is submitted: every GPU job must fit its GPUs' memory (`rest plan`).
    plan_check(config)
