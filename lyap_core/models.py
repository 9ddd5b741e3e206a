"""Recurrent rate networks as tangent systems for the Benettin engine.

Continuous time:  dh/dt = -h + J phi(h) + I(t),   D(t) = -1 + J diag(phi'(h))
Discrete time:    h_{t+1} = J phi(h_t) + I_t,      D_t  = J diag(phi'(h_t))

The engine evolves an augmented Fortran-order array X = [h | Q] (N x (1+m)).
One right-hand side evaluation is a single GEMM J @ P with
P = [phi(h) | phi'(h) * Q]: the state's mat-vec rides along as an extra column
of the tangent product, and the N x N Jacobian is never formed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.linalg import blas

from .coupling import Coupling, check_coupling, coupling_diagonal
from .inputs import InputProcess
from .integrators import RK4
from .nonlinearities import Nonlinearity, get_nonlinearity
from .qr import GradedQR

# Bins of ln phi'(h) for the histogram on the attractor: width 0.05 over [-200, 2]
# (phi' from 1e-87 to e^2; tanh spans ~e^-4 |h|, |h| <~ 50 at g = 10 in discrete time).
LOG_DPHI_EDGES = np.linspace(-200.0, 2.0, 4041)


def log_abs_det(J: Coupling, overwrite: bool = False) -> float:
    """log|det J| via LU (scipy's LAPACK); -inf for a singular matrix.

    ``overwrite`` lets a dense Fortran J be factorised in place (a work buffer).
    """
    if sp.issparse(J):
        from scipy.sparse.linalg import splu

        try:
            lu = splu(sp.csc_matrix(J))
        except RuntimeError:  # exactly singular
            return -np.inf
        d = lu.U.diagonal()  # L has a unit diagonal
    else:
        lu, _ = scipy.linalg.lu_factor(J, overwrite_a=overwrite, check_finite=False)
        d = np.diag(lu)
    with np.errstate(divide="ignore"):
        return float(np.sum(np.log(np.abs(d))))


class RateNetwork:
    """A rate network with its exact tangent map.

    Parameters
    ----------
    J : ndarray or scipy.sparse matrix, shape (N, N)
        Coupling matrix (kept sparse in the tangent product when sparse).
    phi : str, Nonlinearity or (phi, dphi)
        Transfer function (default ``"tanh"``).
    continuous : bool
        Continuous-time flow (True) or discrete-time map (False).
    dt : float
        Integration step in units of tau (continuous); ignored (1 step) for maps.
    scheme : {"rk4", "euler"}
        Integrator for continuous time.
    inputs : InputProcess, optional
        External input (see :mod:`lyap_core.inputs`).
    """

    def __init__(
        self,
        J: Coupling,
        phi: Any = "tanh",
        *,
        continuous: bool = True,
        dt: float = 0.1,
        scheme: str = "rk4",
        inputs: InputProcess | None = None,
    ):
        self.J = check_coupling(J)
        self.sparse = sp.issparse(self.J)
        self.nl: Nonlinearity = get_nonlinearity(phi)
        self.dim = self.J.shape[0]
        self.continuous = continuous
        self.dt = float(dt) if continuous else 1.0
        if scheme not in ("rk4", "euler"):
            raise ValueError(f"scheme: must be 'rk4' or 'euler', got {scheme!r}")
        self.scheme = scheme if continuous else "map"
        self.inputs = inputs if inputs is not None else InputProcess()
        self.diag = coupling_diagonal(self.J)
        self.has_diag = bool(np.any(self.diag != 0))
        self._logdet: float | None = None
        self._euler_work: tuple[np.ndarray, np.ndarray] | None = None
        self._work: dict[tuple[int, int], dict[str, Any]] = {}

    # -- buffers --------------------------------------------------------------------------
    def _buffers(self, shape: tuple[int, int]) -> dict[str, Any]:
        w = self._work.get(shape)
        if w is None:
            w = {"P": np.empty(shape, order="F")}
            if self.scheme == "rk4":
                w["rk4"] = RK4(shape, self.dt)
            self._work[shape] = w
        return w

    # -- the fused product ------------------------------------------------------------------
    def _fill_P(self, U: np.ndarray, P: np.ndarray, ns: int) -> np.ndarray | None:
        """P = [phi(U_states) | phi'(u) * U_tangent] with u = U[:, 0]; returns phi'(u)."""
        P[:, :ns] = self.nl.phi(U[:, :ns])
        if U.shape[1] <= ns:
            return None
        d = self.nl.dphi(U[:, 0])
        np.multiply(U[:, ns:], d[:, None], out=P[:, ns:])
        return d

    def _gemm(self, alpha: float, P: np.ndarray, beta: float, C: np.ndarray) -> None:
        """C := alpha J P + beta C, in place."""
        if self.sparse:
            JP = self.J @ P
            C *= beta
            C += alpha * JP
        else:
            blas.dgemm(alpha, self.J, P, beta=beta, c=C, overwrite_c=1)

    # -- one step -------------------------------------------------------------------------
    def advance(
        self, X: np.ndarray, ns: int = 1, graded: GradedQR | None = None
    ) -> np.ndarray | None:
        """Advance X in place by one step.

        Columns ``[:ns]`` are states (all driven by the same input); the remaining
        columns are tangent vectors, linearised around the state in column 0.
        Maps with ``graded``: diag(phi') Q is first factored as Q1 R1 (when phi' spreads
        widely, see :class:`~lyap_core.qr.GradedQR`), the tangent columns become J Q1 and
        log|(R1)_ii| is returned, to be added to those of the caller's QR; else None.
        """
        w = self._buffers(X.shape)
        P = w["P"]
        stage_vals = self.inputs.stage_values()
        logr = None
        if not self.continuous:
            d = self._fill_P(X, P, ns)
            if graded is not None and d is not None:
                logr = graded(P[:, ns:], X[:, ns:], self.nl.log_derivative(X[:, 0]))
            self._gemm(1.0, P, 0.0, X)
        elif self.scheme == "euler":
            # X := (1 - dt) X + dt (J P(X) + I): one fused GEMM, no extra pass.
            self._fill_P(X, P, ns)
            self._gemm(self.dt, P, 1.0 - self.dt, X)
            if stage_vals is not None:
                X[:, :ns] += self.dt * stage_vals[0][:, None]
        else:

            def rhs(U: np.ndarray, stage: int) -> None:
                # U := -U + J P(U) + I(stage time)
                self._fill_P(U, P, ns)
                self._gemm(1.0, P, -1.0, U)
                if stage_vals is not None:
                    U[:, :ns] += stage_vals[stage][:, None]

            w["rk4"].step(X, rhs)
        inc = self.inputs.increment()
        if inc is not None:
            X[:, :ns] += inc[:, None]
        return logr

    def step_state(self, x: np.ndarray) -> None:
        """Advance state column(s) x, shape (N,) or (N, k), in place (no tangent)."""
        X = x.reshape(self.dim, -1, order="F")
        self.advance(X, ns=X.shape[1])

    def step_tangent(self, X: np.ndarray, graded: GradedQR | None = None) -> np.ndarray | None:
        """Advance the augmented array X = [h | Q] in place (``graded``: see :meth:`advance`)."""
        return self.advance(X, ns=1, graded=graded)

    @property
    def supports_graded_qr(self) -> bool:
        """Maps can factor each step's QR (:class:`~lyap_core.qr.GradedQR`); flows cannot."""
        return not self.continuous

    # -- sum rule and diagnostics ---------------------------------------------------------
    @property
    def divergence_is_exact(self) -> bool:
        """Whether the sum over steps of :meth:`divergence` is the sum rule exactly.

        True for maps and Euler (the one-step map's log|det| depends on h_k alone);
        False for RK4, whose target is a quadrature of tr D (the engine applies the
        trapezoid end correction).
        """
        return self.scheme != "rk4"

    @property
    def divergence_is_costly(self) -> bool:
        """Euler's target is an N x N determinant per step (only worth it for full spectra)."""
        return self.scheme == "euler"

    def divergence(self, h: np.ndarray) -> float:
        """Sum-rule integrand: sum_i lambda_i = <divergence> along the trajectory.

        RK4: tr D(h) = -N + sum_i J_ii phi'(h_i) (the flow's, in 1/tau).
        Euler: log|det((1 - dt) I + dt J diag phi'(h))| / dt, the exact log-volume
        growth of the Euler map per unit time (its trace expansion has an O(dt) bias).
        Map: log|det J| + sum_i log phi'(h_i) per step (-inf where phi' = 0).
        """
        if self.scheme == "euler":
            if self._euler_work is None:  # dt J once, and one buffer for the LU in place
                dense = self.J.toarray() if self.sparse else self.J
                self._euler_work = (
                    np.asfortranarray(self.dt * dense),
                    np.empty_like(dense, order="F"),
                )
            dtJ, M = self._euler_work
            np.multiply(dtJ, self.nl.dphi(h)[None, :], out=M)
            M.flat[:: self.dim + 1] += 1.0 - self.dt  # the diagonal
            return log_abs_det(M, overwrite=True) / self.dt
        if self.continuous:
            if not self.has_diag:
                return -float(self.dim)
            return -float(self.dim) + float(self.diag @ self.nl.dphi(h))
        if self._logdet is None:
            self._logdet = log_abs_det(self.J)
        return self._logdet + float(np.sum(self.nl.log_derivative(h)))

    def log_dphi_histogram(self, h: np.ndarray) -> np.ndarray:
        """Histogram of ln phi'(h_i) over the neurons in the bins of :data:`LOG_DPHI_EDGES`.

        Row 0: counts; row 1: sums of ln phi' per bin (so that the bin means are kept,
        which makes the binning error negligible). Summed over the accumulation (one
        sample per QR interval) it is the distribution of phi' on the attractor that the
        free-multiplicative law needs (:func:`lyap_core.theory.free_multiplicative_discrete`).
        Values outside the range (phi' = 0 included) are clipped into the end bins.
        """
        lo, hi = LOG_DPHI_EDGES[0], LOG_DPHI_EDGES[-1]
        nb = LOG_DPHI_EDGES.size - 1
        ld = np.clip(np.nan_to_num(self.nl.log_derivative(h), nan=lo, neginf=lo), lo, hi)
        k = np.minimum(((ld - lo) * (nb / (hi - lo))).astype(np.intp), nb - 1)
        return np.stack([np.bincount(k, minlength=nb), np.bincount(k, ld, minlength=nb)])

    diagnostic_names = ("mean_dphi", "mean_dphi2", "mean_h2")

    def diagnostics(self, h: np.ndarray) -> np.ndarray:
        """Population averages <phi'>, <phi'^2>, <h^2> at one time."""
        d = self.nl.dphi(h)
        return np.array([d.sum(), d @ d, h @ h]) / self.dim

    def rates(self, h: np.ndarray) -> np.ndarray:
        return self.nl.phi(h)

    # -- checkpointing --------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        return self.inputs.get_state()

    def set_state(self, state: dict[str, Any]) -> None:
        self.inputs.set_state(state)
