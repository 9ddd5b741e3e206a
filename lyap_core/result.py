"""SpectrumResult: exponents with error bars, measures, quality checks and provenance."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .io import jsonable, provenance
from .measures import kaplan_yorke_dimension, ks_entropy, pca_dimension
from .tangent import HasDiagnostics
from .thresholds import CHAOS_ABS, CHAOS_Z, SUM_RULE_PER_EXPONENT, T_ONS_WARN_COND


@dataclass
class SpectrumResult:
    """The Lyapunov spectrum of one run and everything measured with it.

    Exponents are sorted in descending order, in natural-log units per unit time
    (1/tau for flows, 1/step for maps). Standard errors come from ``n_blocks`` time
    blocks (batch means for each exponent; jackknife over blocks for the derived
    measures).

    ``time`` is the accumulation time actually run; ``stopped_by`` says what ended it:
    ``"t_sim"`` (fixed length), ``"target"`` (the relative standard errors reached
    ``target_rel_stderr``), ``"t_max"`` (the cap came first) or ``"not_chaotic"``
    (lambda_max + 2 s.e. <= CHAOS_ABS: no relative accuracy to reach); see
    :mod:`lyap_core.stopping`.
    """

    exponents: np.ndarray
    stderr: np.ndarray
    n: int
    m: int
    time: float
    dt: float
    continuous: bool
    lambda_max: float
    lambda_max_stderr: float
    kaplan_yorke_dimension: float
    kaplan_yorke_dimension_stderr: float
    ks_entropy: float
    ks_entropy_stderr: float
    sum_rule_target: float
    sum_rule_residual: float
    history_time: np.ndarray
    history: np.ndarray
    block_means: np.ndarray
    diagnostics: dict[str, float] = field(default_factory=dict)
    pr_lyapunov_vector: float = float("nan")
    pca_dimension_h: float = float("nan")
    pca_dimension_rates: float = float("nan")
    # (2, bins): counts and sums of ln phi' per bin of models.LOG_DPHI_EDGES (rate networks)
    log_dphi_hist: np.ndarray | None = None
    max_condition_number: float = float("nan")
    qr_fallbacks: int = 0
    graded_qr_steps: int = 0  # map steps whose QR was factored (lyap_core.qr.GradedQR)
    steps_per_ons: int = 0
    converged: bool = False
    stopped_by: str = ""
    chaotic: bool = False
    brute_force_lambda_max: float = float("nan")
    wall_time: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def kaplan_yorke_per_n(self) -> float:
        return self.kaplan_yorke_dimension / self.n

    @property
    def ks_entropy_per_n(self) -> float:
        return self.ks_entropy / self.n

    def summary(self) -> dict[str, Any]:
        """JSON-ready dict (arrays as lists, NaN as None)."""
        arrays = ("history", "block_means", "log_dphi_hist")
        d = {k: v for k, v in asdict(self).items() if k not in arrays}
        d["kaplan_yorke_per_n"] = self.kaplan_yorke_per_n
        d["ks_entropy_per_n"] = self.ks_entropy_per_n
        return jsonable(d)


def _jackknife(values: np.ndarray) -> float:
    """Jackknife standard error from leave-one-block-out estimates."""
    b = values.size
    if b < 2 or not np.all(np.isfinite(values)):
        return float("nan")
    return float(np.sqrt((b - 1) / b * np.sum((values - values.mean()) ** 2)))


def _bootstrap_replicates(state: Any, dt: float, n_boot: int) -> list[np.ndarray]:
    """Spectra (descending) from blocks resampled with replacement (fixed seed: reproducible)."""
    rng = np.random.default_rng(0)
    n_b = state.block_sums.shape[0]
    out = []
    for _ in range(n_boot):
        idx = rng.integers(0, n_b, n_b)
        t = state.block_steps[idx].sum() * dt
        out.append(np.sort(state.block_sums[idx].sum(axis=0) / t)[::-1])
    return out


def _converged(hist_t: np.ndarray, hist: np.ndarray, f: Any, se: float) -> bool:
    """Running estimate at T and at T/2 differ by less than 3 standard errors.

    (lambda(T) - lambda(T/2)) = (second-half mean - first-half mean)/2 has a standard
    deviation of about one standard error of lambda(T).
    """
    if hist_t.size < 4 or not math.isfinite(se):
        return False
    half = int(np.searchsorted(hist_t, hist_t[-1] / 2))
    a, b = f(hist[half]), f(hist[-1])
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.isnan(a) and math.isnan(b)
    return abs(b - a) <= 3 * se + 1e-12 * max(1.0, abs(b))


def summarize(system: Any, cfg: Any, state: Any, params: dict[str, Any]) -> SpectrumResult:
    """Statistics, measures and quality checks of a finished engine state."""
    dt, n, m = system.dt, system.dim, state.log_sum.size  # m may be chosen by the run
    T = state.step * dt
    raw = state.log_sum / T
    order = np.argsort(-raw, kind="stable")
    lam = raw[order]
    btime = state.block_steps * dt
    bmeans = (state.block_sums / btime[:, None])[:, order]
    n_b = bmeans.shape[0]
    stderr = bmeans.std(axis=0, ddof=1) / np.sqrt(n_b) if n_b > 1 else np.full(m, np.nan)
    complete = m == n
    loo = [
        np.sort((state.log_sum - state.block_sums[k]) / (T - btime[k]))[::-1] for k in range(n_b)
    ]

    def ky(x: np.ndarray) -> float:
        return kaplan_yorke_dimension(x, complete=complete)

    reps = _bootstrap_replicates(state, dt, cfg.bootstrap) if cfg.bootstrap > 0 else None
    if reps is not None:
        stderr = np.std(reps, axis=0, ddof=1)

    def jk(f: Any) -> float:
        """Standard error of a derived measure: jackknife over blocks, or the bootstrap."""
        if reps is None:
            return _jackknife(np.array([f(x) for x in loo]))
        v = np.array([f(x) for x in reps])
        return float(np.std(v, ddof=1)) if np.all(np.isfinite(v)) else float("nan")

    # div_first stays NaN when no divergence was sampled (none, or too costly for m < N)
    sampled = state.n_samples and not math.isnan(state.div_first)
    target = state.div_sum / state.n_samples if sampled else float("nan")
    residual = float(np.sum(lam) - target) if complete and math.isfinite(target) else float("nan")
    diagnostics = {}
    if state.diag_sum is not None:
        names = system.diagnostic_names if isinstance(system, HasDiagnostics) else ()
        diagnostics = dict(zip(names, (state.diag_sum / state.n_samples).tolist(), strict=True))
    pca_h = pca_r = float("nan")
    if state.pca_n > 1:
        covs = []
        for k in range(2):
            mean = state.pca_s1[k] / state.pca_n
            c = np.triu(state.pca_s2[k]) / state.pca_n  # dsyr filled the upper triangle
            c = c + np.triu(c, 1).T - np.outer(mean, mean)
            covs.append(c)
        pca_h, pca_r = pca_dimension(covs[0]), pca_dimension(covs[1])
    hist_t = np.asarray(state.hist_time)
    hist = np.asarray(state.hist_values).reshape(len(state.hist_time), m)
    lmax_se = float(stderr[0])
    ky_val, ky_se = ky(lam), jk(ky)
    conv = _converged(hist_t, hist, lambda x: x[0], lmax_se) and _converged(
        hist_t, hist, ky, ky_se if math.isfinite(ky_se) else 0.0
    )
    warns = []
    max_cond = float(np.exp(state.max_log_cond))
    # one step between QRs is the shortest possible t_ons (maps): nothing to shorten, and
    # the graded QR (lyap_core.qr.GradedQR) resolves any spread of phi' in one step
    if (max_cond > T_ONS_WARN_COND or state.qr_fallbacks) and state.steps_per_ons > 1:
        warns.append(
            f"t_ons: Q reached condition number {max_cond:.3g} before a QR "
            f"({state.qr_fallbacks} Householder fallbacks); shorten t_ons"
        )
    if target == -math.inf:
        warns.append(
            "phi: phi'(h) = 0 on part of the trajectory (e.g. relu below threshold): the map "
            "is singular there, the bottom exponents are -inf (the values reported for them "
            "are round-off) and the sum rule has no finite target"
        )
    if math.isfinite(residual) and abs(residual) > SUM_RULE_PER_EXPONENT * m:
        warns.append(
            f"sum rule: the exponents sum to {float(np.sum(lam)):.6g} but the volume growth "
            f"along the trajectory is {target:.6g} (residual {residual:.3g}, more than "
            f"{SUM_RULE_PER_EXPONENT:g} per exponent): integrator error (reduce dt), a QR "
            "that did not resolve the lower spectrum (shorten t_ons) or a diverging state"
        )
    if not conv:
        warns.append(
            "t_sim/t_transient: running lambda_max or D_KY still drifting over the last half "
            "of the run (not converged within 3 standard errors); lengthen the transient or t_sim"
        )
    return SpectrumResult(
        exponents=lam,
        stderr=stderr,
        n=n,
        m=m,
        time=T,
        dt=dt,
        continuous=bool(system.continuous),
        lambda_max=float(lam[0]),
        lambda_max_stderr=lmax_se,
        kaplan_yorke_dimension=ky_val,
        kaplan_yorke_dimension_stderr=ky_se,
        ks_entropy=ks_entropy(lam),
        ks_entropy_stderr=jk(ks_entropy),
        sum_rule_target=float(target),
        sum_rule_residual=residual,
        history_time=hist_t,
        history=hist,
        block_means=bmeans,
        diagnostics=diagnostics,
        pr_lyapunov_vector=state.pr_sum / max(state.n_ons_done, 1),
        pca_dimension_h=pca_h,
        pca_dimension_rates=pca_r,
        log_dphi_hist=state.dphi_hist,
        max_condition_number=max_cond,
        qr_fallbacks=int(state.qr_fallbacks),
        graded_qr_steps=int(state.graded_qr_steps),
        steps_per_ons=int(state.steps_per_ons),
        converged=bool(conv),
        stopped_by=state.stopped_by,
        chaotic=bool(lam[0] > max(CHAOS_Z * lmax_se, CHAOS_ABS)),
        wall_time={**state.wall, "total": float(sum(state.wall.values()))},
        params=dict(params),
        provenance=provenance(),
        warnings=warns,
    )
