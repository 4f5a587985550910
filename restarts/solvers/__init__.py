"""Local solvers: callables ``solver(start, rng) -> outcome`` that ``multistart`` restarts.

Each solver module adds its public class here.
"""

from .minimize import Minimize

__all__ = ["Minimize"]
