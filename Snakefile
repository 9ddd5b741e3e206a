"""Lyapunov-spectrum sweeps: shards -> gathered zarr store -> figures -> report.

    snakemake --cores 2                              # the default sweeps (config/config.yaml)
    snakemake --cores 2 --configfile config/ci.yaml  # replaces the default config
    snakemake --workflow-profile profiles/slurm --configfile config/paper.yaml

Reruns follow the numbers: profiles/default (used automatically) and profiles/slurm set
rerun-triggers to mtime, params and input (no `code`), and every point is cached by a
hash of its parameters and lyap_core's NUMERICS_VERSION (results/cache).

See docs/pipeline.md.
"""

import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

from lyap_workflow import config as wf_config
from lyap_workflow import figures, sweep

min_version("9.0")


# A --configfile replaces the default sweep (Snakemake would otherwise merge both).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"


# One resolver for Snakemake and `lyap sweep`: schema defaults, then every grid point
# checked by lyap_core.RunParams, before any job runs. Only points missing from the
# point cache (results/cache) get shards.
try:
    config.update(wf_config.resolve(config))
    PLAN = sweep.plan(config["sweeps"], cache=CACHE)
except wf_config.ConfigError as exc:
    raise WorkflowError(exc.line) from None
for _name, _plan in PLAN.items():
    _todo = len(_plan.missing)
    print(
        f"sweep {_name}: plan: {len(_plan.points)} points, {len(_plan.points) - _todo} in the "
        f"cache, {_todo} to compute in {len(_plan.shards)} job(s)",
        file=sys.stderr,
    )


report: "workflow/report/workflow.rst"


include: "workflow/rules/sweep.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/claims.smk"


rule all:
    default_target: True
    input:
        [sweep_outputs(name) for name in config["sweeps"]],


onsuccess:
    report_sweeps(config["sweeps"], log)


onerror:
    report_sweeps(config["sweeps"], log)
