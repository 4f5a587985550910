"""Local search with :func:`scipy.optimize.least_squares`, counting residual calls itself.

Nonlinear least squares (curve fitting above all) is where most people meet local
minima: sums of peaks, exponentials, oscillations. This solver runs one
``least_squares`` fit per restart; ``fun`` of a restart is SciPy's ``cost`` (half the
sum of squared, possibly robustified, residuals) and ``nfev`` counts every call of
the residual function, finite-difference Jacobian calls included.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from scipy import optimize

from .._counting import CountedFunction
from .._result import LocalResult
from .._validation import check_callable, fail
from ._base import Solver, describe_objective, start_point

__all__ = ["LeastSquares", "as_lsq_bounds"]

_OWNER = "LeastSquares()"
# Keywords of scipy.optimize.least_squares passed through unchanged.
_PASSED = {"jac", "method", "ftol", "xtol", "gtol", "x_scale", "loss", "f_scale",
           "diff_step", "tr_solver", "tr_options", "jac_sparsity", "max_nfev", "verbose",
           "args", "kwargs", "callback", "workers"}


def as_lsq_bounds(bounds: Any, n: int | None, owner: str) -> np.ndarray | None:
    """SciPy's least-squares ``bounds`` — ``(lb, ub)`` with scalars or arrays, or a
    :class:`scipy.optimize.Bounds` — as a ``(n, 2)`` array (infinite allowed).

    ``None`` when ``n`` is unknown and the bounds are scalars (broadcast later).
    """
    if isinstance(bounds, optimize.Bounds):
        lb, ub = bounds.lb, bounds.ub
    else:
        try:
            lb, ub = bounds
        except (TypeError, ValueError):
            raise fail("bounds", owner, "a pair (lb, ub) of scalars or arrays, or a "
                       "scipy.optimize.Bounds", bounds, TypeError) from None
    try:
        lb, ub = np.asarray(lb, dtype=float), np.asarray(ub, dtype=float)
    except (TypeError, ValueError):
        raise fail("bounds", owner, "numeric (lb, ub)", bounds, TypeError) from None
    if n is None:
        if lb.ndim == 0 and ub.ndim == 0:
            return None
        n = max(lb.size, ub.size)
    try:
        lb, ub = np.broadcast_to(lb, (n,)), np.broadcast_to(ub, (n,))
    except ValueError:
        raise ValueError(
            f"The 'bounds' parameter of {owner} must give one (lb, ub) per parameter ({n}). "
            f"Got lb of shape {lb.shape} and ub of shape {ub.shape} instead.") from None
    if np.isnan(lb).any() or np.isnan(ub).any() or np.any(lb >= ub):
        raise fail("bounds", owner, "(lb, ub) with lb < ub for every parameter", bounds)
    return np.column_stack([lb, ub])


class _Residuals:
    """Counts every residual call through the package's one counter (the counted
    value is the plain cost ``0.5 * ||r||^2``; the residuals pass through)."""

    def __init__(self, fun: Callable) -> None:
        self.fun = fun
        self.counted = CountedFunction(self._cost_and_residuals, with_grad=True)

    def _cost_and_residuals(self, x: np.ndarray, *args: Any) -> Any:
        r = np.atleast_1d(np.asarray(self.fun(x, *args), dtype=float))
        return 0.5 * float(r @ r) if r.ndim == 1 else np.nan, r

    def __call__(self, x: np.ndarray, *args: Any) -> np.ndarray:
        return self.counted(x, *args)[1]


class LeastSquares(Solver):
    """A local fit with :func:`scipy.optimize.least_squares` from each start point.

    Parameters
    ----------
    fun : callable
        Residuals ``fun(x, *args, **kwargs) -> array of shape (m,)``.
    bounds : (lb, ub) or scipy.optimize.Bounds, default=(-inf, inf)
        SciPy's meaning: scalars or arrays of lower and upper bounds.
    x0 : array_like, optional
        With ``start=None`` the solver starts here, or (no ``x0``) draws a uniform
        start in finite ``bounds`` from the restart's generator.
    **options
        Any other keyword of :func:`scipy.optimize.least_squares` (``jac``,
        ``method``, ``loss``, ``f_scale``, ``x_scale``, ``ftol``, ``xtol``, ``gtol``,
        ``max_nfev`` (per restart), ``args``, ``kwargs``, ...), passed through.

    Notes
    -----
    ``fun`` of a restart is SciPy's ``cost`` at the solution; ``nfev`` counts every
    residual call (SciPy's own ``nfev`` leaves out finite-difference calls);
    ``extra`` holds SciPy's ``njev``, ``status`` and ``optimality``.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> t = np.linspace(0, 1, 20)
    >>> solver = rs.solvers.LeastSquares(lambda p: p[0] * np.exp(p[1] * t) - 2 * np.exp(-t),
    ...                                  bounds=([0, -5], [5, 5]))
    >>> r = solver(np.array([1.0, 0.0]), np.random.default_rng(0))
    >>> np.round(r.x, 6).tolist(), r.fun < 1e-20
    ([2.0, -1.0], True)
    """

    def __init__(self, fun: Callable, bounds: Any = (-np.inf, np.inf), x0: Any = None,
                 **options: Any) -> None:
        self.fun = check_callable(fun, "fun", _OWNER)
        unknown = sorted(set(options) - _PASSED)
        if unknown:
            raise TypeError(f"{_OWNER} got unexpected keyword argument(s) {unknown}; it "
                            f"passes on these of scipy.optimize.least_squares: "
                            f"{sorted(_PASSED)}.")
        self.x0 = None if x0 is None else np.atleast_1d(np.asarray(x0, dtype=float))
        n = None if self.x0 is None else self.x0.size
        self.bounds = as_lsq_bounds(bounds, n, _OWNER)
        self._options = dict(options)
        self.method = options.get("method", "trf")
        self.loss = options.get("loss", "linear")

    @property
    def dim(self) -> int | None:
        if self.bounds is not None:
            return self.bounds.shape[0]
        return None if self.x0 is None else self.x0.size

    def _start(self, start: Any, rng: np.random.Generator) -> np.ndarray:
        return start_point(start, rng, self.bounds, _OWNER, x0=self.x0)

    def __call__(self, start: Any, rng: np.random.Generator) -> LocalResult:
        """Run one ``least_squares`` fit from ``start`` (or ``x0`` / a uniform point)."""
        x0 = self._start(start, rng)
        opts = dict(self._options)
        kwargs = opts.pop("kwargs", None) or {}
        residuals = _Residuals(partial(self.fun, **kwargs) if kwargs else self.fun)
        b = self.bounds
        bounds = (-np.inf, np.inf) if b is None else (b[:, 0], b[:, 1])
        res = optimize.least_squares(residuals, x0, bounds=bounds, **opts)
        return LocalResult(
            x=np.asarray(res.x, dtype=float), fun=float(res.cost), success=res.status > 0,
            nit=None, nfev=residuals.counted.nfev, message=str(res.message),
            extra={"njev": None if res.njev is None else int(res.njev),
                   "status": int(res.status), "optimality": float(res.optimality)},
        )

    def describe(self) -> dict:
        out = super().describe()
        out.update(describe_objective(self.fun, self.bounds))
        out["x0"] = None if self.x0 is None else self.x0.tolist()
        return out
