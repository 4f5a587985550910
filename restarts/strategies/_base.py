"""How a strategy tells the driver which restarts to run, and learns their results.

A strategy is a generator: it yields a list of tasks ``(index, start)`` and receives
the list of finished :class:`~restarts._result.Restart` records for them (in index
order) before yielding the next list. The driver runs each list in parallel, feeds
stopping rules in index order, and closes the generator when a rule fires or
``n_starts`` restarts are done. Indices must be ``0, 1, 2, ...`` without gaps, so
restart ``i`` always receives the seed of index ``i`` and resumes line up.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["StrategyContext", "Strategy", "Independent", "Task"]

Task = tuple[int, Any]


@dataclass
class StrategyContext:
    """What a strategy may use: the solver, the run's size, starts and streams.

    Attributes
    ----------
    solver : callable
    n_starts : int
    starts : ndarray or None
        Start points drawn up front (``None`` when the solver draws its own).
    sampler : object or None
        The sampler the starts came from (strategies may draw more from ``rng``).
    rng : numpy.random.Generator
        The run's root stream, after drawing ``starts`` (deterministic).
    state : RunState
        Finished restarts in index order; ``state.nfev`` counts evaluations.
    max_nfev : int or None
        The evaluation budget from a ``MaxEvaluations`` rule, if any.
    """

    solver: Any
    n_starts: int
    starts: np.ndarray | None
    sampler: Any
    rng: np.random.Generator
    state: Any
    max_nfev: int | None = None


class Strategy:
    """Base class of restart strategies."""

    name = "base"

    def tasks(self, ctx: StrategyContext) -> Generator[list[Task], list, None]:  # pragma: no cover
        raise NotImplementedError

    def describe(self) -> dict:
        """The name and scalar settings (``None`` included), for stores."""
        return {"strategy": self.name, **{k: v for k, v in vars(self).items()
                                          if v is None or isinstance(v, (int, float, str))}}


class Independent(Strategy):
    """Plain multistart: every restart is independent, all dispatched at once."""

    name = "independent"

    def tasks(self, ctx: StrategyContext) -> Generator[list[Task], list, None]:
        starts = ctx.starts
        yield [(i, None if starts is None else starts[i]) for i in range(ctx.n_starts)]
