"""Sweeps: grid expansion, sharding, and running points on dask.

A sweep (one entry of the config's ``sweeps`` mapping, validated and default-filled
by the workflow's JSON schema) expands to the Cartesian grid of :data:`GRID_DIMS`.
Every point becomes a :class:`~lyap_core.params.RunParams` at planning time, so an
invalid point is rejected, naming its config field, before any job starts.

Points are packed into shards (one Snakemake job each). The packing depends only on
the grid, the sweep-level numerics and ``execution.shard_seconds``; a shard's name
is the grid index of its first point plus a hash of everything its points compute.
Changing the numerics of some points (an ``overrides`` entry) therefore renames, and
recomputes, exactly the shards that hold them; reverting the change finds the old
shards again.

This module knows nothing of Snakemake. dask is imported only when points run, so
that planning a workflow stays cheap.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import math
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lyap_core.checkpoint import CheckpointError
from lyap_core.coupling import load_coupling
from lyap_core.io import fingerprint
from lyap_core.params import ParamError, RunParams, params_dict
from lyap_core.point import run_point
from lyap_core.result import SpectrumResult

from .store import GRID_DIMS, shard_dataset, write_zarr_atomic

_FIELD = {"g": "g", "N": "n", "input_std": "input_std", "input_tau": "input_tau", "seed": "seed"}
MODEL_KEYS = ("model", "phi", "connectivity", "k", "coupling", "autapses")
# Every variable through which a BLAS/OpenMP library picks its thread count.
BLAS_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "GOTO_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
# Cost model, calibrated on the project's 2-core machine (full spectra, one BLAS thread):
# RK4 N = 50/100/200 with 3500 steps took 0.8/1.8/8.2 s of CPU, the discrete map
# N = 100/200 with 800 steps 0.5/2.6 s.
FLOP_RATE = 2e10  # flop/s of the tangent GEMMs at moderate N
STEP_OVERHEAD = 3.6e-5  # s of Python overhead per right-hand-side evaluation
PROGRESS_EVERY = 30.0  # s between progress lines of a long point


class ConfigError(ValueError):
    """A sweep configuration that cannot run; the message starts with the config field."""


class PointError(RuntimeError):
    """Points failed; the message names each one with its parameters."""


Log = Callable[[str], None]


def log_to(path: str | Path, prefix: str = "") -> Log:
    """A log function that prints each line (with ``prefix``) and appends it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def log(line: str) -> None:
        print(prefix + line, flush=True)
        with open(path, "a") as fh:
            fh.write(line + "\n")

    return log


def point_label(params: Mapping[str, Any]) -> str:
    """Grid coordinates of a point, e.g. ``g=2 N=100 input_std=0 input_tau=1 seed=3``."""
    return " ".join(f"{d}={params[_FIELD[d]]:g}" for d in GRID_DIMS)


@dataclass(frozen=True)
class Point:
    """One grid point: its flat index in the sweep's grid and what it computes."""

    index: int
    params: RunParams
    brute_force: bool = False

    def spec(self) -> dict[str, Any]:
        """JSON-ready description: what a shard job receives and what its name hashes."""
        return {"params": params_dict(self.params), "brute_force": self.brute_force}

    @property
    def seconds(self) -> float:
        """Estimated single-core compute time."""
        p = self.params
        return estimate_seconds(
            p.n,
            p.n_exponents,
            dt=p.step,
            t_ons=p.t_ons,
            t_transient=p.t_transient,
            t_tangent=p.tangent_transient,
            t_sim=p.t_sim,
            stages=_stages(p.model, p.scheme),
        )


@dataclass(frozen=True)
class Shard:
    """The points computed by one job."""

    name: str
    points: tuple[Point, ...]

    @property
    def specs(self) -> list[dict[str, Any]]:
        return [p.spec() for p in self.points]

    @property
    def seconds(self) -> float:
        """Estimated single-core compute time of all points."""
        return sum(p.seconds for p in self.points)


