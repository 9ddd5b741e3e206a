"""A straightforward numpy implementation of the authors' algorithm (the baseline).

Euler steps of the state and of Q with the dense N x N Jacobian formed every step,
D = -I + J diag(phi'(h)), and ``np.linalg.qr`` every t_ONS: what a first
implementation looks like. Kept only as the reference the engine is measured against.
"""

from __future__ import annotations

import numpy as np


def baseline_spectrum(
    J: np.ndarray, x0: np.ndarray, Q0: np.ndarray, *, dt: float, t_sim: float, t_ons: float
) -> np.ndarray:
    """Full spectrum (descending) after ``t_sim`` with Euler steps of size ``dt``."""
    n = J.shape[0]
    h, Q = x0.copy(), Q0.copy()
    eye = np.eye(n)
    steps_per_ons = round(t_ons / dt)
    n_ons = round(t_sim / t_ons)
    log_sum = np.zeros(Q.shape[1])
    for _ in range(n_ons):
        for _ in range(steps_per_ons):
            dphi = 1.0 / np.cosh(h) ** 2
            D = -eye + J * dphi[None, :]
            h = h + dt * (-h + J @ np.tanh(h))
            Q = Q + dt * (D @ Q)
        Q, R = np.linalg.qr(Q)
        log_sum += np.log(np.abs(np.diag(R)))
    return np.sort(log_sum / (n_ons * steps_per_ons * dt))[::-1]
