"""TikTak: Sobol' sampling, then local searches pulled towards the best point so far.

Arnoud, Guvenen & Kleineberg's algorithm [1]_: evaluate the objective at ``N`` Sobol'
points in the box; keep the best ``N* = keep * N``, best first; run the ``k``-th local
search from ``x0_k = (1 - θ_k) s_k + θ_k x_best`` with
``θ_k = min(max(0.1, (k / N*) ** 0.5), 0.995)``. Early searches explore from good
Sobol' points, later ones refine around the incumbent.

Under an evaluation budget (a stopping rule with ``max_nfev``, e.g.
:class:`~restarts.stop.MaxEvaluations`) the run never exceeds it: a Sobol' phase uses
at most ``sample_share`` of what is left, each search is capped at what is left
(``max_nfev``), and ``N*`` is capped by what the rest can pay for. Three departures
from the paper, each switched off by one argument, let a budgeted run reach its first
local search early: the sample comes in growing cycles (``first_sample``,
``growth``), a warm start searches from the best of the first Sobol' points
(``warm_start``), and coordinate moves start a share of the searches from the
incumbent with one coordinate taken from a kept point (``coordinate_share``), since
good local minima often differ from the global one in a coordinate or two. The
measurements behind these settings: ``docs/benchmarks-global.md``, "How TikTak's and
MLSL's settings were chosen".

References
----------
.. [1] A. Arnoud, F. Guvenen and T. Kleineberg, "Benchmarking Global Optimizers",
   NBER Working Paper 26340, 2019.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Generator

import numpy as np
from scipy.stats import qmc

from .._validation import check_int, check_real, fail
from ._base import Strategy, StrategyContext, Task, evaluate, finished, objective_of, remaining

__all__ = ["TikTak", "tiktak_theta"]


def tiktak_theta(k: int, n: int) -> float:
    """The weight on the best point for the ``k``-th of ``n`` local searches (1-based).

    ``θ_k = min(max(0.1, (k / n) ** 0.5), 0.995)`` (Arnoud, Guvenen & Kleineberg).

    Examples
    --------
    >>> from restarts.strategies.tiktak import tiktak_theta
    >>> tiktak_theta(1, 100), tiktak_theta(25, 100), tiktak_theta(100, 100)
    (0.1, 0.5, 0.995)
    """
    return min(max(0.1, math.sqrt(k / n)), 0.995)


class TikTak(Strategy):
    """Arnoud, Guvenen & Kleineberg's TikTak multistart (see the module docstring).

    The ``n_starts`` of :func:`~restarts.multistart` is the number of local searches
    ``N*`` (the Sobol' sample has ``N = ceil(n_starts / keep)`` points unless
    ``n_sample`` is given). The solver must expose ``fun`` and ``bounds`` (as
    :class:`~restarts.solvers.Minimize` does) and, under a budget, accept
    ``max_nfev``. Local searches run one after another (each start depends on the
    incumbent), so ``n_jobs`` does not speed one run up; restart ``i`` depends only on
    ``(rng, i)`` and the earlier restarts, hence is the same whatever ``n_jobs``.

    Parameters
    ----------
    n_sample : int, optional
        Sobol' points per cycle, ``N``.
    keep : float in (0, 1], default=0.1
        Fraction of the sample kept as anchors of local searches (the paper: 10%).
    sample_share : float in (0, 1), default=0.1
        Under a budget, the most of it one Sobol' phase may use.
    first_sample : int, optional
        Under a budget, the most Sobol' points the first cycle draws; default
        ``20 d``. Cycle ``c`` draws at most ``first_sample * growth ** c``.
    growth : float >= 1, default=4.0
        Growth of the per-cycle sample cap under a budget.
    warm_start : int >= 0 or "auto", default=1
        Under a budget, Sobol' points drawn before a first local search from the best
        of them, ahead of the first cycle; 0 for none, ``"auto"`` for ``d + 1``.
    coordinate_share : float in [0, 1], default=0.0
        Share of the cycles' local searches that start from the incumbent with one
        coordinate replaced by the kept Sobol' point's (coordinate moves, cycling
        through the coordinates); 0 is the paper's rule. :func:`restarts.compare`
        uses 0.5 (module docstring).

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> f = lambda x: float(np.sum(x ** 2 - 10 * np.cos(2 * np.pi * x)) + 20)
    >>> solver = rs.solvers.Minimize(f, bounds=[(-5.12, 5.12)] * 2)
    >>> res = rs.multistart(solver, 20, strategy="tiktak", rng=0)
    >>> round(res.fun, 6), res.config["extra_nfev"]
    (0.0, 200)
    """

    name = "tiktak"

    def __init__(self, n_sample: int | None = None, keep: float = 0.1,
                 sample_share: float = 0.1, first_sample: int | None = None,
                 growth: float = 4.0, warm_start: int | str = 1,
                 coordinate_share: float = 0.0) -> None:
        self.n_sample = check_int(n_sample, "n_sample", "TikTak()", low=1, allow_none=True)
        self.keep = check_real(keep, "keep", "TikTak()", low=0, high=1, strict_low=True)
        self.sample_share = check_real(sample_share, "sample_share", "TikTak()", low=0,
                                       high=1, strict_low=True)
        self.first_sample = check_int(first_sample, "first_sample", "TikTak()", low=1,
                                      allow_none=True)
        self.growth = check_real(growth, "growth", "TikTak()", low=1)
        if isinstance(warm_start, str) and warm_start != "auto":
            raise fail("warm_start", "TikTak()", 'an int >= 0 or "auto"', warm_start)
        self.warm_start = (warm_start if isinstance(warm_start, str)
                           else check_int(warm_start, "warm_start", "TikTak()", low=0))
        self.coordinate_share = check_real(coordinate_share, "coordinate_share", "TikTak()",
                                           low=0, high=1)

    def tasks(self, ctx: StrategyContext) -> Generator[list[Task], list, None]:
        fun, bounds = objective_of(ctx, self.name)
        lo, width = bounds[:, 0], bounds[:, 1] - bounds[:, 0]
        n = self.n_sample or math.ceil(ctx.n_starts / self.keep)
        engine = qmc.Sobol(bounds.shape[0], scramble=True, rng=ctx.rng)
        best_x: np.ndarray | None = None
        best_f = math.inf
        first = self.first_sample or 20 * bounds.shape[0]
        index, spent, searches, cycle = 0, 0, 0, 0
        credit, moves = 0.0, 0  # coordinate moves: share accrued, moves made

        def draw(size: int) -> np.ndarray:
            with warnings.catch_warnings():  # non-power-of-2 sizes are fine here
                warnings.simplefilter("ignore", UserWarning)
                return lo + engine.random(size) * width

        def absorb(records: list) -> None:
            """Count finished local searches and update the incumbent."""
            nonlocal spent, searches, best_f, best_x
            for x, f, nfev in finished(records):
                spent += nfev
                searches += 1
                if f < best_f:
                    best_f, best_x = f, x

        left = remaining(ctx)
        if left is not None and self.warm_start and ctx.n_starts > 0:
            # Warm start under a budget: one local search right away, from the best of
            # the first warm_start Sobol' points, before the first cycle (module docstring).
            n_warm = bounds.shape[0] + 1 if self.warm_start == "auto" else self.warm_start
            size = max(1, min(n_warm, int(self.sample_share * left)))
            points = draw(size)
            values = evaluate(ctx, fun, points)
            j = int(np.argmin(values))
            if np.isfinite(values[j]):
                best_f, best_x = float(values[j]), points[j].copy()
            left = remaining(ctx)
            if left < 1:
                return
            absorb((yield [Task(index, points[j].copy(), {"max_nfev": left})]))
            index += 1
        while index < ctx.n_starts:
            left = remaining(ctx)
            # Each cycle samples at most sample_share of what is left, so a late cycle
            # still leaves most of the budget to its local searches; under a budget the
            # cycles also grow geometrically from first_sample (module docstring).
            if left is None:
                size = n
            elif left < 1:  # the budget is spent (a rule other than MaxEvaluations holds it)
                return
            else:
                cap = first * self.growth ** min(cycle, 60)  # no float overflow
                size = min(n, max(1, int(self.sample_share * left)), max(1, int(cap)))
            cycle += 1
            if size < 1:
                return
            points = draw(size)
            values = evaluate(ctx, fun, points)
            order = np.argsort(values, kind="stable")
            if values[order[0]] < best_f:
                best_f, best_x = float(values[order[0]]), points[order[0]].copy()
            if best_x is None:  # every sample point failed: nothing to pull towards
                raise fail("solver", "multistart(strategy='tiktak')",
                           "an objective with finite values somewhere in the box",
                           "no finite value at any Sobol' point")
            kept = points[order[: max(1, round(self.keep * size))]]
            n_plan = len(kept)
            k = 0
            while k < n_plan and index < ctx.n_starts:
                left = remaining(ctx)
                if left is not None:
                    if left < 1:
                        return
                    if searches:
                        mean_cost = max(1.0, spent / searches)
                        n_plan = min(len(kept), k + max(1, int(left // mean_cost)))
                k += 1
                credit += self.coordinate_share
                if credit >= 1.0:  # a coordinate move: one coordinate of the kept point
                    credit -= 1.0
                    j = moves % len(best_x)
                    moves += 1
                    x0 = best_x.copy()
                    x0[j] = kept[k - 1][j]
                else:
                    theta = tiktak_theta(k, n_plan)
                    x0 = (1.0 - theta) * kept[k - 1] + theta * best_x
                absorb((yield [Task(index, x0, {} if left is None else {"max_nfev": left})]))
                index += 1
            if ctx.max_nfev is None:
                return
