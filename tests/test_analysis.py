"""lyap_core.analysis on constructed inputs with known answers (no simulations)."""

import numpy as np
import pytest

from lyap_core import analysis as an
from lyap_core.measures import rank_coordinate


# -- realisations ---------------------------------------------------------------------------
def test_realisation_stats_mean_spread_and_time_noise_floor():
    v = np.array([[1.0, 2.0], [3.0, 2.0], [5.0, 2.0]])
    e = np.full_like(v, 0.1)
    s = an.realisation_stats(v, e)
    np.testing.assert_allclose(s.mean, [3.0, 2.0])
    # column 0: spread s^2/k = 4/3 dominates; column 1: no spread, floor sqrt(3*0.01)/3
    np.testing.assert_allclose(s.se, [np.sqrt(4.0 / 3.0), np.sqrt(0.03) / 3.0])
    np.testing.assert_array_equal(s.n_all, [3, 3])


def test_realisation_stats_single_run_keeps_its_error_or_nan():
    s = an.realisation_stats([[0.5, -1.0]], [[0.01, 0.02]])
    np.testing.assert_allclose(s.se, [0.01, 0.02])
    assert np.isnan(an.realisation_stats([0.5]).se)
    with pytest.raises(ValueError, match="stderr"):
        an.realisation_stats([[1.0, 2.0]], [[0.1]])
    with pytest.raises(ValueError, match="chaotic"):
        an.realisation_stats([[1.0, 2.0], [1.0, 2.0]], chaotic=[True, False, True])


def test_realisation_stats_error_is_calibrated():
    """Over many synthetic sets of 5 realisations the mean lies within 1 se ~68% of the time."""
    rng = np.random.default_rng(1)
    sets = 1.0 + 0.3 * rng.standard_normal((4000, 5))
    s = an.realisation_stats(sets.T)  # one column per synthetic set
    hits = np.abs(s.mean - 1.0) <= s.se
    # Student t with 4 dof: P(|t| <= 1) = 0.626; binomial sd of the fraction 0.008
    assert abs(np.mean(hits) - 0.626) < 0.03


def test_realisation_stats_keeps_chaotic_and_all_apart_and_counts_them():
    s = an.realisation_stats([0.2, 0.4, -0.1, 0.0], chaotic=[True, True, False, False])
    assert (int(s.n_all), int(s.n_chaotic)) == (4, 2)
    assert s.mean_all == pytest.approx(0.125)
    assert s.mean == pytest.approx(0.3)
    assert s.se == pytest.approx(0.1)  # sd 0.1414 / sqrt(2)
    assert s.fraction_chaotic == pytest.approx(0.5)
    assert s.fraction_chaotic_se == pytest.approx(np.sqrt(0.25 / 4))
    none = an.realisation_stats([0.1, -0.3], chaotic=[False, False])
    assert int(none.n_chaotic) == 0 and np.isnan(none.mean) and np.isnan(none.se)


def test_realisation_stats_drops_missing_values_per_element():
    # a spectrum padded with NaN (m < i) and one failed realisation (all NaN)
    v = np.array([[1.0, 0.5, np.nan], [3.0, 1.5, np.nan], [np.nan, np.nan, np.nan]])
    s = an.realisation_stats(v, chaotic=np.array([True, True, False]))
    np.testing.assert_allclose(s.mean[:2], [2.0, 1.0])
    np.testing.assert_array_equal(s.n_chaotic, [2, 2, 0])
    np.testing.assert_array_equal(s.n_all, [2, 2, 0])
    assert np.isnan(s.mean[2])
    np.testing.assert_allclose(s.fraction_chaotic[:2], [1.0, 1.0])


def test_realisation_stats_chaotic_flags_broadcast_over_grid_dimensions():
    # 2 seeds x 2 grid points x 3 exponents; seed 1 is chaotic at point 0 only
    v = np.arange(12.0).reshape(2, 2, 3)
    c = np.array([[True, True], [True, False]])
    s = an.realisation_stats(v, chaotic=c)
    np.testing.assert_allclose(s.mean[0], (v[0, 0] + v[1, 0]) / 2)
    np.testing.assert_allclose(s.mean[1], v[0, 1])
    np.testing.assert_allclose(s.mean_all[1], (v[0, 1] + v[1, 1]) / 2)


# -- size invariance ------------------------------------------------------------------------
def _law(x):
    return 0.3 + 0.5 * np.log1p(-x)  # a triangle-law-like shape, steep near x = 1


def _spectrum(n, shift=0.0, err=0.01):
    lam = _law(rank_coordinate(n, n)) + shift
    return lam, np.full(n, err)