def _stages(model: str, scheme: str) -> int:
    """Right-hand-side evaluations per step."""
    return 4 if model == "continuous" and scheme == "rk4" else 1


def estimate_seconds(
    n: int,
    m: int,
    *,
    dt: float,
    t_ons: float,
    t_transient: float,
    t_tangent: float,
    t_sim: float,
    stages: int,
) -> float:
    """Rough single-core time of one point.

    2 N^2 (m+1) flops per stage of a tangent step, 4 N m^2 per QR (CholeskyQR2, counted
    twice: it runs at about half the GEMM rate), and a fixed overhead per stage.
    """
    state_steps = t_transient / dt
    tangent_steps = (t_tangent + t_sim) / dt
    flops = 2.0 * n * n * stages * (state_steps + (m + 1) * tangent_steps)
    flops += 8.0 * n * m * m * (t_tangent + t_sim) / t_ons
    return flops / FLOP_RATE + STEP_OVERHEAD * stages * (state_steps + tangent_steps)


def _base_seconds(sweep: Mapping[str, Any], n: int) -> float:
    """Estimate from the sweep-level numerics (no overrides): the packing's cost model."""
    num = sweep["numerics"]
    dt = 1.0 if sweep["model"] == "discrete" else num["dt"] or 0.1
    tang = num["t_transient_tangent"]
    m = n if num["m"] == "full" else min(num["m"], n)
    return estimate_seconds(
        n,
        m,
        dt=dt,
        t_ons=num["t_ons"],
        t_transient=num["t_transient"],
        t_tangent=0.5 * num["t_transient"] if tang is None else tang,
        t_sim=num["t_sim"],
        stages=_stages(sweep["model"], num["scheme"]),
    )


# -- planning ---------------------------------------------------------------------------
def _config_path(name: str, field: str, numerics_from: Mapping[str, str]) -> str:
    dims = {v: k for k, v in _FIELD.items()}
    if field in dims:
        return f"sweeps.{name}.grid.{dims[field]}"
    if field in MODEL_KEYS:
        return f"sweeps.{name}.{field}"
    return f"sweeps.{name}.{numerics_from.get(field, 'numerics')}.{field}"


def _run_params(
    name: str, base: dict[str, Any], numerics: Mapping[str, Any], numerics_from: Mapping[str, str]
) -> RunParams:
    """RunParams of one point; ``numerics_from`` names the override that set a value."""
    kw = {**base, **{k: v for k, v in numerics.items() if k != "brute_force"}}
    kw["m"] = None if kw["m"] == "full" else kw["m"]
    try:
        return RunParams(**kw)
    except ParamError as exc:
        field, _, why = str(exc).partition(":")
        path = _config_path(name, field, numerics_from)
        raise ConfigError(f"{path}:{why} (at grid point {point_label(kw)})") from None


def expand_grid(name: str, sweep: Mapping[str, Any]) -> list[Point]:
    """All points of a sweep, in grid order (``GRID_DIMS``, each dimension ascending).

    Raises
    ------
    ConfigError
        For the first invalid point or override, naming the config field.
    """
    values = {d: sorted(sweep["grid"][d]) for d in GRID_DIMS}
    overrides = sweep["overrides"]
    for j, ov in enumerate(overrides):
        for d, vals in ov["match"].items():
            for v in vals:
                if v not in values[d]:
                    raise ConfigError(
                        f"sweeps.{name}.overrides[{j}].match.{d}: {v!r} is not in grid.{d} "
                        f"{values[d]}"
                    )
    model = {k: sweep[k] for k in MODEL_KEYS}
    points = []
    for index, combo in enumerate(itertools.product(*(values[d] for d in GRID_DIMS))):
        coords = dict(zip(GRID_DIMS, combo, strict=True))
        numerics, numerics_from = dict(sweep["numerics"]), {}
        for j, ov in enumerate(overrides):
            if all(coords[d] in vals for d, vals in ov["match"].items()):
                numerics.update(ov["numerics"])
                numerics_from.update(dict.fromkeys(ov["numerics"], f"overrides[{j}].numerics"))
        base = model | {
            "g": float(coords["g"]),
            "n": int(coords["N"]),
            "input_std": float(coords["input_std"]),
            "input_tau": float(coords["input_tau"]),
            "seed": int(coords["seed"]),
        }
        params = _run_params(name, base, numerics, numerics_from)
        points.append(Point(index, params, bool(numerics["brute_force"])))
    return points


