"""One-step maps acting on augmented arrays X = [x | Y] (state and tangent vectors).

Both integrators apply the *same* stage arithmetic to every column: when the
right-hand side maps the tangent columns with the Jacobian evaluated at the stage
state, the tangent columns evolve with the exact derivative of the numerical
one-step map, so the exponents are those of the discretised flow and converge
to the flow's at the integrator's order (RK4: dt^4; Euler: dt).

``rhs(U, stage)`` overwrites ``U`` in place with f(U) at the stage time
(stage 0: t, 1: t + dt/2, 2: t + dt).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.linalg import blas

Rhs = Callable[[np.ndarray, int], None]

_RK4_STAGES = ((0.5, 2.0, 1), (0.5, 2.0, 1), (1.0, 1.0, 2))  # (c, weight, stage time)


def _flat(a: np.ndarray) -> np.ndarray:
    """A 1-D view of a Fortran-contiguous array (for in-place level-1 BLAS)."""
    if not a.flags.f_contiguous:
        raise ValueError("integrators work in place on Fortran-contiguous arrays")
    return a.reshape(-1, order="F")


class RK4:
    """Classical fourth-order Runge–Kutta on an augmented array, in place.

    X_{n+1} = X_n + dt/6 (K1 + 2 K2 + 2 K3 + K4), K_s = f(X_n + c_s dt K_{s-1}).
    Two work arrays of X's shape are allocated once and reused.
    """

    name = "rk4"
    n_points = 3  # input needed at t, t+dt/2, t+dt

    def __init__(self, shape: tuple[int, ...], dt: float):
        self.dt = dt
        self.acc = np.empty(shape, order="F")
        self.stage = np.empty(shape, order="F")
        self._acc, self._stage = _flat(self.acc), _flat(self.stage)

    def step(self, X: np.ndarray, rhs: Rhs) -> None:
        dt, B = self.dt, self.stage
        np.copyto(B, X)
        rhs(B, 0)
        np.copyto(self.acc, B)
        for c, w, s in _RK4_STAGES:
            B *= c * dt
            B += X
            rhs(B, s)
            blas.daxpy(self._stage, self._acc, a=w)
        blas.daxpy(self._acc, _flat(X), a=dt / 6.0)


class Euler:
    """Forward Euler on an augmented array, in place: X_{n+1} = X_n + dt f(X_n)."""

    name = "euler"
    n_points = 1

    def __init__(self, shape: tuple[int, ...], dt: float):
        self.dt = dt
        self.stage = np.empty(shape, order="F")
        self._stage = _flat(self.stage)

    def step(self, X: np.ndarray, rhs: Rhs) -> None:
        np.copyto(self.stage, X)
        rhs(self.stage, 0)
        blas.daxpy(self._stage, _flat(X), a=self.dt)


INTEGRATORS = {"rk4": RK4, "euler": Euler}
