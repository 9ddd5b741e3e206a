"""Paths, job sizes and the end-of-run report of the planned shards (``PLAN``, sweep.plan)."""

import json
import math
from pathlib import Path

from lyap_workflow.assemble import summary_line

CACHE = "results/cache"  # the content-addressed point cache, shared by all sweeps


wildcard_constraints:
    sweep=r"[A-Za-z][A-Za-z0-9_]*",
    shard=r"[0-9a-f]{12}(_\d+of\d+)?",
    digest=r"[0-9a-f]{16}",


def shard_of(wildcards):
    return PLAN[wildcards.sweep].shards[wildcards.shard]


def execution(wildcards):
    return config["sweeps"][wildcards.sweep]["execution"]


def shard_inputs(wildcards):
    """The plan, a coupling file (editing it changes the keys), the previous segment of a chain."""
    s = shard_of(wildcards)
    path = config["sweeps"][wildcards.sweep]["coupling"]
    out = [plan_file(wildcards)] + ([path] if path else [])
    if s.previous:
        out.append(f"results/{wildcards.sweep}/shards/{s.previous}.json")
    return out


def shard_manifests(wildcards):
    """This run's shards; with none (every point cached), those the last gather read.

    Keeping the last set when nothing is missing stops the "set of input files has
    changed" trigger from regathering (and redrawing every figure) on a no-op rerun.
    """
    planned = [f"results/{wildcards.sweep}/shards/{n}.json" for n in PLAN[wildcards.sweep].shards]
    last = Path(gathered_file(wildcards))
    if planned or not last.exists():
        return planned
    inputs = json.loads(last.read_text()).get("inputs", [])
    return inputs if all(Path(p).exists() for p in inputs) else []


def shard_threads(wildcards):
    return shard_of(wildcards).threads


def shard_runtime(wildcards):
    """Minutes, for cluster schedulers: never above execution.max_job_minutes."""
    return sweep.job_minutes(shard_of(wildcards), execution(wildcards))


def shard_mem_mb(wildcards):
    """Per worker: ~250 MB of libraries plus J, Q and the PCA moments (~5 N^2 doubles)."""
    s = shard_of(wildcards)
    n = max(p.params.n for p in s.points)
    return 500 + s.threads * (250 + math.ceil(40 * n * n / 1e6))


def digest_of(name):
    """New whenever the sweep's points or their failed attempts change (sweep.SweepPlan)."""
    return PLAN[name].digest


def plan_file(wildcards):
    return f"results/{wildcards.sweep}/plans/{digest_of(wildcards.sweep)}.json"


def gathered_file(wildcards):
    return f"results/{wildcards.sweep}/gathered/{digest_of(wildcards.sweep)}.json"


def sweep_outputs(name):
    gathered = f"results/{name}/gathered/{digest_of(name)}.json"
    return [gathered, f"results/{name}/spectra.zarr", f"results/{name}/check.json"] + [
        f"results/{name}/figures/{fig}.{ext}" for fig in figures.FIGURES for ext in ("png", "pdf")
    ]


def report_sweeps(sweeps, log):
    """Print each sweep's summary line; fail naming the points that failed."""
    failed = []
    for name in sweeps:
        path = Path(f"results/{name}/gather.json")
        p = PLAN[name]
        if path.exists():
            s = json.loads(path.read_text())
            if s["total"] == len(p.points) and not p.missing:  # nothing ran: all reused
                s["summary"] = summary_line(len(p.points), 0, len(p.points), 0)
            print(f"sweep {name}: {s['summary']}")
            print(f"sweep {name}: store results/{name}/spectra.zarr, figures results/{name}/figures/")
            failed += [f"{name}: {f['point']}: {f['status']}" for f in s["failures"]]
    if failed:
        print(f"{len(failed)} point(s) failed:\n  " + "\n  ".join(failed))
        raise SystemExit(1)
