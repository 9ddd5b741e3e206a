"""``lyap sweep``: a campaign without Snakemake, on one dask cluster.

The same resolver (:func:`lyap_workflow.config.load`), plan (:func:`sweep.plan`),
point cache, task function and gather as the Snakemake workflow, so the numbers are
bit-identical to a Snakemake run and the layout is the same: ``DIR/cache/``,
``DIR/<sweep>/plan.json``, ``DIR/<sweep>/spectra.zarr``, ``DIR/<sweep>/gather.json``.

One dask cluster serves the whole campaign: a LocalCluster (``--workers``, at most the
cores this process may use), a running scheduler (``--scheduler``, or
``execution.dask.scheduler_address``), or ONE adaptive dask-jobqueue SLURMCluster
(``execution.dask.jobqueue``) whose workers retire before their walltime and are
replaced, while every point resumes from its checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from lyap_core.io import atomic_file

from . import assemble, config, execute, sweep
from .cache import Cache
from .quality import check_store

Log = Callable[[str], None]
DEFAULT_WALLTIME = "24:00:00"


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. a SLURM allocation)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _seconds(walltime: str) -> int:
    """``[D-]HH:MM:SS`` or ``MM:SS`` as seconds."""
    m = re.fullmatch(r"(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)", walltime.strip())
    if not m:
        raise config.ConfigError(
            f"execution.dask.jobqueue.walltime: expected [D-]HH:MM:SS, got {walltime!r}"
        )
    d, h, mi, s = (int(x or 0) for x in m.groups())
    return ((d * 24 + h) * 60 + mi) * 60 + s


def slurm_cluster(jobqueue: Mapping[str, Any]) -> Any:
    """An adaptive-ready ``dask_jobqueue.SLURMCluster`` from ``execution.dask.jobqueue``.

    One single-threaded worker per core (``processes`` defaults to ``cores``), every
    BLAS pinned to one thread in the job script, and a worker lifetime 10 % (at least
    5 min) below the walltime, staggered, so that workers retire before SLURM kills
    them and ``adapt`` replaces them; their points resume from checkpoints.
    """
    from dask_jobqueue import SLURMCluster

    spec = {k: v for k, v in jobqueue.items() if k != "jobs"}
    spec.setdefault("processes", spec["cores"])
    spec.setdefault("walltime", DEFAULT_WALLTIME)
    wall = _seconds(spec["walltime"])
    margin = max(300, wall // 10)
    if wall <= 2 * margin:
        raise config.ConfigError(
            f"execution.dask.jobqueue.walltime: {spec['walltime']} leaves no time after the "
            f"{margin} s a worker needs to retire"
        )
    spec["worker_extra_args"] = [
        *spec.get("worker_extra_args", []),
        "--lifetime",
        f"{wall - margin}s",
        "--lifetime-stagger",
        f"{margin // 2}s",
        "--lifetime-restart",
    ]
    spec["job_script_prologue"] = [
        *spec.get("job_script_prologue", []),
        *(f"export {k}=1" for k in execute.BLAS_ENV),
    ]
    return SLURMCluster(**spec)


@contextlib.contextmanager
def campaign_client(
    scheduler: str | None, jobqueue: Mapping[str, Any] | None, workers: int | None, log: Log
) -> Iterator[Any]:
    """The campaign's one dask client (see the module docstring)."""
    if jobqueue is not None and scheduler is None:
        from distributed import Client

        with slurm_cluster(jobqueue) as cluster:
            log(
                f"dask: adaptive SLURMCluster, up to {jobqueue['jobs']} job(s) of\n"
                f"{cluster.job_script()}"
            )
            cluster.adapt(minimum_jobs=0, maximum_jobs=jobqueue["jobs"])
            with Client(cluster) as client:
                yield client
        return
    cores = available_cores()
    if workers is not None and scheduler is None and workers > cores:
        raise execute.ExecutionError(
            f"--workers: {workers} single-threaded workers need <= {cores} cores (this "
            "process's CPU affinity); more would oversubscribe"
        )
    with execute.dask_client(workers or cores, scheduler, log) as client:
        yield client


def run_campaign(
    config_path: str | Path,
    *,
    sweeps: Sequence[str] | None = None,
    results: str | Path = "results",
    scheduler: str | None = None,
    workers: int | None = None,
    log: Log = print,
) -> list[dict[str, Any]]:
    """Compute the missing points of the chosen sweeps, gather their stores; the summaries.

    Raises
    ------
    config.ConfigError
        Bad config or unknown sweep name (one line naming it).
    execute.ExecutionError, OSError
        Results not writable, scheduler unreachable (one line).
    """
    cfg = config.load(config_path)
    names = list(sweeps or cfg["sweeps"])
    unknown = [n for n in names if n not in cfg["sweeps"]]
    if unknown:
        raise config.ConfigError(
            f"--sweep: {unknown[0]!r} is not a sweep of {config_path}; it has {list(cfg['sweeps'])}"
        )
    results = Path(results)
    cache = Cache(results / "cache")
    cache.check_writable()
    plans = sweep.plan({n: cfg["sweeps"][n] for n in names}, cache)
    specs, intervals, owner = [], [], []
    for name, p in plans.items():
        with atomic_file(results / name / "plan.json", "w") as fh:
            json.dump(p.record(), fh)
        todo = p.missing
        log(f"sweep {name}: {len(p.points)} points, {len(todo)} to compute")
        specs += [pt.spec() for pt in sorted(todo, key=lambda q: -q.wall_seconds)]
        intervals += [p.sweep["execution"]["checkpoint_interval"]] * len(todo)
        owner += [name] * len(todo)
    outcomes: list[dict[str, Any]] = []
    if specs:
        dask = plans[names[0]].sweep["execution"]["dask"]
        address = scheduler or dask["scheduler_address"]
        with campaign_client(address, dask["jobqueue"], workers, log) as client:
            outcomes = execute.map_points(client, specs, cache.root, intervals, None, log)
    summaries = []
    for name, p in plans.items():
        done = {
            o["key"]
            for o, n in zip(outcomes, owner, strict=True)
            if n == name and o["status"] == "ok"
        }
        s = assemble.gather_sweep(
            p.record(),
            cache,
            results / name / "spectra.zarr",
            computed=sorted(done),
            log=lambda line, name=name: log(f"[{name}] {line}"),
        )
        assemble.write_summary(s, results / name / "gather.json")
        failures = check_store(results / name / "spectra.zarr")
        with atomic_file(results / name / "check.json", "w") as fh:
            json.dump(failures, fh, indent=1)
        summaries.append(s)
    return summaries
