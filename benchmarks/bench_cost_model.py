"""Calibrate the sweep cost model (lyap_workflow.sweep.estimate_seconds) on measured points.

Runs a few small points with one BLAS thread, fits FLOP_RATE and STEP_OVERHEAD by least
squares on log-time-weighted residuals (relative errors), and prints the estimate/measured
ratio of every point (CPU seconds) before (the constants in sweep.py) and after the fit:

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_cost_model.py

Timings on a shared machine are inflated by its load; the fit absorbs the load of the
day, so refit on the machines that run the campaign (the ratios are what matter).
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
from lyap_workflow import sweep

from lyap_core import RunParams, run_point

POINTS = [
    dict(n=50, t_sim=100.0, t_transient=20.0),
    dict(n=100, t_sim=40.0, t_transient=20.0),
    dict(n=200, t_sim=20.0, t_transient=10.0),
    dict(n=300, t_sim=10.0, t_transient=10.0),
    dict(n=200, m=20, t_sim=40.0, t_transient=10.0),
    dict(n=100, scheme="euler", dt=0.02, t_sim=20.0, t_transient=10.0),
    dict(model="discrete", n=100, t_sim=600, t_transient=200),
    dict(model="discrete", n=300, t_sim=200, t_transient=50),
    dict(model="discrete", n=600, t_sim=60, t_transient=20),
    dict(model="discrete", n=1000, t_sim=20, t_transient=10),
    dict(n=600, t_sim=2.0, t_transient=1.0),
]


def terms(p: RunParams) -> tuple[float, float]:
    """(flops, right-hand-side evaluations) of the cost model: seconds = a*flops + b*evals."""
    a = sweep.estimate_seconds  # seconds = flops / FLOP_RATE + STEP_OVERHEAD * evals
    kw = dict(
        dt=p.step,
        t_ons=p.t_ons,
        t_transient=p.t_transient,
        t_tangent=p.tangent_transient,
        t_sim=p.t_sim,
        stages=sweep._stages(p.model, p.scheme),
        determinant=p.model == "continuous" and p.scheme == "euler" and p.n_exponents == p.n,
    )
    evals = kw["stages"] * (p.t_transient + p.tangent_transient + p.t_sim) / p.step
    rate = sweep.FLOP_RATE / (1.0 + sweep.GEMM_HALF_N / p.n)
    flops = (a(p.n, p.n_exponents, **kw) - sweep.STEP_OVERHEAD * evals) * rate
    return flops, evals


def main() -> None:
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kw in POINTS:
            p = RunParams(**kw)
            t0 = time.process_time()  # CPU time: one thread, so the load of others cancels
            run_point(p, blas_threads=1)
            rows.append((kw, sweep.params_seconds(p), time.process_time() - t0, *terms(p)))
    est, meas = np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
    # seconds = flops (1 + N_half/N) / rate + overhead * evals: GEMMs reach their rate
    # only at large N; linear in (1/rate, N_half/rate, overhead), fitted in relative error.
    n = np.array([RunParams(**r[0]).n for r in rows], dtype=float)
    X = np.array([[r[3], r[3] / k, r[4]] for r, k in zip(rows, n, strict=True)])
    (inv_rate, half_over_rate, overhead), *_ = np.linalg.lstsq(
        X / meas[:, None], np.ones(len(rows)), rcond=None
    )
    fit = X @ np.array([inv_rate, half_over_rate, overhead])
    print(f"{'point':60s} {'measured':>9s} {'before':>8s} {'after':>8s}")
    for (kw, *_), m, e, f in zip(rows, meas, est, fit, strict=True):
        print(f"{str(kw):60s} {m:8.2f}s {e / m:8.2f} {f / m:8.2f}")
    for name, r in (("before", est / meas), ("after", fit / meas)):
        print(
            f"estimate/measured {name}: median {np.median(r):.2f}, "
            f"range {r.min():.2f}-{r.max():.2f}, "
            f"rms log error {math.sqrt(np.mean(np.log(r) ** 2)):.2f}"
        )
    print(
        f"fit: FLOP_RATE = {1 / inv_rate:.3g} flop/s, "
        f"GEMM_HALF_N = {half_over_rate / inv_rate:.3g}, STEP_OVERHEAD = {overhead:.3g} s"
    )


if __name__ == "__main__":
    main()
