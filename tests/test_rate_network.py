"""Rate networks: exact identities, integrator order, seeds, size invariance, errors."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import lyap_core as lc

pytestmark = pytest.mark.filterwarnings("ignore::lyap_core.NumericsWarning")


def _p(**kw) -> lc.RunParams:
    base = dict(n=50, g=3.0, t_sim=50.0, t_transient=20.0, seed=1)
    base.update(kw)
    return lc.RunParams(**base)


def test_discrete_sum_rule_to_1e10_relative():
    r = lc.run_point(_p(model="discrete", t_sim=500, t_transient=50))
    assert np.isfinite(r.sum_rule_target)
    assert abs(r.sum_rule_residual) < 1e-10 * abs(r.sum_rule_target)


@pytest.mark.parametrize(("phi", "g"), [("softplus", 0.9), ("sigmoid", 6.0)])
def test_discrete_sum_rule_other_nonlinearities(phi, g):
    # (softplus is unbounded: g > 1 makes the discrete map explode)
    r = lc.run_point(_p(model="discrete", phi=phi, g=g, t_sim=300))
    assert abs(r.sum_rule_residual) < 1e-10 * abs(r.sum_rule_target)


def test_continuous_zero_diagonal_mean_exponent_is_minus_one():
    r = lc.run_point(_p())
    assert r.sum_rule_target == -50.0
    assert r.exponents.mean() == pytest.approx(-1.0, abs=1e-5)  # RK4 at dt = 0.1


def test_continuous_autapses_sum_rule_tracks_trace():
    r = lc.run_point(_p(autapses=True))
    assert r.sum_rule_target != -50.0  # the diagonal contributes <sum J_ii phi'(h_i)>
    assert abs(r.sum_rule_residual) < 1e-4 * abs(r.sum_rule_target)


def test_rk4_order_on_a_chaotic_network():
    """Halving dt shrinks the RK4 sum-rule bias ~16x (fourth order), Euler's ~2x."""
    res = {}
    for scheme in ("rk4", "euler"):
        res[scheme] = [
            abs(lc.run_point(_p(dt=dt, scheme=scheme, t_sim=30)).sum_rule_residual)
            for dt in (0.1, 0.05)
        ]
    ratio_rk4 = res["rk4"][0] / res["rk4"][1]
    ratio_euler = res["euler"][0] / res["euler"][1]
    assert 12 < ratio_rk4 < 21, ratio_rk4
    assert 1.6 < ratio_euler < 2.5, ratio_euler


def test_fixed_point_spectrum_is_that_of_the_numerical_map():
    """Below onset h -> 0, D = -1 + J: exponents are log|R(dt mu)|/dt of the RK4 map.

    A complex pair's two exponents split by O(1/T) at finite T (the pair rotates), but
    the pair's sum is exact: compare partial sums at the boundaries between eigenvalue
    moduli.
    """
    p = _p(g=0.5, n=12, t_sim=400, t_transient=60, t_transient_tangent=1000)
    r = lc.run_point(p)
    mu = np.linalg.eigvals(lc.build_coupling(p)) - 1.0
    z = p.step * mu
    amp = 1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24
    expect = np.sort(np.log(np.abs(amp)) / p.step)[::-1]
    # cut only at gaps wide enough to align Q to ~exp(-0.04 * 1000) in the tangent transient
    cut = np.nonzero(np.abs(np.diff(expect)) > 0.04)[0]
    assert cut.size >= 3
    np.testing.assert_allclose(
        np.cumsum(r.exponents)[cut], np.cumsum(expect)[cut], rtol=0, atol=1e-8
    )
    # ... and the RK4 map differs from the flow's spectrum Re(mu) only at O(dt^4)
    assert np.max(np.abs(expect - np.sort(mu.real)[::-1])) < 1e-4


