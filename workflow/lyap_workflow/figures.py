"""Figures of a sweep, each drawn from a gathered store (an ``xarray.Dataset``) alone.

Every ``fig_*`` function takes the Dataset and returns a matplotlib ``Figure``, or
raises :class:`Skip` when the sweep lacks what the figure needs; :func:`make_figures`
writes all of :data:`FIGURES` as PNG and PDF, a skipped one as a placeholder that says
why. No dimension is dropped silently: grid values are panels or lines, seeds are
averaged with :func:`lyap_workflow.ensemble.seed_stats` (one estimator everywhere: mean
over the chaotic realisations, error = max of the spread over seeds and the time-block
floor), and a figure that fixes a dimension (e.g. the input strength) says so in its
title. Drawn lines carry a ``gid`` ("<what> g=<g> N=<N>") so tests can find them.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

# Figure objects, never pyplot: no global backend is chosen (headless on cluster login
# nodes, and importing this module leaves a notebook's inline backend alone).
from matplotlib import ticker as mticker
from matplotlib.figure import Figure

from lyap_core.analysis import (
    chaos_suppression_sigma,
    finite_size_extrapolation,
    pair_half_sums,
    symmetry_centre,
)
from lyap_core.theory import (
    circular_law_continuous,
    dmft_continuous,
    dmft_discrete,
    free_multiplicative_discrete,
    ginibre_discrete,
)

from .ensemble import measure_stats, one_run_per_network, seed_stats

MEASURES = (
    ("lambda_max", "λ_max (1/{t})"),
    ("kaplan_yorke_per_n", "D_KY / N"),
    ("ks_entropy_per_n", "H / N (nats/{t})"),
)


class Skip(Exception):
    """The sweep lacks what a figure needs; the message says what."""


def _require(ok: bool, why: str) -> None:
    if not ok:
        raise Skip(why)


# -- selections and labels ----------------------------------------------------------------
def autonomous(ds: xr.Dataset) -> tuple[xr.Dataset, str]:
    """The weakest input of the sweep (usually none), and a note saying what was fixed."""
    notes = []
    for d, sym in (("input_std", "σ"), ("input_tau", "τ_in")):
        if d in ds.dims:
            k = ds.sizes[d]
            ds = ds.isel({d: 0})
            if k > 1:
                notes.append(f"{sym} = {ds[d].item():g} (1 of {k})")
    if "input_std" in ds.coords and not notes and float(ds["input_std"]) > 0:
        notes.append(f"σ = {float(ds['input_std']):g}")
    return ds, ", ".join(notes)


def _unit(ds: xr.Dataset) -> str:
    return ds.attrs.get("time_unit", "tau").replace("tau", "τ")


def continuous(ds: xr.Dataset) -> bool:
    return ds.attrs.get("time_unit", "tau") == "tau"


def _title(ds: xr.Dataset, what: str, note: str = "") -> str:
    sweep = ds.attrs.get("sweep", "")
    return (f"{sweep}: " if sweep else "") + what + (f" ({note})" if note else "")


def _values(ds: xr.Dataset, d: str) -> list[Any]:
    return [v.item() for v in ds[d]] if d in ds.dims else [ds[d].item()]


def per_g_panels(k: int, ncols: int = 4) -> tuple[Figure, list[Any]]:
    """A figure with ``k`` panels (one per g), at most ``ncols`` per row."""
    cols = min(k, ncols)
    rows = -(-k // cols)
    fig = Figure(figsize=(4.2 * cols, 3.7 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
    for ax in axes[k:]:
        ax.set_visible(False)
    return fig, list(axes[:k])


def log_x(ax: Any) -> None:
    """Logarithmic x axis with plain tick labels at 1, 2, 5 x 10^k (g and N are small)."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(mticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(mticker.ScalarFormatter())
    ax.xaxis.set_minor_formatter(mticker.NullFormatter())


