"""The paper's claims (Engelken, Wolf & Abbott, arXiv:2006.02427), each from gathered stores.

``make claims`` (rule ``claims``, workflow/rules/claims.smk) calls :func:`compute_claims`
with the stores of the sweeps that ``config["claims"]`` names. Every claim is one
function ``claim_<name>(stores, options, ...) -> (row, figure)``: the row holds the
claim, the measured numbers with their errors, the N, seeds, t_sim and dt they come
from, and a verdict with the criterion it was decided by; the figure is one of
:mod:`lyap_workflow.figures`, drawn from the same store. Means over realisations use
:func:`lyap_workflow.ensemble.seed_stats` (the one estimator); mean-field and
random-matrix values are computed here from :mod:`lyap_core.theory`, never copied.

Trained networks are not a grid of ``RunParams`` (their coupling comes out of training),
so the rule ``claims_training`` runs :func:`train` once and stores its record in
``results/claims/training.json``; the claim is then read from that record like the
others from their stores.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from lyap_core.analysis import (
    chaos_suppression_sigma,
    fall_after_peak,
    rank_binned_deviation,
    realisation_stats,
    size_invariance_deviation,
    symmetry_centre,
    symmetry_deviation,
)
from lyap_core.io import atomic_file, jsonable, provenance
from lyap_core.theory import (
    circular_law_continuous,
    crossing_kicks_dmft,
    free_multiplicative_discrete,
    ginibre_discrete,
)
from lyap_core.training import (
    make_task,
    perturbation_recovery,
    train_bptt,
    train_force,
    trained_spectrum,
)

from . import figures as fg
from .ensemble import measure_stats, one_run_per_network

Z_OK = 3.0  # differences within this many combined standard errors count as agreement
BULK = (0.0, 0.2, 0.4, 0.6, 0.8)  # rank bins of the random-matrix comparisons (bulk < 0.8)
FREE_LAW_BULK_TOL = 0.06  # 1/step: the free law "fits the bulk" within this (tests too)
GINIBRE_MISS_FACTOR = 5.0  # ... and the Ginibre law "misses" by this factor more
CIRCULAR_ONSET_TOL = 0.1  # circular law near onset: max |bin| / radius below this
STRONG_CHAOS_G = 10.0  # gains compared with the crossing-kick law (docs/NUMERICS.md E14)
KICKS_BULK_TOL = 0.1  # crossing-kick law: bulk max |bin| / half-width below this
SYMMETRY_REL_TOL = 0.05  # point symmetry of single networks: max |bin| / half-width
FORCE_NMSE_OK = 0.05  # trained network reproduces its target (tests/test_training.py)
BIT_ACCURACY_OK = 0.95  # flip-flop trained: held-out bits right at least this often
RECOVERED_OK = 0.9  # stable: at least this fraction of small perturbations dies out
STABLE_ZERO_TOL = 1e-3  # 1/tau: |lambda| below 3 s.e. + this counts as zero


# -- small helpers --------------------------------------------------------------------------
def num(value: float, error: float | None = None, name: str = "", **extra: Any) -> dict:
    """One measured number: ``{"name", "value", "error", ...}`` (NaN becomes null in JSON)."""
    out = {"name": name, "value": float(value)}
    if error is not None:
        out["error"] = float(error)
    return out | extra


def _numerics(stores: Sequence[xr.Dataset]) -> dict[str, Any]:
    """N, seeds, t_sim and dt of the points behind a row (from the points' parameters)."""
    ns, seeds, t_sim, dt = set(), set(), set(), set()
    for ds in stores:
        for text in np.asarray(ds["params"].values, dtype=object).ravel():
            if not isinstance(text, str) or not text:
                continue  # a point missing from a partial store
            p = json.loads(text)
            ns.add(int(p["n"]))
            seeds.add(int(p["seed"]))
            t_sim.add(float(p["t_sim"]))
            dt.add(float(p["dt"]) if p.get("dt") is not None else 1.0)  # maps: one step
    return {
        "N": sorted(ns),
        "seeds": sorted(seeds),
        "t_sim": sorted(t_sim),
        "dt": sorted(dt),
    }


def _row(
    key: str,
    claim: str,
    sweeps: Sequence[str],
    stores: Mapping[str, xr.Dataset],
    measured: list[dict],
    verdict: str,
    criterion: str,
) -> dict[str, Any]:
    return {
        "key": key,
        "claim": claim,
        "sweeps": list(sweeps),
        **_numerics([stores[s] for s in sweeps]),
        "measured": measured,
        "verdict": verdict,
        "criterion": criterion,
    }


def _sweep(options: Mapping[str, Any], stores: Mapping[str, xr.Dataset]) -> xr.Dataset:
    return stores[options["sweep"]]


def _auto(ds: xr.Dataset) -> xr.Dataset:
    return fg.autonomous(ds)[0]


def _spectrum_stats(p: xr.Dataset) -> tuple[np.ndarray, np.ndarray, int]:
    """Chaotic-seed mean spectrum of a (g, N) slice, its error and the exponents stored."""
    m = fg._n_exponents(p)
    st = measure_stats(p, "exponents").isel(i=slice(0, m))
    return st["mean"].values, st["se"].values, m


def _scalar(st: xr.Dataset, field: str) -> float:
    return float(st[field].values)


def _scalars_along_n(parts: Sequence[xr.Dataset]) -> xr.Dataset:
    """The numeric per-point scalars of several sweeps as one Dataset along N (NaN, and
    not chaotic, where a sweep lacks a g), for figures of measures against g and N."""
    big = {"i", "block", "log_dphi", "snapshot", "history_rank"}
    first = parts[0]
    keep = [
        v for v in first.data_vars if not big & set(first[v].dims) and first[v].dtype.kind in "fbiu"
    ]
    parts = [_auto(p)[keep] for p in parts]
    if len(parts) == 1:
        return parts[0]
    fill = {v: (False if parts[0][v].dtype.kind == "b" else np.nan) for v in keep}
    out = xr.concat(
        parts, dim="N", join="outer", coords="minimal", compat="override", fill_value=fill
    )
    out.attrs = dict(parts[0].attrs, sweep=" + ".join(p.attrs.get("sweep", "") for p in parts))
    return out.sortby("N")


def _is_cont(ds: xr.Dataset) -> bool:
    return fg.continuous(ds)


# -- claims ----------------------------------------------------------------------------------
def claim_mean_field_lambda_max(stores, options, **_):
    """λ_max of finite networks approaches the mean-field (DMFT) value as N grows."""
    ds = _auto(_sweep(options, stores))
    measured, verdicts = [], []
    for g in fg._values(ds, "g"):
        target = fg.mean_field_lambda_max(float(g), _is_cont(ds))
        measured.append(num(target, name=f"DMFT lambda_max (g = {g:g}, N -> inf)"))
        ns = np.array(fg._values(ds, "N"))
        st = measure_stats(ds.sel(g=g), "lambda_max")
        mean, se, k = st["mean"].values, st["se"].values, st["n_chaotic"].values
        for n, m, e, c in zip(ns, mean, se, k, strict=True):
            measured.append(
                num(target - m, e, f"DMFT - lambda_max (g = {g:g}, N = {n})", n_chaotic=int(c))
            )
        use = (k >= 2) & np.isfinite(mean)
        fit = fg.fit_inverse_n(ns[use], mean[use], se[use])
        if fit is not None:
            measured.append(
                num(fit.intercept, fit.intercept_err, f"a + b/N fit: a (g = {g:g})", chi2=fit.chi2)
            )
        dist, err = target - mean[use], se[use]
        if dist.size < 2:
            verdicts.append(f"g = {g:g}: fewer than two sizes with >= 2 chaotic seeds")
            continue
        approaches = bool(np.all(dist > 0) and dist[0] - dist[-1] > 2 * math.hypot(err[0], err[-1]))
        z = (target - fit.intercept) / fit.intercept_err if fit is not None else math.nan
        verdicts.append(
            (
                "reproduced qualitatively: below DMFT, approaching it as N grows"
                if approaches
                else "not established: no significant approach over these N"
            )
            + (
                f"; the a + b/N extrapolation is {z:.1f} s.e. below DMFT"
                if abs(z) > Z_OK
                else "; the a + b/N extrapolation agrees with DMFT"
            )
            + f" (g = {g:g})"
        )
    for name in options.get("also", []):  # lambda_max / DMFT along g at fixed N
        other = _auto(stores[name])
        for n in fg._values(other, "N"):
            st = measure_stats(other.sel(N=n), "lambda_max")
            for g, m, e in zip(
                fg._values(other, "g"), st["mean"].values, st["se"].values, strict=True
            ):
                t = fg.mean_field_lambda_max(float(g), _is_cont(other))
                if math.isfinite(m):
                    measured.append(num(m / t, e / t, f"lambda_max / DMFT (g = {g:g}, N = {n})"))
    row = _row(
        "mean_field_lambda_max",
        "λ_max → mean-field (DMFT) value as N → ∞ (continuous time)",
        [options["sweep"], *options.get("also", [])],
        stores,
        measured,
        "; ".join(verdicts),
        "DMFT − λ_max > 0 at every N and its decrease from the smallest to the largest N "
        "exceeds 2 combined s.e. (chaotic seeds only, sizes with >= 2 chaotic seeds); "
        f"extrapolation a + b/N compared with DMFT at {Z_OK:g} s.e.",
    )
    return row, fg.fig_measures_vs_inverse_n(_sweep(options, stores))


def claim_extensive_chaos(stores, options, **_):
    """λ(i/N) is size-invariant; D and H grow ∝ N with D ≪ N."""
    ds = _auto(_sweep(options, stores))
    measured, verdicts = [], []
    ns = np.array(fg._values(ds, "N"))
    for g in fg._values(ds, "g"):
        p = ds.sel(g=g)
        dn = measure_stats(p, "kaplan_yorke_per_n")
        hn = measure_stats(p, "ks_entropy_per_n")
        for n, a, b, c, d in zip(
            ns, dn["mean"].values, dn["se"].values, hn["mean"].values, hn["se"].values, strict=True
        ):
            measured.append(num(a, b, f"D/N (g = {g:g}, N = {n})"))
            measured.append(num(c, d, f"H/N (g = {g:g}, N = {n})"))
        for label, st in (("D/N", dn), ("H/N", hn)):
            fit = fg.fit_inverse_n(ns, st["mean"].values, st["se"].values)
            if fit is not None:
                measured.append(
                    num(fit.intercept, fit.intercept_err, f"{label} a + b/N: a (g = {g:g})")
                )
        spectra = {}
        for n in ns:
            mean, se, m = _spectrum_stats(p.sel(N=n))
            if m == n and np.isfinite(mean).all():
                spectra[int(n)] = (mean, se)
        bulk = np.linspace(0.05, 0.95, 91)
        ok_bulk = True
        for a, b in itertools.pairwise(sorted(spectra)):
            dev = size_invariance_deviation({a: spectra[a], b: spectra[b]}, bulk)
            measured.append(
                num(
                    dev.max_abs,
                    dev.max_abs_error,
                    f"bulk max |λ_{a}(x) − λ_{b}(x)|, x = 0.05..0.95 (g = {g:g})",
                    at_rank=dev.max_abs_rank,
                    max_z=dev.max_z,
                )
            )
            last_z = dev.max_z
        if len(spectra) < 2:
            verdicts.append(f"g = {g:g}: fewer than two sizes with chaotic full spectra")
            continue
        ok_bulk = last_z <= Z_OK
        a, b = dn["mean"].values[-2:], dn["se"].values[-2:]
        ok_d = abs(a[1] - a[0]) <= Z_OK * math.hypot(*b)
        small = bool(np.nanmax(dn["mean"].values) < 0.5)
        parts = [
            "D/N flat between the two largest N" if ok_d else "D/N still changes with N",
            "spectra coincide in the bulk (largest pair)"
            if ok_bulk
            else f"largest pair differs by {last_z:.1f} s.e. in the bulk",
            "D ≪ N" if small else "D/N not small",
        ]
        verdicts.append(
            ("reproduced" if ok_d and ok_bulk and small else "partly")
            + f" (g = {g:g}): "
            + "; ".join(parts)
        )
    row = _row(
        "extensive_chaos",
        "Extensive chaos: λ_i vs i/N size-invariant; D, H ∝ N; D ≪ N",
        [options["sweep"]],
        stores,
        measured,
        "; ".join(verdicts),
        f"D/N at the two largest N within {Z_OK:g} combined s.e.; chaotic-seed mean spectra "
        f"of the two largest N within {Z_OK:g} s.e. everywhere in ranks 0.05–0.95; D/N < 0.5",
    )
    return row, fg.fig_spectra_vs_rank(_sweep(options, stores))


def claim_gain_rise_and_fall(
    stores,
    options,
    key="gain_rise_and_fall",
    text="D/N and H/N rise above the onset and fall far from it",
    **_,
):
    """D/N and H/N rise steeply above the onset and fall again far from it (one row per
    model: ``key`` and ``text`` name it)."""
    names = [options["sweep"], *options.get("also", [])]
    measured, verdicts = [], []
    for ds, n in ((_auto(stores[s]), n) for s in names for n in fg._values(stores[s], "N")):
        gs = np.array(fg._values(ds, "g"), dtype=float)
        for name, label in (("kaplan_yorke_per_n", "D/N"), ("ks_entropy_per_n", "H/N")):
            st = measure_stats(ds.sel(N=n), name)
            mean, se, k = st["mean"].values, st["se"].values, st["n_chaotic"].values
            for g, a, b, c in zip(gs, mean, se, k, strict=True):
                measured.append(num(a, b, f"{label} (N = {n}, g = {g:g})", n_chaotic=int(c)))
            ok = (k >= 2) & np.isfinite(mean) & np.isfinite(se)
            if ok.sum() < 2:
                verdicts.append(f"N = {n}, {label}: fewer than two gains with >= 2 chaotic seeds")
                continue
            p = fall_after_peak(gs[ok], mean[ok], se[ok])
            first = int(np.nonzero(ok)[0][0])
            kp = int(np.nonzero(ok)[0][np.nanargmax(mean[ok])])
            rise = (mean[kp] - mean[first]) / math.hypot(se[kp], se[first]) if kp != first else 0.0
            measured.append(
                num(
                    p["drop"],
                    p["drop_error"],
                    f"{label} drop peak -> g = {gs[ok][-1]:g} (N = {n})",
                    peak_g=p["x_peak"],
                )
            )
            verdicts.append(
                f"N = {n}, {label}: rise "
                + ("reproduced" if rise > Z_OK else "not significant")
                + f" ({rise:.1f} s.e. from g = {gs[first]:g} to the peak at "
                f"g = {p['x_peak']:g}); fall "
                + ("seen" if p["z"] > Z_OK else "not established")
                + f" (drop {p['z']:.1f} s.e.)"
            )
    row = _row(
        key,
        text,
        names,
        stores,
        measured,
        "; ".join(verdicts),
        f"rise: peak minus the first gain with >= 2 chaotic seeds > {Z_OK:g} combined s.e.; "
        f"fall: peak minus the largest gain > {Z_OK:g} combined s.e. (chaotic-seed means)",
    )
    return row, fg.fig_measures_vs_g(_scalars_along_n([stores[s] for s in names]))


def claim_dt_convergence(stores, options, **_):
    """The reported measures are converged in dt (same networks at dt and dt/2)."""
    ds, ref = _auto(_sweep(options, stores)), _auto(stores[options["refined"]])
    measured, worst, switched = [], 0.0, []
    for n in fg._values(ref, "N"):
        for g in fg._values(ref, "g"):
            for seed in fg._values(ref, "seed"):
                a, b = ds.sel(g=g, N=n, seed=seed), ref.sel(g=g, N=n, seed=seed)
                if not (
                    np.isfinite(float(a["lambda_max"])) and np.isfinite(float(b["lambda_max"]))
                ):
                    continue  # a point missing from a partial store
                if bool(a["chaotic"]) != bool(b["chaotic"]):
                    switched.append(f"g = {g:g}")
                    measured.append(
                        num(
                            math.nan,
                            None,
                            f"g = {g:g}, N = {n}, seed {seed}: chaotic at one step only",
                        )
                    )
                    continue
                for name, se_name, label in (
                    ("kaplan_yorke_dimension", "kaplan_yorke_dimension_stderr", "D/N"),
                    ("lambda_max", "lambda_max_stderr", "lambda_max"),
                ):
                    scale = n if name == "kaplan_yorke_dimension" else 1
                    d = (float(a[name]) - float(b[name])) / scale
                    e = math.hypot(float(a[se_name]), float(b[se_name])) / scale
                    measured.append(
                        num(d, e, f"{label}(dt) − {label}(dt/2) (g = {g:g}, N = {n}, seed {seed})")
                    )
                    if e > 0 and math.isfinite(d):
                        worst = max(worst, abs(d) / e)
    verdict = (
        f"consistent within {Z_OK:g} s.e. (largest {worst:.1f} s.e.)"
        if worst <= Z_OK
        else f"differs: up to {worst:.1f} s.e. between dt and dt/2"
    ) + (f"; different attractors at dt and dt/2 at {', '.join(switched)}" if switched else "")
    row = _row(
        "dt_convergence",
        "dt convergence of D/N and λ_max (RK4, dt·g ≤ 0.3, against dt/2)",
        [options["sweep"], options["refined"]],
        stores,
        measured,
        verdict,
        f"|difference| ≤ {Z_OK:g} combined block s.e. for every seed run at both steps",
    )
    return row, fg.fig_dt_convergence(_sweep(options, stores), stores[options["refined"]])


def claim_chaotic_fraction(stores, options, **_):
    """Near the onset many finite networks are not chaotic (fraction of chaotic seeds)."""
    ds = _auto(_sweep(options, stores))
    measured, verdicts = [], []
    for n in fg._values(ds, "N"):
        st = measure_stats(ds.sel(N=n), "lambda_max")
        frac = st["fraction_chaotic"].values
        for g, f, e in zip(
            fg._values(ds, "g"), frac, st["fraction_chaotic_se"].values, strict=True
        ):
            measured.append(num(f, e, f"fraction chaotic (N = {n}, g = {g:g})"))
        near = frac[: max(1, len(frac) // 2)]
        verdicts.append(
            f"N = {n}: "
            + ("reproduced" if np.nanmin(near) < 1.0 and frac[-1] == 1.0 else "not seen")
            + f" (fraction {np.nanmin(near):.2f} near onset, {frac[-1]:.2f} at the largest g)"
        )
    row = _row(
        "chaotic_fraction",
        "Near the onset many finite networks are not chaotic (fixed points, limit cycles)",
        [options["sweep"]],
        stores,
        measured,
        "; ".join(verdicts),
        "some seed non-chaotic in the lower half of the g grid, all chaotic at the largest g "
        "(chaotic: λ_max > max(3 s.e., 2e-3))",
    )
    return row, fg.fig_chaotic_fraction(_sweep(options, stores))


def _symmetry_rows(ds: xr.Dataset, label: str) -> tuple[list[dict], dict]:
    """Per (g, N): single-network max binned |deviation|/half-width, ensemble max z."""
    out, summary = [], {}
    for g in fg._values(ds, "g"):
        for n in fg._values(ds, "N"):
            p = ds.sel(g=g, N=n)
            if fg._n_exponents(p) != n:
                continue
            devs = []
            for seed in fg._values(p, "seed"):
                q = p.sel(seed=seed)
                if not bool(q["chaotic"]):
                    continue
                lam = q["exponents"].values[:n]
                blocks = q["exponents_blocks"].values[:, :n]
                blocks = blocks[np.isfinite(blocks).all(axis=1)]
                c = symmetry_centre(float(q["sum_rule_target"]), n)
                devs.append(symmetry_deviation(lam, blocks, c))
            if not devs:
                continue
            rel = [d["max_relative"] for d in devs]
            st = realisation_stats(
                [d["bins"]["mean"] for d in devs], [d["bins"]["stderr"] for d in devs]
            )
            z = float(np.nanmax(np.abs(st.mean) / st.se))
            width = float(np.mean([d["half_width"] for d in devs]))
            out.append(
                num(
                    max(rel),
                    None,
                    f"{label}: max binned |half-sum − c| / half-width, single networks "
                    f"(g = {g:g}, N = {n})",
                    min=min(rel),
                    ensemble_max_z=z,
                    ensemble_max_relative=float(np.nanmax(np.abs(st.mean)) / width),
                    n_chaotic=len(devs),
                )
            )
            summary[(g, n)] = (max(rel), z)
    return out, summary


def claim_point_symmetry(stores, options, **_):
    """The spectrum is point-symmetric about the sum-rule centre c = ⟨tr D⟩/N (−1 here)."""
    names = [options["sweep"], *options.get("also", [])]
    measured, worst_rel, big_n = [], 0.0, {}
    for name in names:
        rows, summary = _symmetry_rows(_auto(stores[name]), name)
        measured += rows
        for (g, n), (rel, z) in summary.items():
            worst_rel = max(worst_rel, rel)
            if name == options["sweep"]:
                big_n.setdefault(g, {})[n] = z
    zs = {g: v[max(v)] for g, v in big_n.items()}
    ok = worst_rel <= SYMMETRY_REL_TOL and all(z <= Z_OK for z in zs.values())
    verdict = (
        ("reproduced" if ok else "differs")
        + f": single networks within {100 * worst_rel:.1f} % of the half-width; ensemble at the "
        + "largest N: "
        + ", ".join(f"{z:.1f} s.e. (g = {g:g})" for g, z in zs.items())
    )
    row = _row(
        "point_symmetry",
        "Point symmetry λ_i + λ_{N+1−i} = 2c about the sum-rule centre (−1 for zero diagonal)",
        names,
        stores,
        measured,
        verdict,
        f"every chaotic network's binned deviation ≤ {100 * SYMMETRY_REL_TOL:g} % of the "
        f"half-width and the realisation mean at the largest N within {Z_OK:g} s.e. "
        "(5 pair-rank bins, block errors)",
    )
    return row, fg.fig_point_symmetry(_sweep(options, stores))


def _seeds(p: xr.Dataset) -> list[xr.Dataset]:
    """The single networks (one per seed) of a (g, N) slice."""
    return [p.sel(seed=seed) for seed in fg._values(p, "seed")]


def _max_binned(q: xr.Dataset, law: np.ndarray, bins: slice = slice(None)) -> float:
    """Largest |measured − law| over the rank bins ``BULK + (1,)`` (``bins`` of them) of one
    network's full spectrum (``analysis.rank_binned_deviation``, time-block errors)."""
    n = law.size
    blocks = q["exponents_blocks"].values[:, :n]
    b = rank_binned_deviation(
        q["exponents"].values[:n], blocks[np.isfinite(blocks).all(axis=1)], law, BULK + (1.0,)
    )
    return float(np.nanmax(np.abs(b["mean"][bins])))


def claim_rmt_continuous(stores, options, **_):
    """Random-matrix (circular) law of the continuous-time spectrum near onset and for
    strong chaos, with ⟨φ'²⟩ measured on the attractor."""
    ds = _auto(_sweep(options, stores))
    gs = [g for g in options.get("g", fg._values(ds, "g")) if g in fg._values(ds, "g")]
    measured, rel = [], {}
    for g in gs:
        for n in fg._values(ds, "N"):
            p = ds.sel(g=g, N=n)
            if fg._n_exponents(p) != n:
                continue
            devs = [
                _max_binned(q, circular_law_continuous(n, g, d2)) / (g * math.sqrt(d2))
                for q in _seeds(p)
                for d2 in [float(q["mean_dphi2"])]
            ]
            rel[g] = max(devs)
            measured.append(
                num(
                    rel[g],
                    None,
                    f"max |measured − circular law| / radius, rank bins "
                    f"(g = {g:g}, N = {n}, worst seed)",
                )
            )
    kicks = {}  # strong chaos: the crossing-kick law (lyap_core.theory, inputs from DMFT)
    for g in (g for g in gs if g >= STRONG_CHAOS_G):
        for n in fg._values(ds, "N"):
            p = ds.sel(g=g, N=n)
            if fg._n_exponents(p) != n:
                continue
            law = crossing_kicks_dmft(n, g)
            half = 0.5 * (law[0] - law[-1])
            devs = [
                _max_binned(q, law, slice(1, -1)) / half for q in _seeds(p) if bool(q["chaotic"])
            ]
            if devs:
                kicks[g] = max(devs)
                measured.append(
                    num(
                        kicks[g],
                        None,
                        f"max |measured − crossing-kick law| / half-width, bulk rank bins "
                        f"0.2–0.8 (g = {g:g}, N = {n}, worst chaotic seed)",
                    )
                )
    onset = [g for g in gs if g <= 1.5]
    strong = max(gs)
    near_ok = all(rel[g] <= CIRCULAR_ONSET_TOL for g in onset)
    verdict = (
        ("near onset: reproduced" if near_ok else "near onset: differs")
        + f" (≤ {max(rel[g] for g in onset):.3f} of the radius at g ≤ 1.5)"
        + (
            f"; strong chaos (g = {strong:g}): differs ({rel[strong]:.2f} of the radius)"
            if rel[strong] > CIRCULAR_ONSET_TOL
            else f"; strong chaos (g = {strong:g}): reproduced"
        )
        if onset
        else f"g = {strong:g}: {rel[strong]:.2f} of the radius"
    )
    for g, d in kicks.items():
        verdict += (
            f"; crossing-kick law at g = {g:g}: "
            + ("reproduced" if d <= KICKS_BULK_TOL else "differs")
            + f" (bulk ≤ {d:.3f} of the half-width)"
        )
    row = _row(
        "rmt_continuous",
        "RMT, continuous time: circular law (radius g√⟨φ'²⟩, centre −1) near onset and "
        "for strong chaos",
        [options["sweep"]],
        stores,
        measured,
        verdict,
        f"max over 5 rank bins of |measured − law| ≤ {CIRCULAR_ONSET_TOL:g} of the radius "
        "for the worst seed; near onset = every g ≤ 1.5 of the list, strong chaos = the largest g; "
        f"crossing-kick law (g ≥ {STRONG_CHAOS_G:g}): max of the bulk rank bins 0.2–0.8 "
        f"≤ {KICKS_BULK_TOL:g} of the law's half-width, worst chaotic seed",
    )
    return row, fg.fig_rmt_continuous(_sweep(options, stores).sel(g=gs))


def claim_rmt_discrete(stores, options, **_):
    """Discrete time: λ_max ≈ ½ ln(g²⟨φ'²⟩); the bulk follows the free-multiplicative law
    with the measured φ' distribution, not the Ginibre law."""
    ds = _auto(_sweep(options, stores))
    measured, free_worst, gin_worst, top_dev = [], 0.0, math.inf, []
    for g in fg._values(ds, "g"):
        for n in fg._values(ds, "N"):
            for seed in fg._values(ds, "seed"):
                q = ds.sel(g=g, N=n, seed=seed)
                tag = f"g = {g:g}, N = {n}, seed {seed}"
                if not np.isfinite(float(q["lambda_max"])):
                    measured.append(num(math.nan, None, f"lambda_max ({tag}): point missing"))
                    continue
                d2 = float(q["mean_dphi2"])
                samples, weights = fg.pooled_log_dphi(q)
                free = free_multiplicative_discrete(n, g, samples, weights)
                gin = ginibre_discrete(n, g, d2)
                lam = q["exponents"].values[:n]
                blocks = q["exponents_blocks"].values[:, :n]
                blocks = blocks[np.isfinite(blocks).all(axis=1)]
                bf = rank_binned_deviation(lam, blocks, free, BULK + (1.0,))
                bg = rank_binned_deviation(lam, blocks, gin, BULK + (1.0,))
                top = 0.5 * math.log(g * g * d2)
                rel = float(q["lambda_max"]) / top - 1.0
                top_dev.append(rel)
                fmax = float(np.max(np.abs(bf["mean"][:-1])))  # bulk: ranks < 0.8
                gmax = float(np.max(np.abs(bg["mean"][:-1])))
                free_worst, gin_worst = max(free_worst, fmax), min(gin_worst, gmax)
                measured += [
                    num(
                        float(q["lambda_max"]),
                        float(q["lambda_max_stderr"]),
                        f"lambda_max ({tag})",
                        half_ln_g2_dphi2=top,
                        relative=rel,
                    ),
                    num(
                        fmax,
                        float(np.nanmax(bf["stderr"][:-1])),
                        f"bulk max |measured − free law| ({tag})",
                        bins=bf["mean"].tolist(),
                    ),
                    num(
                        gmax,
                        None,
                        f"bulk max |measured − Ginibre| ({tag})",
                        bins=bg["mean"].tolist(),
                    ),
                ]
    free_ok = free_worst <= FREE_LAW_BULK_TOL and gin_worst >= GINIBRE_MISS_FACTOR * free_worst
    verdict = (
        f"λ_max vs ½ln(g²⟨φ'²⟩): {100 * min(top_dev):+.1f} … {100 * max(top_dev):+.1f} %; "
        + ("bulk: free law reproduced" if free_ok else "bulk: free law differs")
        + f" (max {free_worst:.3f} /step), Ginibre off by ≥ {gin_worst:.2f} /step"
    )
    row = _row(
        "rmt_discrete",
        "RMT, discrete time: λ_max ≈ ½ ln(g²⟨φ'²⟩); bulk: free-multiplicative law, not Ginibre",
        [options["sweep"]],
        stores,
        measured,
        verdict,
        f"bulk (ranks < 0.8, 4 bins) within {FREE_LAW_BULK_TOL:g} /step of the free law and the "
        f"Ginibre law off by ≥ {GINIBRE_MISS_FACTOR:g}× that, every network; laws from the "
        "point's own stored ⟨φ'²⟩ and ln φ' histogram",
    )
    return row, fg.fig_rmt_discrete(_sweep(options, stores))


def claim_input_suppresses_chaos(stores, options, **_):
    """Time-varying input reduces D and H; strong input suppresses chaos (σ_c)."""
    ds = _sweep(options, stores)
    measured, verdicts = [], []
    sig = np.array(fg._values(ds, "input_std"), dtype=float)
    for tau in fg._values(ds, "input_tau"):
        d = ds.sel(input_tau=tau) if "input_tau" in ds.dims else ds
        for g in fg._values(d, "g"):
            for n in fg._values(d, "N"):
                p = d.sel(g=g, N=n)
                lam = measure_stats(p, "lambda_max")
                dn = measure_stats(p, "kaplan_yorke_per_n")
                c = chaos_suppression_sigma(sig, lam["mean_all"].values, lam["se_all"].values)
                tag = f"g = {g:g}, tau_in = {tau:g}, N = {n}"
                measured.append(
                    num(c.sigma, c.error, f"sigma_c ({tag})", sign_changes=c.sign_changes)
                )
                measured.append(
                    num(
                        dn["mean_all"].values[0],
                        dn["se_all"].values[0],
                        f"D/N at sigma = {sig[0]:g} ({tag})",
                    )
                )
                measured.append(
                    num(
                        dn["mean_all"].values[-1],
                        dn["se_all"].values[-1],
                        f"D/N at sigma = {sig[-1]:g} ({tag})",
                    )
                )
                reduced = dn["mean_all"].values[-1] < dn["mean_all"].values[0]
                verdicts.append(
                    f"{tag}: "
                    + (
                        f"σ_c = {c.sigma:.2f} ± {c.error:.2f}"
                        if math.isfinite(c.sigma)
                        else f"chaos persists to σ = {sig[-1]:g}"
                        if lam["mean_all"].values[-1] > 0
                        else "not chaotic at σ = 0"
                    )
                    + (", D/N reduced" if reduced else ", D/N not reduced")
                )
    ok = all("D/N reduced" in v for v in verdicts) and any("σ_c" in v for v in verdicts)
    row = _row(
        "input_suppresses_chaos",
        "Time-varying input reduces H and D; strong input suppresses chaos",
        [options["sweep"]],
        stores,
        measured,
        ("reproduced: " if ok else "partly: ") + "; ".join(verdicts),
        "all-seed mean D/N at the largest σ below that at σ = 0 for every (g, τ_in), and "
        "λ_max crossing 0 (σ_c, linear interpolation) for at least one",
    )
    return row, fg.fig_measures_vs_input(ds)


def trained_quality_ok(net: Mapping[str, Any]) -> bool:
    """Training succeeded: flip-flop bit accuracy >= BIT_ACCURACY_OK, else test NMSE <
    FORCE_NMSE_OK."""
    if net["task"] == "flipflop":
        return net["bit_accuracy"] >= BIT_ACCURACY_OK
    return net["test_error"] < FORCE_NMSE_OK


def trained_stable(net: Mapping[str, Any]) -> bool:
    """The spectrum shows the stable attractor the task needs: for the periodic task a limit
    cycle (exactly one zero exponent, |lambda_1| < 3 s.e. + STABLE_ZERO_TOL, then lambda_2 +
    3 s.e. < 0), for the flip-flop a memory fixed point (lambda_1 + 3 s.e. < 0). A chaotic
    loop, a torus, or a fixed point where a cycle is needed is not."""
    (l1, l2), (s1, s2) = net["trained"]["exponents"][:2], net["trained"]["stderr"][:2]
    if net["task"] == "flipflop":
        return l1 + 3 * s1 < 0
    return abs(l1) < 3 * s1 + STABLE_ZERO_TOL and l2 + 3 * s2 < 0


def claim_trained_network(stores, options, training=None, **_):
    """Distinct learning algorithms on distinct tasks: where the spectrum of the trained
    closed loop is stable, training succeeded and perturbations die out; where it is
    chaotic, they do not. The spectrum quantifies the achieved stability."""
    measured, parts, agree = [], [], []
    for net in training["networks"]:
        tag = net["key"]  # unique: two networks may share algorithm and task
        tr, un = net["trained"], net["untrained"]
        lam, se = tr["exponents"], tr["stderr"]
        # NaN (JSON null): D_KY beyond the m exponents computed (their sum still > 0)
        ky, ky_se = (
            math.nan if x is None else x for x in (tr["kaplan_yorke"], tr["kaplan_yorke_stderr"])
        )
        stable, good = trained_stable(net), trained_quality_ok(net)
        recovered = net["recovered_fraction"] >= RECOVERED_OK
        agree.append(stable == (good and recovered))
        measured += [
            num(net["test_error"], None, f"test NMSE ({tag})"),
            *(
                [num(net["bit_accuracy"], None, f"bit accuracy ({tag})")]
                if net["task"] == "flipflop"
                else []
            ),
            num(lam[0], se[0], f"lambda_1 trained ({tag})"),
            num(lam[1], se[1], f"lambda_2 trained ({tag})"),
            num(ky, ky_se, f"D_KY trained ({tag})"),
            num(net["recovered_fraction"], None, f"recovered fraction ({tag})"),
            num(un["exponents"][0], un["stderr"][0], f"lambda_1 untrained J0 ({tag})"),
            num(net.get("untrained_recovered_fraction", math.nan), None, f"recovered J0 ({tag})"),
        ]
        parts.append(
            f"{tag} ({net['algorithm']}/{net['task']}, N = {net['n']}, g = {net['g']:g}): "
            f"λ_1 = {lam[0]:.4f} ± {se[0]:.4f}, "
            f"λ_2 = {lam[1]:.4f}, "
            f"D_KY = {ky:.2f}, "
            + (
                f"bits {net['bit_accuracy']:.3f}"
                if net["task"] == "flipflop"
                else f"NMSE {net['test_error']:.2g}"
            )
            + f", recovered {net['recovered_fraction']:.2f} → "
            + ("stable" if stable else "unstable")
            + (", trained" if good else ", training failed")
        )
    nets = training["networks"]
    ok = all(agree) and any(trained_stable(n) for n in nets)
    row = {
        "key": "trained_network",
        "claim": "Trained networks: the spectrum quantifies the stability that distinct "
        "learning algorithms achieve (FORCE, BPTT × periodic, flip-flop)",
        "sweeps": [],
        "N": sorted({n["n"] for n in nets}),
        "seeds": sorted({n.get("seed", training["seed"]) for n in nets}),
        "t_sim": [training["options"]["t_sim"], training["options"]["t_sim_untrained"]],
        "dt": sorted({n["dt"] for n in nets}),
        "measured": measured,
        "verdict": ("reproduced" if ok else "differs") + ": " + "; ".join(parts),
        "criterion": "per network: stable attractor of the task's kind (periodic: limit cycle, "
        f"|λ_1| < 3 s.e. + {STABLE_ZERO_TOL:g} and λ_2 + 3 s.e. < 0; flip-flop: fixed point, "
        "λ_1 + 3 s.e. < 0) if and only if "
        f"trained (test NMSE < {FORCE_NMSE_OK:g}; flip-flop: bit accuracy ≥ "
        f"{BIT_ACCURACY_OK:g}) and recovered (≥ {RECOVERED_OK:g} of small perturbations leave "
        "an output error below the threshold); reproduced if this holds for every network "
        "and at least one is stable",
    }
    return row, fg.fig_training(training)


def _variance_shares(v: xr.DataArray) -> dict[str, float]:
    """Share of one run's variance per source (time, initial_condition, network, or
    time and realisation where one trajectory per network confounds the two)."""
    part = {c: float(v.sel(variance_component=c)) for c in v["variance_component"].values}
    total = part["time"] + part["realisation"]
    split = math.isfinite(part["network"])
    keys = ("time", "initial_condition", "network") if split else ("time", "realisation")
    return {k: part[k] / total for k in keys}


def claim_variance_sources(stores, options, **_):
    """Where a grid point's error comes from: time averaging, initial condition, network."""
    ds = _auto(_sweep(options, stores))
    fg._require("lambda_max_variance" in ds, "the store has no variance split (stores < v3)")
    measured, verdicts = [], []
    labels = {"lambda_max": "λ_max", "kaplan_yorke_per_n": "D/N", "ks_entropy_per_n": "H/N"}
    for n in fg._values(ds, "N"):
        largest: dict[str, list[str]] = {}
        mixed = []
        for g in fg._values(ds, "g"):
            at = ds.sel(N=n, g=g)
            counts = {
                "runs": int(at["variance_runs"]),
                "networks": int(at["variance_networks"]),
                "mixed_networks": int(at["variance_mixed_networks"]),
            }
            if counts["mixed_networks"]:
                mixed.append(f"{counts['mixed_networks']} at g = {g:g}")
            for name, label in labels.items():
                shares = _variance_shares(at[f"{name}_variance"])
                for c, share in shares.items():
                    part = at[f"{name}_variance"].sel(variance_component=c)
                    err = at[f"{name}_variance_se"].sel(variance_component=c)
                    what = f"{label} variance, {c.replace('_', ' ')} (N = {n}, g = {g:g})"
                    measured.append(num(part, err, what, share=share, **counts))
                if all(math.isfinite(x) for x in shares.values()):
                    top = max(shares, key=shares.get)
                    v, e = (
                        at[f"{name}_variance{x}"].sel(variance_component=top) for x in ("", "_se")
                    )
                    where = f"{top.replace('_', ' ')} at g = {g:g} ({float(v / e):.1f} s.e.)"
                    largest.setdefault(label, []).append(where)
        parts = [f"{label}: " + ", ".join(where) for label, where in largest.items()]
        verdicts.append(
            f"N = {n}: largest source "
            + ("; ".join(parts) or "none measured")
            + "; networks chaotic from one initial condition and not from another: "
            + (", ".join(mixed) or "none")
        )
    row = _row(
        "variance_sources",
        "A grid point's error splits into time averaging, initial condition (same J) and "
        "network realisation",
        [options["sweep"]],
        stores,
        measured,
        "; ".join(verdicts),
        "one chaotic run's variance per source with its normal-theory s.e. and its share "
        "of the total (lyap_core.analysis.variance_components over seed x trajectory; "
        "time = mean block s.e.^2); the largest share names the source (in s.e. of its "
        "part: below 2 it is not resolved); on an ergodic "
        "attractor the initial-condition part is ~0",
    )
    return row, fg.fig_variance_split(_sweep(options, stores))


CLAIM_FUNCTIONS: dict[str, Callable[..., tuple[dict, Figure]]] = {
    "mean_field_lambda_max": claim_mean_field_lambda_max,
    "extensive_chaos": claim_extensive_chaos,
    "gain_rise_and_fall": claim_gain_rise_and_fall,
    "gain_rise_and_fall_discrete": partial(
        claim_gain_rise_and_fall,
        key="gain_rise_and_fall_discrete",
        text="Discrete time: D/N and H/N rise above the onset and fall far from it",
    ),
    "dt_convergence": claim_dt_convergence,
    "chaotic_fraction": claim_chaotic_fraction,
    "point_symmetry": claim_point_symmetry,
    "rmt_continuous": claim_rmt_continuous,
    "rmt_discrete": claim_rmt_discrete,
    "input_suppresses_chaos": claim_input_suppresses_chaos,
    "variance_sources": claim_variance_sources,
    "trained_network": claim_trained_network,
}
CLAIMS = tuple(CLAIM_FUNCTIONS)


# -- the training record ----------------------------------------------------------------------
TRAINERS = {"force": train_force, "bptt": train_bptt}


def _spectrum_record(res: Any, t_sim: float) -> dict[str, Any]:
    return {
        "exponents": res.exponents.tolist(),
        "stderr": res.stderr.tolist(),
        "chaotic": bool(res.chaotic),
        "kaplan_yorke": float(res.kaplan_yorke_dimension),
        "kaplan_yorke_stderr": float(res.kaplan_yorke_dimension_stderr),
        "t_sim": t_sim,
    }


def train_network(net_options: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """Train one (algorithm, task) network and measure its closed loop: the top ``m``
    exponents from its attractor, those of J0, and recovery from small perturbations."""
    kw = dict(net_options)
    algorithm, task = kw.pop("algorithm"), make_task(kw.pop("task"), **kw.pop("task_params", {}))
    if algorithm not in TRAINERS:
        raise ValueError(f"algorithm: must be one of {', '.join(TRAINERS)}, got {algorithm!r}")
    seed = int(kw.pop("seed", options["seed"]))  # a network may name its own realisation
    start = time.process_time()
    tn = TRAINERS[algorithm](task=task, seed=seed, **kw)
    cpu_train = time.process_time() - start
    t_sim, t_sim0 = float(options["t_sim"]), float(options["t_sim_untrained"])
    trained = trained_spectrum(tn, m=int(options["m"]), t_sim=t_sim)
    untrained = trained_spectrum(tn, untrained=True, m=1, t_sim=t_sim0, t_transient_tangent=50.0)
    rec_opts = options["recovery"]
    recovery = partial(
        perturbation_recovery,
        tn,
        float(rec_opts["eps"]),
        t_max=float(rec_opts["t_max"]),
        n_dirs=int(rec_opts["n_dirs"]),
    )
    rec, rec0 = recovery(), recovery(untrained=True)  # J0 with the trained readout: reference
    threshold = float(rec_opts["threshold"])
    return {
        "algorithm": algorithm,
        "task": task.name,
        "seed": seed,
        "n": tn.n,
        "g": float(tn.hyperparameters["g"]),
        "dt": tn.dt,
        "scheme": tn.scheme,
        "hyperparameters": tn.hyperparameters,
        "train_error": tn.train_error,
        "test_error": tn.test_error,
        "bit_accuracy": tn.bit_accuracy,
        "trained": _spectrum_record(trained, t_sim),
        "untrained": _spectrum_record(untrained, t_sim0),
        "recovered_fraction": rec.recovered_fraction(threshold),
        "untrained_recovered_fraction": rec0.recovered_fraction(threshold),
        "growth_rate": rec.growth_rate,
        "cpu_s_train": cpu_train,
        "cpu_s_total": time.process_time() - start,
    }


def train(options: Mapping[str, Any]) -> dict[str, Any]:
    """Train every network of ``options["networks"]`` (algorithm x task) and measure each."""
    nets = [train_network(o, options) for o in options["networks"].values()]
    for key, net in zip(options["networks"], nets, strict=True):
        net["key"] = key
    return jsonable(
        {
            "options": dict(options),
            "seed": int(options["seed"]),
            "networks": nets,
            "provenance": provenance(),
        }
    )


# -- the claims step --------------------------------------------------------------------------
def sweeps_of(config: Mapping[str, Any]) -> list[str]:
    """Every sweep named by an entry of ``config["claims"]`` (sorted, unique).

    Raises
    ------
    KeyError
        Naming the claims config when it lacks a claim or names an unknown sweep.
    """
    claims = config.get("claims")
    if not claims:
        raise KeyError("config: no 'claims' section (use --configfile config/claims.yaml)")
    missing = [c for c in CLAIMS if c not in claims]
    if missing:
        raise KeyError(f"config.claims: missing {', '.join(missing)}")
    names = set()
    for entry in claims.values():
        names.update(e for k in ("sweep", "refined") if (e := entry.get(k)))
        names.update(entry.get("also", []))
    unknown = sorted(names - set(config.get("sweeps", {})))
    if unknown:
        raise KeyError(f"config.claims: unknown sweep(s) {', '.join(unknown)}")
    return sorted(names)


def training_options(config: Mapping[str, Any]) -> dict[str, Any]:
    return dict(config["claims"]["trained_network"])


def config_files(workflow: Any) -> list[str]:
    """The config files of this Snakemake run (recorded in claims.json)."""
    return [str(p) for p in getattr(workflow, "configfiles", [])]


def compute_claims(
    stores: Mapping[str, xr.Dataset],
    claims_config: Mapping[str, Mapping[str, Any]],
    training: Mapping[str, Any],
    figdir: str | Path,
) -> list[dict[str, Any]]:
    """Every claim's row, its figure written to ``figdir/<claim>.png``."""
    figdir = Path(figdir)
    figdir.mkdir(parents=True, exist_ok=True)
    stores = {k: one_run_per_network(v.compute()) for k, v in stores.items()}
    rows = []
    for key, fn in CLAIM_FUNCTIONS.items():
        holder: dict[str, Any] = {}

        def make(fn=fn, key=key, holder=holder) -> Figure:
            holder["row"], fig = fn(stores, claims_config[key], training=training)
            return fig

        fig = fg.draw(key, make)
        row = holder.get("row") or {
            "key": key,
            "claim": key,
            "verdict": "not computed: " + fig.texts[0].get_text(),
        }
        path = figdir / f"{key}.png"
        fig.savefig(path, dpi=120)
        row["figure"] = str(path)
        rows.append(row)
    return rows


def _value(v: Any) -> str:
    """A number with 4 significant digits (lists element-wise); None/NaN as a dash."""
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _fmt(m: Mapping[str, Any]) -> str:
    """``name: value ± error (extra = ...)``, the error's two leading digits kept."""
    v, e = m["value"], m.get("error")
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        txt = "—"
    elif e is None or not math.isfinite(e) or e <= 0:
        txt = _value(v)
    else:
        digits = min(6, max(1, 1 - int(math.floor(math.log10(e)))))
        txt = f"{v:.{digits}f} ± {e:.{digits}f}"
    extra = {k: x for k, x in m.items() if k not in ("name", "value", "error")}
    more = ", ".join(f"{k} = {_value(x)}" for k, x in extra.items())
    return f"{m['name']}: {txt}" + (f" ({more})" if more else "")


def claims_markdown(rows: Sequence[Mapping[str, Any]], header: Mapping[str, Any]) -> str:
    """The rows as a Markdown table plus, per claim, every measured number."""
    lines = [
        "# Claims of Engelken, Wolf & Abbott (arXiv:2006.02427), from the stores",
        "",
        f"Config: {', '.join(header['config_files'])}; command: `{header['command']}`; "
        f"code {header['provenance'].get('code_version', '?')}.",
        "",
        "| claim | N | seeds | t_sim | dt | verdict | figure |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        seeds = r.get("seeds", [])
        lines.append(
            f"| {r['claim']} | {', '.join(map(str, r.get('N', [])))} | {len(seeds)} | "
            f"{', '.join(f'{t:g}' for t in r.get('t_sim', []))} | "
            f"{', '.join(f'{t:g}' for t in r.get('dt', []))} | {r['verdict']} | "
            f"`{Path(r['figure']).name}` |"
        )
    for r in rows:
        lines += [
            "",
            f"## {r['claim']}",
            "",
            f"Sweeps: {', '.join(r.get('sweeps', [])) or '—'}. "
            f"Criterion: {r.get('criterion', '—')}",
            "",
        ]
        lines += [f"- {_fmt(m)}" for m in r.get("measured", [])]
    return "\n".join(lines) + "\n"


def write_claims(
    rows: Sequence[Mapping[str, Any]],
    header: Mapping[str, Any],
    json_path: str | Path,
    md_path: str | Path,
) -> None:
    """claims.json (header + rows) and claims.md, each written atomically."""
    with atomic_file(json_path, "w") as fh:
        json.dump(jsonable({**header, "claims": list(rows)}), fh, indent=1, sort_keys=True)
    with atomic_file(md_path, "w") as fh:
        fh.write(claims_markdown(rows, header))
