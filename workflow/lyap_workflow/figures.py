"""Figures of a sweep, each drawn from the gathered store (an ``xarray.Dataset``) alone.

Every ``fig_*`` function takes the Dataset and returns a matplotlib ``Figure``, or
raises :class:`Skip` when the sweep lacks what the figure needs; :func:`make_figures`
writes all of them as PNG and PDF, a skipped one as a placeholder that says why.
Measures are averaged over the chaotic realisations only, and the fraction of
chaotic realisations is always shown next to them.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

# Figure objects, never pyplot: no global backend is chosen (headless on cluster login
# nodes, and importing this module leaves a notebook's inline backend alone).
from matplotlib.figure import Figure

from lyap_core.theory.rmt import ginibre_discrete

if TYPE_CHECKING:
    import xarray as xr


class Skip(Exception):
    """The sweep lacks what a figure needs; the message says what."""


def _require(ok: bool, why: str) -> None:
    if not ok:
        raise Skip(why)


def _autonomous(ds: xr.Dataset) -> xr.Dataset:
    """The weakest input of the sweep (usually none), for figures that do not vary it."""
    for d in ("input_std", "input_tau"):
        if d in ds.dims:
            ds = ds.isel({d: 0})
    return ds


def _config(ds: xr.Dataset) -> dict:
    return json.loads(ds.attrs.get("config", "{}"))


def _title(ds: xr.Dataset, what: str) -> str:
    fixed = [f"{d} = {ds[d].item():g}" for d in ("g", "N", "input_std") if ds[d].ndim == 0]
    return f"{ds.attrs.get('sweep', '')}: {what}" + (f" ({', '.join(fixed)})" if fixed else "")


def _chaotic_mean(
    x: xr.DataArray, se: xr.DataArray, chaotic: xr.DataArray
) -> tuple[xr.DataArray, xr.DataArray]:
    """Mean over the chaotic seeds and its standard error (NaN where none is chaotic).

    With two or more chaotic seeds the spread over seeds (which includes the time
    sampling error); with one, that run's own standard error.
    """
    k = chaotic.sum("seed")
    xc = x.where(chaotic)
    spread = xc.std("seed", ddof=1) / np.sqrt(k.where(k > 1))
    return xc.mean("seed"), spread.fillna(se.where(chaotic).mean("seed"))


def _seed_mean(x: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """Mean over seeds and the standard error of that mean (0 for a single seed)."""
    n = x.sizes["seed"]
    return x.mean("seed"), (x.std("seed", ddof=1) / np.sqrt(n) if n > 1 else 0 * x.mean("seed"))


def fig_spectra_vs_rank(ds: xr.Dataset) -> Figure:
    """Spectra against the rank (i - 1/2)/N for every N at the largest g: size invariance."""
    _require(ds.sizes["N"] >= 2, "the sweep has a single N; size invariance needs several")
    d = _autonomous(ds).sel(g=ds["g"].max())
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = fig.add_subplot()
    for n in d["N"].values:
        p = d.sel(N=n)
        mean, sem = _seed_mean(p["exponents"])
        ok = np.isfinite(mean.values)
        r = p["rank"].values[ok]
        frac = f"{int(p['chaotic'].sum())}/{p.sizes['seed']} chaotic"
        ax.plot(r, mean.values[ok], lw=1.2, label=f"N = {n} ({frac})")
        ax.fill_between(r, (mean - sem).values[ok], (mean + sem).values[ok], alpha=0.3)
    ax.axhline(0, color="k", lw=0.5)
    ax.set(xlabel="rank (i - 1/2)/N", ylabel=f"λ_i (1/{ds.attrs['time_unit']})")
    ax.set_title(_title(d, "Lyapunov spectra, mean over seeds"), fontsize=9)
    ax.legend(fontsize=8)
    return fig


def fig_measures_vs_g(ds: xr.Dataset) -> Figure:
    """lambda_max, D_KY/N, H/N (chaotic realisations) and the chaotic fraction against g."""
    _require(ds.sizes["g"] >= 2, "the sweep has a single g")
    d = _autonomous(ds)
    t = ds.attrs["time_unit"]
    fig = Figure(figsize=(9, 6.4), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True).ravel()
    for n in d["N"].values:
        p = d.sel(N=n)
        panels = [
            (p["lambda_max"], p["lambda_max_stderr"]),
            (p["kaplan_yorke_per_n"], p["kaplan_yorke_dimension_stderr"] / n),
            (p["ks_entropy_per_n"], p["ks_entropy_stderr"] / n),
        ]
        for ax, (x, se) in zip(axes, panels, strict=False):
            mean, err = _chaotic_mean(x, se, p["chaotic"])
            ax.errorbar(p["g"], mean, yerr=err, marker="o", ms=3, capsize=2, label=f"N = {n}")
        axes[3].plot(p["g"], p["chaotic"].mean("seed"), marker="o", ms=3, label=f"N = {n}")
    labels = [f"λ_max (1/{t})", "D_KY / N", f"H / N (nats/{t})", "fraction chaotic"]
    for ax, label in zip(axes, labels, strict=True):
        ax.set_ylabel(label)
        ax.axhline(0, color="k", lw=0.5)
    for ax in axes[2:]:
        ax.set_xlabel("g")
    axes[0].legend(fontsize=8)
    fig.suptitle(_title(d, "measures vs g, mean over chaotic seeds ± s.e."), fontsize=10)
    return fig


def fig_rmt_discrete(ds: xr.Dataset) -> Figure:
    """Discrete-time spectra at the largest N against the random-matrix prediction."""
    _require(ds.attrs["time_unit"] == "step", "the sweep is not of the discrete-time model")
    d = _autonomous(ds).sel(N=ds["N"].max())
    gs = d["g"].values[np.unique(np.linspace(0, d.sizes["g"] - 1, 4).round().astype(int))]
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = fig.add_subplot()
    n = int(d["N"])
    for g in gs:
        p = d.sel(g=g)
        mean, _ = _seed_mean(p["exponents"])
        ok = np.isfinite(mean.values)
        (line,) = ax.plot(p["rank"].values[ok], mean.values[ok], lw=1.5, label=f"g = {g:g}")
        theory = ginibre_discrete(n, g, float(p["mean_dphi2"].mean()))  # <phi'^2> measured
        ax.plot(d["rank"].values[:n], theory, "--", color=line.get_color(), lw=1)
    ax.plot([], [], "k--", lw=1, label="Ginibre: ½ ln(g²⟨φ'²⟩) + ½ ln(1 - rank)")
    ax.set(xlabel="rank (i - 1/2)/N", ylabel="λ_i (1/step)")
    ax.set_title(_title(d, "discrete time vs random-matrix theory"), fontsize=9)
    ax.legend(fontsize=8)
    return fig


def fig_measures_vs_input(ds: xr.Dataset) -> Figure:
    """D_KY/N and H/N against the input strength at the largest N, one line per g."""
    _require(ds.sizes.get("input_std", 1) >= 2, "the sweep has a single input strength")
    d = ds.isel(input_tau=0) if "input_tau" in ds.dims else ds
    d = d.sel(N=d["N"].max())
    fig = Figure(figsize=(9, 3.8), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    for g in d["g"].values:
        p = d.sel(g=g)
        n = int(p["N"])
        panels = [
            (p["kaplan_yorke_per_n"], p["kaplan_yorke_dimension_stderr"] / n),
            (p["ks_entropy_per_n"], p["ks_entropy_stderr"] / n),
        ]
        for ax, (x, se) in zip(axes, panels, strict=True):
            mean, err = _chaotic_mean(x, se, p["chaotic"])
            ax.errorbar(
                p["input_std"], mean, yerr=err, marker="o", ms=3, capsize=2, label=f"g = {g:g}"
            )
    axes[0].set(xlabel="input std σ", ylabel="D_KY / N")
    axes[1].set(xlabel="input std σ", ylabel=f"H / N (nats/{ds.attrs['time_unit']})")
    axes[0].legend(fontsize=8)
    fig.suptitle(_title(d, "input suppresses chaos (chaotic seeds ± s.e.)"), fontsize=10)
    return fig


def fig_point_symmetry(ds: xr.Dataset) -> Figure:
    """Pair means (lambda_i + lambda_{N+1-i})/2 against the rank at the largest g."""
    d = _autonomous(ds).sel(g=ds["g"].max())
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = fig.add_subplot()
    drawn = 0
    for n in d["N"].values:
        lam = d.sel(N=n)["exponents"].isel(i=slice(0, int(n)))
        if not np.all(np.isfinite(lam.values)):
            continue  # partial spectrum (m < N): no pairs
        pairs = 0.5 * (lam.values + lam.values[:, ::-1])
        ax.plot(d["rank"].sel(N=n).values[: int(n)], pairs.mean(axis=0), label=f"N = {n}")
        drawn += 1
    _require(drawn > 0, "no full spectra (m < N) in the sweep")
    cfg = _config(ds)
    if cfg.get("model") == "continuous" and not cfg.get("autapses", False):
        ax.axhline(-1, color="k", ls="--", lw=1, label="-1 (zero-diagonal J)")
    ax.set(xlabel="rank (i - 1/2)/N", ylabel=r"$(\lambda_i + \lambda_{N+1-i})\,/\,2$")
    ax.set_title(_title(d, "point symmetry of the spectrum, mean over seeds"), fontsize=9)
    ax.legend(fontsize=8)
    return fig


def fig_convergence(ds: xr.Dataset) -> Figure:
    """Running estimates over the accumulation time (largest g and N, first seed)."""
    d = _autonomous(ds).sel(g=ds["g"].max(), N=ds["N"].max()).isel(seed=0)
    t = d["history_time"].values
    ok = np.isfinite(t)
    _require(ok.sum() >= 2, "fewer than two running estimates stored")
    m = int(np.isfinite(d["exponents"].values).sum())
    n = int(d["N"])
    fig = Figure(figsize=(9, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2, sharex=True)
    for q in d["history_rank"].values:
        i = 1 + round(q * (m - 1))
        left.plot(t[ok], d["history"].sel(history_rank=q).values[ok], label=f"λ_{i}")
    right.plot(t[ok], d["history_kaplan_yorke"].values[ok] / n, label="D_KY / N")
    right.plot(t[ok], d["history_ks_entropy"].values[ok] / n, label="H / N")
    unit = ds.attrs["time_unit"]
    left.set(xlabel=f"accumulation time ({unit})", ylabel=f"running λ_i (1/{unit})")
    right.set(xlabel=f"accumulation time ({unit})", ylabel="running estimate")
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    fig.suptitle(_title(d, "convergence of the estimates"), fontsize=10)
    return fig


FIGURES: dict[str, Callable[[xr.Dataset], Figure]] = {
    "spectra_vs_rank": fig_spectra_vs_rank,
    "measures_vs_g": fig_measures_vs_g,
    "rmt_discrete": fig_rmt_discrete,
    "measures_vs_input": fig_measures_vs_input,
    "point_symmetry": fig_point_symmetry,
    "convergence": fig_convergence,
}


def placeholder(name: str, why: str) -> Figure:
    """A figure that only says why ``name`` was not drawn."""
    fig = Figure(figsize=(6.4, 2.4))
    fig.text(0.5, 0.5, f"{name}: not drawn\n{why}", ha="center", va="center", wrap=True)
    return fig


def make_figures(ds: xr.Dataset, outdir: str | Path) -> list[Path]:
    """Write every figure of :data:`FIGURES` as ``<name>.png`` and ``<name>.pdf``."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    ds = ds.compute()  # figures read slices many times; a lazy store would reread them
    written = []
    for name, draw in FIGURES.items():
        try:
            with warnings.catch_warnings():
                # means over seeds where none is chaotic are all-NaN: drawn as gaps
                warnings.simplefilter("ignore", RuntimeWarning)
                fig = draw(ds)
        except Skip as why:
            fig = placeholder(name, str(why))
        for ext in ("png", "pdf"):
            path = outdir / f"{name}.{ext}"
            fig.savefig(path, dpi=130)
            written.append(path)
    return written