def test_t_ons_independence():
    a = lc.run_point(_p(t_ons=0.5))
    b = lc.run_point(_p(t_ons=2.0))
    # The accumulated product is the same: far tighter than the error bars.
    np.testing.assert_allclose(a.exponents, b.exponents, atol=1e-8)
    assert np.all(np.abs(a.exponents - b.exponents) < a.stderr + 1e-12)


def test_same_seeds_identical_bits_and_streams_are_independent():
    a, b = lc.run_point(_p()), lc.run_point(_p())
    assert a.exponents.tobytes() == b.exponents.tobytes()
    assert a.stderr.tobytes() == b.stderr.tobytes()
    # pinning the network seed keeps J while the trajectory changes
    p1, p2 = _p(seed=1), _p(seed=2, seed_network=1)
    np.testing.assert_array_equal(lc.build_coupling(p1), lc.build_coupling(p2))
    c = lc.run_point(p2)
    assert c.exponents.tobytes() != a.exponents.tobytes()


def test_partial_spectrum_matches_top_of_full():
    full = lc.run_point(_p())
    part = lc.run_point(_p(m=10))
    assert part.exponents.shape == (10,) and part.m == 10
    assert np.all(np.abs(part.exponents - full.exponents[:10]) < 3 * full.stderr[:10])
    assert np.isnan(part.sum_rule_residual)
    # D_KY beyond m is unknown for a partial spectrum that never turns negative
    top3 = lc.run_point(_p(m=2))
    if np.all(np.cumsum(top3.exponents) >= 0):
        assert np.isnan(top3.kaplan_yorke_dimension)


def test_size_invariance_on_rank_axis():
    """Spectra of N = 100 and N = 200 agree on the i/N axis within error bars over seeds."""
    ranks = np.linspace(0.1, 0.9, 9)
    curves = {}
    for n in (100, 200):
        spectra = []
        for seed in range(3):
            r = lc.run_point(lc.RunParams(n=n, g=3.0, t_sim=100.0, t_transient=50.0, seed=seed))
            spectra.append(np.interp(ranks, lc.rank_coordinate(n, n), r.exponents[::-1][::-1]))
        s = np.array(spectra)
        curves[n] = (s.mean(0), s.std(0, ddof=1) / np.sqrt(len(s)))
    (m1, e1), (m2, e2) = curves[100], curves[200]
    assert np.all(np.abs(m1 - m2) < 3 * np.hypot(e1, e2) + 0.01), (m1, m2, e1, e2)


def test_sparse_network_runs_and_obeys_sum_rule():
    p = _p(connectivity="sparse", k=10, n=60)
    J = lc.build_coupling(p)
    assert sp.issparse(J) and np.all(np.diff(J.indptr) == 10)
    assert np.all(J.diagonal() == 0)
    r = lc.run_point(p)
    assert r.exponents.mean() == pytest.approx(-1.0, abs=1e-5)


def test_sparse_and_dense_same_matrix_same_exponents():
    p = _p(connectivity="sparse", k=10, n=40)
    J = lc.build_coupling(p)
    a = lc.run_point(p, J=J)
    b = lc.run_point(p, J=J.toarray())
    np.testing.assert_allclose(a.exponents, b.exponents, atol=1e-9)


def test_user_coupling_file(tmp_path):
    J = lc.gaussian_coupling(40, 2.5, np.random.default_rng(0))
    np.save(tmp_path / "J.npy", J)
    p = _p(n=40, connectivity="file", coupling=str(tmp_path / "J.npy"))
    a = lc.run_point(p)
    b = lc.run_point(_p(n=40), J=J)
    assert a.exponents.tobytes() == b.exponents.tobytes()


def test_input_reduces_nothing_in_jacobian_but_changes_trajectory():
    a = lc.run_point(_p())
    b = lc.run_point(_p(input_std=0.5, input_tau=1.0))
    w = lc.run_point(_p(input_std=0.5, input_tau=0.0))
    assert b.exponents.mean() == pytest.approx(-1.0, abs=1e-5)  # sum rule holds with input
    assert w.exponents.mean() == pytest.approx(-1.0, abs=1e-5)
    assert a.exponents.tobytes() != b.exponents.tobytes()