def bars(ax: Any, x: Any, y: Any, err: Any, label: str, gid: str, **kw: Any) -> Any:
    """Points with error bars joined by a line; ``gid`` names the data line for tests."""
    y, err = np.asarray(y, dtype=float), np.asarray(err, dtype=float)
    style = {"marker": "o", "ms": 3, "capsize": 2} | kw
    return ax.errorbar(x, y, yerr=err, label=label, gid=gid, **style)


def _n_exponents(p: xr.Dataset) -> int:
    """Number of stored exponents of a (g, N) slice (finite in at least one seed)."""
    lam = p["exponents"].values.reshape(-1, p.sizes["i"])
    return int(np.isfinite(lam).any(axis=0).sum())


@functools.lru_cache(maxsize=512)
def mean_field_lambda_max(g: float, is_continuous: bool) -> float:
    """DMFT lambda_max for N -> infinity (lyap_core.theory), cached per g."""
    return (dmft_continuous if is_continuous else dmft_discrete)(g).lambda_max


def _chaotic_label(st: xr.Dataset) -> str:
    return f"{int(st['n_chaotic'].max())}/{int(st['n_all'].max())} chaotic"


# -- spectra --------------------------------------------------------------------------------
def fig_spectra_vs_rank(ds: xr.Dataset) -> Figure:
    """Spectra against i/N = (i - 1/2)/N, one panel per g, one line per N (size invariance)."""
    d, note = autonomous(ds)
    gs = _values(d, "g")
    fig, axes = per_g_panels(len(gs))
    for ax, g in zip(axes, gs, strict=True):
        for n in _values(d, "N"):
            p = d.sel(g=g, N=n)
            m = _n_exponents(p)
            st = measure_stats(p, "exponents").isel(i=slice(0, m))
            x = p["i_over_n"].values[:m]
            mean, se = st["mean"].values, st["se"].values
            what = "chaotic seeds"
            if not np.isfinite(mean).any():  # none chaotic: all seeds, drawn dashed
                mean, se, what = st["mean_all"].values, st["se_all"].values, "all seeds"
            (line,) = ax.plot(
                x,
                mean,
                lw=1.2,
                ls="-" if what == "chaotic seeds" else "--",
                label=f"N = {n} ({_chaotic_label(st)}; mean of {what})",
                gid=f"spectrum g={g:g} N={n}",
            )
            ax.fill_between(x, mean - se, mean + se, alpha=0.25, color=line.get_color())
        ax.axhline(0, color="k", lw=0.5)
        ax.set(title=f"g = {g:g}", xlabel="i / N  (rank (i − ½)/N)")
        ax.set_ylabel(f"λ_i (1/{_unit(ds)})")
        ax.legend(fontsize=7)
    fig.suptitle(_title(ds, "Lyapunov spectra vs i/N, mean ± s.e. over seeds", note), fontsize=10)
    return fig


# -- measures vs g and N ------------------------------------------------------------------
def fig_measures_vs_g(ds: xr.Dataset) -> Figure:
    """λ_max (with the mean-field curve), D/N, H/N over chaotic seeds and the chaotic
    fraction against g, one line per N."""
    _require(ds.sizes.get("g", 1) >= 2, "the sweep has a single g")
    d, note = autonomous(ds)
    t = _unit(ds)
    fig = Figure(figsize=(9, 6.4), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True).ravel()
    gs = np.array(_values(d, "g"), dtype=float)
    for n in _values(d, "N"):
        p = d.sel(N=n)
        for ax, (name, _) in zip(axes, MEASURES, strict=False):
            st = measure_stats(p, name)
            bars(ax, gs, st["mean"], st["se"], f"N = {n}", f"{name} N={n}")
        st = measure_stats(p, "lambda_max")
        bars(
            axes[3],
            gs,
            st["fraction_chaotic"],
            st["fraction_chaotic_se"],
            f"N = {n}",
            f"fraction_chaotic N={n}",
        )
    curve = np.geomspace(gs.min(), gs.max(), 24)
    curve = np.unique(np.concatenate([curve, gs]))
    axes[0].plot(
        curve,
        [mean_field_lambda_max(float(g), continuous(ds)) for g in curve],
        "k--",
        lw=1,
        label="mean field (N → ∞)",
        gid="mean_field",
    )
    labels = [lab.format(t=t) for _, lab in MEASURES] + ["fraction of chaotic seeds"]
    for ax, label in zip(axes, labels, strict=True):
        ax.set_ylabel(label)
        ax.axhline(0, color="k", lw=0.5)
        if gs.min() > 0 and gs.max() / gs.min() > 4:
            log_x(ax)
    for ax in axes[2:]:
        ax.set_xlabel("g")
    axes[0].legend(fontsize=7)
    fig.suptitle(_title(ds, "measures vs g, mean over chaotic seeds ± s.e.", note), fontsize=10)
    return fig


