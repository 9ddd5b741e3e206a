"""Mean-field λ_max at large N (issue 13, item 4): which finite-size form, and which limit.

One claim in the row format of :mod:`lyap_workflow.claims` (``claim_<name>(stores,
options) -> (row, figure)``), kept in its own module while that one is being finished;
:mod:`lyap_workflow.claims` does not register it yet. For each g of the sweep the
chaotic-seed means of λ_max(N) (:func:`lyap_workflow.ensemble.measure_stats`, the one
estimator) are fitted by every form of :func:`lyap_core.analysis.finite_size_fits`;
each form's N → ∞ limit is compared with the DMFT value computed here
(:func:`lyap_workflow.figures.mean_field_lambda_max`, from :mod:`lyap_core.theory`).

Run on a gathered store (config/meanfield.yaml)::

    python -m lyap_workflow.claims_meanfield --results results --sweep meanfield_large_n

writes ``results/claims_meanfield/claims.{json,md}`` and the figure next to them.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from lyap_core.analysis import FINITE_SIZE_FORMS, FiniteSizeFits, finite_size_fits
from lyap_core.io import provenance

from . import figures as fg
from .claims import Z_OK, _auto, _row, _sweep, num, write_claims
from .ensemble import measure_stats, one_run_per_network
from .store import open_store

KEY = "mean_field_large_n"
MIN_CHAOTIC = 2  # sizes whose mean rests on fewer chaotic seeds are left out of the fits
AICC_TIE = 2.0  # AICc differences below this express no preference between forms


def _series(p: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """N, chaotic-seed mean λ_max, its error and the chaotic count, along N at one g."""
    st = measure_stats(p, "lambda_max")
    ns = np.array(fg._values(p, "N"), dtype=int)
    return ns, st["mean"].values, st["se"].values, st["n_chaotic"].values.astype(int)


def _usable(mean: np.ndarray, se: np.ndarray, k: np.ndarray) -> np.ndarray:
    return (k >= MIN_CHAOTIC) & np.isfinite(mean) & np.isfinite(se) & (se > 0)


def _verdict(g: float, fits: FiniteSizeFits, target: float) -> str:
    """Which forms the data accept and prefer, and which of their limits agree with DMFT."""
    f = fits.fits
    z = {k: (f[k].limit - target) / f[k].limit_err for k in f}
    tied = [k for k in fits.accepted if f[k].aicc - f[fits.best].aicc < AICC_TIE]
    if not fits.accepted:
        pref = "the data reject every form"
    elif len(tied) <= 1:
        pref = f"the data prefer {fits.best} (AICc lower by >= {AICC_TIE:g})"
    else:
        pref = f"the data do not single out a form (AICc within {AICC_TIE:g}: {', '.join(tied)})"

    def limits(keys: Sequence[str]) -> str:
        return ", ".join(f"{k} {f[k].limit:.4f} ± {f[k].limit_err:.4f} ({z[k]:+.1f})" for k in keys)

    agree = [k for k in fits.accepted if abs(z[k]) <= Z_OK]
    differ = [k for k in fits.accepted if abs(z[k]) > Z_OK]
    c = f["a + b N^-c"]
    return (
        f"g = {g:g}: {len(fits.accepted)}/{len(f)} forms accepted; {pref}; N → ∞ limits vs DMFT "
        f"{target:.4f} (s.e. from it) agree within {Z_OK:g} s.e.: {limits(agree) or 'none'}; "
        f"differ: {limits(differ) or 'none'}; "
        f"free exponent c = {c.coef[2]:.2f} ± {c.coef_err[2]:.2f}"
    )


def claim_mean_field_large_n(
    stores: Mapping[str, xr.Dataset], options: Mapping[str, Any], **_: Any
) -> tuple[dict[str, Any], Figure]:
    """λ_max(N) → DMFT as N → ∞, with the finite-size form chosen by the data."""
    ds = _auto(_sweep(options, stores))
    cont = fg.continuous(ds)
    measured, verdicts, per_g = [], [], {}
    for g in fg._values(ds, "g"):
        target = fg.mean_field_lambda_max(float(g), cont)
        measured.append(num(target, name=f"DMFT lambda_max (g = {g:g}, N -> inf)"))
        ns, mean, se, k = _series(ds.sel(g=g))
        for n, m, e, c in zip(ns, mean, se, k, strict=True):
            measured.append(
                num(
                    m,
                    e,
                    f"lambda_max (g = {g:g}, N = {n})",
                    n_chaotic=int(c),
                    dmft_minus=target - m,
                )
            )
        use = _usable(mean, se, k)
        if np.unique(ns[use]).size < 4:
            verdicts.append(f"g = {g:g}: fewer than 4 sizes with >= {MIN_CHAOTIC} chaotic seeds")
            continue
        fits = finite_size_fits(ns[use], mean[use], se[use])
        per_g[g] = (ns[use], mean[use], se[use], fits, target)
        for form, f in fits.fits.items():
            measured.append(
                num(
                    f.limit,
                    f.limit_err,
                    f"{form}: N -> inf (g = {g:g})",
                    chi2_dof=f.chi2 / f.dof if f.dof > 0 else math.nan,
                    p=f.p_value,
                    aicc=f.aicc,
                    loo_z=f.loo_z,
                    z_dmft=(f.limit - target) / f.limit_err,
                    accepted=f.accepted,
                    **(
                        {"exponent_c": f.coef[2], "exponent_c_err": f.coef_err[2]}
                        if form == "a + b N^-c"
                        else {}
                    ),
                )
            )
        measured.append(
            num(
                fits.spread,
                name=f"spread of accepted limits (g = {g:g})",
                N_fitted=ns[use].tolist(),
            )
        )
        verdicts.append(_verdict(float(g), fits, target))
    row = _row(
        KEY,
        "λ_max of finite networks → mean-field (DMFT) value as N → ∞; the finite-size form "
        "the data justify (continuous time)",
        [options["sweep"]],
        stores,
        measured,
        "; ".join(verdicts),
        "Forms a + b/N, a + b/√N, a + b/N + c/N², a + b N^-c fitted to the chaotic-seed means "
        f"(sizes with >= {MIN_CHAOTIC} chaotic seeds); a form is accepted when its χ² p-value "
        ">= 0.05 and it predicts the largest N from the others within 2 s.e.; AICc differences "
        f"< {AICC_TIE:g} are no preference; each accepted form's limit is compared with DMFT at "
        f"{Z_OK:g} s.e.",
    )
    return row, fig_lambda_max_fits(ds, per_g)


def fig_lambda_max_fits(ds: xr.Dataset, per_g: Mapping[float, tuple]) -> Figure:
    """λ_max against 1/N, one panel per g: data, every accepted form, DMFT at 1/N = 0."""
    fig, axes = fg.per_g_panels(max(len(per_g), 1))
    x = np.linspace(0.0, 1.0, 200)
    for ax, (g, (ns, mean, se, fits, target)) in zip(axes, per_g.items(), strict=False):
        fg.bars(ax, 1.0 / ns, mean, se, "chaotic-seed mean", gid=f"lambda_max_g{g:g}", ls="none")
        xs = x * (1.0 / ns.min())
        for form in FINITE_SIZE_FORMS:
            f = fits.fits[form]
            a, b, *rest = f.coef
            n = 1.0 / np.maximum(xs, 1e-12)
            if form == "a + b N^-c":
                y = a + b * n ** -rest[0]
            else:
                powers = FINITE_SIZE_FORMS[form]
                y = a + sum(c * n**-p for c, p in zip([b, *rest], powers, strict=True))
            style = "-" if form == fits.best else (":" if not f.accepted else "--")
            ax.plot(
                xs,
                y,
                style,
                lw=1,
                label=f"{form} → {a:.3f}" + ("" if f.accepted else " (rejected)"),
            )
        ax.plot([0.0], [target], "k*", ms=9, label=f"DMFT {target:.4f}")
        ax.set(xlabel="1/N", ylabel="λ_max", title=f"g = {g:g}")
        ax.legend(fontsize=6)
    fig.suptitle(fg._title(ds, "λ_max vs 1/N: finite-size forms and DMFT"))
    return fig


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="results", help="results directory")
    ap.add_argument("--sweep", default="meanfield_large_n", help="sweep name")
    ap.add_argument(
        "--out", default=None, help="output directory (default RESULTS/claims_meanfield)"
    )
    args = ap.parse_args(argv)
    out = Path(args.out or Path(args.results) / "claims_meanfield")
    out.mkdir(parents=True, exist_ok=True)
    ds = open_store(Path(args.results) / args.sweep / "spectra.zarr").compute()
    stores = {args.sweep: one_run_per_network(ds)}
    row, fig = claim_mean_field_large_n(stores, {"sweep": args.sweep})
    path = out / f"{KEY}.png"
    fig.savefig(path, dpi=120)
    row["figure"] = str(path)
    header = {
        "config_files": ["config/meanfield.yaml"],
        "command": "python -m lyap_workflow.claims_meanfield " + " ".join(argv or sys.argv[1:]),
        "argv": sys.argv,
        "provenance": provenance(),
    }
    write_claims([row], header, out / "claims.json", out / "claims.md")
    print(f"{KEY}: {row['verdict']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
