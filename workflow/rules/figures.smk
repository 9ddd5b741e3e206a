# Figures come from the gathered store alone; each PNG goes into the report with its caption.
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
    log:
        "results/{sweep}/logs/figures.log",
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/figures.py"