def test_strong_input_suppresses_chaos():
    r = lc.run_point(_p(n=100, g=2.0, input_std=3.0, input_tau=1.0, t_sim=100))
    assert r.lambda_max < 0 and not r.chaotic


def test_diverging_run_names_the_step():
    with pytest.raises(lc.DivergenceError, match=r"step \d+ \(t = "):
        lc.run_point(_p(phi="relu", g=50.0, dt=0.1, t_transient=500))


BAD = [
    (dict(n=0), "n"),
    (dict(n=-3), "n"),
    (dict(g=-1.0), "g"),
    (dict(g=float("nan")), "g"),
    (dict(dt=0.0), "dt"),
    (dict(dt=-0.1), "dt"),
    (dict(dt=0.5, t_ons=0.2), "t_ons"),
    (dict(m=51), "m"),
    (dict(phi="cosh"), "phi"),
    (dict(scheme="rk45"), "scheme"),
    (dict(model="spiking"), "model"),
    (dict(t_sim=0.0), "t_sim"),
    (dict(input_std=-1.0), "input_std"),
    (dict(connectivity="sparse"), "k"),
    (dict(connectivity="file"), "coupling"),
    (dict(model="discrete", dt=0.1), "dt"),
    (dict(seed=-1), "seed"),
]


@pytest.mark.parametrize(("kw", "field"), BAD)
def test_invalid_parameters_name_the_field(kw, field):
    with pytest.raises(lc.ParamError, match=rf"^{field}: "):
        _p(**kw)


@pytest.mark.parametrize(
    ("J", "msg"),
    [
        (np.zeros((3, 4)), "square"),
        (np.full((3, 3), np.nan), "NaN"),
        (np.eye(3)[None], "2-D"),
        (np.ones((40, 40)), "does not match n"),
    ],
)
def test_invalid_coupling_matrices(J, msg):
    with pytest.raises(ValueError, match=msg):
        lc.run_point(_p(n=3 if J.shape[-1] != 40 else 50), J=J)


def test_unknown_nonlinearity_object():
    with pytest.raises(ValueError, match="phi: unknown"):
        lc.get_nonlinearity("cosh")


def test_numerics_warnings_are_emitted():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lc.run_point(_p(scheme="euler", dt=0.1, t_sim=10))
    assert any("Euler" in str(w.message) for w in caught)


def test_bootstrap_errors_agree_with_batch_means():
    a = lc.run_point(_p(t_sim=100))
    b = lc.run_point(_p(t_sim=100, bootstrap=400))
    assert a.exponents.tobytes() == b.exponents.tobytes()  # errors only
    ratio = b.stderr / a.stderr
    assert 0.6 < np.median(ratio) < 1.4, np.median(ratio)
    assert np.isfinite(b.kaplan_yorke_dimension_stderr)


def test_adaptive_ons_keeps_condition_number_moderate():
    # t_ons = 10 at g = 6 lets cond(Q) grow to ~exp((l_1 - l_N) * 10) before a QR
    fixed = lc.run_point(_p(g=6.0, t_ons=10.0, t_sim=100.0, t_transient_tangent=20.0))
    adaptive = lc.run_point(
        _p(g=6.0, t_ons=10.0, t_sim=100.0, t_transient_tangent=20.0, adaptive_ons=True)
    )
    assert fixed.max_condition_number > 1e6
    assert adaptive.steps_per_ons < fixed.steps_per_ons
    assert adaptive.max_condition_number < 1e5
    assert np.all(np.abs(adaptive.exponents - fixed.exponents) < 3 * fixed.stderr + 1e-3)
    assert adaptive.time == fixed.time  # t_sim is kept exactly
