"""Running points: on dask workers, into the point cache, within a job's time limit.

:func:`compute_point` is the task function (it runs on a dask worker, or in-process):
it takes the point's lock, returns at once if another process already cached the
point, resumes from the point's checkpoint, stops cleanly ("paused") before the job's
deadline, writes the finished point to the cache and returns a small outcome dict
(never the arrays: results travel through the cache, which must be on a filesystem
shared with the workers). :func:`run_points` maps it over a shard on a LocalCluster or
an existing scheduler; :func:`run_shard` is a Snakemake job (or one batch of
``lyap sweep``): it logs every point (summary, warnings, traceback) and writes the
shard's manifest.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from lyap_core.checkpoint import CheckpointError
from lyap_core.io import atomic_file, code_version
from lyap_core.point import run_point
from lyap_core.version import NUMERICS_VERSION

from .cache import Cache, exclusive
from .sweep import point_label

# Every variable through which a BLAS/OpenMP library picks its thread count.
BLAS_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "GOTO_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
PROGRESS_EVERY = 30.0  # s between progress lines of a long point
CONNECT_TIMEOUT = 20.0  # s to reach a dask scheduler
Log = Callable[[str], None]


class PointError(RuntimeError):
    """Points failed; the message names each one with its parameters."""


class ExecutionError(RuntimeError):
    """The infrastructure failed (scheduler unreachable, results not writable): one line."""


class _Deadline(Exception):
    """Raised inside a point's run when its job's time is nearly up."""


def log_to(path: str | Path, prefix: str = "") -> Log:
    """A log function that prints each line (with ``prefix``) and appends it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def log(line: str) -> None:
        print(prefix + line, flush=True)
        with open(path, "a") as fh:
            fh.write(line + "\n")

    return log


class _Progress:
    """Prints a long point's progress every :data:`PROGRESS_EVERY` s; stops it at the deadline.

    It stops at the first ONS boundary *after* the one that found the deadline passed,
    so that the checkpointer (called after this at each boundary) saves at least once.
    """

    def __init__(self, label: str, deadline: float | None):
        self.label, self.deadline, self.last = label, deadline, time.monotonic()
        self.expired = False

    def __call__(self, done: int, total: int) -> None:
        if self.expired:
            raise _Deadline
        self.expired = self.deadline is not None and time.time() >= self.deadline
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY:
            print(f"    {self.label}: {100 * done / total:.0f} %", flush=True)
            self.last = now


def compute_point(
    spec: Mapping[str, Any],
    cache_root: str,
    checkpoint_interval: float = 300.0,
    deadline: float | None = None,
) -> dict[str, Any]:
    """Compute one point (a ``Point.spec()``) into the cache; returns its outcome.

    The outcome's ``status`` is ``"ok"`` (computed now), ``"cached"`` (another process
    computed it), ``"paused"`` (``deadline``, a Unix time, reached: the checkpoint is
    kept and the next job resumes) or ``"failed"`` (with ``reason`` and ``traceback``).
    A checkpoint that does not fit (older version, unreadable) is discarded: checkpoints
    are a cache, never an input.
    """
    cache, key = Cache(cache_root), spec["key"]
    label = point_label(spec["params"], spec.get("trajectory", 0))
    out: dict[str, Any] = {"key": key, "label": label, "estimate": spec.get("estimate")}
    ckpt = cache.checkpoint(key)
    logged: list[str] = []
    with exclusive(ckpt.with_suffix(".lock"), logged.append):
        if cache.has(key):
            return out | {"status": "cached", "log": logged}
        t0 = time.perf_counter()

        def run():
            return run_point(
                spec["params"],
                checkpoint=str(ckpt),
                checkpoint_interval=checkpoint_interval,
                progress=_Progress(label, deadline),
                blas_threads=spec["threads"],
                brute_force=spec["brute_force"],
            )

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # they are in the result and the job's log
                try:
                    res = run()
                except CheckpointError as exc:
                    logged.append(f"{label}: {exc}; starting afresh")
                    ckpt.unlink(missing_ok=True)
                    res = run()
        except _Deadline:
            return out | {"status": "paused", "wall_time": time.perf_counter() - t0, "log": logged}
        except Exception as exc:
            tb = traceback.format_exc()
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            info = {"label": label, "reason": reason, "traceback": tb, "params": spec["params"]}
            cache.record_failure(key, info)
            return out | {"status": "failed", "reason": reason, "traceback": tb, "log": logged}
        meta = {
            "label": label,
            "wall_time": res.wall_time.get("total", time.perf_counter() - t0),
            "estimate": spec.get("estimate"),
            "code_version": code_version(),
            "numerics_version": NUMERICS_VERSION,
            "blas_threads": spec["threads"],
            "host": os.uname().nodename,
        }
        cache.save(key, res, meta)
        ckpt.unlink(missing_ok=True)
    summary = (
        f"lambda_max = {res.lambda_max:.4f} ± {res.lambda_max_stderr:.2g}, "
        f"D_KY = {res.kaplan_yorke_dimension:.2f}"
    )
    return out | {
        "status": "ok",
        "wall_time": meta["wall_time"],
        "summary": summary,
        "warnings": list(res.warnings),
        "log": logged,
    }


