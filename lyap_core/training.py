"""Trained rate networks: FORCE and backpropagation through time, and their Lyapunov spectra.

Two learning algorithms train the continuous-time rate network of the package,

    dh/dt = -h + J phi(h) + W_in u(t),   phi = tanh,   readout  z = W_out phi(h) + b_out,

on two standard tasks:

* :func:`train_force` - FORCE learning (Sussillo & Abbott 2009): recursive least squares
  (RLS) on the readout of a random network whose output is fed back, generating a
  periodic target autonomously. With feedback weights w_f the closed loop is again a
  rate network, with the rank-one modified coupling J = J0 + w_f W_out.
* :func:`train_bptt` - gradient descent through time (hand-written adjoint of the forward
  Euler map, Adam) on an n-bit flip-flop: input pulses set each output to +-1, which it
  must hold until the next pulse. With the input off, the trained recurrent weights J
  define the closed loop.

In both cases the closed loop is ``RateNetwork(J)``, so its Lyapunov spectrum is the one
of the package engine (:func:`trained_spectrum`) and ``J`` is what :func:`save_trained`
stores as the array ``J`` that :func:`lyap_core.load_coupling` reads. The scheme a network
was trained with (``TrainedNetwork.scheme``) is the one its spectrum uses by default:
RK4 for FORCE (the flow, to ~1e-4), the Euler map for BPTT (the map that was trained).

:func:`perturbation_recovery` measures how a perturbation of the state on the trained
attractor propagates, to compare with the exponents (error propagation and stability).
See ``docs/training.md`` for the measured numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.linalg import blas
from threadpoolctl import threadpool_limits

from .coupling import gaussian_coupling
from .engine import lyapunov_spectrum
from .models import RateNetwork
from .params import RunParams
from .point import build_network, rng_for
from .result import SpectrumResult

_ARRAYS = ("J", "J0", "w_out", "b_out", "w_in", "w_fb", "h0", "loss_history")
# input-off relaxation after the flip-flop test: memory states attract at rates >~ 0.25/tau,
# so 50 tau brings the state to within ~1e-6 of its fixed point
T_SETTLE = 50.0


@dataclass
class TrainedNetwork:
    """A trained rate network, its closed-loop coupling and how it was obtained.

    Attributes
    ----------
    J : ndarray, shape (N, N)
        Closed-loop coupling: the autonomous trained system is dh/dt = -h + J tanh(h).
        FORCE: J = J0 + w_fb W_out; BPTT: the trained recurrent weights.
    J0 : ndarray, shape (N, N)
        Coupling before training (FORCE: the fixed random network; BPTT: the initial J).
    w_out, b_out : ndarray, shapes (n_out, N), (n_out,)
        Readout z = w_out tanh(h) + b_out.
    w_in : ndarray, shape (N, n_in)
        Input weights (n_in = 0 for FORCE).
    w_fb : ndarray, shape (N, n_out) or (N, 0)
        Output feedback weights (FORCE), already folded into ``J``.
    h0 : ndarray, shape (N,)
        A state on the trained attractor (end of the test run, input off): the start
        of spectra and perturbation experiments.
    task, algorithm : str
        E.g. ``"periodic"`` / ``"force"``, ``"flipflop"`` / ``"bptt"``.
    seed : int
        Seed of all random draws (network, data, initial state).
    dt, scheme : float, str
        Step and integrator of the trained dynamics (``"rk4"`` or ``"euler"``).
    train_error, test_error : float
        Normalised mean squared error, sum (z - z*)^2 / sum (z* - <z*>)^2, at the end of
        training and on held-out data run freely with the final weights.
    bit_accuracy : float
        Flip-flop only (NaN otherwise): fraction of held-out scored samples whose output
        has the sign of the target.
    hyperparameters : dict
        Everything else needed to repeat the training (JSON-serialisable).
    loss_history : ndarray
        Training error per period (FORCE) or loss per iteration (BPTT).
    """

    J: np.ndarray
    J0: np.ndarray
    w_out: np.ndarray
    b_out: np.ndarray
    w_in: np.ndarray
    w_fb: np.ndarray
    h0: np.ndarray
    task: str
    algorithm: str
    seed: int
    dt: float
    scheme: str
    train_error: float
    test_error: float
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    loss_history: np.ndarray = field(default_factory=lambda: np.zeros(0))
    bit_accuracy: float = float("nan")

    @property
    def n(self) -> int:
        return self.J.shape[0]

    def readout(self, h: np.ndarray) -> np.ndarray:
        """z = w_out tanh(h) + b_out for states h of shape (..., N); returns (..., n_out)."""
        return np.tanh(h) @ self.w_out.T + self.b_out

    def network(self, untrained: bool = False) -> RateNetwork:
        """The autonomous closed loop (input off) as a :class:`RateNetwork` (J0 if untrained)."""
        return RateNetwork(self.J0 if untrained else self.J, dt=self.dt, scheme=self.scheme)


def nmse(z: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Normalised mean squared error sum m (z - z*)^2 / sum m (z* - <z*>_m)^2.

    1 for an output stuck at the target mean, 2 for an uncorrelated one of equal variance.
    """
    m = np.ones_like(target) if mask is None else mask
    mean = np.sum(m * target) / np.sum(m)
    return float(np.sum(m * (z - target) ** 2) / np.sum(m * (target - mean) ** 2))


