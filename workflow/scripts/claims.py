"""Compute every claim from the gathered stores (lyap_workflow.claims.compute_claims)."""

# ruff: noqa: F821 - `snakemake` is injected by Snakemake's `script:` directive

import json
import sys
from contextlib import redirect_stderr
from pathlib import Path

from lyap_workflow import claims, store

from lyap_core.io import provenance

if __name__ == "__main__":
    with open(snakemake.log[0], "w") as log, redirect_stderr(log):
        stores = {Path(p).parent.name: store.open_store(p) for p in snakemake.input.stores}
        training = json.loads(Path(snakemake.input.training).read_text())
        rows = claims.compute_claims(
            stores,
            snakemake.params.claims,
            training,
            Path(snakemake.output.json).parent / "figures",
        )
        header = {
            "config_files": snakemake.params.configfile,
            "command": "make claims"
            if "claims.yaml" in " ".join(snakemake.params.configfile)
            else "snakemake --configfile " + " ".join(snakemake.params.configfile) + " claims",
            "argv": sys.argv,
            "provenance": provenance(),
        }
        claims.write_claims(rows, header, snakemake.output.json, snakemake.output.md)
        for row in rows:
            print(f"{row['key']}: {row['verdict']}", file=log)
