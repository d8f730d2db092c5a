# 5. Tables, figures, the audit of the published tables, and index.md.




rule report:
    input:
        scores=all_scores(),
        runs=all_runs(),
        raw=rules.fetch_data.output,
        sections=tb_sections(),
    output:
        index=f"{R}/report/index.md",
    params:
        out=lambda wc, output: parent(output.index),
        metrics=lambda wc, input: [p.replace("summary.json", "metrics.jsonl") for p in input.runs],
        config=json.dumps(config),
    conda:
        "../../envs/rest.yaml"
    log:
        f"{R}/logs/report.log",
    benchmark:
        f"{R}/benchmarks/report.tsv"
    shell:
        "python -m rest report --scores {input.scores} --metrics {params.metrics}"
        " --run-config {params.config:q} --data-dir {input.raw} --output {params.out}"
        " --sections {input.sections} > {log} 2>&1"
