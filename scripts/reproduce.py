"""Reproduce the claims of Engelken, Wolf & Abbott (arXiv:2006.02427) at a chosen scale.

    python scripts/reproduce.py [--scale small|medium|paper] [--claims size gain ...]
                                [--out results/reproduce]

Prints the numbers behind docs/results.md and writes one figure per claim
(``<out>/<scale>/{size_invariance,gain,point_symmetry,rmt_continuous,rmt_discrete,input}.png``)
plus ``summary.json``. Every run is cached in
``<out>/<scale>/runs/`` (one .npz per parameter set), so a killed script resumes and
figures can be redrawn without recomputing. One process, one BLAS thread.

Scales: ``small`` takes ~10 minutes on one core (N <= 200), ``medium`` ~45 minutes (the
numbers quoted in docs/results.md), ``paper`` roughly the cluster-scale grids of
config/paper.yaml (thousands of core-hours: run those through the pipeline, and this
script for the claims the store cannot serve, e.g. ``--claims rmt_discrete``).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import itertools
import json
import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import lyap_core as lc  # noqa: E402
from lyap_core import analysis as an  # noqa: E402
from lyap_core.point import rng_for  # noqa: E402
from lyap_core.theory import (  # noqa: E402
    circular_law_continuous,
    dmft_continuous,
    dmft_discrete,
    free_multiplicative_discrete,
    ginibre_discrete,
)

# RK4 needs dt ~ 1/g (science notes): the largest 0.1 / 2^k with dt * g <= 0.3.
DT_TIMES_G = 0.3
BULK_EDGES = (0.0, 0.2, 0.4, 0.6, 0.8)


def dt_for(g: float) -> float:
    """RK4 step for gain g: 0.1 halved until dt * g <= 0.3 (divides t_ons = 1 exactly)."""
    dt = 0.1
    while dt * g > DT_TIMES_G * (1 + 1e-9):  # 0.1 * 3 is 0.30000000000000004
        dt /= 2
    return dt


@dataclass(frozen=True)
class Scale:
    """Grids of one scale. Times in tau (continuous) or steps (discrete)."""

    size_g: float
    size_ns: tuple[int, ...]
    size_seeds: int
    size_t_sim: float
    gain_series: tuple[tuple[int, tuple[float, ...]], ...]  # (N, gains); dt check on the first
    gain_seeds: int
    gain_t_sim: float
    onset_g: float
    disc_n: int
    disc_gains: tuple[float, ...]
    disc_seeds: int
    disc_t_sim: int
    input_n: int
    input_gains: tuple[float, ...]
    input_taus: tuple[float, ...]
    input_sigmas: tuple[float, ...]
    input_seeds: int
    input_t_sim: float
    t_transient: float = 100.0
    # seed 0 of every gain is rerun at dt/2 and dt/4 (the convergence check)
    dt_refinements: tuple[int, ...] = (2, 4)


SCALES = {
    "small": Scale(
        size_g=3.0,
        size_ns=(50, 100, 200),
        size_seeds=4,
        size_t_sim=200.0,
        gain_series=((100, (1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 40.0)),),
        gain_seeds=3,
        gain_t_sim=100.0,
        onset_g=1.2,
        disc_n=200,
        disc_gains=(1.5, 2.0, 3.0, 5.0),
        disc_seeds=1,
        disc_t_sim=1000,
        input_n=100,
        input_gains=(3.0, 5.0),
        input_taus=(1.0, 0.1),
        input_sigmas=(0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0),
        input_seeds=2,
        input_t_sim=100.0,
        dt_refinements=(2,),
    ),
    "medium": Scale(
        size_g=3.0,
        size_ns=(50, 100, 200, 400),
        size_seeds=6,
        size_t_sim=200.0,
        gain_series=(
            (100, (1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 40.0, 70.0, 100.0)),
            (200, (3.0, 5.0, 10.0, 20.0, 40.0)),
        ),
        gain_seeds=3,
        gain_t_sim=100.0,
        onset_g=1.2,
        disc_n=400,
        disc_gains=(1.5, 2.0, 3.0, 5.0),
        disc_seeds=2,
        disc_t_sim=1000,
        input_n=100,
        input_gains=(2.0, 3.0, 5.0),
        input_taus=(1.0, 0.1),
        input_sigmas=(0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0),
        input_seeds=4,
        input_t_sim=200.0,
        dt_refinements=(2,),
    ),
    "paper": Scale(
        size_g=3.0,
        size_ns=(100, 200, 400, 800, 1600),
        size_seeds=10,
        size_t_sim=1000.0,
        gain_series=tuple(
            (n, (1.2, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0, 50.0, 70.0, 100.0))
            for n in (200, 500, 1000)
        ),
        gain_seeds=5,
        gain_t_sim=1000.0,
        onset_g=1.1,
        disc_n=1000,
        disc_gains=(1.5, 2.0, 3.0, 5.0, 10.0),
        disc_seeds=5,
        disc_t_sim=10000,
        input_n=500,
        input_gains=(2.0, 3.0, 5.0, 10.0),
        input_taus=(0.1, 1.0, 10.0),
        input_sigmas=(0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0),
        input_seeds=5,
        input_t_sim=1000.0,
        t_transient=200.0,
    ),
}


# -- runs, cached on disk -----------------------------------------------------------------------
@dataclass
class Run:
    """What the claims need from one spectrum (attribute names as in SpectrumResult)."""

    params: dict[str, Any]
    exponents: np.ndarray
    stderr: np.ndarray
    block_means: np.ndarray
    lambda_max: float
    lambda_max_stderr: float
    kaplan_yorke_per_n: float
    kaplan_yorke_per_n_stderr: float
    ks_entropy_per_n: float
    ks_entropy_per_n_stderr: float
    chaotic: bool
    sum_rule_target: float
    n: int
    mean_dphi2: float
    wall: float
    dphi_samples: np.ndarray | None = None

    @property
    def scalars(self) -> dict[str, Any]:
        skip = ("params", "exponents", "stderr", "block_means", "dphi_samples")
        return {k: v for k, v in vars(self).items() if k not in skip}


def _run_from(result: lc.SpectrumResult, params: dict[str, Any]) -> Run:
    n = result.n
    return Run(
        params=params,
        exponents=result.exponents,
        stderr=result.stderr,
        block_means=result.block_means,
        lambda_max=result.lambda_max,
        lambda_max_stderr=result.lambda_max_stderr,
        kaplan_yorke_per_n=result.kaplan_yorke_per_n,
        kaplan_yorke_per_n_stderr=result.kaplan_yorke_dimension_stderr / n,
        ks_entropy_per_n=result.ks_entropy_per_n,
        ks_entropy_per_n_stderr=result.ks_entropy_stderr / n,
        chaotic=result.chaotic,
        sum_rule_target=result.sum_rule_target,
        n=n,
        mean_dphi2=float(result.diagnostics.get("mean_dphi2", math.nan)),
        wall=float(result.wall_time.get("total", math.nan)),
    )


class Runner:
    """run_point with an on-disk cache keyed by the parameters (resumable, redrawable)."""

    def __init__(self, cache: Path, log: Callable[[str], None]):
        self.cache, self.log = cache, log
        cache.mkdir(parents=True, exist_ok=True)

    def __call__(self, dphi_steps: int = 0, **kw: Any) -> Run:
        params = lc.RunParams(**kw)
        key = json.dumps({**kw, "dphi_steps": dphi_steps}, sort_keys=True)
        path = self.cache / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz"
        if path.exists():
            return self._load(path)
        t0 = time.monotonic()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", lc.NumericsWarning)
            run = _run_from(lc.run_point(params), kw)
        if dphi_steps:
            run.dphi_samples = an.attractor_dphi_samples(
                lc.build_network(params),
                rng_for(params, "init").standard_normal(params.n),
                transient=500,
                steps=dphi_steps,
            )
        self.log(f"  ran {kw} in {time.monotonic() - t0:.0f}s")
        self._save(path, run)
        return run

    @staticmethod
    def _save(path: Path, run: Run) -> None:
        arrays = {"exponents": run.exponents, "stderr": run.stderr, "block_means": run.block_means}
        if run.dphi_samples is not None:
            arrays["dphi_samples"] = run.dphi_samples
        meta = json.dumps({"params": run.params, **run.scalars})
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, meta=np.array(meta), **arrays)
        tmp.replace(path)  # atomic: a killed run leaves no half-written cache entry

    @staticmethod
    def _load(path: Path) -> Run:
        with np.load(path) as f:
            meta = json.loads(str(f["meta"]))
            arrays = {k: f[k] for k in f.files if k != "meta"}
        return Run(**meta, **arrays)


# -- small helpers --------------------------------------------------------------------------------
def pm(x: float, e: float, digits: int = 4) -> str:
    return f"{x:.{digits}f} ± {e:.{digits}f}"


def seed_runs(runner: Runner, seeds: int, **kw: Any) -> list[Run]:
    return [runner(seed=s, **kw) for s in range(seeds)]


def chaotic_mean(runs: list[Run], name: str) -> tuple[float, float, int, int]:
    """Mean and s.e. over chaotic realisations of one measure, with (chaotic, total) counts."""
    s = an.realisation_summary(runs, (name,))
    m = s.measures[name]
    return m.chaotic_mean, m.chaotic_sem, s.n_chaotic, s.n


def seed_spectrum(runs: list[Run]) -> tuple[np.ndarray, np.ndarray]:
    """Realisation mean of the chaotic spectra (of all when none is), error incl. seed spread."""
    use = [r for r in runs if r.chaotic] or runs
    return an.combine_realisations([r.exponents for r in use], [r.stderr for r in use])


def log_x(axis: plt.Axes, lo: float, hi: float) -> None:
    """Logarithmic x axis over [lo, hi] with plain tick labels (g and N are small numbers)."""
    axis.set(xlim=(lo, hi), xscale="log")
    axis.xaxis.set_major_locator(mticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.xaxis.set_major_formatter(mticker.ScalarFormatter())
    axis.xaxis.set_minor_formatter(mticker.NullFormatter())


def save(fig: plt.Figure, out: Path, name: str) -> str:
    path = out / f"{name}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)


# -- claims -------------------------------------------------------------------------------------
def claim_size(sc: Scale, runner: Runner, out: Path, say: Callable[[str], None]) -> dict:
    """Extensive chaos: lambda(i/N) size-invariant; D/N, H/N converge; lambda_max -> DMFT."""
    g = sc.size_g
    runs = {
        n: seed_runs(
            runner,
            sc.size_seeds,
            n=n,
            g=g,
            t_sim=sc.size_t_sim,
            t_transient=sc.t_transient,
            dt=dt_for(g),
        )
        for n in sc.size_ns
    }
    target = dmft_continuous(g).lambda_max
    say(
        f"g = {g}, dt = {dt_for(g)}, t_sim = {sc.size_t_sim}, seeds 0..{sc.size_seeds - 1}; "
        f"mean ± s.e. over chaotic realisations; DMFT lambda_max = {target:.4f}"
    )
    say(f"{'N':>6} {'chaotic':>8} {'lambda_max':>18} {'D/N':>18} {'H/N':>20}")
    rows = {}
    for n, rs in runs.items():
        lm = chaotic_mean(rs, "lambda_max")
        d = chaotic_mean(rs, "kaplan_yorke_per_n")
        h = chaotic_mean(rs, "ks_entropy_per_n")
        rows[n] = {"lambda_max": lm, "D/N": d, "H/N": h}
        say(f"{n:>6} {lm[2]:>4}/{lm[3]:<3} {pm(*lm[:2]):>18} {pm(*d[:2]):>18} {pm(*h[:2], 5):>20}")
    fits = {}
    for key in ("D/N", "H/N", "lambda_max"):
        ok = [n for n in sc.size_ns if rows[n][key][2] >= 2]
        if len(ok) >= 2:
            f = an.finite_size_extrapolation(
                ok, [rows[n][key][0] for n in ok], [rows[n][key][1] for n in ok]
            )
            fits[key] = vars(f) | {"Ns": ok}
            say(
                f"  {key} extrapolated to N -> inf (fit a + b/N over N = {ok}): "
                f"{pm(f.intercept, f.intercept_err, 5)} (chi2/dof = {f.chi2:.2f}/{f.dof})"
            )
    spectra = {n: seed_spectrum(rs) for n, rs in runs.items()}
    bulk = np.linspace(0.05, 0.95, 91)
    dev = an.size_invariance_deviation(spectra, bulk)
    say(
        f"  size invariance, ranks 0.05..0.95, all sizes: largest |lambda_a - lambda_b| = "
        f"{pm(dev.max_abs, dev.max_abs_error)} (N = {dev.max_abs_sizes}, i/N = "
        f"{dev.max_abs_rank:.2f}); most significant {dev.max_z:.1f} s.e. at i/N = "
        f"{dev.max_z_rank:.2f} (N = {dev.max_z_sizes})"
    )
    neighbours = {}
    for a, b in itertools.pairwise(sc.size_ns):
        d = an.size_invariance_deviation({a: spectra[a], b: spectra[b]}, bulk)
        t = an.size_invariance_deviation({a: spectra[a], b: spectra[b]}, [0.5 / a])
        neighbours[f"{a}-{b}"] = {"bulk": vars(d), "top": vars(t)}
        say(
            f"    N = {a} vs {b}: bulk max {pm(d.max_abs, d.max_abs_error)} (i/N = "
            f"{d.max_abs_rank:.2f}), max {d.max_z:.1f} s.e.; top (i/N = {0.5 / a:.3f}) "
            f"{pm(t.max_abs, t.max_abs_error)}"
        )
    dist = {n: (target - rows[n]["lambda_max"][0], rows[n]["lambda_max"][1]) for n in runs}
    say("  DMFT - lambda_max: " + ", ".join(f"N={n}: {pm(*dist[n], 3)}" for n in dist))

    fig, ax = plt.subplots(1, 4, figsize=(18, 4))
    for n, (lam, se) in spectra.items():
        x = lc.rank_coordinate(lam.size, n)
        ax[0].plot(x, lam, label=f"N = {n}")
        ax[0].fill_between(x, lam - se, lam + se, alpha=0.3)
    ax[0].set(xlabel="i / N", ylabel="λ_i (1/τ)", title=f"spectra vs rank, g = {g}")
    ax[0].legend()
    inv = 1.0 / np.array(sc.size_ns, dtype=float)
    for axis, key in ((ax[1], "D/N"), (ax[2], "H/N")):
        v = np.array([rows[n][key][:2] for n in sc.size_ns])
        axis.errorbar(inv, v[:, 0], v[:, 1], fmt="o", capsize=2, label="chaotic realisations")
        if key in fits:
            xs = np.linspace(0, inv.max(), 20)
            axis.plot(
                xs, fits[key]["intercept"] + fits[key]["slope"] * xs, "--", label="a + b/N fit"
            )
        axis.set(xlabel="1 / N", ylabel=key, title=f"{key} vs 1/N")
        axis.legend(fontsize=7)
    v = np.array([rows[n]["lambda_max"][:2] for n in sc.size_ns])
    ax[3].errorbar(sc.size_ns, v[:, 0], v[:, 1], fmt="o", capsize=2, label="simulation")
    ax[3].axhline(target, color="k", ls="--", label="DMFT (N → ∞)")
    log_x(ax[3], min(sc.size_ns) / 1.5, max(sc.size_ns) * 1.5)
    ax[3].set(xlabel="N", ylabel="λ_max (1/τ)", title="λ_max vs N")
    ax[3].legend()
    return {
        "rows": {str(n): rows[n] for n in rows},
        "extrapolation": fits,
        "bulk_deviation": vars(dev),
        "neighbour_deviations": neighbours,
        "dmft_lambda_max": target,
        "figure": save(fig, out, "size_invariance"),
    }


@functools.cache
def dmft_lambda_max(g: float) -> float:
    return dmft_continuous(g).lambda_max


def _gain_row(runs: list[Run], g: float) -> dict[str, Any]:
    row = {
        k: chaotic_mean(runs, k) for k in ("lambda_max", "kaplan_yorke_per_n", "ks_entropy_per_n")
    }
    return row | {"dmft": dmft_lambda_max(g)}


def _dt_check(runs: list[Run], say: Callable[[str], None]) -> list[dict[str, Any]]:
    """Seed 0 at dt, dt/k...: differences of D/N and lambda_max to the finest step."""
    fine = runs[-1]
    out = []
    for r in runs:
        dd = r.kaplan_yorke_per_n - fine.kaplan_yorke_per_n
        dd_e = math.hypot(r.kaplan_yorke_per_n_stderr, fine.kaplan_yorke_per_n_stderr)
        dl = r.lambda_max - fine.lambda_max
        dl_e = math.hypot(r.lambda_max_stderr, fine.lambda_max_stderr)
        out.append(r.scalars | {"dt": r.params["dt"]})
        say(
            f"        dt = {r.params['dt']:<9g} lambda_max {pm(r.lambda_max, r.lambda_max_stderr)}"
            f"  D/N {pm(r.kaplan_yorke_per_n, r.kaplan_yorke_per_n_stderr)}  H/N "
            f"{pm(r.ks_entropy_per_n, r.ks_entropy_per_n_stderr, 5)}  chaotic={r.chaotic!s:5}"
            + (
                ""
                if r is fine
                else f"  minus finest: D/N {pm(dd, dd_e)}, lambda_max {pm(dl, dl_e)}"
            )
        )
    return out


def claim_gain(sc: Scale, runner: Runner, out: Path, say: Callable[[str], None]) -> dict:
    """D/N, H/N, lambda_max vs g with dt per g and a dt-convergence check; DMFT lambda_max."""
    say(
        f"t_sim = {sc.gain_t_sim}, seeds 0..{sc.gain_seeds - 1}, RK4 with dt * g <= {DT_TIMES_G};"
        f" chaotic-realisation means; dt check (first series): seed 0 at dt/k, k = "
        f"{sc.dt_refinements}"
    )
    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    result: dict[str, Any] = {}
    for series, (n, gains) in enumerate(sc.gain_series):
        base = dict(n=n, t_sim=sc.gain_t_sim, t_transient=sc.t_transient)
        say(
            f"{'N':>5} {'g':>5} {'dt':>8} {'chaotic':>8} {'lambda_max':>18} {'DMFT':>7} "
            f"{'D/N':>18} {'H/N':>20}"
        )
        rows, checks = {}, {}
        for g in gains:
            rs = seed_runs(runner, sc.gain_seeds, g=g, dt=dt_for(g), **base)
            rows[g] = row = _gain_row(rs, g)
            lm, d, h = row["lambda_max"], row["kaplan_yorke_per_n"], row["ks_entropy_per_n"]
            say(
                f"{n:>5} {g:>5} {dt_for(g):>8.5f} {lm[2]:>4}/{lm[3]:<3} {pm(*lm[:2]):>18} "
                f"{row['dmft']:>7.4f} {pm(*d[:2]):>18} {pm(*h[:2], 5):>20}"
            )
            if series == 0 and sc.dt_refinements:
                refined = [runner(g=g, dt=dt_for(g) / k, seed=0, **base) for k in sc.dt_refinements]
                checks[g] = _dt_check([rs[0], *refined], say)
        peaks = {}
        for key in ("kaplan_yorke_per_n", "ks_entropy_per_n"):
            ok = [g for g in gains if rows[g][key][2] >= 2]
            if len(ok) < 2:
                say(f"  N = {n}, {key}: fewer than two gains with >= 2 chaotic realisations")
                continue
            peaks[key] = p = an.fall_after_peak(
                ok, [rows[g][key][0] for g in ok], [rows[g][key][1] for g in ok]
            )
            say(
                f"  N = {n}, {key}: peak at g = {p['x_peak']} ({p['peak']:.5f}); drop to "
                f"g = {ok[-1]}: {p['drop']:.5f} ± {p['drop_error']:.5f} (z = {p['z']:.1f})"
            )
        result[str(n)] = {
            "rows": {str(g): rows[g] for g in rows},
            "peaks": peaks,
            "dt_checks": {str(g): checks[g] for g in checks},
        }
        gs = np.array(gains)
        for axis, key in (
            (ax[0], "kaplan_yorke_per_n"),
            (ax[1], "ks_entropy_per_n"),
            (ax[2], "lambda_max"),
        ):
            v = np.array([rows[g][key][:2] for g in gains])
            axis.errorbar(gs, v[:, 0], v[:, 1], fmt="o-", label=f"N = {n}", capsize=2)
            if checks:
                for j, k in enumerate(sc.dt_refinements, start=1):
                    axis.plot(
                        list(checks),
                        [checks[g][j][key] for g in checks],
                        "x",
                        label=f"N = {n}, seed 0, dt/{k}",
                    )
                axis.plot(
                    list(checks),
                    [checks[g][0][key] for g in checks],
                    "+",
                    label=f"N = {n}, seed 0, dt",
                )
    all_g = sorted({g for _, gains in sc.gain_series for g in gains})
    ax[2].plot(all_g, [dmft_lambda_max(g) for g in all_g], "k--", label="DMFT (N → ∞)")
    for axis, lab in zip(ax, ("D/N", "H/N (1/τ)", "λ_max (1/τ)"), strict=True):
        log_x(axis, min(all_g) / 1.3, max(all_g) * 1.3)
        axis.set(xlabel="g", ylabel=lab, title=f"{lab} vs g (chaotic realisations)")
        axis.legend(fontsize=6)
    return result | {"figure": save(fig, out, "gain")}


def claim_symmetry(sc: Scale, runner: Runner, out: Path, say: Callable[[str], None]) -> dict:
    """Point symmetry about the sum-rule centre vs N (g = size_g) and vs g (gain series)."""
    say(
        "binned half-sum deviation (lambda_i + lambda_{N+1-i})/2 - c in 5 pair-rank bins; "
        "per realisation: max|dev|/half-width; ensemble: max |mean|/s.e. over realisations"
    )
    say(
        f"{'':>10} {'chaotic':>8} {'max rel (per run)':>20} {'ensemble max z':>15} "
        f"{'ensemble max rel':>17}"
    )
    out_rows = {}

    def report(label: str, runs: list[Run]) -> None:
        use = [r for r in runs if r.chaotic]
        if not use:
            say(f"{label:>14} no chaotic realisation")
            return
        devs = [
            an.symmetry_deviation(
                r.exponents, r.block_means, an.symmetry_centre(r.sum_rule_target, r.n)
            )
            for r in use
        ]
        mean, se = an.combine_realisations(
            [d["bins"]["mean"] for d in devs], [d["bins"]["stderr"] for d in devs]
        )
        width = np.mean([d["half_width"] for d in devs])
        rel = [d["max_relative"] for d in devs]
        z = float(np.max(np.abs(mean) / se))
        out_rows[label] = {
            "per_run_max_relative": rel,
            "ensemble_mean": mean.tolist(),
            "ensemble_se": se.tolist(),
            "ensemble_max_z": z,
            "half_width": width,
            "n_chaotic": len(use),
            "n": len(runs),
        }
        say(
            f"{label:>14} {len(use):>4}/{len(runs):<3} {np.min(rel):>8.4f}..{np.max(rel):<8.4f} "
            f"{z:>15.1f} {np.max(np.abs(mean)) / width:>17.4f}"
        )

    g = sc.size_g
    for n in sc.size_ns:
        report(
            f"N={n}",
            seed_runs(
                runner,
                sc.size_seeds,
                n=n,
                g=g,
                t_sim=sc.size_t_sim,
                t_transient=sc.t_transient,
                dt=dt_for(g),
            ),
        )
    for n, gains in sc.gain_series:
        for gg in gains:
            runs = seed_runs(
                runner,
                sc.gain_seeds,
                n=n,
                g=gg,
                dt=dt_for(gg),
                t_sim=sc.gain_t_sim,
                t_transient=sc.t_transient,
            )
            report(f"N={n},g={gg}", runs)
    fig, ax = plt.subplots(1, 3, figsize=(16, 4))
    for n in sc.size_ns:
        row = out_rows.get(f"N={n}")
        if row and row["n_chaotic"] >= 2:
            ax[0].errorbar(
                (np.arange(5) + 0.5) / 10,
                np.array(row["ensemble_mean"]) / row["half_width"],
                np.array(row["ensemble_se"]) / row["half_width"],
                fmt="o-",
                capsize=2,
                label=f"N = {n}",
            )
        if row:
            ax[1].plot([n] * len(row["per_run_max_relative"]), row["per_run_max_relative"], "o")
    ax[0].axhline(0, color="k", lw=0.5)
    ax[0].set(
        xlabel="pair rank (i - 1/2)/N",
        ylabel="(half-sum − centre) / half-width",
        title=f"realisation mean ± s.e., g = {sc.size_g}",
    )
    ax[0].legend(fontsize=7)
    log_x(ax[1], min(sc.size_ns) / 1.5, max(sc.size_ns) * 1.5)
    ax[1].set(
        xlabel="N",
        ylabel="max binned |deviation| / half-width",
        yscale="log",
        title=f"single networks, g = {sc.size_g}",
    )
    for n, gains in sc.gain_series:
        xs, ys = [], []
        for gg in gains:
            row = out_rows.get(f"N={n},g={gg}")
            if row:
                xs += [gg] * len(row["per_run_max_relative"])
                ys += row["per_run_max_relative"]
        ax[2].plot(xs, ys, "o", label=f"N = {n}")
    all_g = [gg for _, gains in sc.gain_series for gg in gains]
    log_x(ax[2], min(all_g) / 1.3, max(all_g) * 1.3)
    ax[2].set(
        xlabel="g",
        ylabel="max binned |deviation| / half-width",
        yscale="log",
        title="single networks vs g",
    )
    ax[2].legend(fontsize=7)
    return {"rows": out_rows, "figure": save(fig, out, "point_symmetry")}


def _bins(r: Run, ref: np.ndarray) -> dict[str, np.ndarray]:
    return an.rank_binned_deviation(r.exponents, r.block_means, ref, BULK_EDGES)


def claim_rmt_continuous(sc: Scale, runner: Runner, out: Path, say: Callable[[str], None]) -> dict:
    """Circular law (measured <phi'^2>) vs measured spectra near onset and for strong chaos."""
    n, series = sc.gain_series[0]
    gains = (sc.onset_g, series[0], sc.size_g, series[-1])
    say(
        f"N = {n}, seed 0; deviation measured - circular law in rank bins {BULK_EDGES} "
        "(± block s.e.), relative to the law's half-width g sqrt(<phi'^2>)"
    )
    rows = {}
    fig, ax = plt.subplots(1, len(gains), figsize=(4 * len(gains), 3.5))
    for axis, g in zip(ax, gains, strict=True):
        r = runner(n=n, g=g, dt=dt_for(g), seed=0, t_sim=sc.gain_t_sim, t_transient=sc.t_transient)
        law = circular_law_continuous(n, g, r.mean_dphi2)
        b = _bins(r, law)
        radius = g * math.sqrt(r.mean_dphi2)
        rows[g] = {
            "bins": b["mean"].tolist(),
            "se": b["stderr"].tolist(),
            "radius": radius,
            "lambda_max": r.lambda_max,
            "law_max": float(law[0]),
            "chaotic": r.chaotic,
        }
        say(
            f"  g = {g:<5} chaotic={r.chaotic!s:5} r = {radius:.3f}  lambda_1 {r.lambda_max:.3f} "
            f"vs law {law[0]:.3f};  bins: "
            + " ".join(f"{m:+.3f}±{s:.3f}" for m, s in zip(b["mean"], b["stderr"], strict=True))
            + f"  (max |dev|/r = {np.max(np.abs(b['mean'])) / radius:.3f})"
        )
        x = lc.rank_coordinate(n, n)
        axis.plot(x, r.exponents, label="measured")
        axis.plot(x, law, "--", label="circular law")
        axis.set(title=f"g = {g}", xlabel="i / N")
    ax[0].set_ylabel("λ_i (1/τ)")
    ax[0].legend()
    return {
        "rows": {str(g): v for g, v in rows.items()},
        "figure": save(fig, out, "rmt_continuous"),
    }


def claim_rmt_discrete(sc: Scale, runner: Runner, out: Path, say: Callable[[str], None]) -> dict:
    """Discrete time: Ginibre and free-multiplicative laws with measured phi' vs measured."""
    n = sc.disc_n
    say(
        f"N = {n}, t_sim = {sc.disc_t_sim} steps, seeds 0..{sc.disc_seeds - 1}; measured - law "
        f"in rank bins {BULK_EDGES} (± block s.e.); per step"
    )
    rows = {}
    fig, ax = plt.subplots(1, len(sc.disc_gains), figsize=(4 * len(sc.disc_gains), 3.5))
    for axis, g in zip(ax, sc.disc_gains, strict=True):
        rows[g] = []
        for seed in range(sc.disc_seeds):
            r = runner(
                model="discrete",
                n=n,
                g=g,
                seed=seed,
                t_sim=sc.disc_t_sim,
                t_transient=200,
                dphi_steps=300,
            )
            d2 = float(np.mean(r.dphi_samples**2))
            free = free_multiplicative_discrete(n, g, r.dphi_samples)
            gin = ginibre_discrete(n, g, d2)
            bf, bg = _bins(r, free), _bins(r, gin)
            top = 0.5 * math.log(g * g * d2)
            rows[g].append(
                {
                    "free": bf["mean"].tolist(),
                    "free_se": bf["stderr"].tolist(),
                    "ginibre": bg["mean"].tolist(),
                    "lambda_max": r.lambda_max,
                    "lambda_max_se": r.lambda_max_stderr,
                    "half_ln_g2dphi2": top,
                    "dmft": dmft_discrete(g).lambda_max,
                }
            )
            say(
                f"  g = {g:<4} seed {seed}: lambda_max {pm(r.lambda_max, r.lambda_max_stderr)} "
                f"vs ½ln(g²<φ'²>) = {top:.4f} ({100 * (r.lambda_max / top - 1):+.1f} %), "
                f"DMFT {dmft_discrete(g).lambda_max:.4f}"
            )
            say(
                "      free law: "
                + " ".join(
                    f"{m:+.4f}±{s:.4f}" for m, s in zip(bf["mean"], bf["stderr"], strict=True)
                )
                + "   Ginibre: "
                + " ".join(f"{m:+.3f}" for m in bg["mean"])
            )
            if seed == 0:
                x = lc.rank_coordinate(n, n)
                axis.plot(x, r.exponents, label="measured")
                axis.plot(x, free, "--", label="free multiplicative")
                axis.plot(x, gin, ":", label="Ginibre")
                axis.set(title=f"discrete, g = {g}", xlabel="i / N", ylim=(free[-1] - 1, None))
    ax[0].set_ylabel("λ_i (1/step)")
    ax[0].legend(fontsize=7)
    return {"rows": {str(g): v for g, v in rows.items()}, "figure": save(fig, out, "rmt_discrete")}


def claim_input(sc: Scale, runner: Runner, out: Path, say: Callable[[str], None]) -> dict:
    """OU input of strength sigma: D/N, H/N, lambda_max vs sigma; sigma_c vs g and tau_in."""
    n = sc.input_n
    say(
        f"N = {n}, OU input, t_sim = {sc.input_t_sim}, seeds 0..{sc.input_seeds - 1}; "
        "all-realisation means (non-chaotic runs count with D = H = 0)"
    )
    rows, crit = {}, {}
    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    for g in sc.input_gains:
        for tau in sc.input_taus:
            stats = []
            for sig in sc.input_sigmas:
                rs = seed_runs(
                    runner,
                    sc.input_seeds,
                    n=n,
                    g=g,
                    dt=dt_for(g),
                    input_std=sig,
                    input_tau=tau,
                    t_sim=sc.input_t_sim,
                    t_transient=sc.t_transient,
                )
                stats.append(an.realisation_summary(rs))

            def column(name: str, st: list = stats) -> np.ndarray:
                return np.array([(x.measures[name].all_mean, x.measures[name].all_sem) for x in st])

            lam, dn, hn = (
                column(k) for k in ("lambda_max", "kaplan_yorke_per_n", "ks_entropy_per_n")
            )
            chaotic = [f"{x.n_chaotic}/{x.n}" for x in stats]
            dn_chaotic = [x.measures["kaplan_yorke_per_n"].chaotic_mean for x in stats]
            c = an.chaos_suppression_sigma(sc.input_sigmas, lam[:, 0], lam[:, 1])
            crit[(g, tau)] = c
            rows[f"g={g},tau={tau}"] = {
                "sigma": list(sc.input_sigmas),
                "lambda_max": lam.tolist(),
                "D/N": dn.tolist(),
                "H/N": hn.tolist(),
                "chaotic": chaotic,
                "D/N chaotic-only": dn_chaotic,
                "sigma_c": [c.sigma, c.error, c.sign_changes],
            }
            say(
                f"  g = {g}, tau_in = {tau}: sigma_c = {pm(c.sigma, c.error, 2)} "
                f"(sign changes {c.sign_changes})"
            )
            say("     sigma " + " ".join(f"{s:>7.2f}" for s in sc.input_sigmas))
            say("     chaos " + " ".join(f"{v:>7s}" for v in chaotic))
            say("     lmax  " + " ".join(f"{v:>+7.3f}" for v in lam[:, 0]))
            say("     D/N   " + " ".join(f"{v:>7.4f}" for v in dn[:, 0]))
            say("     D/N c " + " ".join(f"{v:>7.4f}" for v in dn_chaotic) + "  (chaotic only)")
            say("     H/N   " + " ".join(f"{v:>7.5f}" for v in hn[:, 0]))
            lab = f"g={g}, τ_in={tau}"
            ax[0].errorbar(sc.input_sigmas, dn[:, 0], dn[:, 1], fmt="o-", label=lab)
            ax[1].errorbar(sc.input_sigmas, hn[:, 0], hn[:, 1], fmt="o-", label=lab)
            ax[2].errorbar(sc.input_sigmas, lam[:, 0], lam[:, 1], fmt="o-", label=lab)
    ax[0].set(xlabel="σ", ylabel="D/N", title=f"input reduces D/N (N = {n})")
    ax[1].set(xlabel="σ", ylabel="H/N (1/τ)", title="and H/N")
    ax[2].axhline(0, color="k", lw=0.5)
    ax[2].set(xlabel="σ", ylabel="λ_max (1/τ)", title="chaos suppression")
    ax[0].legend(fontsize=7)
    return {"rows": rows, "figure": save(fig, out, "input")}


CLAIMS = {
    "size": claim_size,
    "gain": claim_gain,
    "symmetry": claim_symmetry,
    "rmt_continuous": claim_rmt_continuous,
    "rmt_discrete": claim_rmt_discrete,
    "input": claim_input,
}


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", choices=sorted(SCALES), default="small")
    ap.add_argument("--claims", nargs="+", choices=sorted(CLAIMS), default=list(CLAIMS))
    ap.add_argument("--out", type=Path, default=Path("results/reproduce"))
    a = ap.parse_args(argv)
    sc = SCALES[a.scale]
    out = a.out / a.scale
    out.mkdir(parents=True, exist_ok=True)

    def say(line: str) -> None:
        print(line, flush=True)

    runner = Runner(out / "runs", say)
    summary_path = out / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    t0 = time.monotonic()
    with threadpool_limits(1):
        for name in a.claims:
            say(f"\n== {name}: {CLAIMS[name].__doc__.splitlines()[0]}")
            summary[name] = _jsonable(CLAIMS[name](sc, runner, out, say))
            summary_path.write_text(json.dumps(summary, indent=1))
    say(f"\ndone in {time.monotonic() - t0:.0f}s; figures and summary.json in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
