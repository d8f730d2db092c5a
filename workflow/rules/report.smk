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
        "python -m rest report --scores {input.scores:q} --metrics {params.metrics:q}"
        " --run-config {params.config:q} --data-dir {input.raw:q} --output {params.out:q}"
        " --sections {input.sections:q} > {log:q} 2>&1"
