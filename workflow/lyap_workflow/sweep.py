"""Sweeps: grid expansion, cache keys, the cost model and packing missing points into shards.

A sweep (one entry of the config's ``sweeps`` mapping) expands to the Cartesian grid of
:data:`~lyap_workflow.store.GRID_DIMS`. Every point becomes a
:class:`~lyap_core.params.RunParams` at planning time, so an invalid point is rejected,
naming its config field, before any job starts, and gets its cache key
(:func:`lyap_workflow.cache.point_key`: parameters, resolved seeds, BLAS threads and
the numerics version).

Shards only pack work: :func:`plan` packs the points *missing from the cache* into jobs
of about ``execution.shard_seconds`` of wall time on ``execution.cores`` cores, none
longer than ``execution.max_job_minutes``; a point too long for one job becomes a chain
of jobs resuming from its checkpoint. A shard's name is a hash of its points' keys (and
of their failed attempts, so that a failed point is retried by the next run), so
extending a grid, repacking, or moving between laptop and cluster computes exactly
the points that are not in the cache yet.

This module knows nothing of Snakemake or dask.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lyap_core.coupling import load_coupling
from lyap_core.io import fingerprint
from lyap_core.params import ParamError, RunParams, params_dict, trajectory_seeds
from lyap_core.version import NUMERICS_VERSION

from .cache import Cache, point_key
from .config import ConfigError, resolve
from .store import GRID_DIMS

__all__ = ["ConfigError", "Point", "Shard", "SweepPlan", "estimate_seconds", "plan"]

_FIELD = {"g": "g", "N": "n", "input_std": "input_std", "input_tau": "input_tau", "seed": "seed"}
MODEL_KEYS = ("model", "phi", "connectivity", "k", "coupling", "autapses")

# Cost model, fitted by benchmarks/bench_cost_model.py (CPU seconds of 11 points, N = 50..1000,
# flow and map, full and partial spectra, one BLAS thread) on the project's 2-core machine:
# seconds = flops (1 + GEMM_HALF_N / N) / FLOP_RATE + STEP_OVERHEAD * evaluations.
# estimate/measured: median 2.77 (1.18-4.25) with the old constants (2e10, 3.6e-5, no
# N dependence), 1.02 (0.85-1.21 without Euler) after.
FLOP_RATE = 9.6e10  # flop/s of the model's flop count at large N
GEMM_HALF_N = 204.0  # N at which the GEMMs run at half that rate
STEP_OVERHEAD = 8.1e-6  # s of Python overhead per right-hand-side evaluation
JOB_OVERHEAD = 10.0  # s per job: interpreter, imports, dask start, cache writes (measured ~6 s)
RUNTIME_SAFETY = 2.0  # a job asks for this many times its estimated wall time (+ overhead)
MIN_MARGIN = 120.0  # s a job keeps free before its time limit (pause, checkpoint, manifest)

Log = Callable[[str], None]


def point_label(params: Mapping[str, Any], trajectory: int = 0) -> str:
    """Grid coordinates of a point, e.g. ``g=2 N=100 input_std=0 input_tau=1 seed=3``.

    ``trajectory=t`` is appended for t > 0 only (trajectory 0 is the seed's own run).
    """
    label = " ".join(f"{d}={params[_FIELD[d]]:g}" for d in GRID_DIMS if d in _FIELD)
    return label + (f" trajectory={trajectory}" if trajectory else "")


# -- cost model ---------------------------------------------------------------------------
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
    determinant: bool = False,
) -> float:
    """Single-core seconds of one point.

    2 N^2 (m+1) flops per stage of a tangent step, 4 N m^2 per QR (CholeskyQR2, counted
    twice: it runs at about half the GEMM rate), (2/3) N^3 per step for Euler's
    sum-rule determinant (``determinant``), at a rate that grows with N, and a fixed
    overhead per stage.
    """
    state_steps = t_transient / dt
    tangent_steps = (t_tangent + t_sim) / dt
    flops = 2.0 * n * n * stages * (state_steps + (m + 1) * tangent_steps)
    flops += 8.0 * n * m * m * (t_tangent + t_sim) / t_ons
    if determinant:
        flops += 2.0 / 3.0 * n**3 * t_sim / dt
    rate = FLOP_RATE / (1.0 + GEMM_HALF_N / n)
    return flops / rate + STEP_OVERHEAD * stages * (state_steps + tangent_steps)


def params_seconds(p: RunParams) -> float:
    """:func:`estimate_seconds` of a point (``t_max`` when it stops on a target precision)."""
    t_sim = getattr(p, "t_max", None) or p.t_sim
    return estimate_seconds(
        p.n,
        p.n_exponents,
        dt=p.step,
        t_ons=p.t_ons,
        t_transient=p.t_transient,
        t_tangent=p.tangent_transient,
        t_sim=t_sim,
        stages=_stages(p.model, p.scheme),
        determinant=p.model == "continuous" and p.scheme == "euler" and p.n_exponents == p.n,
    )


# -- points -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Point:
    """One grid point: its flat index in the sweep's grid, what it computes, its cache key."""

    index: int
    params: RunParams
    brute_force: bool = False
    threads: int = 1  # BLAS threads (part of the key: they change the last bits)
    trajectory: int = 0  # grid coordinate; its seeds are in params (trajectory_seeds)
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", point_key(self.params, self.brute_force, self.threads))

    def spec(self) -> dict[str, Any]:
        """JSON-ready description: what a shard job receives (its ``params:``)."""
        return {
            "key": self.key,
            "params": params_dict(self.params),
            "brute_force": self.brute_force,
            "threads": self.threads,
            "trajectory": self.trajectory,
            "estimate": round(self.seconds, 3),
        }

    @property
    def label(self) -> str:
        return point_label(params_dict(self.params), self.trajectory)

    @property
    def coords(self) -> tuple[float, int, float, float, int, int]:
        """The point's values of :data:`GRID_DIMS`."""
        p = self.params
        return (p.g, p.n, p.input_std, p.input_tau, p.seed, self.trajectory)

    @property
    def seconds(self) -> float:
        """Estimated single-core compute time."""
        return params_seconds(self.params)

    @property
    def wall_seconds(self) -> float:
        """Estimated wall time with its BLAS threads (ideal speed-up)."""
        return self.seconds / self.threads


@dataclass(frozen=True)
class Shard:
    """The points computed by one job (or segment ``segment`` of a chain of jobs)."""

    name: str
    points: tuple[Point, ...]
    threads: int  # cores the job asks for
    wall_seconds: float  # estimated makespan of the job's points on its cores
    segment: int = 1
    segments: int = 1

    @property
    def specs(self) -> list[dict[str, Any]]:
        return [p.spec() for p in self.points]

    @property
    def previous(self) -> str | None:
        """The name of the preceding segment of a chain (its output is this one's input)."""
        if self.segment == 1:
            return None
        return self.name.rsplit("_", 1)[0] + f"_{self.segment - 1}of{self.segments}"


@dataclass
class SweepPlan:
    """All points of a sweep and the shards that compute those missing from the cache."""

    name: str
    sweep: dict[str, Any]
    points: list[Point]
    shards: dict[str, Shard] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)  # failed attempts of missing points

    @property
    def digest(self) -> str:
        """Hash of the points' keys and failed attempts: changes when a gather is due."""
        return fingerprint([[p.key for p in self.points], sorted(self.attempts.items())], 16)

    @property
    def missing(self) -> list[Point]:
        return [p for s in self.shards.values() if s.segment == 1 for p in s.points]

    def record(self) -> dict[str, Any]:
        """What ``results/<sweep>/plan.json`` holds: every point, for gather and status."""
        return {
            "sweep": self.name,
            "numerics_version": NUMERICS_VERSION,
            "grid": {d: sorted(self.sweep["grid"][d]) for d in GRID_DIMS},
            "time_unit": "step" if self.sweep["model"] == "discrete" else "tau",
            "config": science_config(self.sweep),
            "points": [
                {"key": p.key, "coords": list(p.coords), "label": p.label} | p.spec()
                for p in self.points
            ],
        }


