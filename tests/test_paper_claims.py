"""Claims of Engelken, Wolf & Abbott (arXiv:2006.02427), checked on simulated networks.

Every tolerance is stated next to its test with the measurement it comes from;
docs/results.md has the larger runs. Each check is paired with a case that must fail
it, so that a test cannot pass by being too loose.
"""

import warnings

import numpy as np
import pytest

import lyap_core as lc
from lyap_core import analysis as an
from lyap_core.point import rng_for
from lyap_core.theory import dmft_continuous, free_multiplicative_discrete, ginibre_discrete

pytestmark = pytest.mark.filterwarnings("ignore::lyap_core.NumericsWarning")


def _run(J=None, **kw) -> lc.SpectrumResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lc.NumericsWarning)
        return lc.run_point(lc.RunParams(**kw), J=J)


# -- discrete time: random-matrix theory -----------------------------------------------------
# Accuracy claimed for the free-multiplicative law in the bulk (ranks 0..0.8), per step.
# Measured deviations (measured - law) in the four bulk bins: |dev| <= 0.031 over 5
# realisations at N = 200, g = 2; <= 0.051 over 8 at N = 400, g = 1.5..5 (the former
# scripts/reproduce.py --scale medium, commit 07225d4; now `make claims`, rmt_discrete).
# They vary between realisations (s.d. up to 0.03 in
# [0.6, 0.8)) far more than with time noise (s.e. <= 0.014), and do not shrink from
# N = 200 to 400: a model error of the annealed law (quenched J, temporally correlated
# phi'), not its finite-N bias (-0.007..-0.011 at n = 200, docs/theory.md). 0.06 is that
# envelope, rounded up; the Ginibre law with the same <phi'^2> is off by 0.07..1.0 here.
FREE_LAW_BULK_TOL = 0.06
BULK_EDGES = (0.0, 0.2, 0.4, 0.6, 0.8)


def test_discrete_spectrum_follows_free_multiplicative_law_not_ginibre():
    n, g = 200, 2.0
    p = lc.RunParams(model="discrete", n=n, g=g, t_sim=1000, t_transient=200, seed=0)
    r = lc.run_point(p)
    samples = an.attractor_dphi_samples(
        lc.build_network(p), rng_for(p, "init").standard_normal(n), transient=500, steps=300
    )
    free = an.rank_binned_deviation(
        r.exponents, r.block_means, free_multiplicative_discrete(n, g, samples), BULK_EDGES
    )
    gin = an.rank_binned_deviation(
        r.exponents, r.block_means, ginibre_discrete(n, g, np.mean(samples**2)), BULK_EDGES
    )
    # 3 standard errors of this run's time noise on top of the model accuracy
    assert np.all(np.abs(free["mean"]) <= FREE_LAW_BULK_TOL + 3 * free["stderr"]), free
    # the Ginibre law with the same <phi'^2> fails the same check by far
    assert np.max(np.abs(gin["mean"])) > 5 * FREE_LAW_BULK_TOL, gin


# -- point symmetry ---------------------------------------------------------------------------
# Point symmetry about the sum-rule centre (-1 for zero diagonal). A single network's
# spectrum deviates from it by its time noise plus a realisation-specific (quenched)
# part that changes sign between networks and shrinks with N. Largest s.d. over
# realisations of the binned half-sum deviation (first bin, the edges of the spectrum),
# g = 3, t = 200, chaotic realisations (former scripts/reproduce.py --scale medium): 0.0062
# (N = 100, 4 networks), 0.0049 (N = 200, 6), 0.0017 (N = 400, 6); time noise per bin
# ~0.001. The ensemble test (slow, below) measures the realisation spread itself.
QUENCHED_SD = {100: 0.0062, 200: 0.0049}


def test_point_symmetry_of_a_single_network_about_minus_one():
    r = _run(n=200, g=3.0, t_sim=100.0, t_transient=100.0, seed=0)
    centre = an.symmetry_centre(r.sum_rule_target, r.n)
    assert centre == -1.0  # zero diagonal: tr D = -N exactly
    dev = an.symmetry_deviation(r.exponents, r.block_means, centre)
    err = np.hypot(dev["bins"]["stderr"], QUENCHED_SD[200])
    assert np.all(np.abs(dev["bins"]["mean"]) <= 4 * err), dev["bins"]


