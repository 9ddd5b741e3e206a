"""Transfer functions phi with their derivatives, for rate networks.

Each :class:`Nonlinearity` carries phi, phi' and log phi' (the last for the
discrete-time sum rule, sum_i lambda_i = log|det J| + <sum_i log phi'(h_i)>),
each written in a form that is accurate for large |h|.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray
UFunc = Callable[[Array], Array]


@dataclass(frozen=True)
class Nonlinearity:
    """A transfer function phi(h) and its derivative phi'(h).

    Parameters
    ----------
    name : str
        Registry name (stored in results).
    phi, dphi : callable
        Elementwise phi and phi' on float64 arrays.
    log_dphi : callable, optional
        Elementwise log phi'(h); defaults to ``log(dphi(h))`` (``-inf`` where phi' = 0).
    """

    name: str
    phi: UFunc
    dphi: UFunc
    log_dphi: UFunc | None = None

    def log_derivative(self, h: Array) -> Array:
        """log phi'(h), elementwise."""
        if self.log_dphi is not None:
            return self.log_dphi(h)
        with np.errstate(divide="ignore"):
            return np.log(self.dphi(h))


def _tanh_dphi(h: Array) -> Array:
    # sech^2 h = 4 e / (1 + e)^2 with e = exp(-2|h|): no cancellation (as in 1 - tanh^2)
    # and no overflow (as in 1/cosh^2 for |h| > 710).
    e = np.exp(-2.0 * np.abs(h))
    return 4.0 * e / (1.0 + e) ** 2


def _tanh_log_dphi(h: Array) -> Array:
    # log sech^2 h = -2 log cosh h = -2 (|h| + log1p(exp(-2|h|)) - log 2), no overflow.
    a = np.abs(h)
    return -2.0 * (a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0))


def _sigmoid(h: Array) -> Array:
    return 0.5 * (1.0 + np.tanh(0.5 * h))


def _log_sigmoid(h: Array) -> Array:
    return -np.logaddexp(0.0, -h)


REGISTRY: dict[str, Nonlinearity] = {
    "tanh": Nonlinearity("tanh", np.tanh, _tanh_dphi, _tanh_log_dphi),
    # ReLU-like, unbounded: phi' is 0 or 1.
    "relu": Nonlinearity("relu", lambda h: np.maximum(h, 0.0), lambda h: (h > 0).astype(float)),
    # Smooth ReLU: phi' = sigmoid(h).
    "softplus": Nonlinearity("softplus", lambda h: np.logaddexp(0.0, h), _sigmoid, _log_sigmoid),
    # Shifted, saturating (0..1): phi' = s (1 - s).
    "sigmoid": Nonlinearity(
        "sigmoid",
        _sigmoid,
        lambda h: 0.25 / np.cosh(0.5 * h) ** 2,
        lambda h: _log_sigmoid(h) + _log_sigmoid(-h),
    ),
}


def get_nonlinearity(phi: str | Nonlinearity | tuple[UFunc, UFunc]) -> Nonlinearity:
    """Resolve a registry name, a :class:`Nonlinearity`, or a user ``(phi, dphi)`` pair.

    Raises
    ------
    ValueError
        For an unknown name, naming the allowed ones.
    """
    if isinstance(phi, Nonlinearity):
        return phi
    if isinstance(phi, tuple) and len(phi) == 2 and all(callable(f) for f in phi):
        return Nonlinearity("user", phi[0], phi[1])
    if isinstance(phi, str) and phi in REGISTRY:
        return REGISTRY[phi]
    raise ValueError(
        f"phi: unknown nonlinearity {phi!r}; allowed: {sorted(REGISTRY)} "
        "or a (phi, dphi) pair of callables"
    )