def _check_sweep(name: str, sweep: Mapping[str, Any]) -> None:
    """Cross-field checks of a sweep that concern no single grid point."""
    ex = sweep["execution"]
    dask = ex["dask"]
    if dask["scheduler_address"] and dask["jobqueue"]:
        raise ConfigError(
            f"sweeps.{name}.execution.dask: give scheduler_address or jobqueue, not both"
        )
    if dask["n_workers"] is not None and dask["n_workers"] > ex["cores"]:
        raise ConfigError(
            f"sweeps.{name}.execution.dask.n_workers: {dask['n_workers']} workers with one BLAS "
            f"thread each need <= execution.cores = {ex['cores']}"
        )
    if sweep["connectivity"] == "file" and sweep["coupling"]:
        try:
            shape = load_coupling(sweep["coupling"]).shape
        except ValueError as exc:
            raise ConfigError(f"sweeps.{name}.{exc}") from None
        if sweep["grid"]["N"] != [shape[0]]:
            raise ConfigError(
                f"sweeps.{name}.grid.N: the coupling file holds N = {shape[0]}, "
                f"so grid.N must be [{shape[0]}], got {sweep['grid']['N']}"
            )


def _shard_name(points: Sequence[Point]) -> str:
    return f"{points[0].index:05d}_{fingerprint([p.spec() for p in points], 10)}"


def plan_shards(name: str, sweep: Mapping[str, Any], points: Sequence[Point]) -> list[Shard]:
    """Pack the points of each N, in grid order, into shards of about ``shard_seconds``.

    A point estimated to cost more than ``shard_seconds`` gets a shard of its own. The
    window size per N comes from the sweep-level numerics only, so overrides never
    move shard boundaries.
    """
    budget = sweep["execution"]["shard_seconds"]
    by_n: dict[int, list[Point]] = {}
    for p in points:
        by_n.setdefault(p.params.n, []).append(p)
    shards = []
    for n, members in by_n.items():
        size = max(1, math.floor(budget / _base_seconds(sweep, n)))
        for start in range(0, len(members), size):
            chunk = tuple(members[start : start + size])
            shards.append(Shard(_shard_name(chunk), chunk))
    return sorted(shards, key=lambda s: s.points[0].index)


def plan(sweeps: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Shard]]:
    """Validate every point of every sweep and shard them: ``{sweep: {shard name: Shard}}``.

    Raises
    ------
    ConfigError
        Naming the first invalid field (``sweeps.<name>.<field>``) and grid point.
    """
    out = {}
    for name, sweep in sweeps.items():
        _check_sweep(name, sweep)
        out[name] = {s.name: s for s in plan_shards(name, sweep, expand_grid(name, sweep))}
    return out