def test_uniform_self_coupling_breaks_point_symmetry():
    """J + 0.5 I is not symmetric about its own sum-rule centre: the check can fail.

    Heuristically: the exponents mu = lambda + 1 of dx/dt = A(t) x, A = J diag(phi'), are
    minus those of the adjoint, time-reversed flow driven by -A^T. For i.i.d. zero-mean J,
    -J^T has the law of J; for J + s I the diagonal part changes sign, so nothing ties
    mu_i to -mu_{N+1-i}. Measured: 14 % of the half-width at the spectrum's edges.
    """
    kw = dict(n=100, g=3.0, t_sim=100.0, t_transient=100.0, seed=0)
    J = lc.build_coupling(lc.RunParams(**kw)) + 0.5 * np.eye(100)
    r = _run(J=J, autapses=True, **kw)
    centre = an.symmetry_centre(r.sum_rule_target, r.n)
    assert centre > -0.95  # the diagonal moves the mean exponent
    dev = an.symmetry_deviation(r.exponents, r.block_means, centre)
    err = np.hypot(dev["bins"]["stderr"], QUENCHED_SD[100])
    assert np.max(np.abs(dev["bins"]["mean"]) / err) > 8, dev["bins"]


# -- input-driven chaos --------------------------------------------------------------------------
def test_strong_input_suppresses_chaos():
    """g = 3, N = 100, OU input (tau_in = 1): chaotic at sigma = 0, stable at sigma = 3.

    Measured (t = 200): lambda_max = -0.163 +- 0.018 at sigma = 3 (seed 0), and
    sigma_c ~ 2 where lambda_max crosses 0.
    """
    base = dict(n=100, g=3.0, t_sim=200.0, t_transient=50.0, seed=0)
    free = _run(**base)
    driven = _run(**base, input_std=3.0, input_tau=1.0)
    assert free.chaotic and free.lambda_max > 3 * free.lambda_max_stderr
    assert driven.lambda_max < -3 * driven.lambda_max_stderr
    assert driven.kaplan_yorke_dimension == 0.0 and driven.ks_entropy == 0.0


# -- mean-field theory (slow) --------------------------------------------------------------------
G3_SIZES = (50, 100, 200)
G3_SEEDS = tuple(range(6))


@pytest.fixture(scope="module")
def g3_runs() -> dict[int, list[lc.SpectrumResult]]:
    """Full spectra at g = 3 (RK4, dt = 0.1, t = 200) for several sizes and seeds."""
    return {
        n: [_run(n=n, g=3.0, t_sim=200.0, t_transient=100.0, seed=s) for s in G3_SEEDS]
        for n in G3_SIZES
    }


@pytest.mark.slow
def test_lambda_max_approaches_mean_field_as_n_grows(g3_runs):
    """Distance of the chaotic-realisation mean of lambda_max to DMFT shrinks with N.

    Only chaotic realisations enter (fixed points and limit cycles are common at N = 50);
    their count is asserted, so that the comparison never rests on a single network.
    """
    target = dmft_continuous(3.0).lambda_max
    dist, err = [], []
    for n in G3_SIZES:
        runs = g3_runs[n]
        s = an.realisation_stats(
            [r.lambda_max for r in runs],
            [r.lambda_max_stderr for r in runs],
            chaotic=[r.chaotic for r in runs],
        )
        assert s.n_chaotic >= 2, (n, s)
        dist.append(target - float(s.mean))
        err.append(float(s.se))
    dist, err = np.array(dist), np.array(err)
    assert np.all(dist > 0), dist  # finite networks lie below the N -> infinity value
    assert np.all(np.diff(dist) < 0), dist
    # the overall decrease is significant at 3 combined standard errors
    assert dist[0] - dist[-1] > 3 * np.hypot(err[0], err[-1]), (dist, err)


@pytest.mark.slow
def test_point_symmetry_of_the_ensemble_within_error_bars(g3_runs):
    """Half-sum deviations averaged over realisations (N = 200) vanish within 4 s.e.

    The error combines time noise and the spread over realisations
    (:func:`lyap_core.analysis.realisation_stats`).
    """
    runs = [r for r in g3_runs[200] if r.chaotic]
    assert len(runs) >= 4
    bins = [an.symmetry_deviation(r.exponents, r.block_means, -1.0)["bins"] for r in runs]
    s = an.realisation_stats([b["mean"] for b in bins], [b["stderr"] for b in bins])
    mean, se = s.mean, s.se
    assert np.all(np.abs(mean) <= 4 * se), (mean, se)
