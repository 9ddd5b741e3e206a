"""lyap_core: complete Lyapunov spectra of recurrent rate networks (numpy/scipy only).

The names below are what a user calls: parameters and one run (``RunParams``,
``run_point``), the network it builds, the generic engine for any tangent system with
ready-made systems, the result and its measures, and the errors and warning a run can
raise. Everything else is imported from its module: ``lyap_core.inputs``, ``.coupling``,
``.nonlinearities``, ``.qr``, ``.engine``, ``.checkpoint``, ``.measures``, ``.analysis``
(realisation statistics, size invariance, symmetry), ``.theory`` (mean-field and
random-matrix theory), ``.training``, ``.thresholds``.
"""

from .checkpoint import CheckpointError
from .coupling import load_coupling
from .engine import DivergenceError, NumericsWarning, lyapunov_spectrum
from .measures import kaplan_yorke_dimension, ks_entropy, rank_coordinate
from .models import RateNetwork
from .params import ParamError, RunParams
from .point import build_coupling, build_network, run_point
from .result import SpectrumResult
from .systems import Flow, Map, henon, linear_flow, linear_map, lorenz63

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "DivergenceError",
    "Flow",
    "Map",
    "NumericsWarning",
    "ParamError",
    "RateNetwork",
    "RunParams",
    "SpectrumResult",
    "build_coupling",
    "build_network",
    "henon",
    "kaplan_yorke_dimension",
    "ks_entropy",
    "linear_flow",
    "linear_map",
    "load_coupling",
    "lorenz63",
    "lyapunov_spectrum",
    "rank_coordinate",
    "run_point",
]
