"""The rate network's tangent map is the exact derivative of its state map.

Checked against central finite differences of the state map itself, on states taken
from chaotic trajectories (the fixtures of ``conftest.py``), for every integrator,
coupling type, built-in phi, a user phi, and every input process. The input's random
stream is rewound before each evaluation, so all evaluations see the same input path.

Tolerance: the fourth-order central difference (Richardson of steps eps and 2 eps) errs
by O(eps^4 |F^(5)|) + O(u |F| / eps); at eps = 1e-4 that is ~1e-12 relative where F is
tame (measured: max 4.6e-10 over all cases, maps with sigmoid). An inexact tangent is
off by far more: reusing the stage-0 phi' in all RK4 stages errs by 3.9e-2 (below).
"""

from __future__ import annotations

import numpy as np
import pytest

import lyap_core as lc
from lyap_core.inputs import GaussianStepInput, InputProcess, OUInput, WhiteInput

EPS = 1e-4
REL_TOL = 1e-8
STEPS = 3  # compose a few steps: the tangent must follow the state between them

PHIS = {
    **{name: name for name in ("tanh", "relu", "softplus", "sigmoid")},
    "user": (np.arctan, lambda h: 1.0 / (1.0 + h * h)),
}
COUPLINGS = {"dense": "continuous", "sparse": "sparse", "autapses": "autapses"}


def _inputs(kind: str, n: int, scheme: str, dt: float) -> InputProcess | None:
    rng = np.random.default_rng(7)
    if kind == "none":
        return None
    if scheme == "map":
        return GaussianStepInput(n, 0.5, rng)
    if kind == "ou":
        n_points = 3 if scheme == "rk4" else 1
        return OUInput(n, 0.5, 1.0, dt, n_points, rng)
    return WhiteInput(n, 0.5, dt, rng)


def _network(chaotic, coupling: str, phi, scheme: str, inputs: str, cls=lc.RateNetwork):
    c = chaotic(COUPLINGS[coupling])
    dt = 0.1
    net = cls(
        c.J,
        PHIS[phi],
        continuous=scheme != "map",
        dt=dt,
        scheme="rk4" if scheme == "map" else scheme,
        inputs=_inputs(inputs, c.params.n, scheme, dt),
    )
    # a map needs a state of its own scale: h ~ J phi(h) is O(g), the flow's x is too
    return net, c.x.copy()


def _tangent_and_fd(net: lc.RateNetwork, x: np.ndarray, m: int = 3):
    """Tangent propagation of m random directions vs central differences of the state map."""
    V = np.random.default_rng(11).standard_normal((x.size, m))
    V /= np.linalg.norm(V, axis=0)
    start = net.get_state()

    def state_map(y: np.ndarray) -> np.ndarray:
        net.set_state(start)  # same input path for every evaluation
        y = y.copy()
        for _ in range(STEPS):
            net.step_state(y)
        return y

    net.set_state(start)
    X = np.empty((x.size, m + 1), order="F")
    X[:, 0], X[:, 1:] = x, V
    for _ in range(STEPS):
        net.step_tangent(X)
    np.testing.assert_array_equal(X[:, 0], state_map(x))  # same state path, same bits

    def diff(v: np.ndarray, h: float) -> np.ndarray:
        return state_map(x + h * v) - state_map(x - h * v)

    fd = np.column_stack([(8 * diff(v, EPS) - diff(v, 2 * EPS)) / (12 * EPS) for v in V.T])
    return X[:, 1:], fd


def _rel_err(tangent: np.ndarray, fd: np.ndarray) -> float:
    return float(np.max(np.abs(tangent - fd)) / np.max(np.abs(fd)))


CASES = [
    (scheme, coupling, phi, inputs)
    for scheme in ("rk4", "euler", "map")
    for coupling in COUPLINGS
    for phi in PHIS
    for inputs in (("none", "iid") if scheme == "map" else ("none", "ou", "white"))
]


@pytest.mark.parametrize(("scheme", "coupling", "phi", "inputs"), CASES)
def test_tangent_map_is_the_derivative_of_the_state_map(chaotic, scheme, coupling, phi, inputs):
    net, x = _network(chaotic, coupling, phi, scheme, inputs)
    tangent, fd = _tangent_and_fd(net, x)
    assert np.max(np.abs(fd)) > 1e-3  # a non-trivial derivative (not all phi' = 0)
    assert _rel_err(tangent, fd) < REL_TOL


class _Stage0Dphi(lc.RateNetwork):
    """Mutant: phi' evaluated at the stage-0 state and reused in all four RK4 stages."""

    _calls = 0

    def _fill_P(self, U, P, ns):
        P[:, :ns] = self.nl.phi(U[:, :ns])
        if U.shape[1] > ns:
            if self._calls % 4 == 0:
                self._d0 = self.nl.dphi(U[:, 0])
            self._calls += 1
            np.multiply(U[:, ns:], self._d0[:, None], out=P[:, ns:])


def test_stage0_dphi_mutant_is_caught(chaotic):
    """Negative control: the inexact RK4 tangent fails the same check by orders of magnitude."""
    net, x = _network(chaotic, "dense", "tanh", "rk4", "none", cls=_Stage0Dphi)
    tangent, fd = _tangent_and_fd(net, x)
    assert _rel_err(tangent, fd) > 1e4 * REL_TOL