def test_spectra_on_common_rank_interpolates_and_refuses_to_extrapolate():
    spectra = {50: _spectrum(50), 400: _spectrum(400)}
    x = np.array([0.002, 0.01, 0.25, 0.5, 0.75])
    sizes, vals, errs = an.spectra_on_common_rank(spectra, x)
    assert sizes.tolist() == [50, 400]
    assert np.isnan(vals[0, 0]) and np.isfinite(vals[1, 0])  # 1/800 < 0.002 < 1/100
    np.testing.assert_allclose(vals[:, 1:], _law(x[1:])[None].repeat(2, 0), atol=2e-4)
    np.testing.assert_allclose(errs[:, 1:], 0.01)
    partial = {100: (_law(rank_coordinate(10, 100)), np.full(10, 0.01))}  # top 10 of 100
    _, v, _ = an.spectra_on_common_rank(partial, [0.05, 0.2])
    assert np.isfinite(v[0, 0]) and np.isnan(v[0, 1])
    with pytest.raises(ValueError, match="descending"):
        an.spectra_on_common_rank({10: (np.arange(10.0), np.ones(10))}, x)


def test_size_invariance_deviation_finds_a_shifted_size():
    same = {n: _spectrum(n) for n in (50, 100, 200)}
    # log(1 - x) is steep at the bottom, where linear interpolation on the coarse grid errs
    edge = an.size_invariance_deviation(same)
    assert edge.max_abs_rank == 0.99 and edge.max_abs > 0.05
    bulk = np.linspace(0.01, 0.9, 90)
    dev = an.size_invariance_deviation(same, bulk)
    # interpolation error of the N = 50 grid only: h^2 |lambda''| / 8 = 2.5e-3 at x = 0.9
    assert dev.max_abs < 3e-3 and dev.max_abs_rank == 0.9
    assert dev.max_z < 0.2
    shifted = dict(same)
    shifted[100] = _spectrum(100, shift=0.05)
    dev = an.size_invariance_deviation(shifted, bulk)
    assert dev.max_abs == pytest.approx(0.05, abs=3e-3)
    assert 100 in dev.max_abs_sizes
    assert dev.max_abs_error == pytest.approx(np.hypot(0.01, 0.01))
    assert dev.max_z == pytest.approx(0.05 / np.hypot(0.01, 0.01), rel=0.06)


def test_finite_size_extrapolation_recovers_an_exact_law():
    Ns = np.array([50, 100, 200, 400])
    fit = an.finite_size_extrapolation(Ns, 0.08 - 1.5 / Ns, np.full(4, 1e-3))
    assert fit.intercept == pytest.approx(0.08, abs=1e-12)
    assert fit.slope == pytest.approx(-1.5, abs=1e-9)
    assert fit.chi2 == pytest.approx(0.0, abs=1e-12) and fit.dof == 2


def test_finite_size_extrapolation_two_point_error_is_analytic():
    # a = (N1 v1 - N2 v2)/(N1 - N2): var a = (N1^2 e1^2 + N2^2 e2^2)/(N1 - N2)^2
    fit = an.finite_size_extrapolation([100, 400], [0.05, 0.06], [0.002, 0.001])
    assert fit.intercept == pytest.approx((400 * 0.06 - 100 * 0.05) / 300)
    assert fit.intercept_err == pytest.approx(np.hypot(100 * 0.002, 400 * 0.001) / 300)
    assert np.isnan(fit.birge)


def test_finite_size_extrapolation_error_coverage_and_birge_inflation():
    rng = np.random.default_rng(2)
    Ns = np.array([100, 200, 400, 800])
    e = np.array([0.004, 0.003, 0.002, 0.001])
    truth = 0.1 + 2.0 / Ns
    fits = [
        an.finite_size_extrapolation(Ns, truth + e * rng.standard_normal(4), e) for _ in range(3000)
    ]
    pulls = np.array([(f.intercept - 0.1) / f.intercept_err for f in fits])
    # Birge inflation only widens the interval: coverage at least the Gaussian 68.3 %
    assert 0.68 <= np.mean(np.abs(pulls) <= 1) <= 0.80
    # errors 10x too small: the Birge ratio restores a realistic intercept error
    noisy = truth + 10 * e * rng.standard_normal(4)
    small = an.finite_size_extrapolation(Ns, noisy, e)
    right = an.finite_size_extrapolation(Ns, noisy, 10 * e)
    assert small.birge > 3
    assert small.intercept_err == pytest.approx(
        right.intercept_err * small.birge / 10 / max(right.birge, 1)
    )


# -- rank-binned deviations, point symmetry --------------------------------------------------
def _blocks(lam, noise, n_blocks=20, seed=0):
    rng = np.random.default_rng(seed)
    b = lam + noise * rng.standard_normal((n_blocks, lam.size))
    return b - b.mean(0) + lam  # block means average exactly to lam


