# 5. Tables, figures, the audit of the published tables, and index.md.




rule report:
    input:
        scores=all_scores(),
        runs=all_runs(),
        raw=rules.fetch_data.output,
        testbed=tb_report_inputs(),
    output:
        index=f"{R}/report/index.md",
        tables=report(directory(f"{R}/report/tables"), patterns=["{name}.csv"],
                      caption="../report/tables.rst", category="Tables"),
        figures=report(directory(f"{R}/report/figures"), patterns=["{name}.png"],
                       caption="../report/figures.rst", category="Figures"),
        audit=report(f"{R}/report/audit.csv", caption="../report/audit.rst", category="Audit"),
        **tb_report_outputs(),
    params:
        out=lambda wc, output: parent(output.index),
        config=json.dumps(config),
        testbed=lambda wc: tb_report_flags(),
    resources:
        mem_mb=2000,
        runtime=15,
    conda:
        "../../envs/rest.yaml"
    log:
        f"{R}/logs/report.log",
    benchmark:
        f"{R}/benchmarks/report.tsv"
    shell:
        "python -m rest report --scores {input.scores:q} --runs {input.runs:q}"
        " --run-config {params.config:q} --data-dir {input.raw:q} --output {params.out:q}"
        " {params.testbed} > {log:q} 2>&1"
