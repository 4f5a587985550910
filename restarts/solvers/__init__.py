"""Local solvers: callables ``solver(start, rng) -> outcome`` that ``multistart`` restarts.

Each solver module adds its public class here.
"""

from ._base import is_resumable
from .cma import CMA
from .coordinate import CoordinateSearch
from .estimator import Estimator
from .gmm import GaussianMixture
from .kmeans import KMeans
from .least_squares import LeastSquares
from .minimize import Minimize
from .mlp import MLP
from .optimizers import SGD, Adam

__all__ = ["Minimize", "LeastSquares", "CMA", "CoordinateSearch", "MLP", "KMeans",
           "GaussianMixture", "Estimator", "Adam", "SGD", "is_resumable"]
