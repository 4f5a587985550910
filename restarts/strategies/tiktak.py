"""TikTak: Sobol' sampling, then local searches pulled towards the best point so far.

Arnoud, Guvenen & Kleineberg's algorithm [1]_ (the "TikTak" multistart of their
benchmark of global optimizers):

1. evaluate the objective at ``N`` Sobol' points in the box;
2. keep the best ``N* = keep * N`` of them, sorted from best to worst;
3. for ``k = 1, ..., N*`` run a local search from
   ``x0_k = (1 - θ_k) s_k + θ_k x_best``, where ``s_k`` is the ``k``-th kept point,
   ``x_best`` the best point found so far and
   ``θ_k = min(max(0.1, (k / N*) ** 0.5), 0.995)``.

Early searches explore from the good Sobol' points; later ones start ever closer to
the incumbent, refining around it.

With an evaluation budget (a :class:`~restarts.stop.MaxEvaluations` rule) the Sobol'
phase uses at most ``sample_share`` of it; each local search is capped at what is
left, so the run never exceeds the budget. ``N*`` is then also capped by what the
remaining budget can pay for, estimated from the mean cost of the searches so far
(the paper plans ``N*`` up front), so that ``θ`` still rises to its maximum before the
budget runs out. When all kept points have been used and budget remains, a new cycle
starts from the next points of the same Sobol' sequence, keeping the incumbent.

Departure from the paper under a budget: the sample is drawn in **growing cycles**
rather than all up front. Cycle ``c = 0, 1, ...`` samples at most
``first_sample * growth ** c`` points (default ``20 d``, then 4 times more each
cycle), besides the ``sample_share`` cap, and runs the full TikTak pass (rank, keep
the best ``keep`` fraction, ``θ`` rising from 0.1 to 0.995) on it before the next
cycle. Why: with one sample of 10% of the budget every run pays that 10% before its
first local search, which on easy problems is most of its cost (shifted 3-d sphere:
652 evaluations to success, of which 643 sampling; L-BFGS-B alone needs 9). Measured
on the 34-problem shifted suite at differential evolution's default budget (10
repeats): median evaluations to success fell on 25 of the 28 problems solved both
ways and stayed equal on 3 (sphere 652 -> 69, levy 4-d 1143 -> 164, rosenbrock 3-d
1342 -> 215), problems solved in >= 90% of repeats rose from 28 to 29 (easom gained,
none lost); among unsolved ones eggholder fell from 5 to 2 of 10 and 5-d Rastrigin
from 6 to 5. Later, larger cycles keep the paper's exploration for hard problems.
``first_sample`` at least the budget restores the paper's single up-front sample.
Without a budget the sample is drawn up front as in the paper.

Warm start under a budget: before the first cycle, one local search runs from the
best of the first ``warm_start`` Sobol' points (default 1: the first point), and its
end point becomes the incumbent the first cycle pulls towards. Why: even a 20 d
first cycle delays the first local search, which on easy problems is the whole cost
(at 1% of the budget TikTak had 1.5% of the suite's runs successful, against 17% for
naive multistart and 19% for dual annealing). Measured on the 34-problem shifted
suite at DE's default budget, 20 repeats (``docs/benchmarks-global.md``): problems
solved stayed 28, the share of runs successful within 1% of the budget rose from
0.015 to 0.184 (dual annealing 0.187), and the problems where TikTak needs fewer
median evaluations to success than dual annealing (of the 24 both solve) rose from
5 to 10 (sphere 69 -> 10, booth 53 -> 14, hartmann6 170 -> 96). The price is one
wasted search where the first point lies in a wrong basin of a rugged problem
(cross-in-tray 50 -> 70, shubert 112 -> 156, levy 4-d 191 -> 352, 10-d
Styblinski-Tang 988 -> 1159 median evaluations to success). Over 40 repeats, the
best of ``2 d + 1`` points (what dual annealing evaluates before its first search)
or a first cycle of ``10 d`` points did not do better (fewer evaluations than dual
annealing on 8 and 12 of 23 problems against 12 for one point). ``warm_start=0`` restores
the cycles alone. The first cycle continues the same Sobol' sequence.
With coordinate moves (below), the best of ``d + 1`` points (``warm_start="auto"``,
what :func:`restarts.compare` uses) did better than one point over three seeds of
the suite (20 repeats each): problems solved 29, 28, 28 against 29, 27, 26 (dual
annealing 26, 25, 26), and of the problems both TikTak and dual annealing solve,
TikTak needed fewer median evaluations on 14 of 25, 14 of 24 and 13 of 25 against
12 of 25, 12 of 23 and 11 of 23 (hartmann6 96 -> 77, mccormick 56 -> 21; sphere
10 -> 16).

Coordinate moves (``coordinate_share``, off by default, 0.5 in
:func:`restarts.compare`): that share of the cycles' local searches starts from the
incumbent with one coordinate replaced by the kept Sobol' point's (coordinates taken
in turn), instead of the convex combination. Why: a convex combination moves every
coordinate at once, and late in a cycle only slightly; but a good local minimum
often differs from the global one in one or two coordinates (5-d Rastrigin runs
ended one or two lattice steps off in one or two coordinates), which such moves
reach with probability about ``1/d`` per search. Dual annealing's visits also change
one coordinate at a time. Measured on the 34-problem shifted suite at DE's default
budget, 20 repeats, share 0.5 against 0: problems solved 28 -> 29, mean success
rate 0.865 -> 0.878, 5-d Rastrigin 11 -> 19 of 20 repeats (28 of 30; centred, 22
of 30), Michalewicz 0.10 -> 0.40, 3-d Schwefel 0.95 -> 1.00; fewer median
evaluations to success on 8 problems, more on 4 (10-d Styblinski-Tang 1159 -> 1434);
lower rates on problems neither setting solves (Easom 0.75 -> 0.55, Eggholder 0.25 ->
0.10). Shares 0.25 and 0.75 solved 28 and 29.

References
----------
.. [1] A. Arnoud, F. Guvenen and T. Kleineberg, "Benchmarking Global Optimizers",
   NBER Working Paper 26340, 2019.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Generator
from typing import Any

import numpy as np
from scipy.stats import qmc

from .._validation import check_bounds, check_int, check_real, fail
from ._base import Strategy, StrategyContext, Task

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


def objective_of(ctx: StrategyContext, owner: str) -> tuple[Any, np.ndarray]:
    """``(fun, bounds)`` of the run's solver: sampling strategies evaluate ``fun`` in a box."""
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
            absorb((yield [(index, points[j].copy(), left)]))
            index += 1
        while index < ctx.n_starts:
            left = remaining(ctx)
            # Each cycle samples at most sample_share of what is left, so a late cycle
            # still leaves most of the budget to its local searches; under a budget the
            # cycles also grow geometrically from first_sample (module docstring).
            if left is None:
                size = n
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
                absorb((yield [(index, x0, left)]))
                index += 1
            if ctx.max_nfev is None:
                return
