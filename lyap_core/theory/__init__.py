"""Mean-field and random-matrix theory of Lyapunov spectra of random rate networks."""

from .meanfield import MeanFieldSolution, dmft_continuous, dmft_discrete, gaussian_average
from .rmt import (
    circular_law_continuous,
    crossing_kicks_continuous,
    crossing_kicks_dmft,
    free_multiplicative_discrete,
    ginibre_discrete,
    ginibre_product_exact,
)

__all__ = [
    "MeanFieldSolution",
    "circular_law_continuous",
    "crossing_kicks_continuous",
    "crossing_kicks_dmft",
    "dmft_continuous",
    "dmft_discrete",
    "free_multiplicative_discrete",
    "gaussian_average",
    "ginibre_discrete",
    "ginibre_product_exact",
]
