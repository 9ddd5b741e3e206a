"""Mixed precision: tangent vectors in float32, state, QR and accumulation in float64.

Continuous time only. The tangent product J diag(phi'(u)) Q, the O(N^2 m) work of a
step, runs as SGEMM on a float32 copy of J and a float32 frame; the state (and the
phi'(u) it is linearised at) stays float64, and so do the QR and every sum (the
engine copies Q to float32 after each QR and back before the next, through the
``tangent_begin``/``tangent_end`` hooks). Between QRs the frame is only
re-normalised by the QR, so float32 round-off (u = 6e-8) enters each exponent as a
relative error per step, not cumulatively; the measured bias is in
docs/NUMERICS.md ("mixed precision").

Maps are refused: one step of J diag(phi') can have cond ~1e10 (phi' spans many
decades), beyond what float32 columns can resolve before a QR.

With ``tangent_dtype=np.float64`` the same code is the float64 reference on the
*same* state trajectory (the state is advanced by this class's own GEMV, not as a
column of the fused product), which is how the bias is measured.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg import blas

from .integrators import _RK4_STAGES
from .models import RateNetwork


class SplitPrecisionNetwork:
    """A continuous-time :class:`RateNetwork` whose tangent vectors use ``tangent_dtype``.

    Implements the engine's tangent-system interface (``step_tangent`` advances the
    float64 state column of X and the internal low-precision frame; the hooks copy
    the frame between X[:, 1:] and the internal buffer around each QR interval).
    """

    def __init__(self, net: RateNetwork, tangent_dtype: Any = np.float32):
        if not net.continuous:
            raise ValueError("precision: 'mixed' is for continuous time only")
        self.net = net
        self.dtype = np.dtype(tangent_dtype)
        self.dim, self.dt, self.continuous = net.dim, net.dt, True
        self.J_low = net.J.astype(self.dtype)
        self._gemm = None if net.sparse else blas.get_blas_funcs("gemm", (self.J_low,))
        self.diagnostic_names = net.diagnostic_names
        # optional capabilities the network may have (lyap_core.tangent reads them once)
        for attr in ("divergence_is_costly", "divergence_is_exact", "log_dphi_histogram"):
            if hasattr(net, attr):
                setattr(self, attr, getattr(net, attr))
        self._buf: dict[int, dict[str, np.ndarray]] = {}
        self.Y: np.ndarray | None = None

    # -- delegated parts of the interface ----------------------------------------------------
    def step_state(self, x: np.ndarray) -> None:
        self.net.step_state(x)

    def divergence(self, h: np.ndarray) -> float:
        return self.net.divergence(h)

    def diagnostics(self, h: np.ndarray) -> np.ndarray:
        return self.net.diagnostics(h)

    def rates(self, h: np.ndarray) -> np.ndarray:
        return self.net.rates(h)

    def get_state(self) -> dict[str, Any]:
        return self.net.get_state()

    def set_state(self, state: dict[str, Any]) -> None:
        self.net.set_state(state)

    # -- the frame in low precision -----------------------------------------------------------
    def _buffers(self, m: int) -> dict[str, np.ndarray]:
        b = self._buf.get(m)
        if b is None:
            n = self.dim
            low = {
                k: np.empty((n, m), dtype=self.dtype, order="F") for k in ("Y", "K", "S", "A", "P")
            }
            b = {**low, **{k: np.empty(n) for k in ("u", "k", "a")}}
            self._buf[m] = b
        return b

    def tangent_begin(self, X: np.ndarray) -> None:
        """Copy the frame X[:, 1:] into the low-precision buffer (after a QR)."""
        self.Y = self._buffers(X.shape[1] - 1)["Y"]
        self.Y[...] = X[:, 1:]

    def tangent_end(self, X: np.ndarray) -> None:
        """Copy the low-precision frame back into X[:, 1:] (before a QR)."""
        X[:, 1:] = self.Y

    # -- right-hand sides ------------------------------------------------------------------
    def _f_state(self, u: np.ndarray, out: np.ndarray, inp: np.ndarray | None) -> None:
        """out = -u + J phi(u) + I (float64)."""
        out[...] = self.net.J @ self.net.nl.phi(u)
        out -= u
        if inp is not None:
            out += inp

    def _f_tangent(self, u: np.ndarray, V: np.ndarray, out: np.ndarray, P: np.ndarray) -> None:
        """out = -V + J diag(phi'(u)) V in the tangent dtype (V and out may not alias)."""
        np.multiply(V, self.net.nl.dphi(u).astype(self.dtype)[:, None], out=P)
        if self._gemm is None:
            out[...] = self.J_low @ P
            out -= V
        else:
            out[...] = V
            self._gemm(1.0, self.J_low, P, beta=-1.0, c=out, overwrite_c=1)

    def step_tangent(self, X: np.ndarray) -> None:
        """One RK4 (or Euler) step of the float64 state X[:, 0] and the frame buffer."""
        x, Y = X[:, 0], self.Y
        b = self._buffers(Y.shape[1])
        K, S, A, P = b["K"], b["S"], b["A"], b["P"]
        u, k, a = b["u"], b["k"], b["a"]
        dt = self.dt
        inputs = self.net.inputs
        stage = inputs.stage_values()

        def inp(s: int) -> np.ndarray | None:
            return None if stage is None else stage[s]

        if self.net.scheme == "euler":
            self._f_state(x, k, inp(0))
            self._f_tangent(x, Y, K, P)
            x += dt * k
            Y += self.dtype.type(dt) * K
        else:
            self._f_state(x, k, inp(0))
            self._f_tangent(x, Y, K, P)
            a[...] = k
            A[...] = K
            for c, w, s in _RK4_STAGES:
                # stage point (u, S) = (x, Y) + c dt (k, K), then the slopes there
                np.multiply(k, c * dt, out=u)
                u += x
                np.multiply(K, self.dtype.type(c * dt), out=S)
                S += Y
                self._f_state(u, k, inp(s))
                self._f_tangent(u, S, K, P)
                a += w * k
                A += self.dtype.type(w) * K
            x += (dt / 6.0) * a
            Y += self.dtype.type(dt / 6.0) * A
        inc = inputs.increment()
        if inc is not None:
            x += inc
