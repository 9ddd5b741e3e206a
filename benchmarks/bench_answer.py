"""Time to answer (not a test): a fixed question set, fixed paper settings vs adaptive ones.

Questions: D_KY/N, H_KS/N and lambda_max at g in {2, 3, 5, 10} and N in {100, 200, 400},
each to 3 % relative standard error. Answered in one run by

(a) the fixed paper settings (config/paper.yaml): full spectrum, t_sim = 1000 tau,
    t_transient = 200, dt per g (dt g <= 0.3), float64;
(b) the adaptive settings: the same transient and dt, ``m = "auto"``,
    ``target_rel_stderr = 0.03`` and ``t_max = 1000`` (never longer than (a)). Not
    ``precision = "mixed"``: at the m that "auto" picks (m <~ N/10) the tangent GEMM no
    longer dominates a step and float32 does not pay (benchmarks/mixed_precision.py).

Prints per point the CPU seconds (one BLAS thread), the relative standard errors
reached, whether each meets 3 %, and the agreement of (a) and (b) (|a - b| / combined
s.e.; same network and initial condition, but the GEMM's width m + 1 can change the
state's round-off, after which the trajectories decorrelate: then (a) and (b) are two
samples of one network, and |a - b| / s.e. is O(1)); then the totals, the CPU ratio,
N = 100 points per minute per core, and the estimated core-hours of config/paper.yaml
with fixed and with adaptive settings: the pipeline's cost model
(lyap_workflow.sweep.params_seconds) for the fixed settings, scaled per point by the
CPU ratio measured here at the nearest (N, g) of the question set (an extrapolation:
say so when quoting it).

    python benchmarks/bench_answer.py --quick   # N = 100 and N = 200 at g = 3 (~2 min)
    python benchmarks/bench_answer.py           # the full set: an idle machine, ~30 min
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import lyap_core as lc

GAINS = (2.0, 3.0, 5.0, 10.0)
SIZES = (100, 200, 400)
DT = {2.0: 0.1, 3.0: 0.1, 5.0: 0.05, 10.0: 0.025}  # config/paper.yaml: dt g <= 0.3
TARGET = 0.03
T_SIM = 1000.0
PAPER = Path(__file__).resolve().parents[1] / "config" / "paper.yaml"


def settings(n: int, g: float, adaptive: bool, seed: int) -> lc.RunParams:
    base = dict(n=n, g=g, dt=DT[g], seed=seed, t_transient=200.0, t_sim=T_SIM)
    if adaptive:
        base.update(m="auto", target_rel_stderr=TARGET, t_max=T_SIM)
    return lc.RunParams(**base)


def answers(r: lc.SpectrumResult) -> dict[str, tuple[float, float]]:
    """The three answers with their standard errors."""
    return {
        "D/N": (r.kaplan_yorke_per_n, r.kaplan_yorke_dimension_stderr / r.n),
        "H/N": (r.ks_entropy_per_n, r.ks_entropy_stderr / r.n),
        "lmax": (r.lambda_max, r.lambda_max_stderr),
    }


def rel(v: float, se: float) -> float:
    return se / abs(v) if v and math.isfinite(v) else float("nan")


def timed(p: lc.RunParams) -> tuple[lc.SpectrumResult, float]:
    t0 = time.process_time()
    r = lc.run_point(p)
    return r, time.process_time() - t0


def paper_core_hours(ratio_at) -> tuple[float, float] | None:
    """(fixed, adaptive) core-hours of config/paper.yaml, or None without the pipeline."""
    try:
        from lyap_workflow.config import load
        from lyap_workflow.sweep import expand_grid, params_seconds
    except ImportError:
        return None
    cfg = load(PAPER)
    fixed = adaptive = 0.0
    for name, sweep in cfg["sweeps"].items():
        for pt in expand_grid(name, sweep):
            s = params_seconds(pt.params)
            fixed += s
            adaptive += s / ratio_at(pt.params.n, pt.params.g)
    return fixed / 3600, adaptive / 3600


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 100 (all g) and N = 200 at g = 3")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    warnings.simplefilter("ignore", lc.NumericsWarning)
    points = [(n, g) for n in SIZES for g in GAINS]
    if a.quick:
        points = [(100, g) for g in GAINS] + [(200, 3.0)]
    cpu = {"a": {}, "b": {}}
    met = {"a": 0, "b": 0}
    print(f"question set: {len(points)} points x (D/N, H/N, lambda_max) to {TARGET:.0%} rel. s.e.")
    print(
        "  N     g | CPU a   CPU b  ratio |  T_b  stop_b     m_b | rel.s.e. a (D/N H/N lmax)"
        " | rel.s.e. b | max |a-b|/se"
    )
    with threadpool_limits(1):
        for n, g in points:
            ra, ta = timed(settings(n, g, False, a.seed))
            rb, tb = timed(settings(n, g, True, a.seed))
            cpu["a"][n, g], cpu["b"][n, g] = ta, tb
            xa, xb = answers(ra), answers(rb)
            rels = {}
            for key, x in (("a", xa), ("b", xb)):
                rels[key] = [rel(v, se) for v, se in x.values()]
                met[key] += sum(e <= TARGET for e in rels[key])
            z = max(
                abs(xa[k][0] - xb[k][0]) / math.hypot(xa[k][1], xb[k][1])
                if math.hypot(xa[k][1], xb[k][1]) > 0
                else 0.0
                for k in xa
            )
            fmt = " ".join(f"{e:5.3f}" for e in rels["a"])
            fmb = " ".join(f"{e:5.3f}" for e in rels["b"])
            print(
                f"{n:4d} {g:5.1f} | {ta:6.1f} {tb:6.1f} {ta / tb:6.2f} | {rb.time:5.0f} "
                f"{rb.stopped_by:11s} {rb.m:4d} | {fmt} | {fmb} | {z:.2f}",
                flush=True,
            )
    tot_a, tot_b = sum(cpu["a"].values()), sum(cpu["b"].values())
    n_q = 3 * len(points)
    print(f"total CPU: fixed {tot_a:.1f} s, adaptive {tot_b:.1f} s, ratio {tot_a / tot_b:.2f}")
    print(f"answers meeting {TARGET:.0%}: fixed {met['a']}/{n_q}, adaptive {met['b']}/{n_q}")
    for key, label in (("a", "fixed"), ("b", "adaptive")):
        t100 = [t for (n, _), t in cpu[key].items() if n == 100]
        print(f"N = 100 points per minute per core, {label}: {60 / np.mean(t100):.2f}")

    def ratio_at(n: int, g: float) -> float:
        nn = min({n for n, _ in cpu["a"]}, key=lambda s: abs(math.log(s / n)))
        gg = min({g for m, g in cpu["a"] if m == nn}, key=lambda s: abs(math.log(s / g)))
        return cpu["a"][nn, gg] / cpu["b"][nn, gg]

    est = paper_core_hours(ratio_at)
    if est is None:
        print("config/paper.yaml: lyap_workflow not installed, no core-hour estimate")
    else:
        print(
            f"config/paper.yaml: {est[0]:.0f} core-h fixed (cost model), ~{est[1]:.0f} core-h "
            f"adaptive (each point / the measured ratio at the nearest (N, g); extrapolated "
            f"beyond N = {max(n for n, _ in cpu['a'])})"
        )


if __name__ == "__main__":
    main()
