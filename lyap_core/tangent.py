"""The tangent-system interface the engine integrates, as typing Protocols.

A tangent system advances an augmented array ``X = [x | Q]`` (state in column 0,
tangent vectors in columns 1..m) by one step of its numerical map, with the *exact*
derivative of that map applied to Q (the exponents are those of the discretised
system). :class:`TangentSystem` is what every system must provide; the other
protocols are optional capabilities. The engine reads them once, into
:class:`Capabilities`, when it starts — never with ``hasattr`` inside its loops.

Implementations: :class:`~lyap_core.models.RateNetwork`,
:class:`~lyap_core.mixed.SplitPrecisionNetwork`, :class:`~lyap_core.systems.Flow`,
:class:`~lyap_core.systems.Map`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class TangentSystem(Protocol):
    """Required: size, time step (1 for maps), flow or map, state and tangent steps."""

    dim: int
    dt: float
    continuous: bool

    def step_state(self, x: np.ndarray) -> None:
        """Advance the state ``x`` (or the state columns of an array) by one step, in place."""

    def step_tangent(self, X: np.ndarray) -> Any:
        """Advance ``X = [x | Q]`` by one step: state and tangent vectors, in place."""


@runtime_checkable
class HasDivergence(Protocol):
    """tr D(x) (flows) or log|det D(x)| per step (maps): the sum-rule target's integrand."""

    def divergence(self, x: np.ndarray) -> float: ...


@runtime_checkable
class HasDiagnostics(Protocol):
    """Per-step diagnostics (e.g. <phi'>, <phi'^2>), averaged over the accumulation."""

    diagnostic_names: tuple[str, ...]

    def diagnostics(self, x: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class HasRates(Protocol):
    """The rates phi(x), for the PCA dimension of the activity."""

    def rates(self, x: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class HasLogDphiHistogram(Protocol):
    """Counts (and bin means) of ln phi'(x) per neuron, for the random-matrix laws."""

    def log_dphi_histogram(self, x: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class HasState(Protocol):
    """Internal state beyond X (an input process's RNG): saved and restored by checkpoints."""

    def get_state(self) -> dict[str, Any]: ...

    def set_state(self, state: dict[str, Any]) -> None: ...


@runtime_checkable
class HasTangentHooks(Protocol):
    """Called around each run of tangent steps between QRs (mixed precision's frame copy)."""

    def tangent_begin(self, X: np.ndarray) -> None: ...

    def tangent_end(self, X: np.ndarray) -> None: ...


@dataclass(frozen=True)
class Capabilities:
    """What an engine run may use of a system, read once from its optional protocols.

    ``divergence_is_exact``: the divergence is already the exact per-step target (no
    trapezoid end correction); ``divergence_is_costly``: computing it costs an LU per
    step (Euler's determinant), so only full spectra use it; ``graded_qr``: a map step
    can factor its QR (:class:`~lyap_core.qr.GradedQR`).
    """

    divergence: bool
    divergence_is_exact: bool
    divergence_is_costly: bool
    diagnostics: bool
    rates: bool
    log_dphi_histogram: bool
    state: bool
    hooks: bool
    graded_qr: bool


def capabilities(system: Any) -> Capabilities:
    """The :class:`Capabilities` of ``system``; TypeError if it is no :class:`TangentSystem`."""
    if not isinstance(system, TangentSystem):
        raise TypeError(
            f"system: {type(system).__name__} is not a tangent system (needs dim, dt, "
            "continuous, step_state(x) and step_tangent(X))"
        )
    return Capabilities(
        divergence=isinstance(system, HasDivergence),
        divergence_is_exact=bool(getattr(system, "divergence_is_exact", False)),
        divergence_is_costly=bool(getattr(system, "divergence_is_costly", False)),
        diagnostics=isinstance(system, HasDiagnostics),
        rates=isinstance(system, HasRates),
        log_dphi_histogram=isinstance(system, HasLogDphiHistogram),
        state=isinstance(system, HasState),
        hooks=isinstance(system, HasTangentHooks),
        graded_qr=bool(getattr(system, "supports_graded_qr", False)),
    )