# -- planning -----------------------------------------------------------------------------
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


def point_threads(execution: Mapping[str, Any], n: int) -> int:
    """BLAS threads of a point of size ``n``: ``big_point_threads`` from ``big_point_n`` on."""
    return execution["big_point_threads"] if n >= execution["big_point_n"] else 1


def expand_grid(name: str, sweep: Mapping[str, Any]) -> list[Point]:
    """All points of a (resolved) sweep, in grid order (``GRID_DIMS``, each ascending).

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
            **trajectory_seeds(int(coords["seed"]), int(coords["trajectory"])),
        }
        params = _run_params(name, base, numerics, numerics_from)
        threads = point_threads(sweep["execution"], params.n)
        brute = bool(numerics["brute_force"])
        points.append(Point(index, params, brute, threads, int(coords["trajectory"])))
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
    if ex["max_job_minutes"] * 60 <= 2 * MIN_MARGIN:
        raise ConfigError(
            f"sweeps.{name}.execution.max_job_minutes: must exceed {2 * MIN_MARGIN / 60:g} "
            f"(a job keeps {MIN_MARGIN:g} s to pause and write), got {ex['max_job_minutes']}"
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


def job_budget(execution: Mapping[str, Any]) -> float:
    """Seconds of compute a job of ``max_job_minutes`` may use (the rest is its margin)."""
    limit = 60.0 * execution["max_job_minutes"]
    return limit - max(MIN_MARGIN, 0.05 * limit) - JOB_OVERHEAD


def job_minutes(shard: Shard, execution: Mapping[str, Any]) -> int:
    """The time limit a shard's job asks for: never above ``max_job_minutes``."""
    want = RUNTIME_SAFETY * shard.wall_seconds + JOB_OVERHEAD + MIN_MARGIN
    return min(execution["max_job_minutes"], math.ceil(want / 60))


