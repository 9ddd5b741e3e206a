"""Strong-coupling evidence (issue 13, docs/NUMERICS.md E12-E15). Not a test; minutes.

Three studies, one BLAS thread, realisation statistics over seeds (mean ± s.e.):

``discrete``  D/N, H/N and lambda_max vs g up to 100 for discrete-time networks at two N,
              full spectra with the graded QR; also 1/2 ln(g^2 <phi'^2>) and the largest
              sum-rule residual.
``lowest``    the discrete-time spectrum against the free-multiplicative law from the
              measured phi' distribution (top 10 %, bulk, bottom 10 % of the ranks).
``rmt``       continuous-time full spectra at strong coupling against the crossing-kick
              law (DMFT inputs, no fit) and the frozen-Jacobian disk.

    python benchmarks/strong_coupling.py discrete [--ns 100 200] [--seeds 4 3]
    python benchmarks/strong_coupling.py lowest [--gs 3 10 50]
    python benchmarks/strong_coupling.py rmt [--runs 100:10:0.01 100:20:0.01 ...] [--seeds 4]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

import lyap_core as lc
from lyap_core.point import build_network, rng_for
from lyap_core.theory import (
    circular_law_continuous,
    crossing_kicks_dmft,
    free_multiplicative_discrete,
    ginibre_discrete,
)

warnings.simplefilter("ignore", lc.NumericsWarning)


def _ms(values: list[float]) -> str:
    v = np.asarray(values, dtype=float)
    if v.size < 2:
        return f"{v[0]:.4f}" if v.size else "–"
    return f"{v.mean():.4f} ± {v.std(ddof=1) / np.sqrt(v.size):.4f}"


def discrete(ns: list[int], seeds: list[int], gs: list[float], t_sim: int) -> None:
    print(f"discrete time, t_sim = {t_sim} steps, t_transient = 200; chaotic realisations only")
    print("| N | g | chaotic | λ_max | ½ln(g²⟨φ'²⟩) | D/N | H/N | max abs sum-rule res |")
    print("|---|---|---|---|---|---|---|---|")
    for n, k in zip(ns, seeds, strict=True):
        for g in gs:
            rs = [
                lc.run_point(dict(model="discrete", n=n, g=g, t_sim=t_sim, t_transient=200, seed=s))
                for s in range(k)
            ]
            ch = [r for r in rs if r.chaotic]
            rmt = _ms([0.5 * np.log(g * g * r.diagnostics["mean_dphi2"]) for r in ch])
            res = max(abs(r.sum_rule_residual) for r in rs)
            print(
                f"| {n} | {g:g} | {len(ch)}/{k} | {_ms([r.lambda_max for r in ch])} | "
                f"{rmt} | {_ms([r.kaplan_yorke_per_n for r in ch])} | "
                f"{_ms([r.ks_entropy_per_n for r in ch])} | {res:.1e} |",
                flush=True,
            )


def lowest(gs: list[float], n: int, t_sim: int) -> None:
    print(f"discrete time, N = {n}, seed 0, {t_sim} steps; phi' sampled on a second run")
    print("| g | sum-rule res | ranks | mean (meas − law) | max abs | Ginibre max abs |")
    print("|---|---|---|---|---|---|")
    for g in gs:
        p = lc.RunParams.from_dict(dict(model="discrete", n=n, g=g, t_sim=t_sim, t_transient=200))
        r = lc.run_point(p)
        net = build_network(p)
        x = rng_for(p, "init").standard_normal(n)
        samples = []
        for k in range(200 + t_sim):
            net.step_state(x)
            if k >= 200:
                samples.append(net.nl.dphi(x))
        d = np.array(samples)
        law = free_multiplicative_discrete(n, g, d)
        gin = ginibre_discrete(n, g, float(np.mean(d**2)))
        x_r = (np.arange(1, n + 1) - 0.5) / n
        for name, sel in (
            ("top 10 %", x_r < 0.1),
            ("10-90 %", (x_r >= 0.1) & (x_r <= 0.9)),
            ("bottom 10 %", x_r > 0.9),
        ):
            dev = r.exponents[sel] - law[sel]
            dg = np.abs(r.exponents[sel] - gin[sel]).max()
            print(
                f"| {g:g} | {r.sum_rule_residual:.1e} | {name} | {dev.mean():+.3f} | "
                f"{np.abs(dev).max():.3f} | {dg:.2f} |"
            )
        print(
            f"| {g:g} | lowest three: {np.round(r.exponents[-3:], 2)} vs {np.round(law[-3:], 2)} |"
        )


def rmt(runs: list[str], seeds: int, t_sim: float) -> None:
    print(f"continuous time, RK4, t_sim = {t_sim}, t_transient = 100, mean over chaotic seeds")
    print("| N | g | dt | chaotic | law | λ_1 meas / law | λ_N meas / law | rms | bulk rms | max |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for spec in runs:
        n_s, g_s, dt_s = spec.split(":")
        n, g, dt = int(n_s), float(g_s), float(dt_s)
        rs = [
            lc.run_point(dict(n=n, g=g, dt=dt, t_sim=t_sim, t_ons=0.5, t_transient=100.0, seed=s))
            for s in range(seeds)
        ]
        ch = [r for r in rs if r.chaotic]
        if not ch:
            print(f"| {n} | {g:g} | {dt:g} | 0/{seeds} | – | | | | | |")
            continue
        m = np.mean([r.exponents for r in ch], axis=0)
        dphi2 = float(np.mean([r.diagnostics["mean_dphi2"] for r in ch]))
        bulk = (np.arange(n) >= 0.05 * n) & (np.arange(n) < 0.95 * n)
        for name, law in (
            ("kicks (DMFT)", crossing_kicks_dmft(n, g)),
            ("frozen disk", circular_law_continuous(n, g, dphi2)),
        ):
            dev = m - law
            print(
                f"| {n} | {g:g} | {dt:g} | {len(ch)}/{seeds} | {name} | "
                f"{m[0]:.3f} / {law[0]:.3f} | {m[-1]:.3f} / {law[-1]:.3f} | "
                f"{np.sqrt(np.mean(dev**2)):.3f} | "
                f"{np.sqrt(np.mean(dev[bulk] ** 2)):.3f} | {np.abs(dev).max():.3f} |",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="study", required=True)
    a = sub.add_parser("discrete")
    a.add_argument("--ns", type=int, nargs="+", default=[100, 200])
    a.add_argument("--seeds", type=int, nargs="+", default=[4, 3])
    a.add_argument("--gs", type=float, nargs="+", default=[1.5, 2, 3, 5, 10, 20, 50, 100])
    a.add_argument("--t-sim", type=int, default=1000)
    b = sub.add_parser("lowest")
    b.add_argument("--gs", type=float, nargs="+", default=[3, 10, 50])
    b.add_argument("--n", type=int, default=200)
    b.add_argument("--t-sim", type=int, default=1500)
    c = sub.add_parser("rmt")
    c.add_argument(
        "--runs",
        nargs="+",
        default=["100:10:0.01", "100:20:0.01", "100:50:0.005", "50:20:0.01", "200:20:0.01"],
        help="N:g:dt",
    )
    c.add_argument("--seeds", type=int, default=4)
    c.add_argument("--t-sim", type=float, default=300.0)
    args = ap.parse_args()
    with threadpool_limits(1):
        if args.study == "discrete":
            discrete(args.ns, args.seeds, args.gs, args.t_sim)
        elif args.study == "lowest":
            lowest(args.gs, args.n, args.t_sim)
        else:
            rmt(args.runs, args.seeds, args.t_sim)


if __name__ == "__main__":
    main()
