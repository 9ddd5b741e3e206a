"""Bias and speed of ``precision="mixed"`` (float32 tangent vectors) against float64.

The bias is measured on the *same* float64 state trajectory: both runs use
:class:`lyap_core.mixed.SplitPrecisionNetwork`, once with float32 and once with
float64 tangents, so the difference per exponent is the float32 round-off alone
(a float64 ``run_point`` advances the state as a column of the fused GEMM, whose
round-off differs, so its trajectory decorrelates from the mixed one after ~40/lambda).
The speed is that of ``run_point`` (precision float64 vs mixed), one BLAS thread.

    python benchmarks/mixed_precision.py [--quick]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

import lyap_core as lc
from lyap_core.mixed import SplitPrecisionNetwork
from lyap_core.point import build_network, rng_for


def bias(n: int, g: float, t_sim: float, seed: int) -> dict[str, float]:
    """Per-exponent |float32 - float64| on one trajectory, and relative to the s.e."""
    p = lc.RunParams(n=n, g=g, seed=seed, t_sim=t_sim, t_transient=100.0)
    res = []
    for dtype in (np.float32, np.float64):
        net = SplitPrecisionNetwork(build_network(p), dtype)
        x0 = rng_for(p, "init").standard_normal(n)
        res.append(
            lc.lyapunov_spectrum(
                net, x0, t_ons=1.0, t_sim=t_sim, t_transient=100.0, t_transient_tangent=50.0
            )
        )
    low, ref = res
    d = np.abs(low.exponents - ref.exponents)
    return {
        "max_abs": float(d.max()),
        "median_abs": float(np.median(d)),
        "max_over_se": float(np.max(d / ref.stderr)),
        "d_ky": abs(low.kaplan_yorke_dimension - ref.kaplan_yorke_dimension),
        "lambda_max": ref.lambda_max,
    }


def speed(n: int, t_sim: float) -> float:
    """float64 / mixed CPU-time ratio of a full spectrum (best of two)."""
    best = {}
    for prec in ("float64", "mixed") * 2:
        p = lc.RunParams(
            n=n,
            g=4.0,
            seed=1,
            t_sim=t_sim,
            t_transient=2.0,
            t_transient_tangent=0.0,
            precision=prec,
        )
        t0 = time.process_time()
        lc.run_point(p)
        best[prec] = min(best.get(prec, np.inf), time.process_time() - t0)
    return best["float64"] / best["mixed"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 100 only, shorter runs")
    a = ap.parse_args()
    sizes = [100] if a.quick else [100, 200]
    t_sim = 100.0 if a.quick else 300.0
    warnings.simplefilter("ignore", lc.NumericsWarning)
    with threadpool_limits(1):
        for n in sizes:
            for g in (3.0, 5.0):
                b = bias(n, g, t_sim, seed=1)
                print(
                    f"N={n} g={g} t_sim={t_sim:g}: lambda_max {b['lambda_max']:+.4f}  "
                    f"max|d lambda_i| {b['max_abs']:.2e}  median {b['median_abs']:.2e}  "
                    f"max |d|/s.e. {b['max_over_se']:.2e}  |d D_KY| {b['d_ky']:.2e}"
                )
        for n in (sizes + [400]) if not a.quick else [100, 400]:
            print(f"N={n}: float64/mixed CPU time = {speed(n, 4000.0 / n):.2f}")


if __name__ == "__main__":
    main()