def fig_measures_vs_inverse_n(ds: xr.Dataset) -> Figure:
    """λ_max, D/N, H/N against 1/N, one line per g, with the weighted fit a + b/N and the
    mean-field λ_max at 1/N = 0."""
    _require(ds.sizes.get("N", 1) >= 2, "the sweep has a single N")
    d, note = autonomous(ds)
    fig = Figure(figsize=(13, 3.8), layout="constrained")
    axes = fig.subplots(1, 3)
    inv = 1.0 / np.array(_values(d, "N"), dtype=float)
    for g in _values(d, "g"):
        p = d.sel(g=g)
        for ax, (name, _) in zip(axes, MEASURES, strict=True):
            st = measure_stats(p, name)
            mean, se = st["mean"].values, st["se"].values
            bar = ax.errorbar(
                inv,
                mean,
                yerr=se,
                fmt="o",
                ms=3,
                capsize=2,
                label=f"g = {g:g}",
                gid=f"{name} g={g:g}",
            )
            fit = fit_inverse_n(np.array(_values(d, "N")), mean, se)
            if fit is not None:
                xs = np.linspace(0.0, inv.max(), 20)
                ax.plot(
                    xs,
                    fit.intercept + fit.slope * xs,
                    "--",
                    color=bar[0].get_color(),
                    lw=1,
                    label=f"a + b/N: a = {fit.intercept:.4g} ± {fit.intercept_err:.2g}",
                    gid=f"fit {name} g={g:g}",
                )
        axes[0].plot(
            [0.0],
            [mean_field_lambda_max(float(g), continuous(ds))],
            "k*",
            ms=9,
            label=f"mean field, g = {g:g}",
            gid=f"mean_field g={g:g}",
        )
    t = _unit(ds)
    for ax, (_, lab) in zip(axes, MEASURES, strict=True):
        ax.set(xlabel="1 / N", ylabel=lab.format(t=t), xlim=(-0.05 * inv.max(), 1.05 * inv.max()))
        ax.legend(fontsize=6)
    fig.suptitle(
        _title(ds, "finite-size scaling, mean over chaotic seeds ± s.e.", note), fontsize=10
    )
    return fig


def fit_inverse_n(ns: np.ndarray, mean: np.ndarray, se: np.ndarray) -> Any:
    """:func:`~lyap_core.analysis.finite_size_extrapolation` over the usable sizes, or None."""
    ok = np.isfinite(mean) & np.isfinite(se) & (se > 0)
    if ok.sum() < 2:
        return None
    return finite_size_extrapolation(ns[ok], mean[ok], se[ok])


