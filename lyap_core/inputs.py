"""Input processes I(t), sampled exactly on the integrator's time grid.

The input never enters the Jacobian; it only shifts where the trajectory goes.
Each process owns its random Generator so that input noise is a stream of its own
(see :meth:`RunParams.seeds`), and exposes ``get_state``/``set_state`` for
bit-identical checkpoint/restart.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class InputProcess:
    """Base class: no input.

    ``stage_values()`` returns, for one integrator step starting at t, the input at
    the ``n_points`` grid times t + j*dt/(n_points-1) (j = 0..n_points-1), or at t
    alone when ``n_points == 1``; ``increment()`` returns an additive stochastic
    increment to apply after the deterministic step (white noise), or None.
    """

    additive: bool = False  # True: input enters as a post-step increment (white noise)

    def stage_values(self) -> list[np.ndarray] | None:
        return None

    def increment(self) -> np.ndarray | None:
        return None

    def get_state(self) -> dict[str, Any]:
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        del state


class _RandomInput(InputProcess):
    def __init__(self, n: int, std: float, rng: np.random.Generator):
        self.n, self.std, self.rng = n, float(std), rng

    def get_state(self) -> dict[str, Any]:
        return {"bit_generator": self.rng.bit_generator.state}

    def set_state(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["bit_generator"]


class OUInput(_RandomInput):
    """Ornstein–Uhlenbeck input: stationary std ``std``, correlation time ``tau``.

    dI = -I/tau dt + std sqrt(2/tau) dW, sampled with the exact transition
    I(t+h) = a I(t) + std sqrt(1-a^2) xi, a = exp(-h/tau), on a grid of spacing
    h = dt/(n_points-1) (RK4 needs t, t+dt/2, t+dt). Starts in the stationary state.
    """

    def __init__(self, n: int, std: float, tau: float, dt: float, n_points: int, rng):
        super().__init__(n, std, rng)
        self.n_points = n_points
        h = dt / max(n_points - 1, 1)
        self.a = float(np.exp(-h / tau))
        self.b = self.std * float(np.sqrt(-np.expm1(-2.0 * h / tau)))  # std*sqrt(1-a^2)
        self.current = self.std * rng.standard_normal(n)

    def stage_values(self) -> list[np.ndarray]:
        values = [self.current]
        for _ in range(max(self.n_points - 1, 1)):
            nxt = self.a * values[-1] + self.b * self.rng.standard_normal(self.n)
            values.append(nxt)
        self.current = values[-1]
        return values[: self.n_points]

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), "current": self.current.copy()}

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.current = np.array(state["current"], dtype=np.float64)


class WhiteInput(_RandomInput):
    """White-noise input of *intensity* ``std``: I dt = std dW (units 1/sqrt(tau)).

    ``std`` here is not a standard deviation: white noise has none. This is the
    tau -> 0 limit of OU input at fixed intensity, i.e. of stationary std
    std / sqrt(2 tau); at fixed stationary std that limit is no input, which is why
    :class:`lyap_core.RunParams` refuses ``input_tau = 0`` and this class is only
    built explicitly. Integrated by Euler–Maruyama as an additive increment
    std*sqrt(dt)*xi after the deterministic step (as in the authors' code).
    """

    additive = True

    def __init__(self, n: int, std: float, dt: float, rng):
        super().__init__(n, std, rng)
        self.scale = self.std * float(np.sqrt(dt))

    def increment(self) -> np.ndarray:
        return self.scale * self.rng.standard_normal(self.n)


class GaussianStepInput(_RandomInput):
    """Discrete time: I_t ~ Normal(0, std^2) i.i.d. per neuron and step."""

    additive = True

    def increment(self) -> np.ndarray:
        return self.std * self.rng.standard_normal(self.n)


def make_input(
    n: int,
    std: float,
    tau: float,
    *,
    continuous: bool,
    dt: float,
    n_points: int,
    rng: np.random.Generator,
) -> InputProcess:
    """The input process of stationary std ``std``: none (0), OU (continuous), i.i.d. (discrete).

    Raises
    ------
    ValueError
        For continuous time with ``tau = 0`` (white noise has no stationary std;
        build :class:`WhiteInput` of a given intensity explicitly).
    """
    if std == 0:
        return InputProcess()
    if not continuous:
        return GaussianStepInput(n, std, rng)
    if tau == 0:
        raise ValueError(
            "input_tau: must be > 0 when input_std > 0 (white noise has no stationary std)"
        )
    return OUInput(n, std, tau, dt, n_points, rng)
