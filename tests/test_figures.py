"""Figures draw what the store holds: plotted data against values computed here from the store
with plain numpy, and the expected theory curves against lyap_core.theory called directly."""

from __future__ import annotations

import numpy as np
import pytest
from lyap_workflow import figures as fg
from store_fixtures import build_store, continuous_points, discrete_points, input_points

from lyap_core.models import LOG_DPHI_EDGES
from lyap_core.theory import dmft_continuous, free_multiplicative_discrete, ginibre_discrete

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture(scope="module")
def disc(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("d"), "disc", discrete_points())


@pytest.fixture(scope="module")
def cont(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("c"), "cont", continuous_points())


@pytest.fixture(scope="module")
def inp(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("i"), "inp", input_points())


def lines(fig, prefix):
    """{gid: Line2D} of every drawn line whose gid starts with ``prefix``."""
    out = {}
    for ax in fig.axes:
        for ln in ax.get_lines():
            if (ln.get_gid() or "").startswith(prefix):
                out[ln.get_gid()] = ln
        for c in ax.containers:  # errorbar: the data line is the container's first artist
            gid = c.get_label() and c.lines[0].get_gid()
            if gid and gid.startswith(prefix):
                out[gid] = c.lines[0]
    return out


def chaotic_mean(values, chaotic):
    """Mean over the chaotic seeds (axis 0), NaN where none is: the reference."""
    c = np.asarray(chaotic)
    v = np.where(c.reshape(c.shape + (1,) * (values.ndim - c.ndim)), values, np.nan)
    return np.nanmean(v, axis=0)


def test_spectra_vs_rank_one_panel_per_g_lines_are_chaotic_seed_means(cont):
    fig = fg.fig_spectra_vs_rank(cont)
    assert len([a for a in fig.axes if a.get_visible()]) == cont.sizes["g"]
    drawn = lines(fig, "spectrum")
    assert len(drawn) == cont.sizes["g"] * cont.sizes["N"]
    for g in cont["g"].values:
        for n in cont["N"].values:
            p = cont.sel(g=g, N=n).isel(input_std=0)
            lam = p["exponents"].values[:, :n]
            c = p["chaotic"].values
            want = chaotic_mean(lam, c) if c.any() else lam.mean(axis=0)
            ln = drawn[f"spectrum g={g:g} N={n}"]
            np.testing.assert_allclose(ln.get_xdata(), (np.arange(n) + 0.5) / n)
            np.testing.assert_allclose(ln.get_ydata(), want, rtol=1e-12)
            assert ln.get_linestyle() == ("-" if c.any() else "--")


def test_measures_vs_g_has_the_mean_field_curve_and_store_means(cont):
    fig = fg.fig_measures_vs_g(cont)
    mf = lines(fig, "mean_field")["mean_field"]
    for g, y in zip(mf.get_xdata(), mf.get_ydata(), strict=True):
        if g in cont["g"].values:
            assert y == pytest.approx(dmft_continuous(g).lambda_max, rel=1e-12)
    for n in cont["N"].values:
        p = cont.sel(N=n).isel(input_std=0)
        ln = lines(fig, f"kaplan_yorke_per_n N={n}")[f"kaplan_yorke_per_n N={n}"]
        want = chaotic_mean(
            p["kaplan_yorke_per_n"].transpose("seed", "g").values,
            p["chaotic"].transpose("seed", "g").values,
        )
        np.testing.assert_allclose(ln.get_ydata(), want, rtol=1e-12)
        frac = lines(fig, f"fraction_chaotic N={n}")[f"fraction_chaotic N={n}"]
        np.testing.assert_allclose(frac.get_ydata(), p["chaotic"].mean("seed").values)


def test_inverse_n_fit_is_the_weighted_line_through_the_plotted_points(cont):
    fig = fg.fig_measures_vs_inverse_n(cont)
    g = 8.0  # all four networks at g = 8, N = 80 and one at N = 40 are chaotic
    pts = lines(fig, f"kaplan_yorke_per_n g={g:g}")[f"kaplan_yorke_per_n g={g:g}"]
    fit = lines(fig, f"fit kaplan_yorke_per_n g={g:g}")
    x, y = pts.get_xdata(), pts.get_ydata()
    if np.isfinite(y).sum() < 2:
        pytest.skip("fewer than two sizes with a chaotic network")
    (line,) = fit.values()
    # two points: the fit is the line through them, whatever the weights
    slope = (y[1] - y[0]) / (x[1] - x[0])
    xs = line.get_xdata()
    np.testing.assert_allclose(line.get_ydata(), y[0] + slope * (xs - x[0]), rtol=1e-9)
    star = lines(fig, f"mean_field g={g:g}")[f"mean_field g={g:g}"]
    assert star.get_xdata()[0] == 0.0
    assert star.get_ydata()[0] == pytest.approx(dmft_continuous(g).lambda_max)


