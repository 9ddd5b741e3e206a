"""Train the claims' networks (algorithm x task) once; store spectra (claims.train)."""

# ruff: noqa: F821 - `snakemake` is injected by Snakemake's `script:` directive

import json
from contextlib import redirect_stderr

from lyap_workflow import claims
from threadpoolctl import threadpool_limits

from lyap_core.io import atomic_file

if __name__ == "__main__":
    with open(snakemake.log[0], "w") as log, redirect_stderr(log), threadpool_limits(1):
        record = claims.train(snakemake.params.options)
        with atomic_file(snakemake.output[0], "w") as fh:
            json.dump(record, fh, indent=1, sort_keys=True)
        for net in record["networks"]:
            print(net["key"], net["test_error"], net["trained"]["exponents"], file=log)
