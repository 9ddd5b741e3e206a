# The paper's claims, computed from the gathered stores alone (lyap_workflow.claims):
#   snakemake --cores 2 --configfile config/claims.yaml claims     (= make claims)
# One row per claim in results/claims/claims.{json,md}, its figure in results/claims/figures/.

from lyap_workflow import claims as claims_mod


def claim_stores(wildcards):
    """The gathered store of every sweep that a claim of config["claims"] names."""
    return [f"results/{name}/spectra.zarr" for name in claims_mod.sweeps_of(config)]


rule claims_training:
    output:
        "results/claims/training.json",
    params:
        options=lambda wildcards: claims_mod.training_options(config),
    log:
        "results/claims/logs/training.log",
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/claims_training.py"


rule claims:
    input:
        stores=claim_stores,
        training="results/claims/training.json",
    output:
        json="results/claims/claims.json",
        md="results/claims/claims.md",
        figures=[
            report(
                f"results/claims/figures/{name}.png",
                caption=f"../report/claims/{name}.rst",
                category="claims",
            )
            for name in claims_mod.CLAIMS
        ],
    params:
        claims=lambda wildcards: config["claims"],
        configfile=lambda wildcards: claims_mod.config_files(workflow),
    log:
        "results/claims/logs/claims.log",
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/claims.py"