# -- input ----------------------------------------------------------------------------------
def fig_measures_vs_input(ds: xr.Dataset) -> Figure:
    """λ_max, D/N and H/N (all seeds) against the input std σ, one column per τ_in, one
    line per (g, N), with σ_c (where λ_max crosses 0) marked."""
    _require(ds.sizes.get("input_std", 1) >= 2, "the sweep has a single input strength")
    taus = _values(ds, "input_tau")
    fig = Figure(figsize=(4.2 * len(taus), 8), layout="constrained")
    axes = fig.subplots(3, len(taus), sharex=True, squeeze=False)
    sig = np.array(_values(ds, "input_std"), dtype=float)
    for col, tau in enumerate(taus):
        dt_ = ds.sel(input_tau=tau) if "input_tau" in ds.dims else ds
        for g in _values(dt_, "g"):
            for n in _values(dt_, "N"):
                p = dt_.sel(g=g, N=n)
                color = None
                for row, (name, _) in enumerate(MEASURES):
                    st = measure_stats(p, name)
                    bar = bars(
                        axes[row, col],
                        sig,
                        st["mean_all"],
                        st["se_all"],
                        f"g = {g:g}, N = {n}",
                        f"{name} g={g:g} N={n} tau={tau:g}",
                        color=color,
                    )
                    color = bar[0].get_color()
                lam = measure_stats(p, "lambda_max")
                c = chaos_suppression_sigma(sig, lam["mean_all"].values, lam["se_all"].values)
                if np.isfinite(c.sigma):
                    for row in range(3):
                        axes[row, col].axvline(
                            c.sigma,
                            color=color,
                            ls=":",
                            lw=1,
                            gid=f"sigma_c g={g:g} N={n} tau={tau:g}",
                        )
        axes[0, col].set_title(f"τ_in = {tau:g}  (dotted: σ_c, λ_max = 0)")
        axes[0, col].axhline(0, color="k", lw=0.5)
        axes[-1, col].set_xlabel("input std σ")
    t = _unit(ds)
    for row, (_, lab) in enumerate(MEASURES):
        axes[row, 0].set_ylabel(lab.format(t=t))
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(
        _title(ds, "input suppresses chaos: mean over all seeds ± s.e. (non-chaotic: D = H = 0)"),
        fontsize=10,
    )
    return fig