def _name(points: Sequence[Point], attempts: Mapping[str, int]) -> str:
    return fingerprint([(p.key, attempts.get(p.key, 0)) for p in points], 12)


def _chain(p: Point, budget: float, attempts: Mapping[str, int]) -> list[Shard]:
    """A point too long for one job: ``segments`` jobs, each resuming from its checkpoint."""
    segments = math.ceil(RUNTIME_SAFETY * p.wall_seconds / budget)
    name, wall = _name([p], attempts), budget / RUNTIME_SAFETY
    return [
        Shard(f"{name}_{k}of{segments}", (p,), p.threads, wall, k, segments)
        for k in range(1, segments + 1)
    ]


def pack(
    points: Sequence[Point], execution: Mapping[str, Any], attempts: Mapping[str, int]
) -> list[Shard]:
    """Pack points into shards: longest first, each into the least loaded lane of a job.

    A job of ``cores`` cores has ``cores // threads`` lanes (points of one BLAS thread
    count share a job), each of about ``shard_seconds`` (or of the job's longest point,
    if longer), so cheap points fill the cores a job asks for. A point whose estimate
    (times the runtime safety factor) exceeds one job's budget becomes a chain of jobs
    that resume from its checkpoint.
    """
    budget = job_budget(execution)
    cores, target_s = execution["cores"], execution["shard_seconds"]
    shards: list[Shard] = []
    by_threads: dict[int, list[Point]] = {}
    for p in sorted(points, key=lambda p: (-p.wall_seconds, p.index)):
        if RUNTIME_SAFETY * p.wall_seconds > budget:
            shards += _chain(p, budget, attempts)
        else:
            by_threads.setdefault(p.threads, []).append(p)
    for threads, group in sorted(by_threads.items()):
        n_lanes = max(1, cores // threads)
        lanes: list[float] = []
        members: list[Point] = []

        def close(members=members, lanes=lanes, threads=threads) -> None:
            if members:
                cpus = threads * min(len(lanes), len(members))
                shards.append(Shard(_name(members, attempts), tuple(members), cpus, max(lanes)))
                members.clear()

        for p in group:
            if members:
                j = min(range(len(lanes)), key=lanes.__getitem__)
                if lanes[j] + p.wall_seconds <= max(target_s, lanes[0]):
                    lanes[j] += p.wall_seconds
                    members.append(p)
                    continue
                close()
            lanes[:] = [p.wall_seconds] + [0.0] * (n_lanes - 1)
            members.append(p)
        close()
    return shards


def plan_sweep(name: str, sweep: Mapping[str, Any], cache: Cache | None = None) -> SweepPlan:
    """Validate and expand one resolved sweep; pack the points missing from ``cache``."""
    _check_sweep(name, sweep)
    points = expand_grid(name, sweep)
    missing = points if cache is None else [p for p in points if not cache.has(p.key)]
    attempts = {}
    if cache is not None:
        for p in missing:
            rec = cache.failure(p.key)
            if rec:
                attempts[p.key] = rec["attempts"]
    shards = pack(missing, sweep["execution"], attempts)
    shard_map = {s.name: s for s in shards}
    return SweepPlan(name, copy.deepcopy(dict(sweep)), points, shard_map, attempts)


def plan(
    sweeps: Mapping[str, Mapping[str, Any]], cache: str | Path | Cache | None = None
) -> dict[str, SweepPlan]:
    """Validate every point of every sweep (schema defaults applied) and plan its shards.

    Parameters
    ----------
    sweeps : mapping
        The config's ``sweeps`` (raw or already resolved: defaults are filled here).
    cache : path or Cache, optional
        Only points missing from this point cache get shards; without it, all do.

    Raises
    ------
    ConfigError
        Naming the first invalid field (``sweeps.<name>.<field>``) and grid point.
    """
    resolved = resolve({"sweeps": dict(sweeps)})["sweeps"]
    if cache is not None and not isinstance(cache, Cache):
        cache = Cache(cache)
    return {name: plan_sweep(name, sweep, cache) for name, sweep in resolved.items()}


def science_config(sweep: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that determine a sweep's numbers (everything but ``execution``)."""
    return {k: v for k, v in sweep.items() if k != "execution"}
