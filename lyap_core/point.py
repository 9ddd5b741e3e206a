"""One grid point: validated parameters -> rate network -> engine -> SpectrumResult.

This is the function the CLI and the sweep call; it owns seeding (one
``SeedSequence`` stream per random ingredient), checkpoint/restart and the
numerics warnings that depend on the model.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from .checkpoint import load_checkpoint, save_checkpoint
from .coupling import check_coupling, gaussian_coupling, load_coupling, sparse_coupling
from .engine import EngineConfig, EngineState, NumericsWarning, finish, initial_state, run_state
from .inputs import make_input
from .integrators import INTEGRATORS
from .mixed import SplitPrecisionNetwork
from .models import RateNetwork
from .params import RunParams
from .result import SpectrumResult

STREAMS = ("network", "init", "onb", "input")


def rng_for(params: RunParams, stream: str) -> np.random.Generator:
    """Independent generator of one stream; depends only on that stream's seed."""
    seed = params.seeds()[stream]
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(STREAMS.index(stream),)))


def build_coupling(params: RunParams):
    """J for the parameters (Gaussian, sparse, or loaded; a file's J is used as given)."""
    rng = rng_for(params, "network")
    if params.connectivity == "gaussian":
        return gaussian_coupling(params.n, params.g, rng, params.autapses)
    if params.connectivity == "sparse":
        return sparse_coupling(params.n, params.k, params.g, rng, params.autapses)
    return load_coupling(params.coupling, params.n)


def build_network(params: RunParams, J=None) -> RateNetwork:
    """The :class:`RateNetwork` with its input process, from validated parameters."""
    continuous = params.model == "continuous"
    n_points = INTEGRATORS[params.scheme].n_points if continuous else 1
    inputs = make_input(
        params.n,
        params.input_std,
        params.input_tau,
        continuous=continuous,
        dt=params.step,
        n_points=n_points,
        rng=rng_for(params, "input"),
    )
    return RateNetwork(
        build_coupling(params) if J is None else check_coupling(J, params.n),
        params.phi,
        continuous=continuous,
        dt=params.step,
        scheme=params.scheme,
        inputs=inputs,
    )