# -- random-matrix theory -------------------------------------------------------------------
def pooled_log_dphi(p: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Samples exp(bin mean of ln phi') and their counts, pooled over the slice's seeds."""
    counts = p["log_dphi_counts"].fillna(0.0)
    sums = (p["log_dphi_mean"].fillna(0.0) * counts).sum(
        [d for d in counts.dims if d != "log_dphi"]
    )
    total = counts.sum([d for d in counts.dims if d != "log_dphi"]).values
    ok = total > 0
    _require(ok.any(), "no histogram of ln phi' in the store (recorded from store format 2)")
    return np.exp(sums.values[ok] / total[ok]), total[ok]


def fig_rmt_discrete(ds: xr.Dataset) -> Figure:
    """Discrete-time spectra against the free-multiplicative law (measured φ' distribution)
    and the Ginibre law (measured ⟨φ'²⟩), one panel per g, one line per N."""
    _require(not continuous(ds), "the sweep is not of the discrete-time model")
    d, note = autonomous(ds)
    gs = _values(d, "g")
    fig, axes = per_g_panels(len(gs))
    for ax, g in zip(axes, gs, strict=True):
        for n in _values(d, "N"):
            p = d.sel(g=g, N=n)
            if _n_exponents(p) != n or not (p["log_dphi_counts"].sum() > 0):
                continue  # partial spectra, or no computed point here (partial store)
            st = measure_stats(p, "exponents").isel(i=slice(0, n))
            x = p["i_over_n"].values[:n]
            (line,) = ax.plot(
                x,
                st["mean_all"].values,
                lw=1.5,
                label=f"N = {n}, measured",
                gid=f"spectrum g={g:g} N={n}",
            )
            se = st["se_all"].values
            ax.fill_between(
                x, st["mean_all"] - se, st["mean_all"] + se, alpha=0.25, color=line.get_color()
            )
            samples, weights = pooled_log_dphi(p)
            free = free_multiplicative_discrete(n, g, samples, weights)
            gin = ginibre_discrete(n, g, float(p["mean_dphi2"].mean()))
            ax.plot(x, free, "--", color="k", lw=1, gid=f"free g={g:g} N={n}")
            ax.plot(x, gin, ":", color="tab:red", lw=1, gid=f"ginibre g={g:g} N={n}")
        ax.plot([], [], "k--", lw=1, label="free multiplicative (measured φ')")
        ax.plot([], [], ":", color="tab:red", lw=1, label="Ginibre: ½ln(g²⟨φ'²⟩) + ½ln(1 − i/N)")
        ax.set(title=f"g = {g:g}", xlabel="i / N")
        ax.set_ylabel("λ_i (1/step)")
        ax.legend(fontsize=6)
    fig.suptitle(_title(ds, "discrete time vs random-matrix laws (mean over all seeds)", note))
    return fig


def fig_rmt_continuous(ds: xr.Dataset) -> Figure:
    """Continuous-time spectra against the circular law of radius g√⟨φ'²⟩ (measured)
    centred at −1, one panel per g, one line per N."""
    _require(continuous(ds), "the sweep is not of the continuous-time model")
    d, note = autonomous(ds)
    gs = _values(d, "g")
    fig, axes = per_g_panels(len(gs))
    for ax, g in zip(axes, gs, strict=True):
        for n in _values(d, "N"):
            p = d.sel(g=g, N=n)
            if _n_exponents(p) != n:
                continue  # partial spectrum: no law to compare the whole of
            st = measure_stats(p, "exponents").isel(i=slice(0, n))
            x = p["i_over_n"].values[:n]
            ax.plot(x, st["mean_all"].values, label=f"N = {n}", gid=f"spectrum g={g:g} N={n}")
            law = circular_law_continuous(n, g, float(p["mean_dphi2"].mean()))
            ax.plot(x, law, "k--", lw=1, gid=f"circular g={g:g} N={n}")
        ax.plot([], [], "k--", lw=1, label="circular law, radius g√⟨φ'²⟩")
        ax.set(title=f"g = {g:g}", xlabel="i / N", ylabel="λ_i (1/τ)")
        ax.legend(fontsize=6)
    fig.suptitle(_title(ds, "continuous time vs the circular law (mean over all seeds)", note))
    return fig


# -- point symmetry -------------------------------------------------------------------------
def half_sum_deviation(p: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray]:
    """(λ_i + λ_{N+1-i})/2 − c per point, c = sum-rule target / N, with block errors.

    ``p`` is a slice at one N with full spectra; dims of the result: the slice's grid
    dims and ``pair`` (i = 1..ceil(N/2)).
    """
    n = int(p["N"])
    lam = p["exponents"].isel(i=slice(0, n))
    blocks = p["exponents_blocks"].isel(i=slice(0, n))
    grid = [dim for dim in lam.dims if dim != "i"]
    stacked = lam.stack(_pt=grid) if grid else lam.expand_dims(_pt=[0])
    bstack = blocks.stack(_pt=grid) if grid else blocks.expand_dims(_pt=[0])
    target = (
        p["sum_rule_target"].stack(_pt=grid) if grid else p["sum_rule_target"].expand_dims(_pt=[0])
    )
    half = (n + 1) // 2
    dev = np.full((stacked.sizes["_pt"], half), np.nan)
    err = np.full_like(dev, np.nan)
    for k in range(stacked.sizes["_pt"]):
        v = stacked.isel(_pt=k).values
        b = bstack.isel(_pt=k).transpose("block", "i").values
        b = b[np.isfinite(b).all(axis=1)]
        if not np.isfinite(v).all() or b.shape[0] < 2:
            continue
        s, se = pair_half_sums(v, b)
        dev[k] = s - symmetry_centre(float(target.isel(_pt=k)), n)
        err[k] = se
    coords = {"_pt": stacked["_pt"]}
    out = xr.DataArray(dev, dims=("_pt", "pair"), coords=coords)
    out_se = xr.DataArray(err, dims=("_pt", "pair"), coords=coords)
    if grid:
        return out.unstack("_pt"), out_se.unstack("_pt")
    return out.isel(_pt=0, drop=True), out_se.isel(_pt=0, drop=True)


def fig_point_symmetry(ds: xr.Dataset) -> Figure:
    """Half-sums (λ_i + λ_{N+1−i})/2 minus the sum-rule centre against the pair rank,
    one panel per g, one line per N (mean over chaotic seeds ± s.e.)."""
    d, note = autonomous(ds)
    gs = _values(d, "g")
    fig, axes = per_g_panels(len(gs))
    drawn = 0
    for ax, g in zip(axes, gs, strict=True):
        for n in _values(d, "N"):
            p = d.sel(g=g, N=n)
            if _n_exponents(p) != n:
                continue  # partial spectrum (m < N): no pairs
            dev, err = half_sum_deviation(p)
            st = seed_stats(dev, err, p["chaotic"])
            x = (np.arange(dev.sizes["pair"]) + 0.5) / n
            mean, se = st["mean"].values, st["se"].values
            (line,) = ax.plot(
                x,
                mean,
                lw=1.2,
                label=f"N = {n} ({_chaotic_label(st)})",
                gid=f"half_sum g={g:g} N={n}",
            )
            ax.fill_between(x, mean - se, mean + se, alpha=0.25, color=line.get_color())
            drawn += 1
        ax.axhline(0, color="k", lw=0.5)
        ax.set(title=f"g = {g:g}", xlabel="pair rank (i − ½)/N")
        ax.set_ylabel(r"$(\lambda_i + \lambda_{N+1-i})/2 - c$")
        ax.legend(fontsize=7)
    _require(drawn > 0, "no full spectra (m < N) in the sweep")
    fig.suptitle(
        _title(ds, "point symmetry about the sum-rule centre c = Σλ/N (chaotic seeds)", note),
        fontsize=10,
    )
    return fig


# -- realisations, convergence --------------------------------------------------------------
def fig_chaotic_fraction(ds: xr.Dataset) -> Figure:
    """Fraction of chaotic seeds against g, one line per (N, σ), one panel per τ_in."""
    taus = _values(ds, "input_tau")
    fig = Figure(figsize=(5 * len(taus), 3.8), layout="constrained")
    axes = fig.subplots(1, len(taus), squeeze=False)[0]
    gs = np.array(_values(ds, "g"), dtype=float)
    for ax, tau in zip(axes, taus, strict=True):
        d = ds.sel(input_tau=tau) if "input_tau" in ds.dims else ds
        for n in _values(d, "N"):
            for sig in _values(d, "input_std"):
                p = d.sel(N=n, input_std=sig) if "input_std" in d.dims else d.sel(N=n)
                st = measure_stats(p, "lambda_max")
                bars(
                    ax,
                    gs,
                    st["fraction_chaotic"].values.reshape(gs.shape),
                    st["fraction_chaotic_se"].values.reshape(gs.shape),
                    f"N = {n}, σ = {sig:g}",
                    f"fraction_chaotic N={n} sigma={sig:g} tau={tau:g}",
                )
        ax.set(xlabel="g", ylabel="fraction of chaotic seeds", ylim=(-0.05, 1.05))
        ax.set_title(f"τ_in = {tau:g}" if len(taus) > 1 else "")
        ax.legend(fontsize=7)
    fig.suptitle(_title(ds, "chaotic realisations (λ_max > max(3 s.e., 2e-3)) ± binomial s.e."))
    return fig


def fig_convergence(ds: xr.Dataset) -> Figure:
    """Running estimates over the accumulation time, one panel per g (largest N, seed 0)."""
    d, note = autonomous(ds)
    n = max(_values(d, "N"))
    seed = _values(d, "seed")[0]
    gs = _values(d, "g")
    fig, axes = per_g_panels(len(gs))
    drawn = 0
    for ax, g in zip(axes, gs, strict=True):
        p = d.sel(g=g, N=n, seed=seed)
        t = p["history_time"].values
        ok = np.isfinite(t)
        if ok.sum() < 2:
            continue
        m = int(np.isfinite(p["exponents"].values).sum())
        for q in p["history_rank"].values:
            i = 1 + round(q * (m - 1))
            ax.plot(t[ok], p["history"].sel(history_rank=q).values[ok], lw=1, label=f"λ_{i}")
        ax.plot(t[ok], p["history_kaplan_yorke"].values[ok] / n, "k", lw=1.5, label="D_KY / N")
        ax.set(title=f"g = {g:g}", xlabel=f"accumulation time ({_unit(ds)})")
        ax.set_ylabel("running estimate")
        drawn += 1
        ax.legend(fontsize=6)
    _require(drawn > 0, "fewer than two running estimates stored")
    what = f"running estimates, N = {n}, seed {seed}"
    fig.suptitle(_title(ds, what, note), fontsize=10)
    return fig


VARIANCE_STYLE = {  # component: colour, line style ("realisation": only where not split)
    "time": ("tab:blue", "-"),
    "initial_condition": ("tab:orange", "-"),
    "network": ("tab:green", "-"),
    "realisation": ("tab:grey", "--"),
}


def fig_variance_split(ds: xr.Dataset) -> Figure:
    """Share of one run's variance of λ_max, D/N, H/N from time averaging, initial
    condition and network against g, one line per source and N (the store's
    ``<measure>_variance``; where one trajectory per network leaves initial condition and
    network confounded, their sum, "realisation", dashed)."""
    _require("lambda_max_variance" in ds, "the store has no variance split (stores < v3)")
    d, note = autonomous(ds)
    parts = d["lambda_max_variance"]
    _require(
        bool(np.isfinite(parts.sel(variance_component="realisation")).any()),
        "no grid point has two networks with chaotic runs",
    )
    fig = Figure(figsize=(13, 3.8), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    gs = np.array(_values(d, "g"), dtype=float)
    markers = "os^vD<>"
    for ax, (name, label) in zip(axes, MEASURES, strict=True):
        var = d[f"{name}_variance"]
        for k, n in enumerate(_values(d, "N")):
            v = var.sel(N=n)
            total = v.sel(variance_component="time") + v.sel(variance_component="realisation")
            split = bool(np.isfinite(v.sel(variance_component="network")).any())
            shown = ("time", "initial_condition", "network") if split else ("time", "realisation")
            for c in shown:
                colour, ls = VARIANCE_STYLE[c]
                ax.plot(
                    gs,
                    (v.sel(variance_component=c) / total).values,
                    color=colour,
                    ls=ls,
                    marker=markers[k % len(markers)],
                    ms=4,
                    label=f"{c.replace('_', ' ')}, N = {n}",
                    gid=f"variance {c} {name} N={n}",
                )
        ax.set(xlabel="g", title=label.format(t=_unit(ds)), ylim=(-0.02, 1.02))
        if gs.size > 1 and gs.min() > 0 and gs.max() / gs.min() > 4:
            log_x(ax)
    axes[0].set_ylabel("share of one run's variance (chaotic runs)")
    axes[0].legend(fontsize=6)
    fig.suptitle(_title(ds, "where a point's variance comes from", note), fontsize=10)
    return fig


FIGURES: dict[str, Callable[[xr.Dataset], Figure]] = {
    "spectra_vs_rank": fig_spectra_vs_rank,
    "measures_vs_g": fig_measures_vs_g,
    "measures_vs_inverse_n": fig_measures_vs_inverse_n,
    "measures_vs_input": fig_measures_vs_input,
    "chaotic_fraction": fig_chaotic_fraction,
    "point_symmetry": fig_point_symmetry,
    "rmt_discrete": fig_rmt_discrete,
    "rmt_continuous": fig_rmt_continuous,
    "convergence": fig_convergence,
    "variance_split": fig_variance_split,
}


# -- figures of the claims that need more than one store ---------------------------------------
def fig_dt_convergence(ds: xr.Dataset, refined: xr.Dataset) -> Figure:
    """λ_max, D/N, H/N at dt and at the refined step, per seed of ``refined``, against g."""
    d, _ = autonomous(ds)
    r, note = autonomous(refined)
    seeds = [s for s in _values(r, "seed") if s in _values(d, "seed")]
    _require(bool(seeds), "the refined sweep shares no seed with the sweep")
    fig = Figure(figsize=(13, 3.8), layout="constrained")
    axes = fig.subplots(1, 3)
    for n in _values(r, "N"):
        gs = np.array([g for g in _values(r, "g") if g in _values(d, "g")], dtype=float)
        for ax, (name, _) in zip(axes, MEASURES, strict=True):
            for seed in seeds:
                a = d[name].sel(g=gs, N=n, seed=seed).values
                b = r[name].sel(g=gs, N=n, seed=seed).values
                ax.plot(
                    gs,
                    a,
                    "o",
                    label=f"N = {n}, seed {seed}, dt",
                    gid=f"{name} dt seed={seed} N={n}",
                )
                ax.plot(
                    gs,
                    b,
                    "x",
                    label=f"N = {n}, seed {seed}, dt/2",
                    gid=f"{name} dt/2 seed={seed} N={n}",
                )
    t = _unit(ds)
    for ax, (_, lab) in zip(axes, MEASURES, strict=True):
        ax.set(xlabel="g", ylabel=lab.format(t=t))
        log_x(ax)
        ax.legend(fontsize=6)
    fig.suptitle(_title(ds, "dt convergence: the same networks at dt and dt/2", note), fontsize=10)
    return fig


def fig_training(record: Mapping[str, Any]) -> Figure:
    """Top of the spectrum of every trained closed loop (algorithm x task), J0's λ_1 dashed."""
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for k, net in enumerate(record["networks"]):
        lam = np.asarray(net["trained"]["exponents"], dtype=float)
        se = np.asarray(net["trained"]["stderr"], dtype=float)
        i = np.arange(1, lam.size + 1)
        tag = f"{net['key']} (N = {net['n']})"
        quality = (
            f"bits {net['bit_accuracy']:.3f}"
            if net["task"] == "flipflop"
            else f"NMSE {net['test_error']:.2g}"
        )
        line = ax.errorbar(
            i + 0.05 * k, lam, yerr=se, fmt="o-", capsize=3, label=f"{tag}: {quality}", gid=tag
        )
        ax.axhline(net["untrained"]["exponents"][0], color=line[0].get_color(), ls="--", lw=0.8)
    ax.axhline(0, color="k", lw=0.5)
    m = max(len(net["trained"]["exponents"]) for net in record["networks"])
    ax.set(xlabel="exponent index i", ylabel="λ_i (1/τ)", xticks=list(range(1, m + 1)))
    ax.set_title("trained closed loops (dashed: λ_1 of the untrained J0)", fontsize=9)
    ax.legend(fontsize=8)
    return fig


def placeholder(name: str, why: str) -> Figure:
    """A figure that only says why ``name`` was not drawn."""
    fig = Figure(figsize=(6.4, 2.4))
    fig.text(0.5, 0.5, f"{name}: not drawn\n{why}", ha="center", va="center", wrap=True)
    return fig


def draw(name: str, make: Callable[[], Figure]) -> Figure:
    """``make()``, or the placeholder saying why it was skipped."""
    try:
        with warnings.catch_warnings():
            # all-NaN slices (no chaotic seed, padding) are drawn as gaps
            warnings.simplefilter("ignore", RuntimeWarning)
            return make()
    except Skip as why:
        return placeholder(name, str(why))


def make_figures(ds: xr.Dataset, outdir: str | Path) -> list[Path]:
    """Write every figure of :data:`FIGURES` as ``<name>.png`` and ``<name>.pdf``."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    ds = one_run_per_network(ds.compute())  # figures reread slices: not lazily
    written = []
    for name, fn in FIGURES.items():
        fig = draw(name, functools.partial(fn, ds))
        for ext in ("png", "pdf"):
            path = outdir / f"{name}.{ext}"
            fig.savefig(path, dpi=130)
            written.append(path)
    return written


def flagged_points_html(failures: list[Mapping[str, Any]], sweep: str) -> str:
    """The points that ``lyap check`` flags, as an HTML table for the report."""
    rows = "".join(
        f"<tr><td>{f['point']}</td><td>{'<br>'.join(f['reasons'])}</td></tr>" for f in failures
    )
    head = f"<h3>{sweep}: {len(failures)} point(s) flagged by <code>lyap check</code></h3>"
    if not failures:
        return head + "<p>All points pass the quality checks.</p>"
    return head + f"<table border=1><tr><th>point</th><th>reasons</th></tr>{rows}</table>"
