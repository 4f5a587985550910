"""Local solvers: callables ``solver(start, rng) -> outcome`` that ``multistart`` restarts.

Each solver module adds its public class here.
"""

from .estimator import Estimator
from .gmm import GaussianMixture
from .kmeans import KMeans
from .minimize import Minimize
from .mlp import MLP

__all__ = ["Minimize", "MLP", "KMeans", "GaussianMixture", "Estimator"]
