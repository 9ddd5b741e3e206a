"""lyap_core: complete Lyapunov spectra of recurrent rate networks (numpy/scipy only)."""

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .coupling import check_coupling, gaussian_coupling, load_coupling, sparse_coupling
from .engine import (
    DivergenceError,
    EngineConfig,
    EngineState,
    NumericsWarning,
    lyapunov_spectrum,
    run_state,
)
from .inputs import GaussianStepInput, InputProcess, OUInput, WhiteInput, make_input
from .measures import (
    kaplan_yorke_dimension,
    ks_entropy,
    participation_ratio,
    pca_dimension,
    point_symmetry,
    rank_coordinate,
)
from .models import RateNetwork
from .nonlinearities import REGISTRY as NONLINEARITIES
from .nonlinearities import Nonlinearity, get_nonlinearity
from .params import ParamError, RunParams
from .point import brute_force_lambda_max, build_coupling, build_network, run_point
from .qr import Orthonormalizer, householder_qr
from .result import SpectrumResult
from .systems import Flow, Map, henon, linear_flow, linear_map, lorenz63

__version__ = "0.1.0"

__all__ = [
    "NONLINEARITIES",
    "CheckpointError",
    "DivergenceError",
    "EngineConfig",
    "EngineState",
    "Flow",
    "GaussianStepInput",
    "InputProcess",
    "Map",
    "Nonlinearity",
    "NumericsWarning",
    "OUInput",
    "Orthonormalizer",
    "ParamError",
    "RateNetwork",
    "RunParams",
    "SpectrumResult",
    "WhiteInput",
    "brute_force_lambda_max",
    "build_coupling",
    "build_network",
    "check_coupling",
    "gaussian_coupling",
    "get_nonlinearity",
    "henon",
    "householder_qr",
    "kaplan_yorke_dimension",
    "ks_entropy",
    "linear_flow",
    "linear_map",
    "load_checkpoint",
    "load_coupling",
    "lorenz63",
    "lyapunov_spectrum",
    "make_input",
    "participation_ratio",
    "pca_dimension",
    "point_symmetry",
    "rank_coordinate",
    "run_point",
    "run_state",
    "save_checkpoint",
    "sparse_coupling",
]
