"""The Benettin / Shimada–Nagashima QR engine for Lyapunov spectra.

Three phases, each counted in integrator steps:

1. state transient (state only, ``transient_steps``);
2. tangent transient (Q evolved and re-orthonormalised, R discarded) so that Q
   aligns with the backward Lyapunov vectors;
3. accumulation over ``n_ons`` intervals of ``steps_per_ons`` steps:
   lambda_i = sum log|R_ii| / (n_ons * steps_per_ons * dt).

Works with any *tangent system* (:class:`lyap_core.tangent.TangentSystem`: ``dim``,
``dt``, ``continuous``, ``step_state(x)``, ``step_tangent(X)`` with X = [x | Q] in
Fortran order, in place) and its optional capabilities (divergence for the sum rule,
diagnostics, rates, histogram of ln phi', internal state, tangent hooks), read once
into :class:`lyap_core.tangent.Capabilities` when a run starts.

The whole loop state lives in :class:`EngineState`, which can be saved and
restored at any ONS boundary (see :mod:`lyap_core.checkpoint`): a resumed run
performs exactly the same floating-point operations as an uninterrupted one.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.linalg import blas

from .coverage import choose as choose_m
from .coverage import enlarge_to
from .measures import participation_ratio
from .params import steps_in
from .qr import GradedQR, Orthonormalizer
from .result import SpectrumResult, summarize
from .stopping import STREAK, confidently_not_chaotic, merge_pairs, running_errors, target_met
from .tangent import capabilities


class DivergenceError(FloatingPointError):
    """The state or tangent vectors became non-finite; names the step and time."""


class NumericsWarning(UserWarning):
    """A numerics setting looks unsafe (t_ONS too long, transient too short, dt too large)."""


PHASES = ("transient", "tangent", "accumulate", "done")


@dataclass
class EngineState:
    """Everything needed to continue a run bit-identically."""

    phase: str
    step: int  # steps done within the current phase
    X: np.ndarray  # [x | Q], Fortran order
    log_sum: np.ndarray  # (m,) accumulated log|R_ii|
    block_sums: np.ndarray  # (n_blocks, m)
    block_steps: np.ndarray  # (n_blocks,) steps accumulated per block
    hist_time: list[float] = field(default_factory=list)
    hist_values: list[np.ndarray] = field(default_factory=list)
    div_sum: float = 0.0
    diag_sum: np.ndarray | None = None
    n_samples: int = 0  # steps contributing to div_sum/diag_sum
    pr_sum: float = 0.0
    n_ons_done: int = 0
    max_log_cond: float = 0.0
    qr_fallbacks: int = 0
    graded_qr_steps: int = 0  # map steps whose QR was factored in two (qr.GradedQR)
    pca_n: int = 0
    pca_s1: np.ndarray | None = None  # (2, dim): sums of x and rates
    pca_s2: np.ndarray | None = None  # (2, dim, dim): upper triangles of sum of outer products
    wall: dict[str, float] = field(
        default_factory=lambda: {"transient": 0.0, "tangent": 0.0, "qr": 0.0}
    )
    system_state: dict[str, Any] = field(default_factory=dict)
    steps_per_ons: int = 0  # fixed for the accumulation; may be adapted in the tangent transient
    n_ons: int = 0  # ONS intervals in the accumulation (adaptive t_ONS keeps their product)
    max_growth: float = 0.0  # largest log-cond growth per step seen in the tangent transient
    div_first: float = float("nan")  # divergence at the first accumulation step (trapezoid rule)
    dphi_hist: np.ndarray | None = None  # histogram of ln phi' (systems with log_dphi_histogram)
    # accuracy target (lyap_core.stopping): equal blocks of block_len steps, n_full complete
    block_len: int = 0
    n_full: int = 0
    streak: int = 0  # successive checks meeting the target
    quiet_streak: int = 0  # successive checks with lambda_max confidently <= 0
    stopped_by: str = ""  # "t_sim" (fixed length), "target", "t_max" or "not_chaotic"
    # m = "auto" (lyap_core.coverage): log|R_ii| summed over the tangent transient's 2nd half
    tt_log_sum: np.ndarray | None = None
    tt_steps: int = 0
    m_chosen: bool = False
    m_changes: int = 0  # resizes of the frame so far (seeds the columns added)
    next_per: int = 0  # maps with adaptive t_ONS: steps to the next QR, from the last cond(Q)


@dataclass(frozen=True)
class EngineConfig:
    """Step counts and options of one run (all validated by the caller)."""

    m: int
    steps_per_ons: int
    n_ons: int
    transient_steps: int = 0
    tangent_transient_steps: int = 0
    n_blocks: int = 20
    n_history: int = 200
    qr: str = "cholqr2"
    pca: bool = True
    adaptive_ons: bool = False
    bootstrap: int = 0
    target_log_cond: float = float(np.log(1e3))
    # maps with adaptive t_ONS: each interval from the last one's cond(Q), kept below this
    # (CholeskyQR2 is exact to ~1e7; COND_WARN is 1e5)
    map_target_log_cond: float = float(np.log(1e4))
    target_rel_stderr: float = 0.0  # > 0: stop at this relative s.e. (lyap_core.stopping)
    max_steps: int = 0  # accumulation cap with a target (t_max / dt)
    min_block_steps: int = 0  # first block length with a target
    m_auto: bool = False  # choose m in the tangent transient (lyap_core.coverage); m is the start
    onb_seed: int = 0  # seeds the columns an m = "auto" run adds
    graded_qr: bool = True  # maps: factor steps whose phi' spreads widely (qr.GradedQR)

    @property
    def targeted(self) -> bool:
        return self.target_rel_stderr > 0

    @property
    def total_steps(self) -> int:
        """Planned steps (the accumulation may differ after an adaptive t_ONS; with a target
        this is the cap)."""
        acc = self.max_steps if self.targeted else self.steps_per_ons * self.n_ons
        return self.transient_steps + self.tangent_transient_steps + acc


def _block_arrays(cfg: EngineConfig, m: int) -> dict[str, np.ndarray]:
    """Zeroed accumulators for m exponents (2B blocks with a target: they merge at 2B)."""
    n_blocks = 2 * cfg.n_blocks if cfg.targeted else min(cfg.n_blocks, cfg.n_ons)
    return {
        "log_sum": np.zeros(m),
        "block_sums": np.zeros((n_blocks, m)),
        "block_steps": np.zeros(n_blocks, dtype=np.int64),
    }


def initial_state(
    system: Any, x0: np.ndarray, cfg: EngineConfig, rng_onb: np.random.Generator
) -> EngineState:
    """Fresh state: x0 and a random orthonormal m-frame (from ``rng_onb``)."""
    n, m = system.dim, cfg.m
    if not 1 <= m <= n:
        raise ValueError(f"m: must be an integer in [1, {n}], got {m}")
    X = np.empty((n, m + 1), order="F")
    X[:, 0] = x0
    X[:, 1:] = rng_onb.standard_normal((n, m))
    Orthonormalizer(m, "householder")(X[:, 1:])
    return EngineState(
        phase="transient",
        step=0,
        X=X,
        **_block_arrays(cfg, m),
        steps_per_ons=cfg.steps_per_ons,
        n_ons=cfg.n_ons,
    )


def _growth(logr: np.ndarray) -> float:
    """Growth over one interval: of cond(Q) (spread of log|R_ii|) or of the norms themselves
    (max |log R_ii|; with m = 1 cond(Q) = 1, but the vector still over- or underflows)."""
    return max(float(np.max(logr) - np.min(logr)), float(np.max(np.abs(logr))))


class Benettin:
    """Runs the three phases on an :class:`EngineState`, in place.

    ``progress(done_steps, total_steps)`` is called at ONS boundaries;
    ``on_boundary(state)`` too (used for checkpoints).
    """

    def __init__(
        self,
        system: Any,
        cfg: EngineConfig,
        state: EngineState,
        progress: Callable[[int, int], None] | None = None,
        on_boundary: Callable[[EngineState], None] | None = None,
    ):
        self.caps = caps = capabilities(system)  # optional protocols, read once
        self.system, self.cfg, self.state = system, cfg, state
        self.progress, self.on_boundary = progress, on_boundary
        self._set_m(state.log_sum.size)
        # optional hooks around each interval between QRs (mixed precision keeps Q in float32)
        self._begin = system.tangent_begin if caps.hooks else None
        self._end = system.tangent_end if caps.hooks else None
        self._trapezoid = bool(system.continuous) and not caps.divergence_is_exact
        self._has_diag = caps.diagnostics
        self._graded = None
        if cfg.graded_qr and caps.graded_qr:
            self._graded = GradedQR()
            self._graded.calls = state.graded_qr_steps
        self._logr_first: np.ndarray | None = None  # a graded step's log|R1_ii|, until its QR
        self._has_hist = caps.log_dphi_histogram

    # -- helpers --------------------------------------------------------------------------
    def _set_m(self, m: int) -> None:
        self.ortho = Orthonormalizer(m, self.cfg.qr)
        self.ortho.fallbacks = self.state.qr_fallbacks
        # a costly divergence (Euler's determinant) only serves the full spectrum's sum rule
        self._has_div = self.caps.divergence and (
            m == self.system.dim or not self.caps.divergence_is_costly
        )

    def _steps_tangent(self, k: int) -> None:
        """k tangent steps (no per-step sampling): the tangent transient's inner loop."""
        X = self.state.X
        if self._begin is not None:
            self._begin(X)
        for _ in range(k):
            self._tangent_step(X, k)
        if self._end is not None:
            self._end(X)

    def _resize(self, m_new: int, phase: str) -> None:
        """Continue with m_new columns (m = "auto"): keep the leading ones, add random ones.

        The accumulators restart (``phase`` "tangent" or "accumulate", step 0). Column i
        of Q does not depend on the columns after it, so truncation keeps the aligned
        frame; added columns are orthonormalised against it and need a tangent transient.
        """
        s, n = self.state, self.system.dim
        m = s.log_sum.size
        X = np.empty((n, m_new + 1), order="F")
        keep = min(m, m_new) + 1
        X[:, :keep] = s.X[:, :keep]
        if m_new > m:
            seq = np.random.SeedSequence(self.cfg.onb_seed, spawn_key=(7, s.m_changes))
            X[:, keep:] = np.random.default_rng(seq).standard_normal((n, m_new - m))
            Orthonormalizer(m_new, "householder")(X[:, 1:])
        carried = (
            "wall",
            "qr_fallbacks",
            "graded_qr_steps",
            "system_state",
            "steps_per_ons",
            "n_ons",
            "max_growth",
        )
        self.state = EngineState(
            phase=phase,
            step=0,
            X=X,
            **_block_arrays(self.cfg, m_new),
            **{k: getattr(s, k) for k in carried},
            m_chosen=s.m_chosen or phase == "accumulate",
            m_changes=s.m_changes + 1,
        )
        self._set_m(m_new)

    def _done_steps(self) -> int:
        s, c = self.state, self.cfg
        before = {
            "transient": 0,
            "tangent": c.transient_steps,
            "accumulate": c.transient_steps + c.tangent_transient_steps,
            "done": c.total_steps,
        }[s.phase]
        return before + s.step

    def _check_finite(self, what: np.ndarray) -> None:
        if not np.all(np.isfinite(what)):
            k = self._done_steps()
            t = k * self.system.dt
            raise DivergenceError(
                f"non-finite state or tangent vectors at step {k} (t = {t:g}, phase "
                f"'{self.state.phase}'); the integration diverged: reduce dt or check g/J"
            )

    def _boundary(self) -> None:
        if self.progress is not None:
            self.progress(self._done_steps(), self.cfg.total_steps)
        if self.on_boundary is not None:
            if self.caps.state:
                self.state.system_state = self.system.get_state()
            self.on_boundary(self.state)

    def _tangent_step(self, X: np.ndarray, per: int) -> None:
        """One tangent step; a map's step may be factored (one step per QR only: the
        second factor is the QR that follows, see :class:`~lyap_core.qr.GradedQR`)."""
        if self._graded is not None and per == 1:
            self._logr_first = self.system.step_tangent(X, self._graded)
        else:
            self.system.step_tangent(X)

    def _orthonormalize(self, Q: np.ndarray) -> np.ndarray:
        t0 = time.perf_counter()
        logr = self.ortho(Q)
        if self._logr_first is not None:  # R = R2 R1: the diagonal logs add
            logr, self._logr_first = logr + self._logr_first, None
        self.state.wall["qr"] += time.perf_counter() - t0
        self.state.qr_fallbacks = self.ortho.fallbacks
        if self._graded is not None:
            self.state.graded_qr_steps = self._graded.calls
        return logr

    # -- phases ---------------------------------------------------------------------------
    def _run_transient(self) -> None:
        s, x = self.state, self.state.X[:, 0]
        t0 = time.perf_counter()
        while s.step < self.cfg.transient_steps:
            chunk = min(self.state.steps_per_ons, self.cfg.transient_steps - s.step)
            for _ in range(chunk):
                self.system.step_state(x)
            s.step += chunk
            self._check_finite(x)
            s.wall["transient"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            self._boundary()
        s.phase, s.step = "tangent", 0

    def _run_tangent_transient(self) -> None:
        s, cfg = self.state, self.cfg
        Q = s.X[:, 1:]
        choosing = cfg.m_auto and not s.m_chosen
        while s.step < cfg.tangent_transient_steps:
            chunk = min(self.state.steps_per_ons, cfg.tangent_transient_steps - s.step)
            t0 = time.perf_counter()
            self._steps_tangent(chunk)
            s.wall["tangent"] += time.perf_counter() - t0
            s.step += chunk
            self._check_finite(s.X)
            logr = self._orthonormalize(Q)
            if cfg.adaptive_ons:
                self._adapt(logr, chunk)
            if choosing and 2 * s.step > cfg.tangent_transient_steps:
                s.tt_log_sum = logr if s.tt_log_sum is None else s.tt_log_sum + logr
                s.tt_steps += chunk
            self._boundary()
        if choosing:
            self._choose_m()
        else:
            s.phase, s.step = "accumulate", 0

    def _choose_m(self) -> None:
        """m = "auto": m from the tangent transient's estimate (lyap_core.coverage)."""
        s, n = self.state, self.system.dim
        m = s.log_sum.size
        lam = s.tt_log_sum / (s.tt_steps * self.system.dt)
        m_new = choose_m(lam, m, n)
        if m_new > m:
            self._resize(m_new, "tangent")  # the added columns need their own transient
        elif m_new < m:
            self._resize(m_new, "accumulate")
        else:
            s.m_chosen, s.phase, s.step = True, "accumulate", 0

    def _adapt(self, logr: np.ndarray, chunk: int) -> None:
        """Choose steps per ONS so that the observed log condition number stays near target.

        Uses the largest growth seen so far in the tangent transient, and only there,
        so the accumulation runs with one fixed, recorded t_ONS (bit-reproducible).
        Growth is that of cond(Q) (spread of log|R_ii|) and of the norms themselves
        (max |log R_ii|: with m = 1 cond(Q) = 1, but the vector still over- or
        underflows). The new value divides the accumulation steps (t_sim is kept
        exactly), or with a target the first block length, and leaves at least
        ``n_blocks`` QRs in the accumulation so that no time block stays empty.
        """
        s, cfg = self.state, self.cfg
        s.max_growth = max(s.max_growth, _growth(logr) / chunk)
        if cfg.targeted:
            total = cap = cfg.min_block_steps
        else:
            total = cfg.steps_per_ons * cfg.n_ons
            cap = max(1, total // cfg.n_blocks)
        if s.max_growth:
            cap = min(cap, max(1, int(cfg.target_log_cond / s.max_growth)))
        s.steps_per_ons = max(d for d in range(1, cap + 1) if total % d == 0)
        s.n_ons = total // s.steps_per_ons if not cfg.targeted else 0

    def _accumulated(self) -> bool:
        s = self.state
        return bool(s.stopped_by) if self.cfg.targeted else s.step >= s.steps_per_ons * s.n_ons

    def _map_interval(self) -> int:
        """Steps to the next QR of a map with adaptive t_ONS, ending at most at a block's end.

        The last interval's growth of cond(Q) per step sets it (``next_per``), so that
        cond(Q) stays near ``map_target_log_cond``: a map's QR is most of its step time.
        """
        s = self.state
        k = max(1, s.next_per or s.steps_per_ons)
        if self.cfg.targeted:
            return min(k, s.block_len - int(s.block_steps[s.n_full]))
        total, nb = s.steps_per_ons * s.n_ons, s.block_sums.shape[0]
        b = s.step * nb // total
        return min(k, -(-(b + 1) * total // nb) - s.step)  # first step of block b + 1

    def _update_map_interval(self, logr: np.ndarray, per: int) -> None:
        s, cfg = self.state, self.cfg
        total = s.steps_per_ons * s.n_ons
        cap = cfg.min_block_steps if cfg.targeted else max(1, total // cfg.n_blocks)
        growth = _growth(logr) / per
        s.next_per = min(cap, max(1, int(cfg.map_target_log_cond / growth))) if growth else cap

    def _target_block(self, logr: np.ndarray, per: int) -> None:
        """Add one interval to the current block; at a block's end check the target."""
        s, cfg, n = self.state, self.cfg, self.system.dim
        s.block_sums[s.n_full] += logr
        s.block_steps[s.n_full] += per
        if s.block_steps[s.n_full] < s.block_len:
            return
        s.n_full += 1
        if s.n_full >= cfg.n_blocks:
            complete = s.log_sum.size == n
            e = running_errors(
                s.block_sums[: s.n_full], s.block_steps[: s.n_full], self.system.dt, complete
            )
            if cfg.m_auto:
                jk = math.isfinite(e.kaplan_yorke_stderr) or not math.isfinite(e.kaplan_yorke)
                m_new = enlarge_to(s.log_sum, s.log_sum.size, n, jackknife_defined=jk)
                if m_new is not None:
                    self._resize(m_new, "tangent")
                    return
            s.quiet_streak = s.quiet_streak + 1 if confidently_not_chaotic(e) else 0
            s.streak = s.streak + 1 if target_met(e, cfg.target_rel_stderr) else 0
            if s.quiet_streak >= STREAK:
                s.stopped_by = "not_chaotic"
            elif s.streak >= STREAK:
                s.stopped_by = "target"
        if not s.stopped_by and s.n_full == s.block_sums.shape[0]:
            merge_pairs(s.block_sums, s.block_steps)
            s.n_full //= 2
            s.block_len *= 2
        if not s.stopped_by and s.step + s.block_len > cfg.max_steps:
            s.stopped_by = "t_max"

    def _run_accumulation(self) -> None:
        s, cfg, sysm = self.state, self.cfg, self.system
        X, Q = s.X, s.X[:, 1:]
        per = self.state.steps_per_ons
        n_blocks = s.block_sums.shape[0]
        if cfg.targeted and s.block_len == 0:
            s.block_len = cfg.min_block_steps
        planned = cfg.max_steps // per if cfg.targeted else s.n_ons
        hist_stride = max(1, planned // cfg.n_history)
        dt = sysm.dt
        dynamic = cfg.adaptive_ons and not sysm.continuous  # maps: QR interval per interval
        while not self._accumulated():
            if dynamic:
                per = self._map_interval()
            t0 = time.perf_counter()
            if self._begin is not None:
                self._begin(X)
            for _ in range(per):
                x = X[:, 0]
                if self._has_div:
                    d = sysm.divergence(x)
                    if np.isnan(s.div_first):
                        s.div_first = d
                    s.div_sum += d
                if self._has_diag:
                    d = sysm.diagnostics(x)
                    s.diag_sum = d if s.diag_sum is None else s.diag_sum + d
                self._tangent_step(X, per)
            if self._end is not None:
                self._end(X)
            s.n_samples += per
            s.wall["tangent"] += time.perf_counter() - t0
            s.step += per
            self._check_finite(X)
            logr = self._orthonormalize(Q)
            self._check_finite(logr)
            s.log_sum += logr
            if dynamic:
                self._update_map_interval(logr, per)
            if cfg.targeted:
                self._target_block(logr, per)
                if self.state is not s:  # m = "auto" enlarged the frame: start again
                    self._boundary()
                    return
            else:  # block of the interval's first step (n_ons_done * B // n_ons at fixed t_ONS)
                b = (s.step - per) * n_blocks // (s.steps_per_ons * s.n_ons)
                s.block_sums[b] += logr
                s.block_steps[b] += per
            s.max_log_cond = max(s.max_log_cond, self.ortho.last_log_cond)
            s.pr_sum += participation_ratio(Q[:, 0])
            if cfg.pca and self.caps.rates:
                self._pca_sample(X[:, 0])
            if self._has_hist:  # once per QR interval: cheap next to the GEMMs
                c = sysm.log_dphi_histogram(X[:, 0])
                s.dphi_hist = c if s.dphi_hist is None else s.dphi_hist + c
            s.n_ons_done += 1
            if s.n_ons_done % hist_stride == 0 or self._accumulated():
                t = s.step * dt
                s.hist_time.append(t)
                s.hist_values.append(np.sort(s.log_sum / t)[::-1])
            self._boundary()
        if self._has_div and self._trapezoid:
            # trapezoid rule for the flow's integral of tr D: the left-point sum is only
            # first order in dt when tr D varies (autapses), the trapezoid reaches the
            # integrator's floor; applied once, when the accumulation completes.
            s.div_sum += 0.5 * (sysm.divergence(X[:, 0]) - s.div_first)
        if cfg.targeted:  # stops fall on block ends: keep the complete blocks
            s.block_sums, s.block_steps = s.block_sums[: s.n_full], s.block_steps[: s.n_full]
        else:
            s.stopped_by = "t_sim"
        s.phase = "done"

    def _pca_sample(self, x: np.ndarray) -> None:
        """Accumulate first and second moments of x and phi(x) (one sample per ONS)."""
        s, n = self.state, self.system.dim
        if s.pca_s1 is None:
            s.pca_s1 = np.zeros((2, n))
            s.pca_s2 = np.zeros((2, n, n), order="C")
        for k, v in enumerate((x, self.system.rates(x))):
            s.pca_s1[k] += v
            # rank-1 update, in place: the lower triangle of the Fortran view S.T is the upper of S
            blas.dsyr(1.0, v, a=s.pca_s2[k].T, lower=1, overwrite_a=1)
        s.pca_n += 1

    # -- driver ---------------------------------------------------------------------------
    def run(self) -> EngineState:
        if self.state.system_state and self.caps.state:
            self.system.set_state(self.state.system_state)
        phases = {
            "transient": self._run_transient,
            "tangent": self._run_tangent_transient,
            "accumulate": self._run_accumulation,
        }
        while self.state.phase != "done":  # m = "auto" may go back to the tangent transient
            phases[self.state.phase]()
        return self.state


def lyapunov_spectrum(
    system: Any,
    x0: np.ndarray,
    *,
    m: int | None = None,
    t_ons: float,
    t_sim: float,
    t_transient: float = 0.0,
    t_transient_tangent: float = 0.0,
    rng_onb: np.random.Generator | int = 0,
    qr: str = "cholqr2",
    n_blocks: int = 20,
    n_history: int = 200,
    params: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SpectrumResult:
    """Lyapunov spectrum of a tangent system (generic entry point).

    Times are in the system's units (``system.dt`` per step); each must be an
    integer multiple of ``system.dt`` (maps: dt = 1, times count steps), and t_sim
    of t_ons. ``m`` defaults to the full spectrum. See :func:`lyap_core.point.run_point`
    for the rate-network path with checkpoints.
    """
    dt = system.dt
    per = steps_in("t_ons", t_ons, dt)
    if per < 1:
        raise ValueError(f"t_ons: must be >= dt={dt}, got {t_ons}")
    total = steps_in("t_sim", t_sim, dt)
    if total < per or total % per:
        raise ValueError(f"t_sim: must be a positive integer multiple of t_ons={t_ons}")
    n_ons = total // per
    cfg = EngineConfig(
        m=system.dim if m is None else m,
        steps_per_ons=per,
        n_ons=n_ons,
        transient_steps=steps_in("t_transient", t_transient, dt),
        tangent_transient_steps=steps_in("t_transient_tangent", t_transient_tangent, dt),
        n_blocks=n_blocks,
        n_history=n_history,
        qr=qr,
    )
    capabilities(system)  # a non-system is refused in one line, before any step
    rng = rng_onb if isinstance(rng_onb, np.random.Generator) else np.random.default_rng(rng_onb)
    state = initial_state(system, np.asarray(x0, dtype=np.float64), cfg, rng)
    return finish(system, cfg, run_state(system, cfg, state, progress), params or {})


def run_state(
    system: Any,
    cfg: EngineConfig,
    state: EngineState,
    progress: Callable[[int, int], None] | None = None,
    on_boundary: Callable[[EngineState], None] | None = None,
) -> EngineState:
    """Run (or continue) the engine on ``state`` until it is done."""
    return Benettin(system, cfg, state, progress, on_boundary).run()


def finish(
    system: Any, cfg: EngineConfig, state: EngineState, params: dict[str, Any]
) -> SpectrumResult:
    """Turn a finished :class:`EngineState` into a :class:`SpectrumResult`."""
    if state.phase != "done":
        raise RuntimeError(f"engine state is in phase {state.phase!r}, not 'done'")
    res = summarize(system, cfg, state, params)
    for w in res.warnings:
        warnings.warn(w, NumericsWarning, stacklevel=3)
    return res
