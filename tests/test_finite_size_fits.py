"""lyap_core.analysis.finite_size_fits: competing finite-size forms on synthetic data.

Synthetic v(N) with a known law and known Gaussian errors; the right form must win, its
intercept must be recovered within its error as often as a Gaussian error promises, and
the wrong form must be rejected (negative controls in both directions).
"""

import numpy as np
import pytest

from lyap_core import analysis as an

N = np.array([100, 200, 400, 800, 1600], dtype=float)
LIMIT = 0.2355


def _draws(truth, e, k, seed):
    rng = np.random.default_rng(seed)
    return [an.finite_size_fits(N, truth + e * rng.standard_normal(N.size), e) for _ in range(k)]


@pytest.mark.parametrize(
    ("form", "truth", "coef"),
    [
        ("a + b/N", LIMIT - 3.0 / N, (LIMIT, -3.0)),
        ("a + b/sqrt(N)", LIMIT - 0.4 / np.sqrt(N), (LIMIT, -0.4)),
        ("a + b/N + c/N^2", LIMIT - 3.0 / N + 200.0 / N**2, (LIMIT, -3.0, 200.0)),
        ("a + b N^-c", LIMIT - 0.8 * N**-0.7, (LIMIT, -0.8, 0.7)),
    ],
)
def test_each_form_recovers_its_own_exact_law(form, truth, coef):
    fits = an.finite_size_fits(N, truth, np.full(N.size, 1e-3))
    f = fits.fits[form]
    assert f.coef == pytest.approx(coef, rel=1e-6)
    assert f.limit == pytest.approx(LIMIT, abs=1e-9)
    assert f.chi2 == pytest.approx(0.0, abs=1e-9)
    assert f.loo_z == pytest.approx(0.0, abs=1e-5) and f.accepted


def test_forms_are_the_four_of_the_issue():
    assert list(an.FINITE_SIZE_FORMS) == [
        "a + b/N",
        "a + b/sqrt(N)",
        "a + b/N + c/N^2",
        "a + b N^-c",
    ]


def test_sqrt_law_wins_and_its_intercept_is_covered():
    e = np.full(N.size, 5e-4)
    draws = _draws(LIMIT - 0.4 / np.sqrt(N), e, 200, seed=1)
    assert np.mean([d.best == "a + b/sqrt(N)" for d in draws]) >= 0.9
    # negative control: a + b/N cannot bend like 1/sqrt(N) over 100..1600
    assert np.mean([not d.fits["a + b/N"].accepted for d in draws]) >= 0.95
    pulls = np.array(
        [(d.fits["a + b/sqrt(N)"].limit - LIMIT) / d.fits["a + b/sqrt(N)"].limit_err for d in draws]
    )
    # Gaussian 1-sigma coverage 68.3 %; Birge inflation can only widen it
    assert 0.6 <= np.mean(np.abs(pulls) <= 1) <= 0.8
    # the p-value is uniform under the true form: P(p < 0.05) ~ 5 %
    assert np.mean([d.fits["a + b/sqrt(N)"].p_value < an.FORM_P_MIN for d in draws]) <= 0.12


def test_inverse_n_law_wins_and_sqrt_is_rejected():
    e = np.full(N.size, 5e-4)
    draws = _draws(LIMIT - 3.0 / N, e, 200, seed=2)
    assert np.mean([d.best == "a + b/N" for d in draws]) >= 0.9
    assert np.mean([not d.fits["a + b/sqrt(N)"].accepted for d in draws]) >= 0.95
    # the wrong form extrapolates away from the truth by many of its own errors
    wrong = np.array([d.fits["a + b/sqrt(N)"] for d in draws])
    assert np.median([abs(f.limit - LIMIT) / f.limit_err for f in wrong]) > 3
    # the free exponent, where it is estimated, finds c ~ 1
    c = np.array([d.fits["a + b N^-c"].coef[2] for d in draws])
    assert np.median(c) == pytest.approx(1.0, abs=0.15)


def test_loo_flags_a_form_that_misses_the_largest_size():
    # v bends at large N only (a second, slower correction): fits of the small sizes
    # by a + b/N mispredict N = 1600
    e = np.full(N.size, 5e-4)
    truth = LIMIT - 3.0 / N - 0.05 * (N / 1600) ** 2
    f = an.finite_size_fits(N, truth, e).fits["a + b/N"]
    assert f.loo_z < -an.FORM_LOO_Z_MAX and not f.accepted


def test_errors_are_birge_inflated_and_spread_spans_the_accepted_limits():
    e = np.full(N.size, 5e-4)
    kick = 10 * e * np.array([1, -1, 1, -1, 1])
    exact = an.finite_size_fits(N, LIMIT - 3.0 / N, e).fits["a + b/N"]
    noisy = an.finite_size_fits(N, LIMIT - 3.0 / N + kick, e)
    f = noisy.fits["a + b/N"]
    assert f.limit_err == pytest.approx(exact.limit_err * np.sqrt(f.chi2 / f.dof), rel=1e-9)
    # the same two-parameter fit as finite_size_extrapolation
    ref = an.finite_size_extrapolation(N, LIMIT - 3.0 / N + kick, e)
    assert (f.limit, f.limit_err) == pytest.approx((ref.intercept, ref.intercept_err))
    # with noise large against the curvature, several forms pass; spread spans their limits
    rng = np.random.default_rng(3)
    loose = an.finite_size_fits(N, LIMIT - 3.0 / N + 5e-3 * rng.standard_normal(5), e * 10)
    assert len(loose.accepted) >= 2
    limits = [loose.fits[k].limit for k in loose.accepted]
    best = loose.fits[loose.best].limit
    assert loose.spread == pytest.approx(max(abs(x - best) for x in limits)) and loose.spread > 0


@pytest.mark.parametrize(
    ("ns", "vals", "errs", "match"),
    [
        ([100, 200, 400], [0.1, 0.2, 0.3], [0.01] * 3, "Ns: need at least 4"),
        ([100, 200, 400, 800], [0.1, 0.2, np.nan, 0.3], [0.01] * 4, "values/errors"),
        ([100, 200, 400, 800], [0.1, 0.2, 0.2, 0.3], [0.01, 0, 0.01, 0.01], "values/errors"),
        ([100, 200, 400], [0.1, 0.2, 0.3, 0.4], [0.01] * 4, "equal lengths"),
    ],
)
def test_bad_input_is_one_clear_line(ns, vals, errs, match):
    with pytest.raises(ValueError, match=match):
        an.finite_size_fits(ns, vals, errs)