def test_measures_vs_input_one_column_per_tau_and_sigma_c_where_lambda_crosses_zero(inp):
    ds = inp.copy(deep=True)
    sig = ds["input_std"].values
    # lambda_max falling linearly through 0 between sigma = 1 and 2 (all seeds alike)
    lam = 0.3 - 0.2 * sig
    ds["lambda_max"][:] = np.broadcast_to(lam[None, None, :, None, None], ds["lambda_max"].shape)
    ds["lambda_max_stderr"][:] = 0.01
    fig = fg.fig_measures_vs_input(ds)
    assert fig.axes[0].get_gridspec().ncols == ds.sizes["input_tau"]
    for tau in ds["input_tau"].values:
        for g in ds["g"].values:
            ln = lines(fig, f"lambda_max g={g:g} N=10 tau={tau:g}")[
                f"lambda_max g={g:g} N=10 tau={tau:g}"
            ]
            np.testing.assert_allclose(ln.get_xdata(), sig)
            np.testing.assert_allclose(ln.get_ydata(), lam)
            sc = lines(fig, f"sigma_c g={g:g} N=10 tau={tau:g}")
            assert len(sc) == 1
            (v,) = set(np.ravel([s.get_xdata() for s in sc.values()]))
            assert v == pytest.approx(1.0 + 0.1 / 0.2)  # sigma_a + lambda_a / slope


def test_rmt_discrete_draws_the_free_law_from_the_stored_histogram_and_ginibre(disc):
    fig = fg.fig_rmt_discrete(disc)
    for g in disc["g"].values:
        for n in disc["N"].values:
            p = disc.sel(g=g, N=n).isel(input_std=0)
            counts = p["log_dphi_counts"].sum("seed").values
            sums = (p["log_dphi_counts"] * p["log_dphi_mean"].fillna(0)).sum("seed").values
            ok = counts > 0
            assert counts.sum() == p.sizes["seed"] * n * 120  # neurons x QRs x seeds
            centres = 0.5 * (LOG_DPHI_EDGES[1:] + LOG_DPHI_EDGES[:-1])
            assert np.all(np.abs(sums[ok] / counts[ok] - centres[ok]) <= 0.025 + 1e-12)
            want = free_multiplicative_discrete(n, g, np.exp(sums[ok] / counts[ok]), counts[ok])
            free = lines(fig, f"free g={g:g} N={n}")[f"free g={g:g} N={n}"]
            np.testing.assert_allclose(free.get_ydata(), want, rtol=1e-10)
            gin = lines(fig, f"ginibre g={g:g} N={n}")[f"ginibre g={g:g} N={n}"]
            np.testing.assert_allclose(
                gin.get_ydata(), ginibre_discrete(n, g, float(p["mean_dphi2"].mean())), rtol=1e-12
            )
            meas = lines(fig, f"spectrum g={g:g} N={n}")[f"spectrum g={g:g} N={n}"]
            np.testing.assert_allclose(meas.get_ydata(), p["exponents"].values[:, :n].mean(axis=0))


def test_point_symmetry_draws_half_sums_about_the_sum_rule_centre(cont):
    fig = fg.fig_point_symmetry(cont)
    drawn = lines(fig, "half_sum")
    assert drawn
    for g in cont["g"].values:
        for n in cont["N"].values:
            p = cont.sel(g=g, N=n).isel(input_std=0)
            lam = p["exponents"].values[:, :n]
            c = p["chaotic"].values
            centre = p["sum_rule_target"].values[:, None] / n
            half = (0.5 * (lam + lam[:, ::-1]) - centre)[:, : (n + 1) // 2]
            ln = drawn[f"half_sum g={g:g} N={n}"]
            np.testing.assert_allclose(ln.get_ydata(), chaotic_mean(half, c), rtol=1e-9, atol=1e-14)
            np.testing.assert_allclose(centre, -1.0, atol=1e-3)  # zero diagonal: c = -1


def test_chaotic_fraction_per_n_and_input(inp):
    fig = fg.fig_chaotic_fraction(inp)
    assert len(fig.axes) == inp.sizes["input_tau"]
    drawn = lines(fig, "fraction_chaotic")
    assert len(drawn) == inp.sizes["input_tau"] * inp.sizes["input_std"] * inp.sizes["N"]
    ln = drawn["fraction_chaotic N=10 sigma=1 tau=0.5"]
    want = inp["chaotic"].sel(N=10, input_std=1.0, input_tau=0.5).mean("seed").values
    np.testing.assert_allclose(ln.get_ydata(), want)


def test_figures_skip_with_a_reason_and_make_figures_writes_all(disc, tmp_path):
    with pytest.raises(fg.Skip, match="continuous-time"):
        fg.fig_rmt_continuous(disc)
    with pytest.raises(fg.Skip, match="input"):
        fg.fig_measures_vs_input(disc)
    written = fg.make_figures(disc, tmp_path)
    assert {p.name for p in written} == {f"{k}.{e}" for k in fg.FIGURES for e in ("png", "pdf")}


def test_flagged_points_table():
    html = fg.flagged_points_html(
        [{"point": "g=2, N=8", "reasons": ["sum_rule: residual 0.1", "convergence: x"]}], "ci"
    )
    assert "1 point(s) flagged" in html and "g=2, N=8" in html and "sum_rule" in html
    assert "All points pass" in fg.flagged_points_html([], "ci")
