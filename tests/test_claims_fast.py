"""Fast checks of the paper's claims (Engelken, Wolf & Abbott, arXiv:2006.02427).

Each runs in seconds on small networks and states the numbers its tolerance rests on
(measured with the same parameters); each is paired with the case or the alternative
that must fail it. The slow, paper-scale versions are in ``test_paper_claims.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lyap_core as lc
from lyap_core.theory import circular_law_continuous, dmft_continuous

pytestmark = pytest.mark.filterwarnings("ignore::lyap_core.NumericsWarning")


def _run(**kw) -> lc.SpectrumResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lc.NumericsWarning)
        return lc.run_point(lc.RunParams(**kw))


def _chaotic_mean(values: list[float], chaotic: list[bool]) -> tuple[float, float, int]:
    v = np.array(values)[np.array(chaotic)]
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)), int(v.size)


def test_lambda_max_moves_toward_mean_field_with_n():
    """g = 3: the chaotic-realisation mean of lambda_max rises toward DMFT's 0.2355.

    Measured (m = 1, T = 200, 8 seeds): N = 100: 0.124 +- 0.013 (5 chaotic),
    N = 200: 0.181 +- 0.003 (8), N = 400: 0.201 +- 0.006. Finite networks lie below.
    """
    target = dmft_continuous(3.0).lambda_max
    dist, err = [], []
    for n in (100, 200):
        rs = [_run(n=n, g=3.0, m=1, t_sim=200.0, t_transient=100.0, seed=s) for s in range(8)]
        mean, se, count = _chaotic_mean([r.lambda_max for r in rs], [r.chaotic for r in rs])
        assert count >= 4, (n, count)
        dist.append(target - mean)
        err.append(se)
    assert dist[0] > 3 * err[0] and dist[1] > 0  # below the N -> infinity value
    assert dist[0] - dist[1] > 3 * np.hypot(*err), (dist, err)  # and closer at larger N


def test_discrete_lambda_max_approaches_half_log_g2_dphi2():
    """Discrete time: lambda_max -> (1/2) ln(g^2 <phi'^2>) as N grows (g = 2).

    Measured deviations (3 seeds, T = 1000): N = 100: -0.019, -0.024, -0.048;
    N = 400: -0.011, -0.008, -0.006; N = 1600: -0.0007..-0.001. The alternative
    (1/2) ln(g^2 <phi'>^2) (mean of phi' squared instead of mean of phi'^2) is off by more.
    """
    dev, alt = {}, {}
    for n in (100, 400):
        rs = [
            _run(model="discrete", n=n, g=2.0, m=1, t_sim=1000, t_transient=200, seed=s)
            for s in range(3)
        ]
        d2 = np.array([r.diagnostics["mean_dphi2"] for r in rs])
        d1 = np.array([r.diagnostics["mean_dphi"] for r in rs])
        lam = np.array([r.lambda_max for r in rs])
        dev[n] = lam - 0.5 * np.log(4.0 * d2)
        alt[n] = lam - 0.5 * np.log(4.0 * d1**2)
    assert np.all(np.abs(dev[400]) < 0.015), dev
    assert np.abs(dev[400]).mean() < 0.5 * np.abs(dev[100]).mean(), dev
    assert np.all(np.abs(alt[400]) > 3 * np.abs(dev[400])), alt


def test_dimension_and_entropy_per_neuron_rise_above_onset():
    """N = 100, the same J shape scaled by g = 2, 3, 5: D/N and H/N increase with g.

    Measured (m = 40, T = 100) D/N: seed 0: 0.011, 0.051, 0.067; seed 1: 0.023, 0.062,
    0.082 (s.e. ~0.006); H/N: 0.00005 -> 0.0016 -> 0.0040 and 0.0003 -> 0.0014 -> 0.0056.
    Criterion, a sign test: without a rise each of the 8 successive differences (2 seeds
    x 2 steps x 2 measures) would be positive with probability 1/2, all of them with 1/256.
    """
    for seed in (0, 1):
        rs = [_run(n=100, g=g, m=40, t_sim=100.0, t_transient=100.0, seed=seed) for g in (2, 3, 5)]
        for name in ("kaplan_yorke_dimension", "ks_entropy"):
            v = np.array([getattr(r, name) for r in rs]) / 100
            se = np.array([getattr(r, f"{name}_stderr") for r in rs]) / 100
            assert np.all(np.diff(v) > 0), (seed, name, v, se)


def test_dimension_is_extensive():
    """g = 5: D_KY doubles from N = 80 to 160 (D/N constant), three networks each.

    Measured D/N (m = N/3, T = 100): N = 80: 0.101, 0.074, 0.078; N = 160: 0.073, 0.070,
    0.068. The ratio D(160)/D(80) = 1.67 +- 0.2 is compatible with 2 and not with 1.
    """
    d = {}
    for n in (80, 160):
        rs = [_run(n=n, g=5.0, m=n // 3, t_sim=100.0, t_transient=100.0, seed=s) for s in range(3)]
        assert all(r.chaotic for r in rs)
        v = np.array([r.kaplan_yorke_dimension for r in rs])
        d[n] = (v.mean(), v.std(ddof=1) / np.sqrt(v.size))
    (d1, e1), (d2, e2) = d[80], d[160]
    ratio = d2 / d1
    ratio_se = ratio * np.hypot(e1 / d1, e2 / d2)
    assert abs(ratio - 2) < 3 * ratio_se, (ratio, ratio_se)
    assert ratio - 1 > 3 * ratio_se, (ratio, ratio_se)


def test_continuous_spectrum_near_onset_follows_the_circular_law():
    """g = 1.2, N = 150: exponents ~ -1 + Re of a disk of radius g sqrt(<phi'^2>).

    Measured: rms deviation 0.030 (1.5 % of the spectrum's width 2.05) with the measured
    <phi'^2> = 0.78; with phi' = 1 (radius g) the rms deviation is 0.092.
    """
    n, g = 150, 1.2
    r = _run(n=n, g=g, t_sim=100.0, t_transient=100.0, seed=0)
    law = circular_law_continuous(n, g, r.diagnostics["mean_dphi2"])
    rms = np.sqrt(np.mean((r.exponents - law) ** 2))
    assert rms < 0.02 * (law[0] - law[-1]), rms
    linear = circular_law_continuous(n, g, 1.0)
    assert np.sqrt(np.mean((r.exponents - linear) ** 2)) > 2 * rms
