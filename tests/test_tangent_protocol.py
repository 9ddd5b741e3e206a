"""The tangent-system Protocol and the capabilities the engine reads once."""

import numpy as np
import pytest

from lyap_core.engine import lyapunov_spectrum
from lyap_core.mixed import SplitPrecisionNetwork
from lyap_core.params import RunParams
from lyap_core.point import build_network
from lyap_core.systems import henon, lorenz63
from lyap_core.tangent import TangentSystem, capabilities


def test_rate_networks_have_every_capability_they_implement():
    net = build_network(RunParams(n=10, g=3.0, input_std=0.5, input_tau=1.0))
    caps = capabilities(net)
    assert isinstance(net, TangentSystem)
    assert caps.divergence and caps.diagnostics and caps.rates and caps.state
    assert caps.log_dphi_histogram and not caps.hooks and not caps.graded_qr
    mixed = capabilities(SplitPrecisionNetwork(net))
    assert mixed.hooks and mixed.divergence and mixed.rates
    disc = capabilities(build_network(RunParams(model="discrete", n=10, g=3.0)))
    assert disc.graded_qr and disc.divergence_is_exact


def test_generic_systems_have_only_the_sum_rule():
    for system in (lorenz63(), henon()):
        caps = capabilities(system)
        assert caps.divergence
        assert not (caps.diagnostics or caps.rates or caps.state or caps.hooks)


def test_an_object_that_is_no_tangent_system_is_refused_in_one_line():
    class NotASystem:
        dim, dt, continuous = 2, 0.1, True

        def step_state(self, x):
            pass

    with pytest.raises(TypeError, match="not a tangent system"):
        lyapunov_spectrum(NotASystem(), np.zeros(2), t_ons=0.1, t_sim=1.0)
