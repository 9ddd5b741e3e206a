"""Shared fixtures: rate networks proved chaotic before any consistency test uses them.

A consistency test (t_ons independence, sparse vs dense, partial vs full, seeds -> bits,
integrator order, resumes, error calibration) is only informative on a chaotic network:
on a fixed point every method agrees trivially. :func:`chaotic` runs each network once
per session (T = 200 after a transient of 100) and fails the requesting test unless
lambda_max exceeds 5 of its standard errors; it also returns a state on the attractor
(the end of the state transient) so that short runs can start there.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import lyap_core as lc
from lyap_core.point import rng_for

# Chosen by a scan of small networks (most N <= 100 draws at g = 3 are not chaotic);
# lambda_max / s.e. measured in that scan (T = 200): 9.4, 7.9, 5.7, 10.5.
CHAOTIC_POINTS: dict[str, dict] = {
    "continuous": dict(n=80, g=5.0, seed=0),
    "sparse": dict(n=80, g=5.0, connectivity="sparse", k=20, seed=1),
    "autapses": dict(n=80, g=5.0, autapses=True, seed=0),
    "discrete": dict(model="discrete", n=50, g=3.0, seed=0),
}
PROOF_RUN = dict(t_sim=200.0, t_transient=100.0)
CHAOS_SIGMAS = 5.0


@dataclass(frozen=True)
class ChaoticNetwork:
    """A network proved chaotic: its parameters, the proof run and an attractor state."""

    params: lc.RunParams
    result: lc.SpectrumResult
    x: np.ndarray  # state after the proof run's state transient (on the attractor)

    @property
    def J(self):
        return lc.build_coupling(self.params)


def prove_chaotic(kind: str) -> ChaoticNetwork:
    """Run the proof and fail (not skip) if the network is not clearly chaotic."""
    p = lc.RunParams(**CHAOTIC_POINTS[kind], **PROOF_RUN)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lc.NumericsWarning)
        r = lc.run_point(p)
    if not r.lambda_max > CHAOS_SIGMAS * r.lambda_max_stderr:
        pytest.fail(
            f"fixture {kind!r} is not chaotic: lambda_max = {r.lambda_max:.4g} "
            f"+- {r.lambda_max_stderr:.2g} (needs > {CHAOS_SIGMAS:g} s.e.)"
        )
    net = lc.build_network(p)
    x = rng_for(p, "init").standard_normal(p.n)
    for _ in range(p.steps()["transient"]):
        net.step_state(x)
    return ChaoticNetwork(p, r, x)


@pytest.fixture(scope="session")
def chaotic() -> Callable[[str], ChaoticNetwork]:
    """``chaotic(kind)`` for kind in :data:`CHAOTIC_POINTS`; each proved once per session."""
    cache: dict[str, ChaoticNetwork] = {}

    def get(kind: str) -> ChaoticNetwork:
        if kind not in cache:
            cache[kind] = prove_chaotic(kind)
        return cache[kind]

    return get
