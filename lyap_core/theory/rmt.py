"""Random-matrix approximations of the full Lyapunov spectrum of random rate networks.

Each function returns ``n`` exponents lambda_1 >= ... >= lambda_n (1/step for the
discrete-time maps, 1/tau for the flow, natural log). The rank of exponent i is the
midpoint ``x_i = (i - 1/2) / n`` of its 1/n-wide slice of the limiting density; this
keeps the last exponent finite and makes symmetric laws exactly symmetric. The paper
(Engelken, Wolf & Abbott, arXiv:2006.02427) writes ``i / n``; the two differ by 1/(2n)
in rank. Derivations and checks: docs/theory.md.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .meanfield import dmft_continuous, gaussian_average

# Samples of ln phi'^2 are pooled in bins this wide (error in lambda ~1e-6, see docs).
_LOG_BIN = 1e-2
# Solver work arrays are at most this many elements (ranks x bins).
_CHUNK_ELEMENTS = 1 << 21


def _check(n: int, g: float) -> None:
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n}")
    if not g > 0:
        raise ValueError(f"g must be > 0, got {g}")


def _ranks(n: int) -> np.ndarray:
    return (np.arange(1, n + 1) - 0.5) / n


def ginibre_discrete(n: int, g: float, dphi2: float) -> np.ndarray:
    """Large-N Ginibre ("triangle law") spectrum of the discrete-time network.

    .. math:: \\lambda_i = \\tfrac12 \\ln\\!\\left(g^2 \\langle\\phi'^2\\rangle\\right)
              + \\tfrac12 \\ln(1 - x_i), \\qquad x_i = (i - 1/2)/n.

    Newman's law for products of i.i.d. Ginibre matrices whose entries have variance
    g^2 <phi'^2> / n: the tangent map J diag(phi'(h_t)) with phi' replaced by its r.m.s.
    value. lambda_1 -> 0.5 ln(g^2 <phi'^2>), the DMFT value. The paper uses it for discrete
    time; per the project notes it gets lambda_max within a few per cent but is far off in
    the bulk when phi' spreads over decades, where :func:`free_multiplicative_discrete` is
    the better law.

    Parameters
    ----------
    n : int
        Number of neurons (exponents returned).
    g : float
        Coupling gain.
    dphi2 : float
        <phi'^2>, from :func:`~lyap_core.theory.dmft_discrete` or measured on the attractor.
    """
    _check(n, g)
    return 0.5 * np.log(g * g * dphi2) + 0.5 * np.log1p(-_ranks(n))


def ginibre_product_exact(n: int, g: float, dphi2: float) -> np.ndarray:
    """Exact Lyapunov exponents of products of i.i.d. real n x n Ginibre matrices.

    Entries N(0, sigma^2) with sigma^2 = g^2 <phi'^2> / n. Since G Q has the law of G for
    any orthogonal Q, exponent i is E ln of the distance of column i of G from the span of
    columns 1..i-1, and that squared distance is sigma^2 chi^2 with n - i + 1 degrees of
    freedom:

    .. math:: \\lambda_i = \\tfrac12\\left[\\ln(2\\sigma^2)
              + \\psi\\!\\left(\\tfrac{n - i + 1}{2}\\right)\\right],

    psi the digamma function. Exact at every n; tends to :func:`ginibre_discrete` as
    n -> infinity (difference ~ -1 / (4 (n - i + 1))).

    Parameters
    ----------
    n : int
        Matrix size (exponents returned).
    g : float
        Coupling gain.
    dphi2 : float
        <phi'^2>; sigma^2 = g^2 dphi2 / n.
    """
    _check(n, g)
    sigma2 = g * g * dphi2 / n
    return 0.5 * (np.log(2.0 * sigma2) + special.digamma(0.5 * (n - np.arange(n))))


def _pooled_log_samples(
    dphi_samples: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, float]:
    """Bin means and weights of ln phi'^2 over the nonzero samples, and the zero fraction."""
    d = np.abs(np.asarray(dphi_samples, dtype=float).ravel())
    if d.size == 0 or not np.all(np.isfinite(d)):
        raise ValueError("dphi_samples must be a non-empty array of finite numbers")
    w = np.ones_like(d) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.shape != d.shape or not np.all(np.isfinite(w) & (w >= 0)) or w.sum() <= 0:
        raise ValueError("weights: need one finite weight >= 0 per sample, not all zero")
    keep = (d > 0) & (w > 0)
    if not np.any(keep):
        raise ValueError("dphi_samples are all zero")
    logs, w_nz = 2.0 * np.log(d[keep]), w[keep]
    _, bin_of = np.unique(np.floor(logs / _LOG_BIN), return_inverse=True)
    mass = np.bincount(bin_of, weights=w_nz)
    means = np.bincount(bin_of, weights=logs * w_nz) / mass
    return means, mass / w_nz.sum(), 1.0 - w_nz.sum() / w.sum()


def _log_u(x: np.ndarray, logs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """s = ln u solving sum_b w_b expit(s + l_b) = x for each x in (0, 1).

    Safeguarded Newton on G(s) = ln sum_b w_b expit(rho (s + l_b)) - ln y with rho = +1,
    y = x for x <= 1/2 and rho = -1, y = 1 - x above: G is then nearly linear in s in both
    tails, and no 1 - f cancels.
    """
    rho = np.where(x <= 0.5, 1.0, -1.0)[:, None]
    target = np.log(np.minimum(x, 1.0 - x))
    # expit(s + l_min) <= f(s) <= expit(s + l_max) brackets the root.
    lo = special.logit(x) - logs.max()
    hi = special.logit(x) - logs.min()
    s = 0.5 * (lo + hi)
    log_w = np.log(weights)
    for _ in range(200):
        z = rho * (s[:, None] + logs)
        terms = special.log_expit(z) + log_w
        total = special.logsumexp(terms, axis=1)
        excess = total - target
        slope = rho[:, 0] * np.sum(np.exp(terms - total[:, None]) * special.expit(-z), axis=1)
        above = rho[:, 0] * excess > 0
        hi = np.where(above, s, hi)
        lo = np.where(above, lo, s)
        with np.errstate(divide="ignore", invalid="ignore"):  # slope may underflow
            newton = s - excess / slope
        # Inclusive: at convergence s is itself an end of the bracket.
        inside = (newton >= lo) & (newton <= hi)
        s_new = np.where(inside, newton, 0.5 * (lo + hi))
        done = np.all(np.abs(s_new - s) <= 1e-14 * (1.0 + np.abs(s)))
        s = s_new
        if done:
            return s
    raise RuntimeError("free convolution: rank equation did not converge")


def free_multiplicative_discrete(
    n: int, g: float, dphi_samples: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Large-N spectrum of products of J_t diag(d_t), d_i i.i.d. from the measured phi'.

    J_t Ginibre with entry variance g^2/n, independent each step (the annealed model of
    the tangent map J diag(phi'(h_t))). Regrouping the product as ... (D_{t+1} J_t) ...,
    each factor is right-orthogonally invariant, so the exponents are those of the
    R-diagonal operator T with T*T = J* D^2 J (Haagerup-Larsen; Newman's triangle law for
    D = 1). With S-transforms multiplicative under free multiplicative convolution,
    S_{T*T}(z) = S_MP(z) S_{phi'^2}(z) with S_MP(z) = 1 / (g^2 (1 + z)), and the exponent
    at rank x is lambda(x) = -1/2 ln S_{T*T}(-x). Writing S_{phi'^2}(-x) = u (1 - x) / x,
    where u > 0 solves

    .. math:: \\left\\langle \\frac{u\\,\\phi'^2}{1 + u\\,\\phi'^2} \\right\\rangle = x,
              \\qquad
              \\lambda(x) = \\tfrac12 \\ln g^2 + \\tfrac12 \\ln\\frac{x}{u(x)}.

    For constant phi'^2 = c this is exactly 0.5 ln(g^2 c) + 0.5 ln(1 - x)
    (:func:`ginibre_discrete`); lambda(0) = 0.5 ln(g^2 <phi'^2>) (the DMFT lambda_max) and
    lambda(x -> 1) ~ 0.5 ln(g^2 (1 - x) / <phi'^-2>). Exponents at ranks x >= 1 - P(phi' = 0)
    are -inf.

    Per the project notes, in discrete time this fits the whole spectrum of the network
    much better than the Ginibre law when phi' spreads over decades. It neglects temporal
    correlations of phi' and the dependence of the state on J.

    Parameters
    ----------
    n : int
        Number of neurons (exponents returned), ranks x_i = (i - 1/2)/n.
    g : float
        Coupling gain.
    dphi_samples : array_like
        Samples of phi'(h) gathered on the attractor (any shape). Their ln phi'^2 are
        pooled in bins of width 0.01 (bin means kept), which changes lambda by ~1e-6;
        the cost is O(n x bins).
    weights : array_like, optional
        Multiplicity of each sample, e.g. a stored histogram of ln phi' (samples = the
        bins' mean ln phi' exponentiated, weights = their counts: ``log_dphi_hist``).
    """
    _check(n, g)
    logs, weights, zero_fraction = _pooled_log_samples(dphi_samples, weights)
    x = _ranks(n)
    lam = np.full(n, -np.inf)
    finite = x < 1.0 - zero_fraction
    # The zero mass only rescales the nonzero part's contribution: f = (1 - p0) f_nonzero.
    xs = x[finite] / (1.0 - zero_fraction)
    chunk = max(1, _CHUNK_ELEMENTS // logs.size)
    log_u = np.concatenate(
        [_log_u(xs[k : k + chunk], logs, weights) for k in range(0, xs.size, chunk)]
    )
    lam[finite] = 0.5 * np.log(g * g) + 0.5 * (np.log(x[finite]) - log_u)
    return lam


def _disk_real_part_quantile(p: np.ndarray) -> np.ndarray:
    """x in [0, 1) with F(x) = p for p in [1/2, 1), F the CDF of Re z, z uniform on the unit disk.

    F(x) = 1/2 + (x sqrt(1 - x^2) + arcsin x) / pi; with x = sin(theta) this is
    theta + sin(2 theta) / 2 = pi (p - 1/2), monotone in theta: bisection to full precision.
    """
    target = np.pi * (p - 0.5)
    lo = np.zeros_like(p)
    hi = np.full_like(p, 0.5 * np.pi)
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        below = mid + 0.5 * np.sin(2.0 * mid) < target
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return np.sin(0.5 * (lo + hi))


def circular_law_continuous(n: int, g: float, dphi2: float) -> np.ndarray:
    """Real parts of a circular law as the spectrum of the continuous-time network.

    The Jacobian -1 + J diag(phi') is modelled as a circular law of radius
    r = g sqrt(<phi'^2>) centred at -1, and the exponents as the quantiles of its
    eigenvalues' real parts (the density of Re z on a disk is a semicircle):

    .. math:: \\lambda_i = -1 + r\\,x_i, \\quad F(x_i) = 1 - (i - 1/2)/n, \\quad
              F(x) = \\tfrac12 + \\frac{x\\sqrt{1 - x^2} + \\arcsin x}{\\pi}.

    Exactly point-symmetric about -1 with mean -1 (the sum rule for zero-diagonal J) and
    range inside [-1 - r, -1 + r]. Per the paper this random-matrix approximation holds
    near the onset of chaos and for very strong chaos; near the onset it is the spectrum
    of a frozen Jacobian (h and so phi' change slowly, on the time scale 1/(g - 1)), for
    which exponents are real parts of eigenvalues.

    Parameters
    ----------
    n : int
        Number of neurons (exponents returned).
    g : float
        Coupling gain.
    dphi2 : float
        <phi'^2>, from :func:`~lyap_core.theory.dmft_continuous` or measured.
    """
    _check(n, g)
    r = g * np.sqrt(dphi2)
    # Solve only the upper half and mirror it, so the symmetry about -1 is exact.
    upper = _disk_real_part_quantile(1.0 - _ranks(n)[: n // 2])
    x = np.concatenate([upper, np.zeros(n % 2), -upper[::-1]])
    return -1.0 + r * x


# Quantile midpoints per random factor in the kick average (ranks x quantiles work).
_KICK_QUANTILES = 128


def _kick_bracket(c: np.ndarray) -> np.ndarray:
    """ln(c/2) + gamma + e^{c/2} E1(c/2) for c >= 0 (-> 0 as c -> 0)."""
    out = np.zeros_like(c)
    pos = c > 0
    half = 0.5 * c[pos]
    out[pos] = np.log(half) + np.euler_gamma + special.exp1(half) * np.exp(half)
    return out


def _kick_average(k: int, n: int, scale: float) -> float:
    """E B(scale rho w): rho ~ Beta(k/2, (n-k)/2) (squared norm of row j of a random
    n x k frame) and n w ~ chi^2_{n-k} (squared norm, in units of g^2, of the kick
    direction outside the frame's span), independent; B = :func:`_kick_bracket`.

    Midpoint rule on the quantile scale of each factor (robust for any k, n; error
    ~1e-4 in lambda at n = 100, see tests/test_rmt_strong_chaos.py)."""
    if k in (0, n):
        return 0.0
    p = (np.arange(_KICK_QUANTILES) + 0.5) / _KICK_QUANTILES
    rho = special.betaincinv(0.5 * k, 0.5 * (n - k), p)
    w = 2.0 * special.gammaincinv(0.5 * (n - k), p) / n
    return float(np.mean(_kick_bracket(scale * np.outer(rho, w))))


def crossing_kicks_continuous(n: int, g: float, delta0: float, dh_var: float) -> np.ndarray:
    r"""Strong-chaos spectrum of the continuous-time network from zero-crossing kicks.

    For g >> 1 the fields h_i have standard deviation ~g and phi'(h) = sech^2 h is
    non-negligible only while h_i crosses zero, for a time ~2/|dh_i/dt| ~ 1/g: phi'
    decorrelates far faster than the tangent dynamics evolves, so the frozen-Jacobian
    disk (:func:`circular_law_continuous`) does not apply. Over one crossing of neuron j
    at speed v the tangent flow d(delta)/dt = (-1 + J diag(phi')) delta is the shear
    K = I + (2/|v|) J e_j e_j^T (the integral of sech^2 is 2; det K = 1 for J_jj = 0);
    between crossings delta decays as e^{-t}. Annealed model: the crossings of each
    neuron are a Poisson process with Rice's rate and speed distribution for a Gaussian
    field (variance Delta0, Var(dh/dt) = sigma_v^2), the kick direction J e_j is
    isotropic with |J e_j|^2 = g^2, independent of the frame. A kick multiplies the
    volume of a k-frame by sqrt(1 + b^2 rho w) (+ O(1/n)), b = 2g/|v|, with
    rho ~ Beta(k/2, (n-k)/2) the squared norm of the frame's row j and
    n w ~ chi^2_{n-k} that of J e_j / g outside the frame's span (w -> 1 - k/n).
    Averaging over the crossing speeds (Rice) in closed form, the growth rate of
    ln(volume) is

    .. math:: \Lambda_k = -k + n \frac{\sigma_v}{2\pi\sqrt{\Delta_0}}
              \left\langle \ln\frac{c}{2} + \gamma + e^{c/2} E_1\!\left(\frac{c}{2}\right)
              \right\rangle_\rho, \qquad c = \frac{4 g^2 \rho w}{\sigma_v^2},

    and lambda_k = Lambda_k - Lambda_{k-1}. As n -> inf (rho w -> x (1 - x), x = k/n)
    the exponent at rank x is
    lambda(x) = -1 + g^2 (1 - 2x) e^{c/2} E_1(c/2) / (pi sigma_v sqrt(Delta0)),
    point-symmetric about -1, diverging like -ln x at the top edge (slow crossings give
    large kicks; at finite n the fluctuating rho of the first few vectors cuts it off).
    The mean exponent is exactly -1 (the sum rule for zero-diagonal J). The law is
    g-independent for g -> inf, at fixed Delta0/g^2 and sigma_v/g (DMFT: 0.727, 0.51).
    Neglects the quenched J (kicks repeat along fixed columns), correlations of the
    frame with J, and phi' away from crossings (a fraction ~0.8/g of the time).

    Parameters
    ----------
    n : int
        Number of neurons (exponents returned).
    g : float
        Coupling gain.
    delta0 : float
        Variance of h, Delta0 (DMFT: ``dmft_continuous(g).delta0``; or measured <h^2>).
    dh_var : float
        Variance of dh/dt, sigma_v^2 (DMFT: g^2 <tanh^2 h> - Delta0, the Gaussian average
        with variance Delta0, since d^2 Delta/d tau^2 = Delta - g^2 C_phi at lag 0).
    """
    _check(n, g)
    if not (delta0 > 0 and dh_var > 0):
        raise ValueError(f"delta0 and dh_var must be > 0, got {delta0}, {dh_var}")
    amp = n * np.sqrt(dh_var) / (2.0 * np.pi * np.sqrt(delta0))
    scale = 4.0 * g * g / dh_var
    volume = np.array([-k + amp * _kick_average(k, n, scale) for k in range(n + 1)])
    return np.diff(volume)


def crossing_kicks_dmft(n: int, g: float) -> np.ndarray:
    """:func:`crossing_kicks_continuous` with its inputs from dynamic mean-field theory.

    Delta0 = ``dmft_continuous(g).delta0`` and sigma_v^2 = Var(dh/dt) =
    g^2 <tanh^2(h)> - Delta0 (h ~ N(0, Delta0)): no measured or fitted input.
    """
    s = dmft_continuous(g)
    q = gaussian_average(lambda h: np.tanh(h) ** 2, s.delta0)
    return crossing_kicks_continuous(n, g, s.delta0, g * g * q - s.delta0)
