# The ResT reproduction DAG: raw data -> curated sets -> base models -> training -> evaluation -> report.
#   snakemake --cores 2                                    # tiny embedded run (config/config.yaml)
#   snakemake --configfile config/paper.yaml --workflow-profile profiles/slurm --executor slurm
# Every rule calls `python -m rest ...`; see workflow/rules/.
from snakemake.utils import min_version, validate

min_version("9.0")

# --configfile replaces the default config instead of merging into it (no tiny model in the
# paper matrix).
if not workflow.config_settings.configfiles:

    configfile: "config/config.yaml"

validate(config, "workflow/schemas/config.schema.yaml")

# `snakemake --report results/report.html`: one page with every table, figure and the audit.
report: "workflow/report/workflow.rst"

# Jobs that only copy files run on the submitting node, never as cluster jobs.
localrules:
    all,
    fetch_data,


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/eval.smk"
include: "workflow/rules/testbed_common.smk"
include: "workflow/rules/testbed.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        rules.report.output,
        tb_report_targets(),
    default_target: True