def science_config(sweep: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that determine a sweep's numbers (everything but ``execution``)."""
    return {k: v for k, v in sweep.items() if k != "execution"}


# -- running ----------------------------------------------------------------------------
class _Progress:
    """Prints a long point's progress every :data:`PROGRESS_EVERY` seconds."""

    def __init__(self, label: str):
        self.label, self.last = label, time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY:
            print(f"    {self.label}: {100 * done / total:.0f} %", flush=True)
            self.last = now


def compute_point(
    spec: Mapping[str, Any], checkpoint: str | None = None, checkpoint_interval: float = 300.0
) -> SpectrumResult:
    """Task function (runs on a dask worker, or in-process): one point, one BLAS thread.

    A checkpoint that does not fit (written by an older version, or unreadable) is
    discarded and the point starts afresh: checkpoints are a cache, never an input.

    Raises
    ------
    PointError
        Any failure, with the point's grid coordinates and full parameters.
    """
    label = point_label(spec["params"])

    def run() -> SpectrumResult:
        return run_point(
            spec["params"],
            checkpoint=checkpoint,
            checkpoint_interval=checkpoint_interval,
            progress=_Progress(label),
            blas_threads=1,
            brute_force=spec["brute_force"],
        )

    try:
        try:
            return run()
        except CheckpointError as exc:
            print(f"    {label}: {exc}; starting afresh", file=sys.stderr, flush=True)
            Path(checkpoint).unlink(missing_ok=True)
            return run()
    except Exception as exc:
        traceback.print_exc()  # the worker's log keeps the traceback; the message keeps the point
        raise PointError(_failure(spec, exc)) from exc


def _failure(spec: Mapping[str, Any], exc: BaseException) -> str:
    if isinstance(exc, PointError):
        return str(exc)
    return (
        f"point {point_label(spec['params'])} failed: {type(exc).__name__}: {exc}\n"
        f"    params: {json.dumps(spec, sort_keys=True)}"
    )


@contextlib.contextmanager
def single_threaded_blas_env() -> Iterator[None]:
    """Set the BLAS thread variables to 1 (restored afterwards).

    Worker processes inherit them at spawn; an existing value (Snakemake exports the
    rule's thread count) would otherwise win over dask's own setting.
    """
    saved = {k: os.environ.get(k) for k in BLAS_ENV}
    os.environ.update(dict.fromkeys(BLAS_ENV, "1"))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def slurm_cluster(jobqueue: Mapping[str, Any]) -> Any:
    """A ``dask_jobqueue.SLURMCluster`` (not yet scaled) from an ``execution.dask.jobqueue``.

    One single-threaded worker per core (``processes`` defaults to ``cores``), and the
    job script pins every BLAS to one thread.
    """
    from dask_jobqueue import SLURMCluster

    spec = {k: v for k, v in jobqueue.items() if k != "jobs"}
    spec.setdefault("processes", spec["cores"])
    spec["job_script_prologue"] = [
        *spec.get("job_script_prologue", []),
        *(f"export {k}=1" for k in BLAS_ENV),
    ]
    return SLURMCluster(**spec)


@contextlib.contextmanager
def _client(
    n_workers: int, scheduler_address: str | None, jobqueue: Mapping[str, Any] | None, log: Log
) -> Iterator[Any]:
    """A dask Client: on a scheduler at an address, a SLURMCluster, or a LocalCluster."""
    from distributed import Client, LocalCluster

    if scheduler_address is not None:
        with Client(scheduler_address) as client:  # closing it leaves the cluster running
            log(f"dask: scheduler {scheduler_address}")
            yield client
        return
    with contextlib.ExitStack() as stack:
        stack.enter_context(single_threaded_blas_env())
        if jobqueue is not None:
            cluster = stack.enter_context(slurm_cluster(jobqueue))
            log(f"dask: SLURMCluster, {jobqueue['jobs']} job(s) of\n{cluster.job_script()}")
            cluster.scale(jobs=jobqueue["jobs"])
        else:
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=n_workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                )
            )
            log(f"dask: LocalCluster with {n_workers} single-threaded workers")
        yield stack.enter_context(Client(cluster))


def _outcomes(
    client: Any, specs: Sequence[Mapping[str, Any]], ckpts: Sequence[str | None], interval: float
) -> Iterator[tuple[int, SpectrumResult | None, BaseException | None]]:
    """(position, result, error) of each point, in completion order."""
    from distributed import as_completed

    futures = client.map(compute_point, specs, ckpts, checkpoint_interval=interval, pure=False)
    position = {f.key: j for j, f in enumerate(futures)}
    for f in as_completed(futures):
        if f.status == "error":
            yield position[f.key], None, f.exception()
        else:
            yield position[f.key], f.result(), None


