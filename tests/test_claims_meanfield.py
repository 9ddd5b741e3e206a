"""The mean-field large-N claim row from a tiny real store (lyap_workflow.claims_meanfield)."""

import math

import numpy as np
import pytest
from lyap_workflow import claims_meanfield as cm
from store_fixtures import build_store

from lyap_core.analysis import FINITE_SIZE_FORMS, finite_size_fits, realisation_stats
from lyap_core.theory import dmft_continuous

SIZES = (80, 100, 120, 160)


@pytest.fixture(scope="module")
def row_and_store(tmp_path_factory):
    points = [
        dict(n=n, g=4.0, seed=s, m=2, t_sim=40.0, t_transient=40.0, dt=0.05)
        for n in SIZES
        for s in (0, 1, 2)
    ]
    ds = build_store(tmp_path_factory.mktemp("mf"), "mf", points)
    row, fig = cm.claim_mean_field_large_n({"mf": ds}, {"sweep": "mf"})
    return row, ds, fig


def _by_name(row):
    return {m["name"]: m for m in row["measured"]}


def test_row_has_the_claim_format_and_numerics(row_and_store):
    row, _, _ = row_and_store
    assert row["key"] == "mean_field_large_n" and row["sweeps"] == ["mf"]
    assert row["N"] == list(SIZES) and row["seeds"] == [0, 1, 2]
    assert row["t_sim"] == [40.0] and row["dt"] == [0.05]
    assert row["verdict"].startswith("g = 4: ") and "DMFT" in row["verdict"]


def test_dmft_is_computed_and_means_are_the_one_estimator(row_and_store):
    row, ds, _ = row_and_store
    m = _by_name(row)
    target = dmft_continuous(4.0).lambda_max
    assert m["DMFT lambda_max (g = 4, N -> inf)"]["value"] == target
    p = ds.sel(g=4.0).squeeze()
    means, errs = [], []
    for n in SIZES:
        q = p.sel(N=n)
        st = realisation_stats(
            q["lambda_max"].values, q["lambda_max_stderr"].values, q["chaotic"].values
        )
        got = m[f"lambda_max (g = 4, N = {n})"]
        assert got["value"] == pytest.approx(float(st.mean), rel=1e-12, nan_ok=True)
        assert got["n_chaotic"] == int(st.n_chaotic)
        means.append(float(st.mean))
        errs.append(float(st.se))
    assert all(math.isfinite(x) for x in means)  # g = 4, N >= 80: >= 2 chaotic seeds each
    fits = finite_size_fits(SIZES, means, errs)
    for form in FINITE_SIZE_FORMS:
        entry = m[f"{form}: N -> inf (g = 4)"]
        assert entry["value"] == pytest.approx(fits.fits[form].limit)
        assert entry["z_dmft"] == pytest.approx(
            (fits.fits[form].limit - target) / fits.fits[form].limit_err
        )


def test_figure_draws_one_panel_with_data_and_dmft(row_and_store):
    _, _, fig = row_and_store
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("DMFT") for t in labels)
    assert sum(t.startswith("a + b") for t in labels) == len(FINITE_SIZE_FORMS)
    assert np.isclose(ax.get_lines()[-1].get_xdata()[0], 0.0)
