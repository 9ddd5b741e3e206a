"""Dynamic mean-field theory (DMFT) of random rate networks with phi = tanh.

Networks ``dh/dt = -h + J tanh(h)`` (continuous time) and ``h_{t+1} = J tanh(h_t)``
(discrete time) with ``J_ij ~ N(0, g^2/N)``, in the limit N -> infinity (Sompolinsky,
Crisanti & Sommers, PRL 61, 259 (1988); Engelken, Wolf & Abbott, arXiv:2006.02427).
Time is in units of tau = 1; exponents are in 1/tau (continuous) or 1/step (discrete),
natural log. The derivations and the checks are in docs/theory.md.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.polynomial import chebyshev as cheb
from scipy import integrate, optimize
from scipy.linalg import eigh_tridiagonal

# Beyond |h| = 20, sech^2 h < 2e-17: products of phi' vanish to double precision there.
_H_REACH = 20.0
# Gaussian rules stop at 12 standard deviations (mass exp(-72) outside).
_TAIL_SD = 12.0
# Piecewise-Chebyshev table of <phi' phi'>: degree per panel, first panel length in t.
_CHEB_DEGREE = 24
_FIRST_PANEL = 0.5
# The autocorrelation leaves the saddle Delta = 0 at this fraction of Delta0 (linear there).
_SADDLE_START = 1e-7
# Eigenproblem box: psi and V - V(inf) decay at least like exp(-kappa tau); cut at
# kappa L = 40. Grid points per smallest time scale of the potential (times `grid`).
_BOX_DECAYS = 40.0
_POINTS_PER_SCALE = 32


@dataclass(frozen=True, eq=False)
class MeanFieldSolution:
    """Self-consistent DMFT solution for one gain g.

    Attributes
    ----------
    g : float
        Coupling gain.
    delta0 : float
        Variance of h, Delta0 = <h^2> (0 below the onset of chaos).
    dphi_mean, dphi2_mean : float
        <phi'(h)> and <phi'(h)^2> for h ~ N(0, Delta0), phi' = sech^2.
    lambda_max : float
        Largest Lyapunov exponent for N -> infinity (1/tau or 1/step).
    tau, delta : ndarray
        Continuous time, chaotic phase: the autocorrelation Delta(tau) = <h(t) h(t+tau)>
        on lags 0 <= tau <= L (the eigenproblem's grid). A single lag 0 otherwise
        (Delta = Delta0); for discrete time only that lag is given.
    zero_mode_energy : float
        Continuous time, chaotic phase: the computed energy of the mode d Delta/d tau,
        which is exactly 0 in the theory; its size measures the numerical error of the
        eigenvalue problem. NaN otherwise.
    """

    g: float
    delta0: float
    dphi_mean: float
    dphi2_mean: float
    lambda_max: float
    tau: np.ndarray = field(default_factory=lambda: np.zeros(1))
    delta: np.ndarray = field(default_factory=lambda: np.zeros(1))
    zero_mode_energy: float = float("nan")


def _sech2(h: np.ndarray) -> np.ndarray:
    # 4 e^{-2|h|} / (1 + e^{-2|h|})^2: no overflow of cosh for large |h|.
    e = np.exp(-2.0 * np.abs(h))
    return 4.0 * e / (1.0 + e) ** 2


def _log_cosh(h: np.ndarray) -> np.ndarray:
    # log1p(2 sinh^2(h/2)) keeps relative accuracy for small |h| (the variance of log cosh
    # near the onset is a difference of O(h^4) terms); |h| + log1p(e^{-2|h|}) - log 2 for large.
    a = np.abs(h)
    small = np.log1p(2.0 * np.sinh(0.5 * np.minimum(a, 1.0)) ** 2)
    return np.where(a < 1.0, small, a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0))


def _gauss_rule(variance: float, nodes: int, reach: float = np.inf):
    """Trapezoid nodes and weights for E f(x), x ~ N(0, variance), x in [-reach, reach].

    Step min(1, sd)/nodes: the trapezoid rule on the line converges geometrically, with
    error ~ exp(-2 pi a / step) for f analytic in the strip |Im x| < a (a = pi/2 for
    tanh, sech^2, log cosh) and ~ exp(-2 pi^2 nodes^2) from the Gaussian itself.
    """
    sd = np.sqrt(variance)
    step = min(1.0, sd) / nodes
    m = int(np.ceil(min(_TAIL_SD * sd, reach) / step))
    x = step * np.arange(-m, m + 1)
    w = step * np.exp(-0.5 * x * x / variance) / np.sqrt(2.0 * np.pi * variance)
    return x, w


def gaussian_average(
    f: Callable[[np.ndarray], np.ndarray], variance: float, *, nodes: int = 4
) -> float:
    """Gaussian average <f(h)> for h ~ N(0, variance).

    .. math:: \\langle f \\rangle = \\int f(h)\\, e^{-h^2/2\\Delta}\\,
              dh / \\sqrt{2\\pi\\Delta}

    Trapezoid rule on a uniform grid of step ``min(1, sqrt(variance)) / nodes`` over
    +-12 standard deviations. Unlike Gauss-Hermite with a fixed node count, this resolves
    both the Gaussian and features of unit width in h (sech^2 for large variance), and
    converges geometrically in ``nodes`` for f analytic in a strip around the real axis
    (error ~ exp(-pi^2 nodes) for tanh-family functions; nodes = 4 gives ~1e-17).

    Parameters
    ----------
    f : callable
        Vectorised function of h, smooth on the scale of 1 in h.
    variance : float
        Variance of h (>= 0; 0 returns f(0)).
    nodes : int
        Grid points per min(1, standard deviation).
    """
    if variance < 0:
        raise ValueError(f"variance must be >= 0, got {variance}")
    if variance == 0:
        return float(f(np.zeros(1))[0])
    x, w = _gauss_rule(variance, nodes)
    return float(w @ f(x))


def _dphi_correlation(cov: float, var: float, nodes: int) -> float:
    """<phi'(h1) phi'(h2)>, phi' = sech^2, for centred Gaussians of variance var, covariance cov."""
    # u = (h1+h2)/sqrt2 and v = (h1-h2)/sqrt2 are independent, each 1-D rule resolves its own
    # Gaussian however degenerate the pair (cov -> var); sech^2 confines |h1|, |h2| <= 20.
    reach = np.sqrt(2.0) * _H_REACH
    u, wu = _gauss_rule(var + cov, nodes, reach)
    if var - cov <= 0:
        return float(wu @ _sech2(u / np.sqrt(2.0)) ** 2)
    v, wv = _gauss_rule(var - cov, nodes, reach)
    h1 = (u[:, None] + v[None, :]) / np.sqrt(2.0)
    h2 = (u[:, None] - v[None, :]) / np.sqrt(2.0)
    return float(wu @ (_sech2(h1) * _sech2(h2)) @ wv)


@dataclass(frozen=True)
class _PanelChebyshev:
    """Piecewise Chebyshev interpolant on [edges[0], edges[-1]]."""

    edges: tuple[float, ...]
    coefs: tuple[np.ndarray, ...]

    def __call__(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        k = np.clip(np.searchsorted(self.edges, t, side="right") - 1, 0, len(self.coefs) - 1)
        out = np.empty_like(t)
        for j in np.unique(k):
            sel = k == j
            a, b = self.edges[j], self.edges[j + 1]
            out[sel] = cheb.chebval((2.0 * t[sel] - a - b) / (b - a), self.coefs[j])
        return out

    def at(self, t: float) -> float:
        """Value at a scalar t (Clenshaw in Python floats: ~30x faster than the array path)."""
        j = min(max(bisect.bisect_right(self.edges, t) - 1, 0), len(self.coefs) - 1)
        a, b = self.edges[j], self.edges[j + 1]
        x2 = 2.0 * (2.0 * t - a - b) / (b - a)
        b1 = b2 = 0.0
        for c in self.coefs[j][:0:-1].tolist():
            b1, b2 = c + x2 * b1 - b2, b1
        return float(self.coefs[j][0]) + 0.5 * x2 * b1 - b2

    def shifted(self, constant: float) -> _PanelChebyshev:
        """The interpolant of self + constant."""
        coefs = tuple(np.concatenate(([c[0] + constant], c[1:])) for c in self.coefs)
        return _PanelChebyshev(self.edges, coefs)

    def integral_to_end(self) -> _PanelChebyshev:
        """The interpolant of F(t) = integral of self from t to edges[-1]."""
        coefs = []
        tail = 0.0
        for j in reversed(range(len(self.coefs))):
            half = 0.5 * (self.edges[j + 1] - self.edges[j])
            c = -cheb.chebint(self.coefs[j], lbnd=1.0, scl=half)
            c[0] += tail
            tail = float(cheb.chebval(-1.0, c))
            coefs.append(c)
        return _PanelChebyshev(self.edges, tuple(reversed(coefs)))


def _dphi_correlation_table(delta0: float, nodes: int) -> _PanelChebyshev:
    """Q(t) = <phi'(h(0)) phi'(h(tau))> as a function of t = Delta0 - Delta(tau) in [0, Delta0]."""
    # Near t = 0 the v-Gaussian is narrower than sech^2 and Q varies on the scale t ~ 1; away
    # from it on the scale Delta0: panels that double in length resolve both.
    edges = [0.0]
    t = min(_FIRST_PANEL, delta0)
    while t < 0.75 * delta0:
        edges.append(t)
        t *= 2.0
    edges.append(delta0)
    x = np.cos(np.pi * (np.arange(_CHEB_DEGREE + 1) + 0.5) / (_CHEB_DEGREE + 1))
    coefs = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        ts = 0.5 * (a + b) + 0.5 * (b - a) * x
        vals = [_dphi_correlation(delta0 - tk, delta0, nodes) for tk in ts]
        coefs.append(cheb.chebfit(x, vals, _CHEB_DEGREE))
    return _PanelChebyshev(tuple(edges), tuple(coefs))


def _continuous_variance(g: float, nodes: int) -> float:
    """Delta0 > 0 from energy conservation, Delta0^2 / 2 = g^2 Var[log cosh h], h ~ N(0, Delta0)."""

    def excess(d0: float) -> float:
        m1 = gaussian_average(_log_cosh, d0, nodes=nodes)
        m2 = gaussian_average(lambda h: _log_cosh(h) ** 2, d0, nodes=nodes)
        return g * g * (m2 - m1 * m1) - 0.5 * d0 * d0

    # excess ~ d0^2 (g^2 (1 - 2 d0) - 1) / 2 > 0 at the lower end; excess < 0 at 2 g^2 because
    # Var[log cosh h] < Delta0 (Gaussian Poincare inequality, |tanh| < 1).
    lo = 0.25 * (1.0 - 1.0 / g**2)
    return optimize.brentq(excess, lo, 2.0 * g * g, xtol=1e-15 * lo, rtol=4 * np.finfo(float).eps)


def _discrete_variance(g: float, nodes: int) -> float:
    """Delta0 > 0 solving Delta0 = g^2 <tanh(h)^2>, h ~ N(0, Delta0)."""

    def excess(d0: float) -> float:
        return g * g * gaussian_average(lambda h: np.tanh(h) ** 2, d0, nodes=nodes) - d0

    # <tanh^2> = d0 - 2 d0^2 + O(d0^3): excess > 0 at the lower end; excess < 0 at g^2.
    lo = 0.25 * (1.0 - 1.0 / g**2)
    return optimize.brentq(excess, lo, g * g, xtol=1e-15 * lo, rtol=4 * np.finfo(float).eps)


def _separatrix(g: float, delta0: float, excess: _PanelChebyshev, kappa: float):
    """Delta(tau), tau >= 0: the orbit of Delta'' = kappa^2 Delta - g^2 R(Delta) from Delta0 to 0.

    R(Delta) = C_phi(Delta) - <phi'>^2 Delta is the nonlinear part of C_phi, given as
    ``excess(t)`` at Delta = Delta0 - t: written this way the right-hand side keeps its
    relative accuracy near the onset, where kappa^2 -> 0 cancels most of Delta - g^2 C_phi.
    Returns a vectorised function of the lag.
    """

    def rhs(_tau: float, y: np.ndarray) -> list[float]:
        return [y[1], kappa * kappa * y[0] - g * g * excess.at(delta0 - y[0])]

    def turning_point(_tau: float, y: np.ndarray) -> float:
        return y[1]

    turning_point.terminal = True
    eps = _SADDLE_START * delta0
    # Start on the saddle's stable direction and integrate backwards in time: in reverse time
    # that manifold attracts, so errors decay instead of growing like exp(kappa tau).
    horizon = (np.log(1.0 / _SADDLE_START) + 2.0 * _BOX_DECAYS) / kappa
    sol = integrate.solve_ivp(
        rhs,
        (0.0, -horizon),
        [eps, -kappa * eps],
        method="DOP853",
        rtol=1e-11,
        atol=1e-14 * delta0,
        events=turning_point,
        dense_output=True,
    )
    if sol.t_events[0].size == 0:
        raise RuntimeError(f"DMFT autocorrelation: no turning point found for g = {g}")
    t_turn = float(sol.t_events[0][0])

    def delta(lag: np.ndarray) -> np.ndarray:
        lag = np.asarray(lag, dtype=float)
        # Below eps the orbit is linear: Delta = eps exp(-kappa (lag - |t_turn|)).
        out = eps * np.exp(-kappa * (lag + t_turn))
        near = lag < -t_turn
        out[near] = sol.sol(t_turn + lag[near])[0]
        return out

    return delta


def _lowest_levels(potential: np.ndarray, step: float) -> tuple[float, float]:
    """Lowest even and odd eigenvalues of -psi'' + V psi on the line, |tau| < L.

    ``potential`` holds V(j step), j = 0..n-1, V even; psi(L = n step) = 0. Second-order
    finite differences; the even problem uses the mirror condition psi(-step) = psi(step),
    symmetrised by rescaling psi(0).
    """
    diag = 2.0 / step**2 + potential
    off = np.full(potential.size - 1, -1.0 / step**2)
    off_even = off.copy()
    off_even[0] *= np.sqrt(2.0)
    first = {"select": "i", "select_range": (0, 0), "eigvals_only": True}
    even = eigh_tridiagonal(diag, off_even, **first)[0]
    odd = eigh_tridiagonal(diag[1:], off[1:], **first)[0]
    return float(even), float(odd)


def dmft_continuous(g: float, *, nodes: int = 4, grid: int = 1) -> MeanFieldSolution:
    """DMFT of ``dh/dt = -h + J tanh(h)``, ``J_ij ~ N(0, g^2/N)``, N -> infinity (SCS 1988).

    The autocorrelation Delta(tau) = <h(t) h(t+tau)> obeys Newton's equation for a
    particle in a potential,

    .. math:: \\ddot\\Delta = \\Delta - g^2 C_\\phi(\\Delta, \\Delta_0)
              = -\\partial_\\Delta U, \\qquad
              U = -\\Delta^2/2 + g^2 C_\\Phi(\\Delta, \\Delta_0),

    with C_f(Delta, Delta0) = <f(h1) f(h2)> for centred Gaussians of variance Delta0 and
    covariance Delta, and Phi = log cosh (Phi' = phi). Chaos (g > 1) is the orbit from
    Delta0 (at rest) to Delta(inf) = 0; energy conservation U(Delta0) = U(0) fixes

    .. math:: \\Delta_0^2 / 2 = g^2 (\\langle\\Phi^2\\rangle - \\langle\\Phi\\rangle^2).

    Below the onset (g <= 1), Delta0 = 0.

    A perturbation's two-time correlation chi(t, s) = <dh(t) dh(s)> obeys
    (d_t + 1)(d_s + 1) chi = g^2 q(t - s) chi with q(tau) = <phi'(h(t)) phi'(h(t+tau))>.
    With T = t + s and chi = exp(lambda T) psi(tau) this is

    .. math:: -\\psi'' + V(\\tau)\\psi = E\\psi, \\quad V = 1 - g^2 q(\\tau),
              \\quad E = 1 - (1 + \\lambda)^2,

    and the ground state E0 gives the largest exponent

    .. math:: \\lambda_{max} = -1 + \\sqrt{1 - E_0}.

    d Delta/d tau is an exact zero-energy (odd) eigenfunction, the time-translation mode;
    its computed energy is returned as a numerical error check. Below the onset,
    V = 1 - g^2 and lambda_max = g - 1.

    Numerics: Gaussian averages by :func:`gaussian_average`; q as a function of Delta by
    a piecewise-Chebyshev table of a rotated 2-D trapezoid rule; C_phi as its exact
    antiderivative (Price's theorem, dC_phi/dDelta = C_phi'); the orbit integrated back
    from the saddle Delta = 0 (stable direction); E0 by second-order finite differences on
    two grids with Richardson extrapolation.

    Parameters
    ----------
    g : float
        Coupling gain (> 0).
    nodes : int
        Quadrature density of the Gaussian averages (see :func:`gaussian_average`).
    grid : int
        Refinement factor of the eigenproblem grid (32 * grid points per smallest time
        scale of the potential).

    Returns
    -------
    MeanFieldSolution
        lambda_max in 1/tau. Holds for N -> infinity; finite networks lie below it and
        approach it slowly in N (docs/theory.md).
    """
    if g <= 0:
        raise ValueError(f"g must be > 0, got {g}")
    if g <= 1:
        return MeanFieldSolution(g, 0.0, 1.0, 1.0, g - 1.0)
    d0 = _continuous_variance(g, nodes)
    m1 = gaussian_average(_sech2, d0, nodes=nodes)
    m2 = gaussian_average(lambda h: _sech2(h) ** 2, d0, nodes=nodes)
    q = _dphi_correlation_table(d0, nodes)
    q_top, q_bottom = q(np.array([0.0, d0]))
    kappa2 = 1.0 - g * g * q_bottom  # V(inf) = kappa^2, also the saddle's rate squared
    excess = q.shifted(-q_bottom).integral_to_end()
    delta = _separatrix(g, d0, excess, np.sqrt(kappa2))

    # Smallest time scales: the well's depth, and the core where Delta0 - Delta ~ min(1, Delta0).
    curvature = abs(kappa2 * d0 - g * g * excess.at(0.0))
    scale = min(np.sqrt(min(d0, 1.0) / curvature), 1.0 / (g * np.sqrt(q_top - q_bottom)))
    step = scale / (_POINTS_PER_SCALE * grid)
    n = int(np.ceil(_BOX_DECAYS / np.sqrt(kappa2) / step))
    # Second-order differences on steps h and h/2 (error series in h^2): Richardson.
    lags = 0.5 * step * np.arange(2 * n)
    delta_lags = delta(lags)
    potential = 1.0 - g * g * q(d0 - delta_lags)
    coarse = np.array(_lowest_levels(potential[::2], step))
    fine = np.array(_lowest_levels(potential, 0.5 * step))
    e0, e1 = ((4.0 * fine - coarse) / 3.0).tolist()
    return MeanFieldSolution(
        g,
        d0,
        m1,
        m2,
        -1.0 + np.sqrt(1.0 - e0),
        tau=lags[::2],
        delta=delta_lags[::2],
        zero_mode_energy=e1,
    )


def dmft_discrete(g: float, *, nodes: int = 4) -> MeanFieldSolution:
    """DMFT of the map ``h_{t+1} = J tanh(h_t)``, ``J_ij ~ N(0, g^2/N)``, N -> infinity.

    The variance is the fixed point

    .. math:: \\Delta_0 = g^2 \\langle \\tanh^2 h \\rangle_{h \\sim N(0, \\Delta_0)},

    nonzero for g > 1. A perturbation grows by |J D dh|^2 = g^2 <phi'^2> |dh|^2 per step
    (D = diag phi', independent of J in the limit), so

    .. math:: \\lambda_{max} = \\tfrac12 \\ln\\!\\left(g^2 \\langle \\phi'^2 \\rangle\\right).

    Below the onset Delta0 = 0, phi' = 1 and lambda_max = ln g (the fixed point's rate).

    Parameters
    ----------
    g : float
        Coupling gain (> 0).
    nodes : int
        Quadrature density of the Gaussian averages (see :func:`gaussian_average`).

    Returns
    -------
    MeanFieldSolution
        lambda_max in 1/step; ``tau``/``delta`` hold only lag 0.
    """
    if g <= 0:
        raise ValueError(f"g must be > 0, got {g}")
    d0 = _discrete_variance(g, nodes) if g > 1 else 0.0
    m1 = gaussian_average(_sech2, d0, nodes=nodes)
    m2 = gaussian_average(lambda h: _sech2(h) ** 2, d0, nodes=nodes)
    return MeanFieldSolution(g, d0, m1, m2, 0.5 * np.log(g * g * m2), delta=np.full(1, d0))
