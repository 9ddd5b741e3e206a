"""Gather a sweep's shards into results/<sweep>/spectra.zarr (lyap_workflow.store.gather)."""

# ruff: noqa: F821 - `snakemake` is injected by Snakemake's `script:` directive

from contextlib import redirect_stderr

from lyap_workflow import store

if __name__ == "__main__":
    with open(snakemake.log[0], "w") as log, redirect_stderr(log):
        ds = store.gather(
            snakemake.input,
            snakemake.output[0],
            sweep=snakemake.wildcards.sweep,
            config=snakemake.params.config,
        )
    print(f"gathered {len(snakemake.input)} shards into {snakemake.output[0]}: {dict(ds.sizes)}")
