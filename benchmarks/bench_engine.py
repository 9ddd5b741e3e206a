"""Benchmark of the Lyapunov engine (not a test; prints ratios measured in one run).

For N in {256, 512, 1024}, full spectrum: continuous RK4 and Euler (dt = 0.1) and
discrete time. Prints seconds per simulated tau (per step for discrete), achieved
GFLOP/s of the tangent work (GEMMs + QRs), its ratio to this machine's single-thread
DGEMM rate measured in the same run, and the speed-up over the straightforward
numpy baseline (benchmarks/baseline_numpy.py) per step and at equal accuracy.

Medians of ``--repeats`` runs. One BLAS thread throughout (how sweeps run).

    python benchmarks/bench_engine.py [--sizes 256 512 1024] [--repeats 3]
    python benchmarks/bench_engine.py --without-coretype   # also rerun without OPENBLAS_CORETYPE
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.linalg import blas
from threadpoolctl import threadpool_info, threadpool_limits

import lyap_core as lc

sys.path.insert(0, str(Path(__file__).parent))
from baseline_numpy import baseline_spectrum  # noqa: E402

warnings.simplefilter("ignore", lc.NumericsWarning)


def dgemm_rate(n: int, repeats: int) -> float:
    """Single-thread DGEMM GFLOP/s for N x N times N x (N+1) (the engine's product)."""
    rng = np.random.default_rng(0)
    A = np.asfortranarray(rng.standard_normal((n, n)))
    B = np.asfortranarray(rng.standard_normal((n, n + 1)))
    C = np.empty((n, n + 1), order="F")
    ts = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        blas.dgemm(1.0, A, B, beta=0.0, c=C, overwrite_c=1)
        ts.append(time.perf_counter() - t0)
    return 2.0 * n * n * (n + 1) / np.median(ts[1:]) / 1e9


def tangent_flops(n: int, model: str, scheme: str, steps: int, n_qr: int) -> float:
    gemms = {"rk4": 4, "euler": 1}.get(scheme, 1) if model == "continuous" else 1
    gemm = gemms * 2.0 * n * n * (n + 1) * steps
    qr = (4.0 * n * n * n + 2.0 * n**3 / 3) * n_qr  # CholeskyQR2: 2 SYRK + 2 TRSM + 2 POTRF
    return gemm + qr


def engine_run(n: int, model: str, scheme: str, t_sim: float, repeats: int) -> dict:
    """Median wall time of the engine's tangent phase (steps + QR) via run_point."""
    p = lc.RunParams(
        n=n,
        g=3.0,
        model=model,
        scheme=scheme,
        t_sim=t_sim,
        t_transient=0.0,
        t_transient_tangent=0.0,
        t_ons=1.0,
        n_blocks=2,
    )
    walls = []
    for _ in range(repeats):
        r = lc.run_point(p)
        walls.append(r.wall_time["tangent"] + r.wall_time["qr"])
    steps = round(t_sim / p.step)
    n_qr = round(t_sim / p.t_ons)
    wall = float(np.median(walls))
    return {
        "wall": wall,
        "per_unit": wall / t_sim,
        "gflops": tangent_flops(n, model, scheme, steps, n_qr) / wall / 1e9,
        "fallbacks": r.qr_fallbacks,
    }


def baseline_run(n: int, dt: float, t_sim: float, repeats: int) -> float:
    """Median seconds per tau of the numpy baseline at step dt."""
    p = lc.RunParams(n=n, g=3.0)
    J = np.ascontiguousarray(lc.build_coupling(p))
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(n)
    Q0, _ = np.linalg.qr(rng.standard_normal((n, n)))
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        baseline_spectrum(J, x0, Q0, dt=dt, t_sim=t_sim, t_ons=1.0)
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)) / t_sim


def points_per_minute(repeats: int) -> tuple[float, float]:
    """Default-numerics N = 100 points per minute (one process) and the Python share."""
    p = lc.RunParams(n=100, g=3.0)  # t_sim 200, transients 100 + 50, RK4 dt 0.1
    ts = []
    for seed in range(repeats):
        t0 = time.perf_counter()
        r = lc.run_point(p.replace(seed=seed))
        ts.append(time.perf_counter() - t0)
    per_point = float(np.median(ts))
    steps = round((p.t_sim + p.tangent_transient) / p.step)
    gemm_only = 4 * 2.0 * 100 * 100 * 101 * steps / (dgemm_rate(100, 5) * 1e9)
    del r
    return 60.0 / per_point, 1.0 - gemm_only / per_point


