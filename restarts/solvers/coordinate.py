"""Coordinate-wise global line searches: a local solver that solves separable functions.

A function is separable when its minimum over each coordinate does not depend on the
others (BBOB f1-f5: sphere, separable ellipsoid, Rastrigin, Büche-Rastrigin, linear
slope). Then one sweep of *global* one-dimensional searches, one coordinate after
another, finds the global minimum however multimodal each coordinate is — what
Pošík & Huyer's STEP line searches do in HCMA (Loshchilov, Schoenauer & Sebag
2013), and where SciPy's ``dual_annealing`` (which moves one coordinate at a time)
beats CMA-ES on BBOB. On other functions a sweep is a cheap descent step.

Each coordinate's search: its two bounds and ``grid`` points spread over its range
(a random offset from the restart's ``rng``), then bounded Brent searches
(:func:`scipy.optimize.minimize_scalar`) in the cells around the ``refine`` best;
the coordinate moves only if that improves. Sweeps repeat (coordinates in a fresh
random order each) until one improves the value by less than ``ftol`` (relative) or
the cap ``max_nfev`` is reached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import optimize

from .._counting import BudgetExhausted, CountedFunction
from .._result import LocalResult
from .._validation import check_bounds, check_callable, check_int, check_real
from ._base import Solver, describe_objective, start_point

__all__ = ["CoordinateSearch", "separable", "separable_cost"]


def separable_cost(dim: int, repeats: int = 2) -> int:
    """Evaluations :func:`separable` spends in ``dim`` dimensions (none below 2-d)."""
    return repeats * (dim + 2) if dim >= 2 else 0


def separable(values: Callable[[np.ndarray], np.ndarray], bounds: Any,
              rng: np.random.Generator, repeats: int = 2, rtol: float = 1e-9) -> bool:
    """Whether ``fun`` looks additively separable, from ``repeats (d + 2)`` evaluations
    (:func:`separable_cost`).

    At a random point ``a`` of the box, a function ``f(x) = sum_k g_k(x_k)`` changes by
    the sum of its one-coordinate changes when every coordinate moves at once:
    ``f(a + h) - f(a) = sum_k [f(a + h_k e_k) - f(a)]`` (steps ``h_k`` of a fifth of
    each range). When coordinates interact (a rotation, a chain as in Rosenbrock's
    function) this fails almost surely. A portfolio uses it to decide whether
    coordinate sweeps, which solve separable functions globally and rarely pay off
    otherwise, are worth their evaluations.

    Parameters
    ----------
    values : callable
        ``values(points) -> array``: the objective at each row of ``points`` (a
        strategy passes its counted evaluation).
    bounds : sequence of (low, high)
        A finite box.
    rng : numpy.random.Generator
    repeats : int >= 1, default=2
        Random points ``a`` tested; all must pass.
    rtol : float >= 0, default=1e-9
        A difference within ``rtol`` times the sum of the values' magnitudes counts as
        zero (rounding).

    Examples
    --------
    >>> import numpy as np
    >>> from restarts.solvers.coordinate import separable
    >>> box, rng = [(-5, 5)] * 3, np.random.default_rng(0)
    >>> rastrigin = lambda x: float(np.sum(x**2 - 10 * np.cos(2 * np.pi * x)))
    >>> rosenbrock = lambda x: float(np.sum(100 * (x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2))
    >>> many = lambda f: lambda pts: np.array([f(x) for x in pts])
    >>> separable(many(rastrigin), box, rng), separable(many(rosenbrock), box, rng)
    (True, False)
    """
    box = check_bounds(bounds, "bounds", "separable()")
    repeats = check_int(repeats, "repeats", "separable()", low=1)
    rtol = check_real(rtol, "rtol", "separable()", low=0)
    dim = box.shape[0]
    if dim < 2:
        return True
    lo, width = box[:, 0], box[:, 1] - box[:, 0]
    h = 0.2 * width
    points = []
    for _ in range(repeats):
        a = lo + rng.random(dim) * (width - h)  # a + h stays in the box
        points += [a, *(a + np.diag(h)), a + h]
    f = np.asarray(values(np.array(points)), dtype=float).reshape(repeats, dim + 2)
    if not np.isfinite(f).all():
        return False
    base, moved, all_moved = f[:, 0], f[:, 1:-1], f[:, -1]
    gap = all_moved - base - (moved - base[:, None]).sum(axis=1)
    return bool(np.all(np.abs(gap) <= rtol * np.abs(f).sum(axis=1)))


class CoordinateSearch(Solver):
    """Sweeps of global line searches along the coordinates (see the module docstring).

    Parameters
    ----------
    fun : callable
        Objective ``fun(x) -> float`` to minimise.
    bounds : sequence of (low, high)
        A finite box: each coordinate's line search covers its range.
    grid : int >= 2, default=30
        Points per coordinate and sweep before the Brent refinement.
    refine : int >= 1, default=3
        Brent searches per coordinate and sweep, in the cells of the best grid points.
    ftol : float >= 0, default=1e-12
        A sweep that lowers the value by less than ``ftol * (1 + |f|)`` ends the search.
    max_sweeps : int >= 1, optional
        At most this many sweeps per call (a portfolio gives a coordinate search its
        budget one sweep at a time, each call continuing from the best point so far).
    max_nfev : int >= 1, optional
        Hard cap on ``fun`` calls per restart.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> f = lambda x: float(np.sum(x ** 2 - 10 * np.cos(2 * np.pi * x)) + 10 * x.size)
    >>> solver = rs.solvers.CoordinateSearch(f, bounds=[(-5.12, 5.12)] * 4, grid=60)
    >>> r = solver(None, np.random.default_rng(0), max_nfev=3000)
    >>> bool(r.fun < 1e-10), r.nfev <= 3000
    (True, True)
    """

    def __init__(self, fun: Callable, bounds: Any, grid: int = 30, refine: int = 3,
                 ftol: float = 1e-12, max_sweeps: int | None = None,
                 max_nfev: int | None = None) -> None:
        owner = "CoordinateSearch()"
        self.fun = check_callable(fun, "fun", owner)
        self.bounds = check_bounds(bounds, "bounds", owner)  # finite: each range is searched
        self.grid = check_int(grid, "grid", owner, low=2)
        self.refine = check_int(refine, "refine", owner, low=1)
        self.ftol = check_real(ftol, "ftol", owner, low=0)
        self.max_sweeps = check_int(max_sweeps, "max_sweeps", owner, low=1, allow_none=True)
        self.max_nfev = check_int(max_nfev, "max_nfev", owner, low=1, allow_none=True)

    @property
    def dim(self) -> int:
        return self.bounds.shape[0]

    def __call__(self, start: Any, rng: np.random.Generator,
                 max_nfev: int | None = None) -> LocalResult:
        """Sweep from ``start`` (a uniform point of the box if ``None``)."""
        max_nfev = check_int(max_nfev, "max_nfev", "CoordinateSearch.__call__()", low=1,
                             allow_none=True)
        cap = self.max_nfev if max_nfev is None else (
            max_nfev if self.max_nfev is None else min(max_nfev, self.max_nfev))
        x = start_point(start, rng, self.bounds, "CoordinateSearch()")
        counted = CountedFunction(self.fun, cap)
        sweeps, message = 0, "converged: a sweep improved by less than ftol"
        try:
            fx = float(counted(x))
            while True:
                before = fx
                for i in rng.permutation(self.dim):
                    x, fx = self._line(counted, x, fx, int(i), rng)
                sweeps += 1
                if not before - fx > self.ftol * (1.0 + abs(fx)):
                    break
                if self.max_sweeps is not None and sweeps >= self.max_sweeps:
                    message = f"{sweeps} sweeps (max_sweeps)"
                    break
        except BudgetExhausted:
            message = "evaluation budget exhausted"
            if counted.best_x is None:
                raise
        if not np.isfinite(counted.best_f):
            raise ValueError("CoordinateSearch() found no finite value of fun.")
        return LocalResult(x=np.array(counted.best_x, dtype=float), fun=float(counted.best_f),
                           success=message.startswith("converged"), nit=sweeps,
                           nfev=counted.nfev, message=message)

    def _line(self, counted: CountedFunction, x: np.ndarray, fx: float, i: int,
              rng: np.random.Generator) -> tuple[np.ndarray, float]:
        """The global line search along coordinate ``i``: grid, then Brent in a cell."""
        lo, hi = self.bounds[i]
        step = (hi - lo) / self.grid
        points = lo + (np.arange(self.grid) + rng.random()) * step

        def along(t: float) -> float:
            y = x.copy()
            y[i] = t
            value = float(counted(y))
            return value if np.isfinite(value) else np.inf

        points = np.concatenate([[lo], points, [hi]])  # optima on a bound (slopes)
        values = np.array([along(t) for t in points])
        j = int(np.argmin(values))
        best_t, best_f = (points[j], values[j]) if values[j] < fx else (x[i], fx)
        # Brent in the cells of the `refine` best grid points (the best one's basin
        # may be a neighbour's: on Rastrigin-like lines they differ by a little)
        for j in np.argsort(values, kind="stable")[:self.refine]:
            a, b = max(lo, points[j] - step), min(hi, points[j] + step)
            res = optimize.minimize_scalar(along, bounds=(a, b), method="bounded",
                                           options={"xatol": 1e-8 * (hi - lo)})
            if float(res.fun) < best_f:
                best_t, best_f = float(res.x), float(res.fun)
        if best_f < fx:
            x = x.copy()
            x[i] = best_t
            return x, best_f
        return x, fx

    def describe(self) -> dict:
        out = super().describe()
        out.update(describe_objective(self.fun, self.bounds))
        return out
