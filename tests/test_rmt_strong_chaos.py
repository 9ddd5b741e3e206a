"""The crossing-kick law for intense chaos in continuous time (theory.crossing_kicks_continuous).

Checked against its exact identities, its own large-N closed form, and an independent
Monte Carlo simulation of the random product it describes (rank-one shears at Poisson
zero crossings with Rice-distributed speeds, isotropic kick directions).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from lyap_core.theory.rmt import crossing_kicks_continuous

# Delta0 / g^2 and Var(dh/dt) / g^2 of DMFT at g = 20 (rounded; any positive values do).
D0, DV = 0.72, 0.23


def test_kick_law_mean_symmetry_and_order():
    lam = crossing_kicks_continuous(60, 20.0, D0 * 400, DV * 400)
    assert abs(lam.mean() + 1.0) < 1e-12  # the sum rule of zero-diagonal J, exactly
    assert np.all(np.diff(lam) < 0)
    assert np.max(np.abs(lam + lam[::-1] + 2.0)) < 2e-4  # point symmetry about -1 (quadrature)


def test_kick_law_tends_to_its_closed_form():
    """n = 300: lambda_k at ranks x = (k - 1/2)/n in the bulk vs the n -> inf formula."""
    n, g = 300, 20.0
    lam = crossing_kicks_continuous(n, g, D0 * g * g, DV * g * g)
    k = np.array([30, 75, 150, 225, 270])
    x = (k - 0.5) / n
    c = 4 * x * (1 - x) / DV
    limit = -1 + (1 - 2 * x) * special.exp1(c / 2) * np.exp(c / 2) / (np.pi * np.sqrt(DV * D0))
    np.testing.assert_allclose(lam[k - 1], limit, atol=0.01)


def test_kick_law_matches_a_monte_carlo_of_its_random_product():
    n, g, t_total = 40, 20.0, 3000.0
    d0, dv = D0 * g * g, DV * g * g
    rng = np.random.default_rng(0)
    rate = np.sqrt(dv) / (np.pi * np.sqrt(d0))  # Rice: zero crossings per unit time
    q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    logs = np.zeros(n)
    for i in range(rng.poisson(rate * n * t_total)):
        j = rng.integers(n)
        u = rng.standard_normal(n) * g / np.sqrt(n)
        u[j] = 0.0
        speed = np.sqrt(dv) * np.sqrt(-2.0 * np.log(rng.random()))  # Rayleigh at crossings
        q += np.outer((2.0 / speed) * u, q[j])  # the shear I + (2/|v|) J e_j e_j^T
        if i % 4 == 3:
            q, r = np.linalg.qr(q)
            logs += np.log(np.abs(np.diag(r)))
    q, r = np.linalg.qr(q)
    logs += np.log(np.abs(np.diag(r)))
    mc = logs / t_total - 1.0  # e^{-t} between kicks shifts every exponent by -1
    law = crossing_kicks_continuous(n, g, d0, dv)
    assert np.max(np.abs(mc - law)) < 0.05  # O(1/n) terms and Monte Carlo error, spread 2.7
    assert np.sqrt(np.mean((mc - law) ** 2)) < 0.025
