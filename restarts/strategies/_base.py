"""How a strategy tells the driver which restarts to run, and learns their results.

A strategy is a generator: it yields a list of :class:`Task` ``(index, start,
options)`` and receives the list of finished :class:`~restarts.Restart` records for
them (in index order) before yielding the next list. The driver runs each list in parallel, feeds
stopping rules in index order, and closes the generator when a rule fires or
``n_starts`` restarts are done. Indices must be ``0, 1, 2, ...`` without gaps, so
restart ``i`` always receives the seed of index ``i`` and resumes line up.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from .._validation import check_bounds

__all__ = ["StrategyContext", "Strategy", "Independent", "Task", "as_task", "objective_of",
           "remaining", "evaluate", "finished"]

_NO_OPTIONS: Mapping[str, Any] = MappingProxyType({})


class Task(NamedTuple):
    """One restart to run: its index, start point and solver keyword arguments.

    The driver calls ``solver(start, rng_i, **options)`` with restart ``i``'s own
    stream, and records scalar options as table columns (e.g. ``max_nfev``, the
    evaluation cap a budgeted strategy gives a local search).

    Examples
    --------
    >>> from restarts.strategies import Task
    >>> Task(3, None, {"max_nfev": 500})
    Task(index=3, start=None, options={'max_nfev': 500})
    """

    index: int
    start: Any
    options: Mapping[str, Any] = _NO_OPTIONS


def as_task(task: Any) -> Task:
    """A :class:`Task` from a task or a plain tuple ``(index, start[, max_nfev])``.

    Strategies written before :class:`Task` existed yield such tuples; a third element
    (``None`` for none) is an evaluation cap.

    Examples
    --------
    >>> from restarts.strategies import as_task
    >>> as_task((0, [1.0], 50)).options
    {'max_nfev': 50}
    """
    if isinstance(task, Task):
        return task
    if not isinstance(task, tuple) or len(task) not in (2, 3):
        raise TypeError(
            "A strategy must yield lists of Task(index, start, options) or tuples "
            f"(index, start[, max_nfev]). Got {task!r:.60} instead."
        )
    if len(task) == 3 and task[2] is not None:
        return Task(int(task[0]), task[1], {"max_nfev": int(task[2])})
    return Task(int(task[0]), task[1])


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
        Finished restarts (:class:`~restarts.Restart`) in index order; ``state.nfev``
        counts evaluations, :meth:`~restarts.stop.RunState.add_evaluations` adds the
        strategy's own.
    max_nfev : int or None
        The smallest evaluation budget of the run's stopping rules (their
        ``max_nfev`` attribute, e.g. :class:`~restarts.stop.MaxEvaluations`), if any.
    """

    solver: Any
    n_starts: int
    starts: np.ndarray | None
    sampler: Any
    rng: np.random.Generator
    state: Any
    max_nfev: int | None = None


class Strategy:
    """Base class of restart strategies.

    Subclasses implement ``tasks(ctx)``: a generator that yields lists of
    :class:`Task` (plain tuples ``(index, start[, max_nfev])`` are accepted too) and
    receives, for each list, the finished :class:`~restarts.Restart` records in index
    order. Indices must run ``0, 1, 2, ...`` without gaps.
    """

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
        yield [Task(i, None if starts is None else starts[i]) for i in range(ctx.n_starts)]


# -- helpers shared by the sampling strategies (TikTak, MLSL) -------------------------


def objective_of(ctx: StrategyContext, owner: str) -> tuple[Any, np.ndarray]:
    """``(fun, bounds)`` of the run's solver: sampling strategies evaluate ``fun`` in a box
    (the solver's ``value`` when it has one: ``Minimize`` with ``jac=True``)."""
    fun = getattr(ctx.solver, "value", None)
    if not callable(fun):
        fun = getattr(ctx.solver, "fun", None)
    bounds = getattr(ctx.solver, "bounds", None)
    if not callable(fun) or bounds is None:
        raise ValueError(
            f"strategy={owner!r} samples the objective in a box, so the solver must expose "
            "'fun' and 'bounds' (e.g. rs.solvers.Minimize(fun, bounds=...)). "
            f"Got {type(ctx.solver).__name__} without them instead."
        )
    return fun, check_bounds(bounds, "bounds", f"strategy {owner!r}")


def remaining(ctx: StrategyContext) -> int | None:
    """Evaluations left in the run's budget (``None`` without a budget)."""
    if ctx.max_nfev is None:
        return None
    return max(0, int(ctx.max_nfev) - int(ctx.state.nfev))


def evaluate(ctx: StrategyContext, fun: Any, points: np.ndarray) -> np.ndarray:
    """``fun`` at each point, counted in ``ctx.state`` (non-finite values become ``inf``)."""
    values = np.empty(len(points))
    for j, x in enumerate(points):
        try:
            values[j] = float(fun(x))
        except Exception:  # a failing point is a bad point, not the end of the run
            values[j] = np.inf
    ctx.state.add_evaluations(len(points))
    values[~np.isfinite(values)] = np.inf
    return values


def finished(records: list) -> list[tuple[np.ndarray, float, int]]:
    """``(x, fun, nfev)`` of successful records; ``nfev`` of failed ones with ``fun=inf``."""
    out = []
    for rec in records or []:
        res = rec.result
        nfev = 0 if res is None or res.nfev is None else int(res.nfev)
        if rec.error is None and res is not None and np.isfinite(res.fun):
            out.append((np.asarray(res.x, dtype=float), float(res.fun), nfev))
        else:
            out.append((None, math.inf, nfev))
    return out
