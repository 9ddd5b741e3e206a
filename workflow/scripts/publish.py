"""Publish the gathered working store as results/<sweep>/spectra.zarr (atomic copy)."""

# ruff: noqa: F821 - `snakemake` is injected by Snakemake's `script:` directive

from lyap_workflow.store import copy_store_atomic

if __name__ == "__main__":
    copy_store_atomic(
        f"results/{snakemake.wildcards.sweep}/.gather/spectra.zarr", snakemake.output[0]
    )