def test_rank_binned_deviation_offset_and_error():
    n = 200
    ref = _law(rank_coordinate(n, n))
    lam = ref + 0.02
    b = _blocks(lam, 0.05)
    out = an.rank_binned_deviation(lam, b, ref)
    np.testing.assert_allclose(out["mean"], 0.02, atol=1e-12)
    assert out["count"].tolist() == [40] * 5
    # independent block noise: se = 0.05/sqrt(40)/sqrt(20) per bin, up to sampling of the sd
    np.testing.assert_allclose(out["stderr"], 0.05 / np.sqrt(40 * 20), rtol=0.4)


def _symmetric(n, centre=-1.0):
    top = np.sort(np.random.default_rng(3).uniform(0.0, 1.2, n // 2))[::-1]
    return np.concatenate([centre + top, centre - top[::-1]])


def test_symmetry_deviation_accepts_symmetric_and_rejects_wrong_centre_or_tilt():
    lam = _symmetric(200)
    b = _blocks(lam, 0.02)
    ok = an.symmetry_deviation(lam, b, centre=-1.0)
    assert ok["max_relative"] < 1e-12 and ok["max_z"] < 1e-6
    assert ok["pairwise"]["max_deviation"] < 1e-12
    wrong = an.symmetry_deviation(lam, b, centre=-0.99)
    assert wrong["max_z"] > 10 and wrong["max_relative"] == pytest.approx(0.01 / 1.2, rel=0.05)
    # a tilt: half-sums rise by 0.02 towards the edges of the spectrum (mean kept)
    x = np.abs(rank_coordinate(200, 200) - 0.5)
    tilted = np.sort(lam + 0.02 * (x - x.mean()))[::-1]
    t = an.symmetry_deviation(tilted, _blocks(tilted, 0.02), centre=float(tilted.mean()))
    assert t["max_z"] > 5


def test_pair_half_sums_error_keeps_pair_correlation():
    """Anti-correlated block noise of a pair cancels in the half-sum: its error is ~0."""
    lam = _symmetric(10)
    rng = np.random.default_rng(4)
    b = np.repeat(lam[None], 20, axis=0)
    eps = rng.standard_normal((20, 5))
    b[:, :5] += eps
    b[:, 5:] -= eps[:, ::-1]
    s, se = an.pair_half_sums(lam, b)
    np.testing.assert_allclose(s, -1.0)
    assert np.max(se) < 1e-12  # treating the two exponents as independent would give ~0.16


def test_symmetry_centre_and_symmetry_vs():
    assert an.symmetry_centre(-200.0, 200) == -1.0
    lam = _symmetric(100)
    rows = [(lam, _blocks(lam, 0.01), -1.0), (lam + 0.1, _blocks(lam + 0.1, 0.01), -1.0)]
    out = an.symmetry_vs([2.0, 3.0], rows)
    assert out["value"].tolist() == [2.0, 3.0]
    assert out["max_z"][0] < 1e-6 < 10 < out["max_z"][1]
    assert out["rms_relative"][1] == pytest.approx(0.1 / out["half_width"][1])


# -- input-driven chaos, peaks ----------------------------------------------------------------
def test_chaos_suppression_sigma_linear_crossing_and_error():
    sig = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    lam = 0.3 - 0.2 * sig  # crosses at 1.5 exactly (a grid point: lambda = 0 is non-chaotic)
    s = an.chaos_suppression_sigma(sig, lam - 0.05, np.full(6, 0.01))
    assert s.sigma == pytest.approx(1.25) and s.sign_changes == 1
    # error: Monte Carlo of the interpolation with the stated errors
    rng = np.random.default_rng(5)
    e = np.full(6, 0.01)
    draws = [
        an.chaos_suppression_sigma(sig, lam - 0.05 + e * rng.standard_normal(6), e).sigma
        for _ in range(3000)
    ]
    assert np.std(draws) == pytest.approx(s.error, rel=0.1)


def test_chaos_suppression_sigma_nan_cases_and_last_crossing():
    e = np.full(4, 0.01)
    assert np.isnan(an.chaos_suppression_sigma([0, 1, 2, 3], [-0.1, -0.2, -0.3, -0.4], e).sigma)
    assert np.isnan(an.chaos_suppression_sigma([0, 1, 2, 3], [0.3, 0.2, 0.1, 0.05], e).sigma)
    s = an.chaos_suppression_sigma([3, 0, 1, 2], [-0.1, 0.2, -0.1, 0.1], e)  # unsorted input
    assert s.sigma == pytest.approx(2.5) and s.sign_changes == 3


def test_fall_after_peak():
    x = np.array([1.0, 2, 5, 10, 20, 40])
    v = np.array([0.0, 0.05, 0.09, 0.1, 0.08, 0.06])
    out = an.fall_after_peak(x, v, np.full(6, 0.005))
    assert out["x_peak"] == 10 and out["drop"] == pytest.approx(0.04)
    assert out["z"] == pytest.approx(0.04 / np.hypot(0.005, 0.005))
    rising = an.fall_after_peak(x, np.arange(6.0), np.ones(6))
    assert rising["x_peak"] == 40 and rising["z"] == 0.0
