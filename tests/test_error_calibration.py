"""Reported standard errors against the spread of independent runs (same J).

For each point, runs differ only in their initial-condition, frame and input seeds
(``seed_network`` pinned). Non-chaotic runs are set aside: the same J can also hold a
stable attractor (1 of 24 initial conditions at the N = 80 continuous point), and its
exponents belong to another population. With n chaotic runs, values x_i and reported
standard errors s_i, calibrated errors make

    r^2 = var(x_i, ddof=1) / mean(s_i^2)  ~  chi^2_(n-1) / (n-1).

Coverage criterion: r^2 inside the central 99 % interval of that law, for lambda_max,
D_KY and H_KS at each point. Halved errors double r; the fast version's measured r
(0.80-1.13 at two discrete-time points) then exceeds the upper bound (1.56 for n = 12).

Finding (issue 12): in continuous time the batch-means/jackknife errors can under-cover
at T <= 200, depending on the sample of initial conditions: N = 80, g = 5, T = 100,
seeds 1000+: r = (1.63, 1.79, 1.65) over 36 chaotic runs (this file's slow xfail);
T = 200: (1.26, 1.51, 1.28) over 28 runs (seeds 100+), (1.11, 0.99, 0.97) over 19
(seeds 2000+); T = 800: (1.01, 0.95, 1.14). The values spread with a heavy low tail
(lambda_max 0.09-0.37 at T = 100): intermittent episodes longer than the 5-10 tau time
blocks. The 40-run continuous check is a strict xfail under ``slow`` so that a better
estimator (or a longer default T) shows up. Slow discrete checks, 40 runs: r = (1.29,
1.07, 1.08) and (0.91, 0.95, 0.80) against the bounds (0.72, 1.30).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import chi2

import lyap_core as lc

MEASURES = ("lambda_max", "kaplan_yorke_dimension", "ks_entropy")
POINTS = {
    "discrete": dict(model="discrete", n=50, g=3.0, seed=0, t_sim=400.0),
    "discrete_g2": dict(model="discrete", n=50, g=2.0, seed=0, t_sim=400.0),
    "continuous": dict(n=80, g=5.0, seed=0, t_sim=100.0),
}
FAST = ("discrete", "discrete_g2")
COVERAGE = 0.99


def _runs(kind: str, n_runs: int) -> list[lc.SpectrumResult]:
    base = lc.RunParams(t_transient=100.0, **POINTS[kind])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lc.NumericsWarning)
        runs = [
            lc.run_point(base.replace(seed=1000 + i, seed_network=base.seed)) for i in range(n_runs)
        ]
    chaotic = [r for r in runs if r.chaotic]
    assert len(chaotic) >= max(10, 3 * n_runs // 4), (kind, len(chaotic))
    return chaotic


def spread_ratio(runs: list[lc.SpectrumResult], name: str) -> float:
    """r = sample s.d. of the values over the RMS of the reported standard errors."""
    x = np.array([getattr(r, name) for r in runs])
    se = np.array([getattr(r, f"{name}_stderr") for r in runs])
    assert np.all(np.isfinite(se) & (se > 0)), (name, se)
    return float(x.std(ddof=1) / np.sqrt(np.mean(se**2)))


def ratio_bounds(n: int, coverage: float = COVERAGE) -> tuple[float, float]:
    """Central ``coverage`` interval of r when the errors are calibrated (n runs)."""
    lo, hi = chi2.ppf([(1 - coverage) / 2, (1 + coverage) / 2], n - 1) / (n - 1)
    return float(np.sqrt(lo)), float(np.sqrt(hi))


def _check(kind: str, n_runs: int) -> None:
    runs = _runs(kind, n_runs)
    lo, hi = ratio_bounds(len(runs))
    ratios = {name: spread_ratio(runs, name) for name in MEASURES}
    assert all(lo < r < hi for r in ratios.values()), (kind, len(runs), (lo, hi), ratios)


@pytest.mark.parametrize("kind", FAST)
def test_reported_errors_match_the_spread_of_independent_runs(kind):
    _check(kind, 12)


@pytest.mark.slow
@pytest.mark.parametrize("kind", FAST)
def test_reported_errors_match_the_spread_of_40_independent_runs(kind):
    _check(kind, 40)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="continuous-time errors under-cover (module docstring)")
def test_continuous_time_errors_match_the_spread_of_40_independent_runs():
    _check("continuous", 40)


def test_ratio_bounds_are_the_chi_square_interval():
    """The criterion itself: n = 12 gives (0.486, 1.560); wider for fewer runs."""
    lo, hi = ratio_bounds(12)
    assert lo == pytest.approx(np.sqrt(2.6032 / 11), abs=1e-4)
    assert hi == pytest.approx(np.sqrt(26.757 / 11), abs=1e-4)
    assert ratio_bounds(5)[1] > hi


def test_derived_errors_are_the_jackknife_over_time_blocks(chaotic):
    """Independent reference for the D_KY and H_KS errors: the leave-one-block-out
    jackknife recomputed from the stored block means (equal blocks: 200 intervals in 20)."""
    r = chaotic("continuous").result
    B = r.block_means
    b = B.shape[0]
    loo = (B.sum(axis=0) - B) / (b - 1)
    for f, se in (
        (lc.kaplan_yorke_dimension, r.kaplan_yorke_dimension_stderr),
        (lc.ks_entropy, r.ks_entropy_stderr),
    ):
        v = np.array([f(x) for x in loo])
        assert se == pytest.approx(np.sqrt((b - 1) / b * np.sum((v - v.mean()) ** 2)), rel=1e-9)
    assert r.lambda_max_stderr == pytest.approx(B[:, 0].std(ddof=1) / np.sqrt(b), rel=1e-12)
