"""Validated parameters of one spectrum computation (one grid point).

Every check raises :class:`ParamError` (a ``ValueError``) whose message starts
with the field name and states the allowed range, before any compute starts.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from .coverage import initial_m

MODELS = ("continuous", "discrete")
SCHEMES = ("rk4", "euler")
CONNECTIVITIES = ("gaussian", "sparse", "file")
QR_METHODS = ("cholqr2", "householder")
PHIS = ("tanh", "relu", "softplus", "sigmoid")
PRECISIONS = ("float64", "mixed")
MIN_BLOCK_ONS = 5  # with a target, the first time block is this many t_ons long


class ParamError(ValueError):
    """An invalid parameter; the message names the field and the allowed range."""


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_num(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def steps_in(name: str, value: float, dt: float) -> int:
    """value / dt as an integer step count, or ParamError naming ``name``."""
    k = round(value / dt)
    if k < 0 or not math.isclose(k * dt, value, rel_tol=1e-9, abs_tol=1e-12):
        raise ParamError(f"{name}: must be a non-negative integer multiple of dt={dt}, got {value}")
    return k


@dataclass(frozen=True)
class RunParams:
    """Parameters of a rate-network spectrum (see ``docs/NUMERICS.md`` for the defaults).

    Times are in units of tau for ``model="continuous"`` and in steps for
    ``model="discrete"`` (where ``dt`` is 1).

    ``adaptive_ons`` re-chooses the steps between QRs during the tangent transient so
    that the observed condition number of Q stays near 1e3 (the accumulation then uses
    that fixed value; for maps, ``model="discrete"``, each interval between QRs is
    re-chosen in the accumulation from the last one's condition number, kept near 1e4:
    a map's QR is most of its step time); ``bootstrap > 0`` replaces batch-means
    standard errors by a bootstrap over the time blocks with that many resamples.

    Time to answer (docs/NUMERICS.md, "accuracy targets", "m auto", "mixed precision"):
    ``target_rel_stderr`` = X > 0 accumulates until the relative standard errors of
    lambda_max, D_KY and H_KS (those defined) are <= X, or ``t_max`` (default ``t_sim``)
    is reached; the accumulation is at least ``n_blocks * 5 * t_ons`` long, and
    ``t_sim`` is not used. ``m = "auto"`` chooses the number of exponents in the
    tangent transient (:mod:`lyap_core.coverage`). ``precision = "mixed"`` propagates
    the tangent vectors in float32 (state, QR and sums in float64; continuous time only).

    Input: ``input_std`` is always a stationary standard deviation, of an
    Ornstein–Uhlenbeck process with correlation time ``input_tau`` > 0 (continuous
    time) or of i.i.d. Gaussian steps (discrete time). White noise has no stationary
    std, so ``input_tau = 0`` with ``input_std > 0`` is refused (at fixed std the
    tau -> 0 limit of OU is no input at all); white noise of a given intensity is
    available through :class:`lyap_core.inputs.WhiteInput`.

    Seeds: ``seed`` feeds four independent streams (network, initial condition,
    initial orthonormal system, input); each can be pinned separately with
    ``seed_network``/``seed_init``/``seed_onb``/``seed_input`` to separate quenched
    (network) from trajectory variability.
    """

    model: str = "continuous"
    n: int = 100
    g: float = 2.0
    phi: str = "tanh"
    connectivity: str = "gaussian"
    k: int | None = None
    coupling: str | None = None
    autapses: bool = False
    input_std: float = 0.0
    input_tau: float = 1.0
    dt: float | None = None
    scheme: str = "rk4"
    t_ons: float = 1.0
    t_sim: float = 200.0
    t_transient: float = 100.0
    t_transient_tangent: float | None = None
    m: int | str | None = None  # None: all N; "auto": chosen by the run
    seed: int = 0
    seed_network: int | None = None
    seed_init: int | None = None
    seed_onb: int | None = None
    seed_input: int | None = None
    qr: str = "cholqr2"
    n_blocks: int = 20
    bootstrap: int = 0
    adaptive_ons: bool = False
    target_rel_stderr: float | None = None
    t_max: float | None = None
    precision: str = "float64"

    def __post_init__(self) -> None:
        self._validate()

    # -- derived values -----------------------------------------------------------------
    @property
    def step(self) -> float:
        """Time advanced by one step (dt, or 1 for discrete time)."""
        if self.model == "discrete":
            return 1.0
        return 0.1 if self.dt is None else float(self.dt)

    @property
    def n_exponents(self) -> int:
        """Number of exponents computed (m, default N; with m = "auto", the initial m)."""
        if self.m == "auto":
            return initial_m(self.n)
        return self.n if self.m is None else self.m

    @property
    def t_min(self) -> float:
        """Shortest accumulation with a target: n_blocks blocks of 5 t_ons."""
        return self.n_blocks * MIN_BLOCK_ONS * self.t_ons

    @property
    def tangent_transient(self) -> float:
        """Tangent-space transient (default: half the state transient)."""
        if self.t_transient_tangent is not None:
            return float(self.t_transient_tangent)
        return float(self.step * round(0.5 * self.t_transient / self.step))

    def steps(self) -> dict[str, int]:
        """Integer step counts: per ONS, state transient, tangent transient, accumulation."""
        dt = self.step
        per_ons = steps_in("t_ons", self.t_ons, dt)
        n_ons = round(self.t_sim / self.t_ons)
        if not math.isclose(n_ons * self.t_ons, self.t_sim, rel_tol=1e-9):
            raise ParamError(
                f"t_sim: must be an integer multiple of t_ons={self.t_ons}, got {self.t_sim}"
            )
        out = {
            "per_ons": per_ons,
            "transient": steps_in("t_transient", self.t_transient, dt),
            "tangent_transient": steps_in("t_transient_tangent", self.tangent_transient, dt),
            "n_ons": n_ons,
        }
        if self.target_rel_stderr is not None:
            t_max = self.t_sim if self.t_max is None else self.t_max
            out["max"] = steps_in("t_max", t_max, dt)
            out["min_block"] = MIN_BLOCK_ONS * per_ons
        return out

    def seeds(self) -> dict[str, int]:
        """The seed of each random stream."""
        pick = {
            "network": self.seed_network,
            "init": self.seed_init,
            "onb": self.seed_onb,
            "input": self.seed_input,
        }
        return {k: self.seed if v is None else v for k, v in pick.items()}

    def to_dict(self) -> dict[str, Any]:
        """All fields plus the derived step and seeds (for provenance)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d.update(step=self.step, n_exponents=self.n_exponents, seeds_resolved=self.seeds())
        d["t_transient_tangent"] = self.tangent_transient
        return d

    def replace(self, **changes: Any) -> RunParams:
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunParams:
        """Build from a mapping, rejecting unknown keys by name."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ParamError(f"{unknown[0]}: unknown parameter; allowed: {sorted(names)}")
        return cls(**d)

    # -- validation ---------------------------------------------------------------------
    def _validate(self) -> None:  # noqa: C901 - a flat list of checks reads best
        def choice(name: str, allowed: tuple[str, ...]) -> None:
            v = getattr(self, name)
            if v not in allowed:
                raise ParamError(f"{name}: must be one of {list(allowed)}, got {v!r}")

        def integer(name: str, lo: int, hi: int | None = None, optional: bool = False) -> None:
            v = getattr(self, name)
            if optional and v is None:
                return
            rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
            if not _is_int(v) or v < lo or (hi is not None and v > hi):
                raise ParamError(f"{name}: must be an integer {rng}, got {v!r}")

        def number(name: str, lo: float, *, strict: bool, hi: float | None = None) -> None:
            v = getattr(self, name)
            ok = _is_num(v) and math.isfinite(v) and (v > lo if strict else v >= lo)
            ok = ok and (hi is None or v <= hi)
            if not ok:
                op = ">" if strict else ">="
                rng = f"a finite number {op} {lo}" + ("" if hi is None else f" and <= {hi}")
                raise ParamError(f"{name}: must be {rng}, got {v!r}")

        choice("model", MODELS)
        choice("scheme", SCHEMES)
        choice("connectivity", CONNECTIVITIES)
        choice("qr", QR_METHODS)
        if not (isinstance(self.phi, str) and self.phi in PHIS):
            raise ParamError(f"phi: must be one of {list(PHIS)}, got {self.phi!r}")
        integer("n", 1, 100_000)
        number("g", 0.0, strict=False)
        number("input_std", 0.0, strict=False)
        number("input_tau", 0.0, strict=False)
        if self.model == "continuous" and self.input_std > 0 and self.input_tau == 0:
            raise ParamError(
                "input_tau: must be > 0 when input_std > 0 (input_std is the stationary std "
                "of OU input; white noise, input_tau = 0, has none), got 0"
            )
        if not isinstance(self.autapses, bool):
            raise ParamError(f"autapses: must be true or false, got {self.autapses!r}")
        if self.model == "discrete":
            if self.dt is not None and self.dt != 1:
                raise ParamError(f"dt: discrete-time model steps by 1; got dt={self.dt!r}")
        elif self.dt is not None:
            number("dt", 0.0, strict=True, hi=1.0)
        number("t_ons", 0.0, strict=True)
        if self.t_ons < self.step:
            raise ParamError(f"t_ons: must be >= dt={self.step}, got {self.t_ons}")
        number("t_sim", 0.0, strict=True)
        if self.t_sim < self.t_ons:
            raise ParamError(f"t_sim: must be >= t_ons={self.t_ons}, got {self.t_sim}")
        number("t_transient", 0.0, strict=False)
        if self.t_transient_tangent is not None:
            number("t_transient_tangent", 0.0, strict=False)
        if self.m != "auto":
            try:
                integer("m", 1, self.n, optional=True)
            except ParamError:
                raise ParamError(
                    f"m: must be an integer in [1, {self.n}] or 'auto', got {self.m!r}"
                ) from None
        elif self.tangent_transient <= 0:
            raise ParamError("m: 'auto' is chosen in the tangent transient; needs it > 0")
        choice("precision", PRECISIONS)
        if self.precision == "mixed" and self.model == "discrete":
            raise ParamError(
                "precision: 'mixed' is for continuous time only (one step of a map can have "
                "cond(Q) ~ 1e10, beyond float32); use 'float64' with model='discrete'"
            )
        for name in ("seed", "seed_network", "seed_init", "seed_onb", "seed_input"):
            integer(name, 0, 2**63 - 1, optional=name != "seed")
        integer("n_blocks", 2, 10_000)
        integer("bootstrap", 0, 1_000_000)
        if not isinstance(self.adaptive_ons, bool):
            raise ParamError(f"adaptive_ons: must be true or false, got {self.adaptive_ons!r}")
        if self.connectivity == "sparse":
            integer("k", 1, self.n if self.autapses else self.n - 1)
        elif self.k is not None:
            raise ParamError(f"k: only used with connectivity='sparse', got k={self.k!r}")
        if self.connectivity == "file" and not (isinstance(self.coupling, str) and self.coupling):
            raise ParamError("coupling: a .npy/.npz path is required with connectivity='file'")
        if self.connectivity != "file" and self.coupling is not None:
            raise ParamError("coupling: a coupling file needs connectivity='file'")
        if self.target_rel_stderr is not None:
            number("target_rel_stderr", 0.0, strict=True, hi=1.0)
            if self.t_max is not None:
                number("t_max", 0.0, strict=True)
            name, t_max = ("t_sim", self.t_sim) if self.t_max is None else ("t_max", self.t_max)
            if t_max < self.t_min * (1 - 1e-9):
                raise ParamError(
                    f"{name}: the cap of a targeted run must be >= {self.t_min:g} (the "
                    f"shortest one: n_blocks={self.n_blocks} blocks of 5 t_ons), got {t_max:g}"
                )
        elif self.t_max is not None:
            raise ParamError("t_max: only used with target_rel_stderr (fixed runs use t_sim)")
        self.steps()  # integer step counts


TRAJECTORY_STREAMS = ("init", "onb", "input")  # the streams a trajectory index re-seeds


def trajectory_seeds(seed: int, trajectory: int) -> dict[str, int]:
    """Pinned seeds of trajectory ``trajectory`` on the network of ``seed``.

    Trajectory 0 is the seed's own run: no pins (``{}``), so its parameters, and every
    cached result, are those of a point without a trajectory. For t > 0 the network
    stream keeps ``seed`` (same J) while the initial condition, initial orthonormal
    system and input get ``seed_init, seed_onb, seed_input`` = the three uint32 words of
    ``numpy.random.SeedSequence((seed, t)).generate_state(3)``: deterministic, distinct
    per (seed, t), and independent of the other grid values.

    Raises
    ------
    ParamError
        If ``seed`` or ``trajectory`` is not a non-negative integer.
    """
    for name, v in (("seed", seed), ("trajectory", trajectory)):
        if not _is_int(v) or v < 0:
            raise ParamError(f"{name}: must be an integer >= 0, got {v!r}")
    if trajectory == 0:
        return {}
    words = np.random.SeedSequence((seed, trajectory)).generate_state(len(TRAJECTORY_STREAMS))
    return {f"seed_{k}": int(w) for k, w in zip(TRAJECTORY_STREAMS, words, strict=True)}


def params_dict(p: RunParams) -> dict[str, Any]:
    """Plain dict of the declared fields (round-trips through :meth:`RunParams.from_dict`)."""
    return asdict(p)
