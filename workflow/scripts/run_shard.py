"""Compute one shard of a sweep into its zarr store (lyap_workflow.sweep.run_shard)."""

# ruff: noqa: F821 - `snakemake` is injected by Snakemake's `script:` directive

from pathlib import Path

from lyap_workflow import sweep

# dask's worker processes re-import this module without Snakemake's `snakemake` object.
if __name__ == "__main__":
    out = Path(snakemake.output[0])
    sweep.run_shard(
        snakemake.params.points,
        out,
        checkpoint_dir=out.parent.parent / ".checkpoints" / out.stem,
        execution=snakemake.config["sweeps"][snakemake.wildcards.sweep]["execution"],
        cores=snakemake.threads,
        log=sweep.log_to(snakemake.log[0], prefix=f"[{snakemake.wildcards.sweep}/{out.stem}] "),
    )