def euler_mean_bias(dt: float) -> float:
    """Bias of the mean exponent of the Euler map: log(1 - dt)/dt + 1 (closed form)."""
    return float(np.log1p(-dt) / dt + 1.0)


def measured_mean_bias(scheme: str, dt: float) -> float:
    r = lc.run_point(lc.RunParams(n=100, g=3.0, scheme=scheme, dt=dt, t_sim=20.0, t_transient=10.0))
    return float(r.exponents.mean() + 1.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--without-coretype",
        action="store_true",
        help="also rerun with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset",
    )
    a = ap.parse_args()
    with threadpool_limits(1):
        run(a)
    if a.without_coretype:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
        }
        args = [
            sys.executable,
            __file__,
            "--sizes",
            *map(str, a.sizes),
            "--repeats",
            str(a.repeats),
        ]
        print("\n=== rerun without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE ===", flush=True)
        subprocess.run(args, env=env, check=True)


def run(a: argparse.Namespace) -> None:
    blas_libs = [
        f"{i['internal_api']} {i.get('version')} {i.get('architecture')}" for i in threadpool_info()
    ]
    print(f"BLAS: {blas_libs}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}")
    print("accuracy (mean-exponent bias, closed form = measured):")
    for scheme, dt in (("euler", 0.1), ("euler", 0.01), ("euler", 0.002), ("rk4", 0.1)):
        closed = euler_mean_bias(dt) if scheme == "euler" else float("nan")
        print(
            f"  {scheme:5s} dt={dt:<6g} closed form {closed:+.2e}  measured "
            f"{measured_mean_bias(scheme, dt):+.2e}"
        )
    ppm, py_share = points_per_minute(a.repeats)
    print(
        f"N=100 default point (t_sim 200, RK4): {ppm:.1f} points/min per process "
        f"(~{2 * ppm:.0f}/min on 2 cores); share outside DGEMM {100 * py_share:.0f} %"
    )
    hdr = (
        f"{'N':>5} {'mode':>10} {'s/unit':>9} {'GFLOP/s':>8} {'DGEMM':>7} {'ratio':>6} "
        f"{'base s/unit':>11} {'speed-up':>8}"
    )
    print(hdr)
    for n in a.sizes:
        rate = dgemm_rate(n, a.repeats)
        t_cont = 2.0 if n >= 1024 else 4.0
        base_per_step = None
        for model, scheme in (("continuous", "rk4"), ("continuous", "euler"), ("discrete", "rk4")):
            t_sim = t_cont if model == "continuous" else 10.0
            e = engine_run(n, model, scheme, t_sim, a.repeats)
            label = scheme if model == "continuous" else "discrete"
            base, speed = "", ""
            if model == "continuous":
                if base_per_step is None:
                    base_per_step = baseline_run(n, 0.1, 1.0, a.repeats) * 0.1  # s per step
                base_unit = base_per_step / 0.1
                base, speed = f"{base_unit:11.3f}", f"{base_unit / e['per_unit']:7.1f}x"
            print(
                f"{n:5d} {label:>10} {e['per_unit']:9.3f} {e['gflops']:8.1f} {rate:7.1f} "
                f"{e['gflops'] / rate:6.2f} {base:>11} {speed:>8}",
                flush=True,
            )
            if scheme == "rk4" and model == "continuous":
                rk4_unit = e["per_unit"]
        # equal accuracy: baseline Euler needs dt = 0.002 (mean-exponent bias 1e-3)
        equal = base_per_step / 0.002 / rk4_unit
        print(
            f"{n:5d} {'equal-acc':>10}  baseline Euler dt=0.002 {base_per_step / 0.002:.2f} s/tau"
            f" vs engine RK4 dt=0.1 {rk4_unit:.3f} s/tau: {equal:.0f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
