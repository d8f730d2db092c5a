# Config and path helpers of the tool-call testbed study (rules in testbed.smk).
import yaml

TB = config.get("testbed") or {"enabled": False}
TB_STUDY = "testbed"
#: The study's model, as run identities name it.
TB_MODEL = "testbed-tiny"
TB_R = f"{R}/testbed"
TB_REPORT = f"{R}/report/{TB_STUDY}"

if TB["enabled"]:
    for _name in [TB["warmup"], *TB["methods"]]:
        if _name not in METHODS:
            raise ValueError(f"config testbed: unknown method {_name!r}; expected one of {', '.join(METHODS)}")
    TB_RECIPE = yaml.safe_load(open(TB["recipe"]))
    _grpo = {**TB_RECIPE, **(TB_RECIPE.get("grpo") or {})}
    # Variance checkpoints (start, middle, end): the warm-up, the kept checkpoint nearest the
    # middle, and the final model. The recipe keeps every checkpoint (save_total_limit null).
    TB_END = int(_grpo["max_steps"])
    _every = int(_grpo["save_steps"])
    TB_MID = (TB_END // 2) // _every * _every
    if not 0 < TB_MID < TB_END:
        raise ValueError(f"{TB['recipe']}: grpo save_steps {_every} keeps no checkpoint between start and end")


def tb_run(method, seed):
    return f"{TB_R}/runs/{method}/seed{seed}/summary.json"


def tb_model(method, seed):
    return f"{TB_R}/runs/{method}/seed{seed}/model"


def tb_run_id(wildcards):
    return RunIdentity(TB_STUDY, TB_MODEL, wildcards.method, int(wildcards.seed)).as_arg()


def tb_scores(method, seed):
    return f"{TB_R}/eval/{method}/seed{seed}/scores.json"


def tb_all_scores():
    return [tb_scores(m, s) for m in [TB["warmup"], *TB["methods"]] for s in TB["seeds"]]


def tb_report_targets():
    """What the default target needs from the study (nothing when it is off)."""
    return list(tb_report_outputs().values())


def tb_report_inputs():
    """The study's files the report reads: held-out scores, training runs, the variance study."""
    if not TB["enabled"]:
        return []
    files = tb_all_scores() + [tb_run(m, s) for m in TB["methods"] for s in TB["seeds"]]
    return files + ([f"{TB_REPORT}/variance.json"] if TB["variance"]["enabled"] else [])


def tb_report_outputs():
    """The study's section, drawn by the report rule beside the paper's tables (one figures folder)."""
    if not TB["enabled"]:
        return {}
    return {"testbed_summary": f"{TB_REPORT}/summary.json", "testbed_section": f"{TB_REPORT}/section.md"}


def tb_report_flags():
    """`rest report`'s testbed options."""
    if not TB["enabled"]:
        return ""
    variance = ["--testbed-variance", f"{TB_REPORT}/variance.json"] if TB["variance"]["enabled"] else []
    return shell_words("--testbed-scores", tb_all_scores(),
                       "--testbed-runs", [tb_run(m, s) for m in TB["methods"] for s in TB["seeds"]],
                       "--testbed-warmup", TB["warmup"], *variance)


def tb_init(wildcards):
    """The warm-up starts from the study's base model, every RL method from that seed's warm-up."""
    if wildcards.method == TB["warmup"]:
        return f"{TB_R}/models/base"
    return tb_model(TB["warmup"], wildcards.seed)