def run_points(
    specs: Sequence[Mapping[str, Any]],
    *,
    cores: int = 1,
    n_workers: int | None = None,
    scheduler_address: str | None = None,
    jobqueue: Mapping[str, Any] | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_interval: float = 300.0,
    log: Log = print,
) -> list[SpectrumResult]:
    """Compute points (``Point.spec()`` dicts) with dask; results in the order of ``specs``.

    Each point runs with one BLAS thread, so results are bit-identical whatever the
    number of workers.

    Parameters
    ----------
    cores : int
        Cores this job owns; a LocalCluster gets ``n_workers`` (default: ``cores``)
        single-threaded workers, at most one per point.
    scheduler_address : str, optional
        Use a running dask scheduler (``tcp://host:8786``) instead of a LocalCluster.
    jobqueue : mapping, optional
        ``dask_jobqueue.SLURMCluster`` keyword arguments plus ``jobs`` (how many to start).
    checkpoint_dir : path, optional
        Per-point checkpoints ``point0000.npz``... (absolute paths go to the workers).
    checkpoint_interval : float
        Seconds of wall time between checkpoints of a point.
    log : callable
        Receives one line per finished point.

    Raises
    ------
    PointError
        After all points ran, listing every failed point with its parameters.
    """
    n = len(specs)
    ckpts: list[str | None] = [None] * n
    if checkpoint_dir is not None:
        root = Path(checkpoint_dir).resolve()
        root.mkdir(parents=True, exist_ok=True)
        ckpts = [str(root / f"point{j:04d}.npz") for j in range(n)]
    workers = min(n_workers or cores, n)
    results: list[SpectrumResult | None] = [None] * n
    errors = []
    with _client(workers, scheduler_address, jobqueue, log) as client:
        events = _outcomes(client, specs, ckpts, checkpoint_interval)
        for done, (j, res, err) in enumerate(events, 1):
            label = point_label(specs[j]["params"])
            if err is not None:
                errors.append(_failure(specs[j], err))
                log(f"[{done}/{n}] FAILED {label}")
            else:
                results[j] = res
                log(
                    f"[{done}/{n}] {label}: lambda_max = {res.lambda_max:.4f}, "
                    f"D_KY = {res.kaplan_yorke_dimension:.2f} ({res.wall_time['total']:.1f} s)"
                )
    if errors:
        raise PointError(f"{len(errors)} of {n} points failed:\n" + "\n".join(errors))
    return results


@contextlib.contextmanager
def _exclusive(lock: Path, log: Log) -> Iterator[None]:
    """Hold an exclusive lock on ``lock`` (waits for an orphan of a killed run on this shard)."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another process computing this shard ({lock})")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_shard(
    specs: Sequence[Mapping[str, Any]],
    out: str | Path,
    checkpoint_dir: str | Path,
    execution: Mapping[str, Any],
    *,
    cores: int = 1,
    log: Log = print,
) -> None:
    """Compute a shard's points and write them atomically to the zarr store ``out``.

    Checkpoints live in ``checkpoint_dir`` while the shard runs and are deleted once
    ``out`` is written. A lock next to ``checkpoint_dir`` serialises processes working
    on the same shard (an orphaned job of a killed Snakemake and its rerun); if the
    other one wrote ``out`` meanwhile, that store is kept (same name: same points).

    Parameters
    ----------
    execution : mapping
        The sweep's ``execution`` settings (``checkpoint_interval`` and ``dask``).
    """

    out, checkpoint_dir = Path(out), Path(checkpoint_dir)
    with _exclusive(checkpoint_dir.with_name(checkpoint_dir.name + ".lock"), log):
        if out.exists():
            log(f"{out} was written by another process; keeping it")
            return
        t0 = time.perf_counter()
        results = run_points(
            specs,
            cores=cores,
            checkpoint_dir=checkpoint_dir,
            checkpoint_interval=execution["checkpoint_interval"],
            log=log,
            **execution["dask"],
        )
        write_zarr_atomic(shard_dataset(results), out)
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
        log(f"wrote {out}: {len(specs)} points in {time.perf_counter() - t0:.1f} s")
