"""Variance split per grid point: the nested estimator, trajectory seeds, the store's split."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from lyap_workflow.cli import main
from lyap_workflow.config import resolve
from lyap_workflow.ensemble import VARIANCE_COMPONENTS, VARIANCE_MEASURES
from lyap_workflow.store import open_store
from lyap_workflow.sweep import expand_grid

from lyap_core.analysis import variance_components
from lyap_core.params import ParamError, trajectory_seeds
from lyap_core.point import build_coupling, rng_for

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


# -- the estimator on synthetic nested data -----------------------------------------------
def nested(rng, s: int, t: int, sd_net: float, sd_ic: float, sd_time: float) -> tuple:
    """v_st = a_s + b_st + c_st with known variances; e_st = sd_time exactly."""
    v = (
        rng.normal(0, sd_net, (s, 1))
        + rng.normal(0, sd_ic, (s, t))
        + rng.normal(0, sd_time, (s, t))
    )
    return v, np.full((s, t), sd_time)


def test_known_components_are_recovered_within_sampling_error():
    S, T, net, ic, time = 400, 4, 0.3, 0.2, 0.1
    rng = np.random.default_rng(1)
    v, e = nested(rng, S, T, net, ic, time)
    vc = variance_components(v, e)
    w = ic**2 + time**2  # within-network variance
    # normal-theory standard errors of the ANOVA mean squares: Var(MS) = 2 E[MS]^2 / df
    se_ic = np.sqrt(2 * w**2 / (S * (T - 1)))
    se_net = np.sqrt(2 * (net**2 + w / T) ** 2 / (S - 1) + (se_ic / T) ** 2)
    assert vc.time == pytest.approx(time**2, rel=1e-12)  # e is exact here
    assert abs(vc.initial_condition - ic**2) < 4 * se_ic
    assert abs(vc.network - net**2) < 4 * se_net
    assert vc.realisation == pytest.approx(vc.initial_condition + vc.network, rel=1e-12)
    assert (vc.n_runs, vc.n_networks) == (S * T, S)


def test_no_network_effect_gives_a_network_part_near_zero():
    """Negative control: one attractor per J type (sd_net = 0) and ergodic (sd_ic = 0)."""
    S, T, time = 400, 4, 0.1
    rng = np.random.default_rng(2)
    v, e = nested(rng, S, T, 0.0, 0.0, time)
    vc = variance_components(v, e)
    se_w = np.sqrt(2 * time**4 / (S * (T - 1)))
    se_b = np.sqrt(2 * (time**2 / T) ** 2 / (S - 1))
    assert vc.initial_condition < 4 * se_w
    assert vc.network < 4 * se_b + 4 * se_w / T
    # while the same data with a network effect of that size are seen
    v2 = v + rng.normal(0, 5 * np.sqrt(se_b), (S, 1))
    assert variance_components(v2, e).network > 4 * se_b


def test_one_trajectory_per_network_confounds_ic_and_network():
    rng = np.random.default_rng(3)
    v, e = nested(rng, 2000, 1, 0.3, 0.2, 0.1)
    vc = variance_components(v, e)
    assert np.isnan(vc.initial_condition) and np.isnan(vc.network)
    se = np.sqrt(2 * (0.3**2 + 0.2**2 + 0.1**2) ** 2 / 1999)
    assert abs(vc.realisation - (0.3**2 + 0.2**2)) < 4 * se


def test_excluded_runs_are_as_if_absent():
    """Masked (non-chaotic) and NaN runs enter nowhere: the split of the remaining runs."""
    rng = np.random.default_rng(4)
    v, e = nested(rng, 50, 3, 0.3, 0.2, 0.1)
    extra = np.concatenate([v, np.full((50, 1), 1e6)], axis=1)  # a fourth, excluded run
    use = np.ones(extra.shape, bool)
    use[:, 3] = False
    a, b = variance_components(v, e), variance_components(extra, np.c_[e, e[:, :1]], use)
    for f in ("time", "initial_condition", "network", "realisation", "n_runs"):
        assert getattr(a, f) == pytest.approx(getattr(b, f), rel=1e-12)
    nan = extra.copy()
    nan[:, 3] = np.nan
    c = variance_components(nan, np.c_[e, e[:, :1]])
    assert c.network == pytest.approx(a.network, rel=1e-12)


def test_trailing_dimensions_are_independent_grid_points():
    rng = np.random.default_rng(5)
    v1, e1 = nested(rng, 30, 3, 0.3, 0.2, 0.1)
    v2, e2 = nested(rng, 30, 3, 0.0, 0.5, 0.2)
    both = variance_components(np.stack([v1, v2], -1), np.stack([e1, e2], -1))
    assert both.network[1] == pytest.approx(variance_components(v2, e2).network, rel=1e-12)
    assert both.time.shape == (2,)


# -- trajectory seeds ---------------------------------------------------------------------
def test_trajectory_seeds():
    assert trajectory_seeds(7, 0) == {}
    s1, s2 = trajectory_seeds(7, 1), trajectory_seeds(7, 2)
    assert set(s1) == {"seed_init", "seed_onb", "seed_input"}
    assert s1 == trajectory_seeds(7, 1)  # deterministic
    assert len({*s1.values(), *s2.values(), *trajectory_seeds(8, 1).values()}) == 9
    with pytest.raises(ParamError, match="trajectory: must be an integer >= 0"):
        trajectory_seeds(7, -1)


def test_trajectory_points_share_j_not_the_initial_condition():
    sweep = {"grid": {"g": [3.0], "N": [12], "seed": [5], "trajectory": [0, 2]}}
    plain = {"grid": {"g": [3.0], "N": [12], "seed": [5]}}
    (t0, t2) = expand_grid("s", resolve({"sweeps": {"s": sweep}})["sweeps"]["s"])
    (p,) = expand_grid("s", resolve({"sweeps": {"s": plain}})["sweeps"]["s"])
    assert t0.params == p.params and t0.key == p.key  # cached points stay valid
    assert (t0.trajectory, t2.trajectory) == (0, 2) and t2.key != t0.key
    assert np.array_equal(build_coupling(t0.params), build_coupling(t2.params))
    x0 = rng_for(t0.params, "init").standard_normal(12)
    x2 = rng_for(t2.params, "init").standard_normal(12)
    assert not np.allclose(x0, x2)
    assert t2.label.endswith("seed=5 trajectory=2") and "trajectory" not in t0.label


# -- the store of a tiny multi-seed, multi-trajectory sweep -------------------------------
TINY = {
    "sweeps": {
        "tiny": {
            "model": "discrete",
            "grid": {"g": [3.0], "N": [50], "seed": [0, 1, 2]},
            "numerics": {"t_sim": 200.0, "t_transient": 100.0},
            "execution": {"shard_seconds": 0.03, "cores": 2, "checkpoint_interval": 0},
        }
    }
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple:
    """The tiny sweep with one trajectory, then extended to three: both stores and the summary."""
    tmp = tmp_path_factory.mktemp("variance")
    results, path = tmp / "results", tmp / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    assert main(["sweep", str(path), "--results", str(results), "--workers", "1"]) == 0
    one = open_store(results / "tiny" / "spectra.zarr").load()
    cfg = json.loads(json.dumps(TINY))
    cfg["sweeps"]["tiny"]["grid"]["trajectory"] = [0, 1, 2]
    path.write_text(yaml.safe_dump(cfg))
    assert main(["sweep", str(path), "--results", str(results), "--workers", "1"]) == 0
    summary = json.loads((results / "tiny" / "gather.json").read_text())
    return one, open_store(results / "tiny" / "spectra.zarr").load(), summary


def test_store_carries_the_split_and_trajectory_zero_is_reused(tiny):
    one, ds, s = tiny
    assert one.sizes["trajectory"] == 1 and list(one["trajectory"].values) == [0]
    assert np.isnan(one["lambda_max_variance"].sel(variance_component="network")).all()
    assert np.isfinite(one["lambda_max_variance"].sel(variance_component="realisation")).all()
    assert s["summary"] == "points: 9 total, 6 computed, 3 reused, 0 failed"
    assert ds["lambda_max"].dims == ("g", "N", "input_std", "input_tau", "seed", "trajectory")
    # trajectory 0 is the old run, bit for bit; the others are different runs of the same J
    a, b = ds["lambda_max"].sel(trajectory=0), one["lambda_max"].sel(trajectory=0)
    assert np.array_equal(a.values, b.values)
    assert not np.array_equal(ds["lambda_max"].sel(trajectory=1).values, a.values)
    assert bool(
        ds["chaotic"].all()
    )  # discrete, g = 3, N = 50: every run chaotic (the split is of them)
    for name in VARIANCE_MEASURES:
        var = ds[f"{name}_variance"]
        assert var.dims == ("g", "N", "input_std", "input_tau", "variance_component")
        assert list(var["variance_component"].values) == list(VARIANCE_COMPONENTS)
        assert np.isfinite(var).all() and (var >= 0).all()
        assert var.attrs["long_name"].startswith("variance of one run's")
    assert int(ds["variance_runs"].item()) == 9 and int(ds["variance_networks"].item()) == 3
    assert int(ds["variance_mixed_networks"].item()) == 0
    lam = ds["lambda_max"].squeeze().values  # (seed, trajectory)
    e = ds["lambda_max_stderr"].squeeze().values
    got = ds["lambda_max_variance"].squeeze()
    assert got.sel(variance_component="time").item() == pytest.approx(np.mean(e**2), rel=1e-12)
    within = ((lam - lam.mean(1, keepdims=True)) ** 2).sum() / (3 * 2)
    ic = max(within - np.mean(e**2), 0.0)
    assert got.sel(variance_component="initial_condition").item() == pytest.approx(ic, abs=1e-15)
    net = max(np.var(lam.mean(1), ddof=1) - within / 3, 0.0)
    assert got.sel(variance_component="network").item() == pytest.approx(net, abs=1e-15)


def test_figure_draws_shares_that_add_up(tiny):
    from lyap_workflow import figures as fg

    one, ds, _ = tiny
    fig = fg.fig_variance_split(ds)
    drawn = {ln.get_gid(): ln.get_ydata() for ax in fig.axes for ln in ax.get_lines()}
    for name in VARIANCE_MEASURES:
        parts = [drawn[f"variance {c} {name} N=50"] for c in VARIANCE_COMPONENTS[:3]]
        assert np.sum(parts, axis=0) == pytest.approx(1.0, rel=1e-12)
        assert f"variance realisation {name} N=50" not in drawn
    drawn = {ln.get_gid() for ax in fg.fig_variance_split(one).axes for ln in ax.get_lines()}
    assert "variance realisation lambda_max N=50" in drawn  # one trajectory: confounded
    assert "variance network lambda_max N=50" not in drawn


def test_claim_row_reports_the_shares(tiny):
    from lyap_workflow import claims
    from lyap_workflow.ensemble import one_run_per_network

    _, ds, _ = tiny
    stores = {"tiny": one_run_per_network(ds)}
    row, _ = claims.claim_variance_sources(stores, {"sweep": "tiny"})
    (got,) = [m for m in row["measured"] if m["name"] == "λ_max variance, network (N = 50, g = 3)"]
    want = ds["lambda_max_variance"].squeeze()
    total = float(want.sel(variance_component="time") + want.sel(variance_component="realisation"))
    part = float(want.sel(variance_component="network"))
    assert got["value"] == part and got["share"] == pytest.approx(part / total, rel=1e-12)
    se = ds["lambda_max_variance_se"].squeeze().sel(variance_component="network")
    assert got["error"] == float(se) and got["error"] > 0
    assert row["measured"][0]["runs"] == 9 and row["verdict"].endswith("not from another: none")


def test_standard_errors_match_the_spread_over_replicates():
    """The normal-theory s.e. of each part against its spread over 400 synthetic sweeps."""
    rng = np.random.default_rng(6)
    S, T, net, ic, time = 30, 3, 0.4, 0.3, 0.2
    est, se = [], []
    for _ in range(400):
        v, _e = nested(rng, S, T, net, ic, time)
        e = time * np.sqrt(rng.chisquare(19, (S, T)) / 19)  # block errors scatter too
        vc = variance_components(v, e)
        est.append([vc.time, vc.initial_condition, vc.network, vc.realisation])
        se.append(vc.se)
    spread, typical = np.std(est, axis=0, ddof=1), np.mean(se, axis=0)
    # 400 replicates give the spread to ~3.5 %; normal theory is exact here up to the
    # floors (never hit at these sizes) and the balanced-design approximations
    np.testing.assert_allclose(typical, spread, rtol=0.15)
    assert np.mean(est, axis=0)[2] == pytest.approx(net**2, rel=0.05)
