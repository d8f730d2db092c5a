# 1. Raw inputs (copied from the data folder, or downloaded and checked against the
#    manifest's sha256), then the curated RL, validation and SFT sets.



rule fetch_data:
    output:
        directory(f"{R}/data/raw"),
    params:
        data_dir=data_dir_flag(),
        files=config["data_files"],
    conda:
        "../../envs/rest.yaml"
    log:
        f"{R}/logs/data/fetch.log",
    benchmark:
        f"{R}/benchmarks/data/fetch.tsv"
    shell:
        "python -m rest data fetch --config {params.files:q} --output {output:q} {params.data_dir} > {log:q} 2>&1"


rule curate:
    input:
        raw=rules.fetch_data.output,
    output:
        rl_train=f"{R}/data/curated/rl_train.jsonl",
        rl_val=f"{R}/data/curated/rl_val.jsonl",
        sft=f"{R}/data/curated/sft.jsonl",
        report=f"{R}/data/curated/curation_report.json",
    params:
        out=lambda wc, output: parent(output.rl_train),
        flags=cli_flags(config["curate"]),
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/rest.yaml"
    log:
        f"{R}/logs/data/curate.log",
    benchmark:
        f"{R}/benchmarks/data/curate.tsv"
    shell:
        "python -m rest curate --data-dir {input.raw:q} --output {params.out:q} {params.flags} > {log:q} 2>&1"
