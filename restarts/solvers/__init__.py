"""Local solvers: callables ``solver(start, rng) -> outcome`` that ``multistart`` restarts.

Each solver module adds its public class here.
"""

from .minimize import Minimize
from .mlp import MLP
from .kmeans import KMeans

__all__ = ["Minimize", "MLP", "KMeans"]