@contextlib.contextmanager
def blas_env(threads: int = 1) -> Iterator[None]:
    """Set the BLAS thread variables to ``threads`` (restored afterwards).

    Worker processes inherit them at spawn; an existing value (Snakemake exports the
    rule's thread count) would otherwise win over dask's own setting.
    """
    saved = {k: os.environ.get(k) for k in BLAS_ENV}
    os.environ.update(dict.fromkeys(BLAS_ENV, str(threads)))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def single_threaded_blas_env() -> contextlib.AbstractContextManager[None]:
    """:func:`blas_env` with one thread."""
    return blas_env(1)


@contextlib.contextmanager
def dask_client(
    n_workers: int, scheduler_address: str | None, log: Log, threads: int = 1
) -> Iterator[Any]:
    """A dask Client on a scheduler at an address, or on a LocalCluster of ``n_workers``.

    Raises
    ------
    ExecutionError
        One line naming the address if the scheduler cannot be reached.
    """
    from distributed import Client, LocalCluster

    if scheduler_address is not None:
        try:
            client = Client(scheduler_address, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise ExecutionError(
                f"dask scheduler {scheduler_address} unreachable within {CONNECT_TIMEOUT:g} s "
                f"({type(exc).__name__}); start it or fix execution.dask.scheduler_address"
            ) from None
        with client:  # closing the client leaves the cluster running
            log(f"dask: scheduler {scheduler_address}")
            yield client
        return
    with contextlib.ExitStack() as stack:
        stack.enter_context(blas_env(threads))
        cluster = stack.enter_context(
            LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
        )
        log(f"dask: LocalCluster with {n_workers} worker(s), {threads} BLAS thread(s) each")
        yield stack.enter_context(Client(cluster))


def _outcome_of(future: Any, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The outcome of a finished future; a task that died with its worker becomes 'failed'."""
    if future.status != "error":
        return future.result()
    exc = future.exception()
    tb = "".join(traceback.format_exception(exc))
    return {
        "key": spec["key"],
        "label": point_label(spec["params"], spec.get("trajectory", 0)),
        "estimate": spec.get("estimate"),
        "status": "failed",
        "reason": f"{type(exc).__name__}: {exc}".splitlines()[0],
        "traceback": tb,
        "log": [],
    }


def _log_outcome(log: Log, done: int, n: int, o: Mapping[str, Any]) -> None:
    head = f"[{done}/{n}] {o['label']}"
    for line in o.get("log", []):
        log(f"    {line}")
    if o["status"] == "ok":
        est = o.get("estimate")
        vs = f", estimate {est:.1f} s" if est else ""
        log(f"{head}: {o['summary']} ({o['wall_time']:.1f} s{vs})")
        for w in o.get("warnings", []):
            log(f"    warning: {w}")
    elif o["status"] == "failed":
        log(f"{head}: FAILED {o['reason']}")
        for line in o.get("traceback", "").rstrip().splitlines():
            log(f"    | {line}")
    else:
        log(f"{head}: {o['status']}")


def run_points(
    specs: Sequence[Mapping[str, Any]],
    cache_root: str | Path,
    *,
    cores: int = 1,
    n_workers: int | None = None,
    scheduler_address: str | None = None,
    checkpoint_interval: float = 300.0,
    deadline: float | None = None,
    log: Log = print,
) -> list[dict[str, Any]]:
    """Compute points (``Point.spec()`` dicts) into the cache; outcomes in the order of ``specs``.

    Each point runs with its own BLAS threads (``spec["threads"]``, part of its key),
    so results are bit-identical whatever the number of workers or where they run.

    Parameters
    ----------
    cores : int
        Cores this job owns: a LocalCluster gets ``min(n_workers or cores, points)``
        workers, never more than ``cores`` (a multi-threaded point: one worker).
    scheduler_address : str, optional
        Use a running dask scheduler (``tcp://host:8786``) instead of a LocalCluster.
    deadline : float, optional
        Unix time at which running points pause (checkpoint kept) so the job can end.
    """
    if not specs:
        return []
    threads = max(s["threads"] for s in specs)
    workers = max(1, min(n_workers or cores, cores // threads, len(specs)))
    with dask_client(workers, scheduler_address, log, threads) as client:
        return map_points(client, specs, cache_root, checkpoint_interval, deadline, log)


def map_points(
    client: Any,
    specs: Sequence[Mapping[str, Any]],
    cache_root: str | Path,
    checkpoint_interval: float | Sequence[float] = 300.0,
    deadline: float | None = None,
    log: Log = print,
) -> list[dict[str, Any]]:
    """:func:`compute_point` of every spec on a dask ``client``; outcomes in spec order.

    ``checkpoint_interval`` may be one value or one per spec (points of several sweeps).
    """
    from distributed import as_completed

    cache_root = str(Path(cache_root).resolve())  # external workers have another cwd
    if isinstance(checkpoint_interval, int | float):
        checkpoint_interval = [checkpoint_interval] * len(specs)
    futures = client.map(
        compute_point,
        list(specs),
        [cache_root] * len(specs),
        list(checkpoint_interval),
        [deadline] * len(specs),
        pure=False,
    )
    position = {f.key: j for j, f in enumerate(futures)}
    outcomes: list[dict[str, Any]] = [{}] * len(specs)
    for done, f in enumerate(as_completed(futures), 1):
        j = position[f.key]
        outcomes[j] = _outcome_of(f, specs[j])
        _log_outcome(log, done, len(specs), outcomes[j])
    return outcomes


def counts(outcomes: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How many outcomes have each status."""
    out = dict.fromkeys(("ok", "cached", "paused", "failed"), 0)
    for o in outcomes:
        out[o["status"]] += 1
    return out


# Environment variables that mark a process as running inside a batch job whose time
# limit the scheduler enforces (SLURM, PBS/Torque, LSF, SGE).
BATCH_JOB_VARS = ("SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID", "JOB_ID")


def enforced_time_limit(runtime_minutes: float) -> float | None:
    """Seconds a job may run before its scheduler kills it, or None when nothing enforces one.

    Inside a batch job the requested ``runtime`` is a hard limit: points pause before it
    and resume in the next job of the chain. A local run (a laptop, ``make run``, a
    login node) has no scheduler to kill it: pausing there would only stop points that a
    loaded machine runs slower than the cost model predicts.
    """
    if any(os.environ.get(v) for v in BATCH_JOB_VARS):
        return 60.0 * runtime_minutes
    return None


def run_shard(
    specs: Sequence[Mapping[str, Any]],
    manifest: str | Path,
    cache_root: str | Path,
    execution: Mapping[str, Any],
    *,
    cores: int = 1,
    time_limit: float | None = None,
    final_segment: bool = True,
    log: Log = print,
) -> dict[str, Any]:
    """Compute a shard's missing points and write its manifest (JSON) atomically.

    Failed points are recorded (cache failure records, manifest, log) and do not fail
    the job: the sweep's store shows them with their reason. Points not finished when
    ``time_limit`` (seconds from now, minus a margin) is near pause; in the last
    segment of a chain that counts as a failure ("time limit ...", resumed next run).

    Raises
    ------
    ExecutionError
        The cache is not writable or the scheduler is unreachable (one line).
    """
    from .sweep import JOB_OVERHEAD, MIN_MARGIN

    dask = execution["dask"]
    if dask["jobqueue"] is not None:
        raise ExecutionError(
            "execution.dask.jobqueue: one cluster per campaign, not per job: run `lyap sweep` "
            "(it starts one adaptive SLURMCluster), or start one and set scheduler_address"
        )
    t0 = time.time()
    cache = Cache(cache_root)
    cache.check_writable()
    deadline = None
    if time_limit is not None:
        deadline = t0 + time_limit - max(MIN_MARGIN, 0.05 * time_limit) - JOB_OVERHEAD
    todo = [s for s in specs if not cache.has(s["key"])]
    log(f"{len(specs)} point(s), {len(specs) - len(todo)} already in the cache")
    outcomes = run_points(
        todo,
        cache_root,
        cores=cores,
        checkpoint_interval=execution["checkpoint_interval"],
        deadline=deadline,
        log=log,
        n_workers=dask["n_workers"],
        scheduler_address=dask["scheduler_address"],
    )
    for o in outcomes:
        if o["status"] == "paused" and final_segment:
            why = "time limit of its job(s) reached; the next run resumes from its checkpoint"
            cache.record_failure(o["key"], {"label": o["label"], "reason": why})
            o |= {"status": "failed", "reason": why}
    c = counts(outcomes)
    record = {"points": len(specs), "outcomes": outcomes, "counts": c}
    record["wall_time"] = time.time() - t0
    with atomic_file(manifest, "w") as fh:
        fh.write(json.dumps(record, indent=1, default=str))
    log(
        f"shard done in {record['wall_time']:.1f} s: {c['ok']} computed, {c['cached']} cached "
        f"by another process, {c['paused']} paused, {c['failed']} failed"
    )
    return record
