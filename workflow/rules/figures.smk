# Figures come from the gathered store alone; each PNG goes into the report with its caption,
# and so does the table of the points that `lyap check` flags (the last output).
rule figures:
    input:
        "results/{sweep}/spectra.zarr",
    output:
        [
            report(
                f"results/{{sweep}}/figures/{name}.png",
                caption=f"../report/{name}.rst",
                category="{sweep}",
            )
            for name in figures.FIGURES
        ],
        [f"results/{{sweep}}/figures/{name}.pdf" for name in figures.FIGURES],
        report(
            "results/{sweep}/figures/flagged_points.html",
            caption="../report/flagged_points.rst",
            category="{sweep}",
        ),
    log:
        "results/{sweep}/logs/figures.log",
    benchmark:
        "results/{sweep}/benchmarks/figures.tsv"
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/figures.py"
