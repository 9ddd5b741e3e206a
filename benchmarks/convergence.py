"""Convergence evidence behind the defaults (docs/NUMERICS.md): dt, t_ONS, t_sim, transient.

Prints tables of lambda_max, D_KY/N, H_KS/N (mean ± standard error over seeds,
i.e. over network realisations) and the sum-rule residual, varying one numerics
setting at a time. Not a test: it takes minutes.

    python benchmarks/convergence.py [--n 100] [--seeds 4] [--gs 3 10 30]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

import lyap_core as lc

warnings.simplefilter("ignore", lc.NumericsWarning)


def row(label: str, results: list[lc.SpectrumResult]) -> str:
    def ms(values):
        v = np.array(values)
        return f"{v.mean():+.4f} ± {v.std(ddof=1) / np.sqrt(v.size):.4f}"

    lmax = ms([r.lambda_max for r in results])
    ky = ms([r.kaplan_yorke_per_n for r in results])
    h = ms([r.ks_entropy_per_n for r in results])
    res = max(abs(r.sum_rule_residual) for r in results)
    wall = np.mean([r.wall_time["total"] for r in results])
    return f"{label:28s} {lmax:>18s} {ky:>18s} {h:>18s} {res:10.2e} {wall:7.1f}s"


def sweep(base: lc.RunParams, seeds: int, label: str, **change) -> str:
    p = base.replace(**change)
    return row(label, [lc.run_point(p.replace(seed=s)) for s in range(seeds)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--gs", type=float, nargs="+", default=[3.0, 10.0, 30.0])
    a = ap.parse_args()
    print(f"N = {a.n}, {a.seeds} seeds (same seeds in every row); mean ± s.e. over seeds")
    print(
        f"{'setting':28s} {'lambda_max':>18s} {'D_KY/N':>18s} {'H_KS/N':>18s} "
        f"{'|sum res|':>10s} {'wall':>8s}"
    )
    with threadpool_limits(1):
        for g in a.gs:
            base = lc.RunParams(n=a.n, g=g, t_sim=200.0, t_transient=100.0)
            print(f"--- g = {g}")
            dts = [0.1, 0.05, 0.025] + ([0.0125] if g > 10 else [])
            for dt in dts:
                print(sweep(base, a.seeds, f"rk4 dt={dt}", dt=dt), flush=True)
            print(sweep(base, a.seeds, "euler dt=0.1", scheme="euler", dt=0.1), flush=True)
            print(sweep(base, a.seeds, "euler dt=0.01", scheme="euler", dt=0.01), flush=True)
            fine = min(dts)
            for t_ons in (0.5, 2.0):
                print(sweep(base, a.seeds, f"dt={fine} t_ons={t_ons}", dt=fine, t_ons=t_ons))
            print(sweep(base, a.seeds, f"dt={fine} t_sim=800", dt=fine, t_sim=800.0), flush=True)
            print(
                sweep(
                    base,
                    a.seeds,
                    f"dt={fine} transients x4",
                    dt=fine,
                    t_transient=400.0,
                    t_transient_tangent=200.0,
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