# -- tasks -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodicTask:
    """Generate :func:`periodic_target` autonomously after a trigger.

    Every trial starts with an input pulse u = 1 of ``trigger_len`` tau (the start cue that
    BPTT needs: from rest with no input the network would stay at h = 0); the target is
    f(t) from t = dt on, scored everywhere except during the trigger. FORCE sees the same
    single trial, so the trigger only perturbs the start of its training run.
    """

    period: float = 12.0
    trigger_len: float = 1.0
    name: str = "periodic"
    n_in: int = 1
    n_out: int = 1

    @property
    def cycle(self) -> float:
        """The task's time scale (tau): one period."""
        return self.period

    def trials(
        self, n_trials: int, n_steps: int, dt: float, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """u, target, mask of shape (n_steps, n_trials, 1); target[k] = f((k + 1) dt)."""
        shape = (n_steps, n_trials, 1)
        on = np.arange(n_steps) < round(self.trigger_len / dt)
        u = np.broadcast_to(on[:, None, None], shape).astype(np.float64)
        f = periodic_target(np.arange(1, n_steps + 1) * dt, self.period)
        target = np.broadcast_to(f[:, None, None], shape).copy()
        return u, target, 1.0 - u

    def params(self) -> dict[str, Any]:
        return {"period": self.period, "trigger_len": self.trigger_len}


@dataclass(frozen=True)
class FlipFlopTask:
    """The n-bit flip-flop of :func:`flipflop_trials` (targets held between pulses)."""

    n_bits: int = 2
    pulse_rate: float = 0.1
    pulse_len: float = 1.0
    name: str = "flipflop"

    @property
    def n_in(self) -> int:
        return self.n_bits

    @property
    def n_out(self) -> int:
        return self.n_bits

    @property
    def cycle(self) -> float:
        """The task's time scale (tau): the mean interval between a bit's pulses."""
        return 1.0 / self.pulse_rate

    def trials(
        self, n_trials: int, n_steps: int, dt: float, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return flipflop_trials(
            n_trials,
            n_steps,
            n_bits=self.n_bits,
            dt=dt,
            pulse_rate=self.pulse_rate,
            pulse_len=self.pulse_len,
            rng=rng,
        )

    def params(self) -> dict[str, Any]:
        return {"n_bits": self.n_bits, "pulse_rate": self.pulse_rate, "pulse_len": self.pulse_len}


Task = PeriodicTask | FlipFlopTask
TASKS = {"periodic": PeriodicTask, "flipflop": FlipFlopTask}


def make_task(name: str, **params: Any) -> Task:
    """The task called ``name`` (``"periodic"`` or ``"flipflop"``) with its parameters."""
    if name not in TASKS:
        raise ValueError(f"task: must be one of {', '.join(TASKS)}, got {name!r}")
    return TASKS[name](**params)


def bit_accuracy(z: np.ndarray, target: np.ndarray, mask: np.ndarray) -> float:
    """Fraction of scored samples (mask > 0) where sign(z) equals the target's sign."""
    scored = mask > 0
    return float(np.mean(np.sign(z[scored]) == np.sign(target[scored])))


# -- FORCE -------------------------------------------------------------------------------------


def periodic_target(t: np.ndarray | float, period: float = 12.0) -> np.ndarray:
    """The four-sine waveform of the FORCE demo code of Sussillo & Abbott (2009, Fig. 2D).

    f(t) = (1.3/1.5) [sin(w t) + sin(2 w t)/2 + sin(3 w t)/6 + sin(4 w t)/3],  w = 2 pi/period.

    The demo's period is 120 tau; the default here is 12 tau, within the intrinsic time
    scales of a g = 1.5 network, so that N = 300 learns it in seconds (longer periods give
    weaker transverse stability and more phase drift; docs/training.md).
    """
    w = 2.0 * np.pi / period * np.asarray(t, dtype=np.float64)
    return (1.3 / 1.5) * (np.sin(w) + np.sin(2 * w) / 2 + np.sin(3 * w) / 6 + np.sin(4 * w) / 3)


def _rk4(h: np.ndarray, rhs: Any, dt: float) -> np.ndarray:
    k1 = rhs(h)
    k2 = rhs(h + 0.5 * dt * k1)
    k3 = rhs(h + 0.5 * dt * k2)
    k4 = rhs(h + dt * k3)
    return h + (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def rls_step(P: np.ndarray, w: np.ndarray, r: np.ndarray, err: float) -> np.ndarray:
    """One recursive-least-squares step on the readout w (Sussillo & Abbott 2009).

    k = P r,  c = 1 / (1 + r.k),  P <- P - c k k^T,  w <- w - c err k,
    with err = w.r - f the a-priori error. P (Fortran order) is updated in place
    by a BLAS rank-one update; returns the new w. From P = I/alpha and w = 0 this is exact
    ridge regression: P = (alpha I + sum r r^T)^-1, w = P sum f r.
    """
    k = P @ r
    c = 1.0 / (1.0 + r @ k)
    blas.dger(-c, k, k, a=P, overwrite_a=1)
    # several outputs (w of shape (n_out, N), err of shape (n_out,)) share P
    return w - c * np.multiply.outer(err, k)


def train_force(
    n: int = 300,
    g: float = 1.5,
    *,
    task: Task | None = None,
    dt: float = 0.1,
    alpha: float = 1.0,
    t_warmup: float = 50.0,
    n_train_periods: int = 40,
    n_test_periods: int = 20,
    seed: int = 0,
) -> TrainedNetwork:
    """FORCE-train a rate network with its output fed back on ``task``.

    During training the network is dh/dt = -h + J0 tanh(h) + W_f z + W_in u(t),
    z = W tanh(h), integrated by RK4 at ``dt`` with W and u held fixed within a step; after
    every step W is updated by :func:`rls_step` (P(0) = I/alpha) towards the task's target
    of one long trial (for the flip-flop: the held value of each bit). After training the
    loop runs freely with J = J0 + W_f W for ``n_test_periods`` task cycles of the same
    trial continued and its output is compared with the target (for the periodic task the
    test error therefore includes any phase drift of the learned cycle).

    Parameters
    ----------
    n, g : int, float
        Size and gain of J0 ~ N(0, g^2/N), zero diagonal (:func:`gaussian_coupling`).
    task : PeriodicTask or FlipFlopTask, optional
        Default ``PeriodicTask()`` (period 12 tau).
    alpha : float
        RLS regulariser (inverse learning rate), P(0) = I/alpha.
    t_warmup : float
        Free run (W = 0, u = 0) before learning starts, to reach the spontaneous attractor.
    n_train_periods, n_test_periods : int
        Length of learning and of the free-running test, in units of ``task.cycle``.
    seed : int
        Seeds J0, W_f ~ U(-1, 1), h(0) ~ N(0, 0.25), W_in ~ N(0, 1) and the trial.

    Returns
    -------
    TrainedNetwork
        ``train_error``: NMSE of the a-priori output over the last two training cycles.
    """
    task = PeriodicTask() if task is None else task
    rng = np.random.default_rng(seed)
    J0 = gaussian_coupling(n, g, rng)
    w_fb = rng.uniform(-1.0, 1.0, (n, task.n_out))
    h = 0.5 * rng.standard_normal(n)
    w_in = rng.standard_normal((n, task.n_in))
    w = np.zeros((task.n_out, n))
    P = np.asfortranarray(np.eye(n) / alpha)
    steps_per_cycle = round(task.cycle / dt)
    n_train = n_train_periods * steps_per_cycle
    n_test = n_test_periods * steps_per_cycle
    u, f, mask = (x[:, 0] for x in task.trials(1, n_train + n_test, dt, rng))
    drive = u @ w_in.T  # (T, N)
    d = np.zeros(n)

    def rhs(x: np.ndarray) -> np.ndarray:
        r = np.tanh(x)
        return -x + J0 @ r + w_fb @ (w @ r) + d

    with threadpool_limits(1):
        for _ in range(round(t_warmup / dt)):
            h = _rk4(h, rhs, dt)
        z = np.empty((n_train + n_test, task.n_out))
        for i in range(n_train):
            d = drive[i]
            h = _rk4(h, rhs, dt)
            r = np.tanh(h)
            z[i] = w @ r
            w = rls_step(P, w, r, z[i] - f[i])
        for i in range(n_train, n_train + n_test):  # W frozen: the closed loop J0 + W_f W
            d = drive[i]
            h = _rk4(h, rhs, dt)
            z[i] = w @ np.tanh(h)
        J = np.asfortranarray(J0 + w_fb @ w)
        h0 = h.copy()
        net = RateNetwork(J, dt=dt, scheme="rk4")
        for _ in range(round(T_SETTLE / dt)):
            net.step_state(h0)
    # per cycle: MSE over the variance of the whole target (a flip-flop bit can be constant
    # over one cycle); for the periodic target this is each period's NMSE
    variance = float(np.var(f[:n_train]))
    per_cycle = [
        float(np.mean((z[k : k + steps_per_cycle] - f[k : k + steps_per_cycle]) ** 2)) / variance
        for k in range(0, n_train, steps_per_cycle)
    ]
    last = slice(n_train - 2 * steps_per_cycle, n_train)
    test = slice(n_train, n_train + n_test)
    return TrainedNetwork(
        J=J,
        J0=J0,
        w_out=w,
        b_out=np.zeros(task.n_out),
        w_in=w_in,
        w_fb=w_fb,
        h0=h0,
        task=task.name,
        algorithm="force",
        seed=seed,
        dt=dt,
        scheme="rk4",
        train_error=nmse(z[last], f[last], mask[last]),
        test_error=nmse(z[test], f[test], mask[test]),
        bit_accuracy=bit_accuracy(z[test], f[test], mask[test])
        if task.name == "flipflop"
        else float("nan"),
        hyperparameters={
            "n": n,
            "g": g,
            **task.params(),
            "alpha": alpha,
            "t_warmup": t_warmup,
            "n_train_periods": n_train_periods,
            "n_test_periods": n_test_periods,
        },
        loss_history=np.array(per_cycle),
    )


# -- BPTT on the flip-flop task ----------------------------------------------------------------


def flipflop_trials(
    n_trials: int,
    n_steps: int,
    *,
    n_bits: int = 2,
    dt: float = 0.1,
    pulse_rate: float = 0.1,
    pulse_len: float = 1.0,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random n-bit flip-flop trials.

    Each bit receives pulses of height +-1 (random sign) lasting ``pulse_len`` tau: one at
    t = 0, then onsets at rate ``pulse_rate`` per tau once the previous pulse is over.
    The target of a bit is the sign of its latest pulse; it is scored (mask 1) only
    outside pulses, i.e. while the value must be held.

    Returns
    -------
    u, target, mask : ndarray, each of shape (n_steps, n_trials, n_bits)
    """
    width = max(1, round(pulse_len / dt))
    shape = (n_steps, n_trials, n_bits)
    # all random numbers drawn up front: the loop below only does cheap bookkeeping
    onset_draw = rng.random(shape) < pulse_rate * dt
    onset_draw[0] = True
    sign_draw = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    u = np.zeros(shape)
    target = np.zeros(shape)
    mask = np.zeros(shape)
    value = np.zeros((n_trials, n_bits))
    left = np.zeros((n_trials, n_bits), dtype=np.int64)  # steps left in the current pulse
    for t in range(n_steps):
        onset = (left == 0) & onset_draw[t]
        value[onset] = sign_draw[t][onset]
        left[onset] = width
        pulsing = left > 0
        u[t][pulsing] = value[pulsing]
        target[t] = value
        mask[t] = ~pulsing
        left[pulsing] -= 1
    return u, target, mask


def rnn_forward(
    params: dict[str, np.ndarray], u: np.ndarray, dt: float
) -> tuple[np.ndarray, np.ndarray]:
    """States and rates of the forward-Euler rate network driven by u, each (T+1, B, N).

    h_{t+1} = (1 - dt) h_t + dt (J tanh(h_t) + W_in u_t),  h_0 = 0 (every trial starts at rest).
    The output at step t (t = 1..T) is z_t = W_out tanh(h_t) + b_out.
    """
    J, w_in = params["J"], params["w_in"]
    T, B = u.shape[:2]
    H = np.empty((T + 1, B, J.shape[0]))
    R = np.empty_like(H)
    H[0] = 0.0
    drive = u @ w_in.T  # (T, B, N): one GEMM for all steps
    for t in range(T):
        R[t] = np.tanh(H[t])
        H[t + 1] = (1.0 - dt) * H[t] + dt * (R[t] @ J.T + drive[t])
    R[T] = np.tanh(H[T])
    return H, R


def loss_and_grad(
    params: dict[str, np.ndarray],
    u: np.ndarray,
    target: np.ndarray,
    mask: np.ndarray,
    dt: float,
) -> tuple[float, dict[str, np.ndarray]]:
    """Masked mean squared output error and its exact gradient (adjoint / BPTT).

    L = sum_{t,b,k} m (z - z*)^2 / sum m. With a_t = dL/dh_t and e_t = dL/dz_t
    (e_t = 2 m (z_t - z*_t) / sum m), the adjoint of the Euler map runs backwards:

        a_T = phi'(h_T) * (e_T W_out),
        a_t = (1 - dt) a_{t+1} + phi'(h_t) * (dt a_{t+1} J + e_t W_out),   t = T-1..1,

    and dL/dJ = dt sum_t a_{t+1}^T phi(h_t), dL/dW_in = dt sum_t a_{t+1}^T u_t,
    dL/dW_out = sum_t e_t^T phi(h_t), dL/db_out = sum_t e_t (t = 0..T-1 for the first two,
    1..T for the last two).
    """
    J, w_out = params["J"], params["w_out"]
    H, R = rnn_forward(params, u, dt)
    z = R[1:] @ w_out.T + params["b_out"]
    norm = np.sum(mask)
    diff = mask * (z - target)
    loss = float(np.sum(diff * (z - target)) / norm)
    e = (2.0 / norm) * diff  # (T, B, n_out)
    T = u.shape[0]
    from_out = e @ w_out  # (T, B, N): dL/dphi(h_t) through the readout, t = 1..T
    # phi'(h_t), t = 1..T. 1 - tanh^2 loses relative accuracy only where phi' < 1e-16, which
    # a gradient does not notice (unlike log phi' in the sum rule); it halves the cost here.
    D = 1.0 - R[1:] ** 2
    A = np.empty_like(D)  # A[t-1] = a_t
    a = D[T - 1] * from_out[T - 1]
    A[T - 1] = a
    for t in range(T - 1, 0, -1):
        a = (1.0 - dt) * a + D[t - 1] * (dt * (a @ J) + from_out[t - 1])
        A[t - 1] = a
    # sums over time and batch as single GEMMs over the flattened (t, b) axis
    flat = -1, H.shape[2]
    grads = {
        "J": dt * A.reshape(flat).T @ R[:-1].reshape(flat),
        "w_in": dt * A.reshape(flat).T @ u.reshape(-1, u.shape[2]),
        "w_out": e.reshape(-1, e.shape[2]).T @ R[1:].reshape(flat),
        "b_out": e.sum(axis=(0, 1)),
    }
    return loss, grads


@dataclass
class Adam:
    """Adam (Kingma & Ba 2015) on a dict of arrays, with global gradient-norm clipping."""

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    clip: float = 1.0
    t: int = 0
    m: dict[str, np.ndarray] = field(default_factory=dict)
    v: dict[str, np.ndarray] = field(default_factory=dict)

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Update ``params`` in place."""
        norm = np.sqrt(sum(float(np.sum(gr * gr)) for gr in grads.values()))
        scale = min(1.0, self.clip / norm) if norm > 0 else 1.0  # tame exploding gradients
        self.t += 1
        for k, gr in grads.items():
            gr = scale * gr
            m = self.m[k] = self.beta1 * self.m.get(k, 0.0) + (1 - self.beta1) * gr
            v = self.v[k] = self.beta2 * self.v.get(k, 0.0) + (1 - self.beta2) * gr * gr
            mhat = m / (1 - self.beta1**self.t)
            vhat = v / (1 - self.beta2**self.t)
            params[k] -= self.lr * mhat / (np.sqrt(vhat) + self.eps)


def train_bptt(
    n: int = 64,
    g: float = 1.5,
    *,
    task: Task | None = None,
    dt: float = 0.1,
    t_trial: float = 30.0,
    batch: int = 32,
    n_iter: int = 600,
    lr: float = 3e-3,
    n_test: int = 64,
    t_test: float = 120.0,
    seed: int = 0,
) -> TrainedNetwork:
    """Train a rate network on ``task`` by gradient descent through time.

    The forward-Euler network of :func:`rnn_forward` (J, W_in, W_out, b_out all trained;
    no recurrent bias, so the closed loop is exactly ``RateNetwork(J)``) minimises the
    masked MSE of :func:`loss_and_grad` on fresh random trials every iteration, with
    :class:`Adam` (gradient norm clipped at 1).

    Parameters
    ----------
    n, g : int, float
        Size and gain of the initial J ~ N(0, g^2/N).
    task : FlipFlopTask or PeriodicTask, optional
        Default ``FlipFlopTask()`` (2 bits, pulses at 0.1/tau of 1 tau).
    t_trial, batch, n_iter, lr : float, int, int, float
        Trial length (tau), trials per iteration, iterations, Adam learning rate.
    n_test, t_test : int, float
        Held-out test trials; ``t_test`` longer than ``t_trial`` checks that values are
        held (or the cycle generated) beyond the training horizon.

    Returns
    -------
    TrainedNetwork
        ``train_error``: NMSE on a fresh training-length batch after training;
        ``test_error``: NMSE on the held-out trials; ``h0``: the state after the test
        trials followed by ``T_SETTLE`` tau with the input off (on the attractor).
    """
    task = FlipFlopTask() if task is None else task
    rng = np.random.default_rng(seed)
    J0 = gaussian_coupling(n, g, rng)
    params = {
        "J": np.array(J0, order="C"),
        "w_in": rng.standard_normal((n, task.n_in)),
        "w_out": rng.standard_normal((task.n_out, n)) / np.sqrt(n),
        "b_out": np.zeros(task.n_out),
    }
    opt = Adam(lr=lr)
    steps = round(t_trial / dt)

    def trials(n_trials: int, n_steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return task.trials(n_trials, n_steps, dt, rng)

    def error(
        u: np.ndarray, target: np.ndarray, mask: np.ndarray
    ) -> tuple[float, float, np.ndarray]:
        H, R = rnn_forward(params, u, dt)
        z = R[1:] @ params["w_out"].T + params["b_out"]
        return nmse(z, target, mask), bit_accuracy(z, target, mask), H[-1]

    history = np.empty(n_iter)
    with threadpool_limits(1):
        for i in range(n_iter):
            history[i], grads = loss_and_grad(params, *trials(batch, steps), dt)
            opt.step(params, grads)
        train_error, _, _ = error(*trials(batch, steps))
        test_error, accuracy, h_end = error(*trials(n_test, round(t_test / dt)))
        J = np.asfortranarray(params["J"])
        h0 = h_end[0].copy()
        net = RateNetwork(J, dt=dt, scheme="euler")
        for _ in range(round(T_SETTLE / dt)):
            net.step_state(h0)
    return TrainedNetwork(
        J=J,
        J0=J0,
        w_out=params["w_out"],
        b_out=params["b_out"],
        w_in=params["w_in"],
        w_fb=np.zeros((n, 0)),
        h0=h0,
        task=task.name,
        algorithm="bptt",
        seed=seed,
        dt=dt,
        scheme="euler",
        train_error=train_error,
        test_error=test_error,
        bit_accuracy=accuracy if task.name == "flipflop" else float("nan"),
        hyperparameters={
            "n": n,
            "g": g,
            **task.params(),
            "t_trial": t_trial,
            "batch": batch,
            "n_iter": n_iter,
            "lr": lr,
            "n_test": n_test,
            "t_test": t_test,
        },
        loss_history=history,
    )


# -- saving ------------------------------------------------------------------------------------


def save_trained(tn: TrainedNetwork, path: str | Path) -> Path:
    """Save as ``.npz``: the closed-loop coupling as array ``J`` plus everything else.

    ``lyap_core.load_coupling(path)`` (and ``lyap spectrum --coupling path``) read ``J``;
    :func:`load_trained` restores the whole :class:`TrainedNetwork`. Scalars and
    hyperparameters are stored as a JSON string (no pickles).
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"path: must end in .npz, got {path}")
    meta = {
        "task": tn.task,
        "algorithm": tn.algorithm,
        "seed": tn.seed,
        "dt": tn.dt,
        "scheme": tn.scheme,
        "train_error": tn.train_error,
        "test_error": tn.test_error,
        "bit_accuracy": tn.bit_accuracy,
        "hyperparameters": tn.hyperparameters,
    }
    arrays = {k: np.asarray(getattr(tn, k)) for k in _ARRAYS}
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)
    return path


def load_trained(path: str | Path) -> TrainedNetwork:
    """Inverse of :func:`save_trained`."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        meta["bit_accuracy"] = float(meta.get("bit_accuracy", float("nan")))  # older files
        arrays = {k: z[k] for k in _ARRAYS}
    arrays["J"] = np.asfortranarray(arrays["J"])
    return TrainedNetwork(**arrays, **meta)


# -- analysis ----------------------------------------------------------------------------------


def trained_spectrum(
    tn: TrainedNetwork,
    *,
    untrained: bool = False,
    coupling: str | Path | None = None,
    m: int | None = None,
    t_sim: float = 1000.0,
    t_transient: float = 100.0,
    t_transient_tangent: float = 300.0,
    t_ons: float = 1.0,
    seed: int = 0,
) -> SpectrumResult:
    """Lyapunov spectrum of the trained closed loop (input off), started on its attractor.

    The parameters are validated as a ``connectivity="file"`` run (``coupling`` is
    recorded in ``result.params``; it should be the path the network was saved to) and
    the network is built by :func:`lyap_core.build_network` with ``J = tn.J``, i.e. the
    same system ``run_point`` integrates, at ``tn.dt`` with ``tn.scheme``. Unlike
    ``run_point`` the state starts at ``tn.h0`` on the trained attractor rather than at
    a random point, which may lie in the basin of another attractor.

    Parameters
    ----------
    untrained : bool
        Use J0 (the network before training) instead, from the same start.
    m : int, optional
        Number of exponents (default all N).
    t_sim, t_transient, t_transient_tangent, t_ons : float
        Engine times (tau). The tangent transient should be several 1/|lambda_2|:
        the phase exponent of a limit cycle converges only as 1/t_sim.
    seed : int
        Seed of the initial orthonormal system (the ``onb`` stream of ``RunParams``).
    """
    label = "J0" if untrained else "J"
    p = RunParams(
        n=tn.n,
        g=float(tn.hyperparameters.get("g", 0.0)),
        connectivity="file",
        coupling=str(coupling) if coupling is not None else f"<{tn.task}/{tn.algorithm}:{label}>",
        dt=tn.dt,
        scheme=tn.scheme,
        t_ons=t_ons,
        t_sim=t_sim,
        t_transient=t_transient,
        t_transient_tangent=t_transient_tangent,
        m=m,
        seed=seed,
    )
    with threadpool_limits(1):
        system = build_network(p, tn.J0 if untrained else tn.J)
        return lyapunov_spectrum(
            system,
            tn.h0,
            m=p.n_exponents,
            t_ons=t_ons,
            t_sim=t_sim,
            t_transient=t_transient,
            t_transient_tangent=p.tangent_transient,
            rng_onb=rng_for(p, "onb"),
            n_blocks=p.n_blocks,
            params=p.to_dict(),
        )


@dataclass
class Recovery:
    """Propagation of small perturbations of the state on an attractor.

    Attributes
    ----------
    t : ndarray
        Times after the perturbation.
    distance : ndarray
        Geometric mean over directions of |h_pert(t) - h_ref(t)|.
    transverse : ndarray
        Same with the component along the flow f(h_ref) removed: the distance from the
        reference *orbit* to first order, which discards a pure phase shift.
    output_error : ndarray
        RMS over directions and outputs of z_pert(t) - z_ref(t).
    output_error_dirs : ndarray, shape (len(t), n_dirs)
        RMS over outputs of z_pert(t) - z_ref(t), per direction.
    growth_rate, transverse_rate : float
        Slopes of log distance and log transverse (:func:`log_slope`, window as in
        :func:`perturbation_recovery`): compare with lambda_1 and, on a limit cycle,
        with lambda_2.
    """

    t: np.ndarray
    distance: np.ndarray
    transverse: np.ndarray
    output_error: np.ndarray
    output_error_dirs: np.ndarray
    growth_rate: float
    transverse_rate: float

    def recovered_fraction(self, threshold: float, t_window: float = 20.0) -> float:
        """Fraction of directions whose output error stays below ``threshold`` over the last
        ``t_window`` tau: the perturbation has died out (or, on a limit cycle, left only a
        small phase shift) rather than grown to the size of the output."""
        late = self.t >= self.t[-1] - t_window
        return float(np.mean(np.max(self.output_error_dirs[late], axis=0) < threshold))


def log_slope(t: np.ndarray, d: np.ndarray, t_skip: float, d_min: float, d_max: float) -> float:
    """Least-squares slope of log d(t) from t_skip until d first leaves [d_min, d_max].

    The window ends where d reaches the nonlinear regime (d_max) or the round-off floor
    of a difference of two states (d_min); NaN if fewer than two samples remain.
    """
    start = int(np.searchsorted(t, t_skip))
    outside = np.nonzero((d[start:] < d_min) | (d[start:] > d_max))[0]
    end = start + (outside[0] if outside.size else d.size - start)
    if end - start < 2:
        return float("nan")
    return float(np.polyfit(t[start:end], np.log(d[start:end]), 1)[0])


def perturbation_recovery(
    tn: TrainedNetwork,
    eps: float = 1e-6,
    *,
    t_max: float = 200.0,
    n_dirs: int = 8,
    t_skip: float = 20.0,
    untrained: bool = False,
    seed: int = 0,
) -> Recovery:
    """Evolve the attractor state ``tn.h0`` and ``n_dirs`` copies displaced by ``eps``.

    Directions are uniform on the sphere; all trajectories are columns of one array
    advanced by the closed loop's own integrator (``tn.network``), input off. For small
    eps, log distance grows at lambda_1 after an alignment time (t_skip); on a limit
    cycle lambda_1 = 0 (the phase shift persists) and the transverse part decays at
    lambda_2. The fits start at ``t_skip`` and stop where a distance reaches 1 % of |h0|
    (nonlinear regime) or falls to 1e-10 |h0| (round-off floor).
    """
    net = tn.network(untrained)
    rng = np.random.default_rng(seed)
    dirs = rng.standard_normal((tn.n, n_dirs))
    dirs /= np.linalg.norm(dirs, axis=0)
    X = np.asfortranarray(np.column_stack([tn.h0, tn.h0[:, None] + eps * dirs]))
    n_steps = round(t_max / tn.dt)
    dist, trans = np.empty(n_steps + 1), np.empty(n_steps + 1)
    out = np.empty((n_steps + 1, n_dirs))
    J = net.J

    def record(i: int) -> None:
        ref, delta = X[:, 0], X[:, 1:] - X[:, :1]
        flow = -ref + J @ np.tanh(ref)
        unit = flow / max(np.linalg.norm(flow), np.finfo(float).tiny)  # 0 at a fixed point
        perp = delta - np.outer(unit, unit @ delta)
        dist[i] = np.exp(np.mean(np.log(np.linalg.norm(delta, axis=0))))
        trans[i] = np.exp(np.mean(np.log(np.linalg.norm(perp, axis=0))))
        dz = tn.readout(X[:, 1:].T) - tn.readout(ref)
        out[i] = np.sqrt(np.mean(dz**2, axis=1))

    with threadpool_limits(1):
        record(0)
        for i in range(1, n_steps + 1):
            net.step_state(X)
            record(i)
    t = np.arange(n_steps + 1) * tn.dt
    size = float(np.linalg.norm(tn.h0))
    return Recovery(
        t=t,
        distance=dist,
        transverse=trans,
        output_error=np.sqrt(np.mean(out**2, axis=1)),
        output_error_dirs=out,
        growth_rate=log_slope(t, dist, t_skip, 1e-10 * size, 0.01 * size),
        transverse_rate=log_slope(t, trans, t_skip, 1e-10 * size, 0.01 * size),
    )
