"""Generic tangent systems: flows and maps given by f and its Jacobian.

These let the same engine run textbook systems with known spectra (tests,
validation examples): linear flows and maps, Lorenz-63, the Hénon map.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .integrators import INTEGRATORS

Vec = Callable[[np.ndarray], np.ndarray]


class Flow:
    """dx/dt = f(x) with Jacobian ``jac(x)``, integrated by RK4 or Euler with its exact tangent.

    ``trace(x)`` (defaults to ``trace(jac(x))``) gives the sum-rule target.
    """

    continuous = True

    def __init__(self, f: Vec, jac: Vec, dim: int, dt: float, scheme: str = "rk4"):
        if scheme not in INTEGRATORS:
            raise ValueError(f"scheme: must be one of {sorted(INTEGRATORS)}, got {scheme!r}")
        self.f, self.jac, self.dim, self.dt = f, jac, dim, float(dt)
        self.integrator_cls = INTEGRATORS[scheme]
        self._ints: dict[tuple[int, ...], object] = {}

    def _rhs(self, U: np.ndarray, stage: int) -> None:
        del stage  # autonomous
        x = U[:, 0].copy()
        U[:, 1:] = self.jac(x) @ U[:, 1:]
        U[:, 0] = self.f(x)

    def _step(self, X: np.ndarray) -> None:
        integ = self._ints.get(X.shape)
        if integ is None:
            integ = self._ints[X.shape] = self.integrator_cls(X.shape, self.dt)
        integ.step(X, self._rhs)

    def step_state(self, x: np.ndarray) -> None:
        self._step(x.reshape(self.dim, 1, order="F"))

    def step_tangent(self, X: np.ndarray) -> None:
        self._step(X)

    def divergence(self, x: np.ndarray) -> float:
        return float(np.trace(self.jac(x)))


class Map:
    """x_{t+1} = f(x_t) with Jacobian ``jac(x)``; divergence is log|det jac(x)|."""

    continuous = False
    dt = 1.0

    def __init__(self, f: Vec, jac: Vec, dim: int):
        self.f, self.jac, self.dim = f, jac, dim

    def step_state(self, x: np.ndarray) -> None:
        x[:] = self.f(x.copy())

    def step_tangent(self, X: np.ndarray) -> None:
        x = X[:, 0].copy()
        X[:, 1:] = self.jac(x) @ X[:, 1:]
        X[:, 0] = self.f(x)

    def divergence(self, x: np.ndarray) -> float:
        return float(np.linalg.slogdet(self.jac(x))[1])


def linear_flow(A: np.ndarray, dt: float = 0.01, scheme: str = "rk4") -> Flow:
    """dx/dt = A x: exponents are the real parts of A's eigenvalues."""
    A = np.asarray(A, dtype=float)
    return Flow(lambda x: A @ x, lambda x: A, A.shape[0], dt, scheme)


def linear_map(M: np.ndarray) -> Map:
    """x -> M x: exponents are log |eigenvalues of M|."""
    M = np.asarray(M, dtype=float)
    return Map(lambda x: M @ x, lambda x: M, M.shape[0])


def lorenz63(
    sigma: float = 10.0,
    rho: float = 28.0,
    beta: float = 8.0 / 3.0,
    dt: float = 0.01,
    scheme: str = "rk4",
) -> Flow:
    """Lorenz-63; spectrum ~ (0.9056, 0, -14.5723), sum = -(sigma + 1 + beta) exactly."""

    def f(v: np.ndarray) -> np.ndarray:
        x, y, z = v
        return np.array([sigma * (y - x), x * (rho - z) - y, x * y - beta * z])

    def jac(v: np.ndarray) -> np.ndarray:
        x, y, z = v
        return np.array([[-sigma, sigma, 0.0], [rho - z, -1.0, -x], [y, x, -beta]])

    return Flow(f, jac, 3, dt, scheme)


def henon(a: float = 1.4, b: float = 0.3) -> Map:
    """Hénon map; spectrum ~ (0.4192, -1.6232), sum = ln b exactly."""

    def f(v: np.ndarray) -> np.ndarray:
        x, y = v
        return np.array([1.0 - a * x * x + y, b * x])

    def jac(v: np.ndarray) -> np.ndarray:
        return np.array([[-2.0 * a * v[0], 1.0], [b, 0.0]])

    return Map(f, jac, 2)