def engine_config(params: RunParams) -> EngineConfig:
    s = params.steps()
    per = s["per_ons"]
    return EngineConfig(
        m=params.n_exponents,
        steps_per_ons=per,
        n_ons=s["n_ons"],
        transient_steps=s["transient"],
        # whole ONS intervals, so that every QR sees the same number of steps
        tangent_transient_steps=-(-s["tangent_transient"] // per) * per,
        n_blocks=params.n_blocks,
        qr=params.qr,
        adaptive_ons=params.adaptive_ons,
        bootstrap=params.bootstrap,
        target_rel_stderr=params.target_rel_stderr or 0.0,
        max_steps=s.get("max", 0),
        min_block_steps=s.get("min_block", 0),
        m_auto=params.m == "auto",
        onb_seed=params.seeds()["onb"],
    )


def dt_warning(params: RunParams) -> str | None:
    """A warning when dt is large for the scheme (see docs/NUMERICS.md)."""
    if params.model != "continuous":
        return None
    scale = params.step * max(1.0, params.g)
    if params.scheme == "euler" and params.step > 0.01:
        return (
            f"dt: Euler at dt={params.step} biases every exponent by about "
            f"{np.log1p(-params.step) / params.step + 1:+.3f}/tau (the Euler map, not the flow); "
            "use scheme='rk4' or dt <= 0.01"
        )
    if params.scheme == "rk4" and scale > 0.5:
        return f"dt: dt*g = {scale:.3g} > 0.5; RK4 exponents may be biased, halve dt and compare"
    return None


def run_point(
    params: RunParams | dict[str, Any],
    *,
    checkpoint: str | Path | None = None,
    checkpoint_interval: float = 300.0,
    progress: Callable[[int, int], None] | None = None,
    blas_threads: int | None = 1,
    brute_force: bool = False,
    J=None,
    x0: np.ndarray | None = None,
) -> SpectrumResult:
    """Compute the Lyapunov spectrum of one rate network.

    Parameters
    ----------
    params : RunParams or dict
        Validated (or to be validated) parameters.
    checkpoint : path, optional
        Save the engine state there every ``checkpoint_interval`` seconds of wall
        time (0: at every ONS boundary), atomically; if the file exists, resume from
        it. A resumed run gives bit-identical numbers.
    progress : callable, optional
        ``progress(done_steps, total_steps)`` at ONS boundaries.
    blas_threads : int or None
        BLAS threads for the hot loop (threadpoolctl; ``lyap spectrum --threads``);
        ``None`` leaves them alone. Keep 1 where workers share the cores (sweeps).
    brute_force : bool
        Also estimate lambda_max from two nearby trajectories (cross-check).
    J : matrix, optional
        Use this coupling instead of building one (must match ``params.n``).
    x0 : array, optional
        Initial state (e.g. on a trained attractor) instead of the ``init`` stream's draw.
    """
    p = params if isinstance(params, RunParams) else RunParams.from_dict(params)
    if blas_threads is not None and not (
        isinstance(blas_threads, int) and not isinstance(blas_threads, bool) and blas_threads >= 1
    ):
        raise ValueError(f"threads: must be an integer >= 1, got {blas_threads!r}")
    pdict = p.to_dict()
    cfg = engine_config(p)
    ctx = threadpool_limits(blas_threads) if blas_threads else contextlib.nullcontext()
    with ctx:
        system = build_network(p, J)
        if p.precision == "mixed":
            system = SplitPrecisionNetwork(system)
        state = None
        if checkpoint is not None and Path(checkpoint).exists():
            state = load_checkpoint(checkpoint, pdict)
        if state is None:
            if x0 is None:
                x0 = rng_for(p, "init").standard_normal(p.n)
            x0 = np.asarray(x0, dtype=np.float64)
            if x0.shape != (p.n,) or not np.all(np.isfinite(x0)):
                raise ValueError(f"x0: must be a finite vector of length n={p.n}")
            state = initial_state(system, x0, cfg, rng_for(p, "onb"))
        on_boundary = None
        if checkpoint is not None:
            on_boundary = _Checkpointer(Path(checkpoint), pdict, checkpoint_interval)
        state = run_state(system, cfg, state, progress, on_boundary)
        if on_boundary is not None:
            on_boundary(state, force=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NumericsWarning)
            res = finish(system, cfg, state, pdict)
        if brute_force:
            res.brute_force_lambda_max = brute_force_lambda_max(
                system,
                state.X[:, 0].copy(),
                res.time,
                cfg.steps_per_ons,
                t_align=p.tangent_transient,
                seed=p.seeds()["onb"],
            )
    w = dt_warning(p)
    if w:
        res.warnings.insert(0, w)
    for msg in res.warnings:
        warnings.warn(msg, NumericsWarning, stacklevel=2)
    return res


class _Checkpointer:
    """Saves the engine state at ONS boundaries, at most every ``interval`` seconds."""

    def __init__(self, path: Path, params: dict[str, Any], interval: float):
        self.path, self.params, self.interval = path, params, interval
        self.last = time.monotonic()

    def __call__(self, state: EngineState, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last >= self.interval:
            save_checkpoint(self.path, state, self.params)
            self.last = now


def brute_force_lambda_max(
    system: RateNetwork,
    x0: np.ndarray,
    t: float,
    steps_per_renorm: int,
    *,
    t_align: float = 50.0,
    eps: float = 1e-8,
    seed: int = 0,
) -> float:
    """lambda_max from two trajectories a distance ``eps`` apart, renormalised periodically.

    Both trajectories see the same input (they are two state columns of one array).
    lambda_max = sum log(d_k / eps) / t over the renormalisations after an alignment
    transient of ``t_align`` (same units as ``t``; default: the engine's default tangent
    transient), in which the separation turns into the most unstable direction. Without
    it the random start biases the estimate low by ~log(overlap)/t (0.016-0.019 below
    the QR value at t = 200). Independent of the tangent machinery.
    """
    v = np.random.default_rng(seed).standard_normal(system.dim)
    X = np.empty((system.dim, 2), order="F")
    X[:, 0] = x0
    X[:, 1] = x0 + eps * v / np.linalg.norm(v)
    interval = steps_per_renorm * system.dt
    n_align = round(t_align / interval)
    n_renorm = max(1, round(t / interval))
    total = 0.0
    for k in range(n_align + n_renorm):
        for _ in range(steps_per_renorm):
            system.step_state(X)
        diff = X[:, 1] - X[:, 0]
        d = float(np.sqrt(diff @ diff))
        if not np.isfinite(d) or d == 0:
            return float("nan")
        if k >= n_align:
            total += np.log(d / eps)
        X[:, 1] = X[:, 0] + (eps / d) * diff
    return total / (n_renorm * interval)
