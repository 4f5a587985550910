"""Restart schedules: each restart's solver settings from its index and the restarts before it.

A schedule is a strategy whose tasks carry options (:class:`~restarts.strategies.Task`
``options``, passed to the solver as keywords and recorded as table columns):

- :class:`IPOP` (Auger & Hansen 2005): CMA-ES restarted with the population doubled
  each time, ``popsize_i = λ0 · 2^i``. Larger populations see the global trend of
  multimodal functions with global structure (Rastrigin-like) that small ones miss.
- :class:`BIPOP` (Hansen 2009): after a first default run, two regimes alternate
  *by evaluations used*: large-population runs (``λ0 · 2^k`` at the ``k``-th large
  run, default step size) and, while the small regime has used fewer evaluations
  than the large one, small local runs drawn as pycma's ``fmin(bipop=True)`` draws
  them: ``λ = ⌊λ0 · (2^k)^(U₁²)⌋``, step size ``σ0 · 0.01^U₂``, and at most half the
  large regime's evaluations so far. ``U₁, U₂`` are uniform draws from the run's
  root stream.
- :class:`BudgetSchedule`: ``max_nfev`` of restart ``i`` grows geometrically
  (``first · factor^i``) or follows Luby's sequence (``unit · (1, 1, 2, 1, 1, 2, 4,
  ...)``), for any solver accepting ``max_nfev``: short restarts first, and the
  occasional long one when short ones do not converge.

All are deterministic given the run's seed: settings depend on the index, on draws
from the run's root stream in restart order, and on the ``nfev`` of earlier restarts,
so tables are the same whatever ``n_jobs`` and after a resume. Under an evaluation
budget (a :class:`~restarts.stop.MaxEvaluations` rule) restarts run one after another,
each capped at what is left; without one, IPOP and budget schedules dispatch all
restarts at once (their settings depend on the index alone) and BIPOP runs one after
another (its regimes depend on evaluations used).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Generator
from typing import Any

import numpy as np

from .._validation import check_choice, check_int, check_real
from ._base import Strategy, StrategyContext, Task, finished, remaining

__all__ = ["IPOP", "BIPOP", "BudgetSchedule", "luby", "accepts"]


def luby(i: int) -> int:
    """The ``i``-th term (1-based) of Luby's universal restart sequence.

    ``1, 1, 2, 1, 1, 2, 4, 1, 1, 2, 1, 1, 2, 4, 8, ...`` (Luby, Sinclair & Zuckerman
    1993): within a constant factor of the best fixed cutoff for any run-time
    distribution.

    Examples
    --------
    >>> from restarts.strategies.schedules import luby
    >>> [luby(i) for i in range(1, 16)]
    [1, 1, 2, 1, 1, 2, 4, 1, 1, 2, 1, 1, 2, 4, 8]
    """
    k = 1
    while (1 << k) - 1 < i:
        k += 1
    while i != (1 << k) - 1:  # i lies inside the k-th block: recurse on its prefix
        i -= (1 << (k - 1)) - 1
        k = 1
        while (1 << k) - 1 < i:
            k += 1
    return 1 << (k - 1)


def accepts(solver: Any, *names: str) -> bool:
    """Whether ``solver(start, rng, **{name: ...})`` is accepted for every name."""
    try:
        params = inspect.signature(solver).parameters
    except (TypeError, ValueError):
        return False
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return True
    return all(n in params for n in names)


def _require(ctx: StrategyContext, owner: str, *names: str) -> None:
    if not accepts(ctx.solver, *names):
        raise ValueError(
            f"strategy={owner!r} passes {', '.join(map(repr, names))} to the solver per "
            f"restart, so the solver must accept them as keywords (e.g. rs.solvers.CMA). "
            f"Got {type(ctx.solver).__name__} instead."
        )


def _default_popsize(ctx: StrategyContext, owner: str) -> int:
    """pycma's default population ``4 + ⌊3 ln d⌋`` (or the solver's own popsize)."""
    own = getattr(ctx.solver, "popsize", None)
    if own is not None:
        return int(own)
    dim = getattr(ctx.solver, "dim", None)
    if dim is None and ctx.starts is not None:
        dim = ctx.starts.shape[1]
    if not isinstance(dim, int):
        raise ValueError(
            f"strategy={owner!r} needs the problem's dimension for the default population; "
            "give the solver bounds or popsize=..., or pass starts=..."
        )
    return 4 + int(3 * math.log(dim))


def _check_budget(ctx: StrategyContext, owner: str, need: int) -> None:
    """A budget smaller than one generation of the first restart is a set-up error."""
    if ctx.max_nfev is not None and ctx.max_nfev < need:
        raise ValueError(
            f"The evaluation budget (the 'max_nfev' of a stopping rule such as "
            f"MaxEvaluations) of strategy={owner!r} must be at least {need}, one generation "
            f"of the first restart. Got {ctx.max_nfev} instead."
        )


def _start(ctx: StrategyContext, i: int) -> Any:
    return None if ctx.starts is None else ctx.starts[i]


def _spent(records: list) -> int:
    return sum(nfev for _, _, nfev in finished(records))


class IPOP(Strategy):
    """CMA-ES restarts with the population doubled each restart (see the module docstring).

    Parameters
    ----------
    popsize0 : int >= 2, optional
        The first restart's population (default: the solver's ``popsize``, else
        ``4 + ⌊3 ln d⌋``).
    factor : float > 1, default=2.0
        Population growth per restart.
    max_popsize : int, optional
        No restart with a larger population is started (default ``popsize0 · 2^12``);
        under a budget, neither is one whose first generation does not fit in it.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> f = lambda x: float(np.sum(x ** 2 - 10 * np.cos(2 * np.pi * x)) + 20)
    >>> solver = rs.solvers.CMA(f, bounds=[(-5, 5)] * 2)
    >>> res = rs.multistart(solver, 5, strategy="ipop", rng=0,
    ...                     stop=rs.stop.MaxEvaluations(4000))
    >>> res.table["popsize"].tolist()[:3], int(res.table["nfev"].sum()) <= 4000
    ([6, 12, 24], True)
    """

    name = "ipop"

    def __init__(self, popsize0: int | None = None, factor: float = 2.0,
                 max_popsize: int | None = None) -> None:
        self.popsize0 = check_int(popsize0, "popsize0", "IPOP()", low=2, allow_none=True)
        self.factor = check_real(factor, "factor", "IPOP()", low=1, strict_low=True)
        self.max_popsize = check_int(max_popsize, "max_popsize", "IPOP()", low=2,
                                     allow_none=True)

    def tasks(self, ctx: StrategyContext) -> Generator[list[Task], list, None]:
        _require(ctx, self.name, "popsize", "max_nfev")
        lam0 = self.popsize0 or _default_popsize(ctx, self.name)
        _check_budget(ctx, self.name, lam0)
        top = self.max_popsize or lam0 * 2**12
        sizes = []
        for i in range(ctx.n_starts):
            lam = int(round(lam0 * self.factor**i))
            if lam > top:
                break
            sizes.append(lam)
        if ctx.max_nfev is None:
            yield [Task(i, _start(ctx, i), {"popsize": lam}) for i, lam in enumerate(sizes)]
            return
        for i, lam in enumerate(sizes):
            left = remaining(ctx)
            if left < lam:  # not even one generation fits
                return
            yield [Task(i, _start(ctx, i), {"popsize": lam, "max_nfev": left})]


class BIPOP(Strategy):
    """Hansen's BIPOP: large-population and small local restarts interleaved by budget.

    Parameters
    ----------
    popsize0 : int >= 2, optional
        The default population (default: the solver's ``popsize``, else
        ``4 + ⌊3 ln d⌋``).
    sigma0 : float > 0, optional
        The default initial step size that small runs shrink by ``0.01^U``
        (default: the solver's ``sigma0``, else ``0.2`` times the widest box side —
        :class:`~restarts.solvers.CMA`'s default).
    max_popsize : int, optional
        No large run with a larger population is started (default ``popsize0 · 2^12``).

    Notes
    -----
    Restart ``0`` runs with ``popsize0`` and counts in the small regime (as in
    pycma). Then, while the small regime has used fewer evaluations than the large
    one, a small run follows; otherwise the next large run. Settings go to the table:
    ``popsize``, ``sigma0`` (small runs: below the default) and ``max_nfev``.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> f = lambda x: float(np.sum(x ** 2 - 10 * np.cos(2 * np.pi * x)) + 20)
    >>> solver = rs.solvers.CMA(f, bounds=[(-5, 5)] * 2)
    >>> res = rs.multistart(solver, 30, strategy="bipop", rng=0,
    ...                     stop=rs.stop.MaxEvaluations(6000))
    >>> small = res.table["sigma0"] < res.table["sigma0"].iloc[0]
    >>> bool(small.any() and (~small).any()), int(res.table["nfev"].sum()) <= 6000
    (True, True)
    """

    name = "bipop"

    def __init__(self, popsize0: int | None = None, sigma0: float | None = None,
                 max_popsize: int | None = None) -> None:
        self.popsize0 = check_int(popsize0, "popsize0", "BIPOP()", low=2, allow_none=True)
        self.sigma0 = check_real(sigma0, "sigma0", "BIPOP()", low=0, strict_low=True,
                                 allow_none=True)
        self.max_popsize = check_int(max_popsize, "max_popsize", "BIPOP()", low=2,
                                     allow_none=True)

    def _sigma0(self, ctx: StrategyContext) -> float:
        if self.sigma0 is not None:
            return self.sigma0
        own = getattr(ctx.solver, "sigma0", None)
        if own is not None:
            return float(own)
        bounds = getattr(ctx.solver, "bounds", None)
        if bounds is None:
            raise ValueError(
                "strategy='bipop' needs a default step size: give the solver bounds or "
                "sigma0=..., or BIPOP(sigma0=...)."
            )
        from ..solvers.cma import SIGMA0_FRACTION

        width = np.asarray(bounds, dtype=float)
        return SIGMA0_FRACTION * float((width[:, 1] - width[:, 0]).max())

    def tasks(self, ctx: StrategyContext) -> Generator[list[Task], list, None]:
        _require(ctx, self.name, "popsize", "sigma0", "max_nfev")
        lam0 = self.popsize0 or _default_popsize(ctx, self.name)
        _check_budget(ctx, self.name, lam0)
        sigma0 = self._sigma0(ctx)
        top = self.max_popsize or lam0 * 2**12
        used = [0, 0]  # evaluations of the small and the large regime
        n_large = 0
        for i in range(ctx.n_starts):
            left = remaining(ctx)
            if i == 0:
                regime, lam, sigma, cap = 0, lam0, sigma0, left
            elif used[0] < used[1]:
                u1, u2 = ctx.rng.random(2)
                regime = 0
                lam = max(2, int(lam0 * (2.0**n_large) ** (u1**2)))
                sigma = sigma0 * 0.01**u2
                cap = max(lam, int(0.5 * used[1]))
                cap = cap if left is None else min(cap, left)
            else:
                n_large += 1
                regime, lam, sigma, cap = 1, lam0 * 2**n_large, sigma0, left
                if lam > top:
                    return
            if left is not None and left < lam:  # not even one generation fits
                return
            options: dict[str, Any] = {"popsize": lam, "sigma0": float(sigma)}
            if cap is not None:
                options["max_nfev"] = int(cap)
            records = yield [Task(i, _start(ctx, i), options)]
            used[regime] += _spent(records)


class BudgetSchedule(Strategy):
    """Restart ``i`` gets ``max_nfev`` from a geometric or Luby sequence.

    Parameters
    ----------
    kind : {"luby", "geometric"}, default="luby"
    unit : int >= 1, optional
        The first (``"geometric"``) or unit (``"luby"``) budget; default ``100 · d``
        (``d`` from the solver's bounds or the starts), else 1000.
    factor : float >= 1, default=2.0
        Growth per restart of the geometric schedule.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> solver = rs.solvers.Minimize(lambda x: float(np.sum(x ** 2)), bounds=[(-1, 1)] * 2)
    >>> res = rs.multistart(solver, 7, strategy=rs.strategies.BudgetSchedule("luby", 10),
    ...                     rng=0)
    >>> res.table["max_nfev"].tolist()
    [10, 10, 20, 10, 10, 20, 40]
    """

    name = "budget-schedule"

    def __init__(self, kind: str = "luby", unit: int | None = None, factor: float = 2.0) -> None:
        self.kind = check_choice(kind, "kind", "BudgetSchedule()", ["geometric", "luby"])
        self.unit = check_int(unit, "unit", "BudgetSchedule()", low=1, allow_none=True)
        self.factor = check_real(factor, "factor", "BudgetSchedule()", low=1)

    def budget(self, i: int, unit: int) -> int:
        """``max_nfev`` of restart ``i`` (0-based) before the run's budget caps it."""
        if self.kind == "luby":
            return unit * luby(i + 1)
        return int(min(unit * self.factor ** min(i, 200), 2**62))

    def tasks(self, ctx: StrategyContext) -> Generator[list[Task], list, None]:
        _require(ctx, self.name, "max_nfev")
        unit = self.unit
        if unit is None:
            dim = getattr(ctx.solver, "dim", None)
            if dim is None and ctx.starts is not None:
                dim = ctx.starts.shape[1]
            unit = 100 * dim if isinstance(dim, int) else 1000
        if ctx.max_nfev is None:
            yield [Task(i, _start(ctx, i), {"max_nfev": self.budget(i, unit)})
                   for i in range(ctx.n_starts)]
            return
        for i in range(ctx.n_starts):
            left = remaining(ctx)
            if left < 1:
                return
            yield [Task(i, _start(ctx, i), {"max_nfev": min(left, self.budget(i, unit))})]
