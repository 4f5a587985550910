"""Front doors for SciPy users: ``minimize``, ``least_squares`` and ``curve_fit`` with restarts.

Each takes SciPy's arguments with SciPy's names and meanings, runs the local solver
from many starts through :func:`restarts.multistart`, and answers as SciPy does (an
:class:`scipy.optimize.OptimizeResult`, or ``(popt, pcov)``), with the whole run
(``table``, ``solutions``, ``results``) attached. ``nfev`` counts every call of the
user's function in all restarts.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from scipy import optimize

from ._counting import CountedFunction
from ._driver import multistart
from ._result import MultistartResult
from ._validation import check_callable, check_int, fail
from .solvers import LeastSquares, Minimize
from .solvers.least_squares import as_lsq_bounds
from .solvers.minimize import as_box
from .starts import Around
from .stop import MaxEvaluations, as_rules
from .strategies.portfolio import Auto, solver_set

__all__ = ["MultistartOptimizeResult", "minimize", "least_squares", "curve_fit"]


class MultistartOptimizeResult(optimize.OptimizeResult):
    """SciPy's :class:`~scipy.optimize.OptimizeResult` of the best restart, plus the run.

    Every key SciPy's function returns is there (``x``, ``fun``, ``success``,
    ``status``, ``message``, ``nfev``, ...), so code written for SciPy runs
    unchanged; ``nfev`` counts every call of the function over all restarts.
    ``multistart`` is the :class:`~restarts.MultistartResult` of the run;
    ``table``, ``solutions``, ``results`` and ``best_restart`` read it.
    """

    @property
    def table(self) -> Any:
        """The run's table; with constraints, a ``maxcv`` column (largest violation)."""
        run = self["multistart"]
        table = run.table
        maxcv = [r.extra.get("maxcv") for r in run.results]
        if "maxcv" not in table and any(v is not None for v in maxcv):
            table["maxcv"] = np.array([np.nan if v is None else v for v in maxcv])
        return table

    @property
    def solutions(self) -> Any:
        return self["multistart"].solutions

    @property
    def results(self) -> list:
        return self["multistart"].results


class _Counted:
    """``f(x, *args)`` (any return value) counted by the package's one counter."""

    def __init__(self, f: Callable) -> None:
        self.counted = CountedFunction(self._pair, with_grad=True)
        self.f = f

    def _pair(self, x: Any, *args: Any) -> tuple[float, Any]:
        return np.nan, self.f(x, *args)  # NaN: the counter tracks no "best" here

    def __call__(self, x: Any, *args: Any) -> Any:
        return self.counted(x, *args)[1]


def _winning_start(run: MultistartResult) -> np.ndarray:
    return np.asarray(run.restarts[run.best_restart].start, dtype=float)


def _run_nfev(run: MultistartResult) -> int:
    return int(sum(r.nfev or 0 for r in run.results))


_MULTISTART_OWN = {"solver", "n_starts", "starts", "rng", "n_jobs", "strategy"}


def _multistart_options(options: dict, owner: str) -> dict:
    allowed = set(inspect.signature(multistart).parameters) - _MULTISTART_OWN
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise TypeError(
            f"{owner} got an unexpected keyword argument {unknown[0]!r}. It takes "
            "scipy.optimize.minimize's arguments, n_starts, max_nfev, strategy, starts, "
            f"rng, n_jobs and these of multistart(): {sorted(allowed)}.")
    return options


def minimize(
    fun: Callable[..., float],
    x0: Any = None,
    *,
    bounds: Any = None,
    args: Any = (),
    method: str | None = None,
    jac: Any = None,
    hess: Any = None,
    hessp: Callable | None = None,
    constraints: Any = (),
    tol: float | None = None,
    options: dict | None = None,
    callback: Callable | None = None,
    n_starts: int | None = None,
    max_nfev: int | None = None,
    strategy: Any = "auto",
    starts: Any = None,
    rng: Any = None,
    n_jobs: int | None = 1,
    **multistart_options: Any,
) -> MultistartOptimizeResult:
    """:func:`scipy.optimize.minimize` from many starts, in one call; the best restart.

    Takes SciPy's arguments with SciPy's meanings and returns an
    :class:`~scipy.optimize.OptimizeResult`, so code written for SciPy keeps working.

    Parameters
    ----------
    fun, x0, args, method, jac, hess, hessp, bounds, constraints, tol, options, callback
        As for :func:`scipy.optimize.minimize`; every method works when given what it
        needs. ``x0`` is restart 0's start (with ``strategy="auto"`` under a budget,
        restart 0 is the local search from it). ``bounds`` is a sequence of ``(low,
        high)`` pairs (``None`` for no bound) or a :class:`~scipy.optimize.Bounds`.
        ``method=None`` is SciPy's choice: SLSQP with constraints, L-BFGS-B with
        bounds, else BFGS.
    n_starts : int, optional
        Number of restarts. Default 20; with an adaptive strategy (``"auto"``,
        ``"tiktak"``, ...) under a ``max_nfev`` budget, as many as the budget pays for.
    max_nfev : int, optional
        Total calls of ``fun`` over the whole run (start sampling included): never
        exceeded. With independent restarts each restart may use
        ``max_nfev // n_starts``.
    strategy : "auto", "independent", "tiktak", "mlsl" or a Strategy, default="auto"
        ``"auto"``, when every bound is finite, ``max_nfev`` is given and there are
        no ``constraints``: :class:`~restarts.strategies.Auto`, a portfolio of a
        first local search (``method``, from ``x0`` if given), CMA-ES restarts
        (:class:`~restarts.solvers.CMA`, IPOP) and TikTak's local searches sharing
        the budget, plus coordinate sweeps when a probe finds ``fun`` separable —
        the setting measured on COCO's BBOB
        suite against pycma's IPOP/BIPOP-CMA-ES in ``docs/benchmarks-bbob.md``.
        Otherwise independent restarts.
    starts : array (n_starts, d) or sampler, optional
        Start points of independent restarts. Default :class:`restarts.starts.Around`
        ``(x0, bounds)``: restart 0 at ``x0``; others uniform where both bounds are
        finite, else ``x0 + max(1, |x0|) * N(0, 1)``. Without ``x0``, every bound
        must be finite.
    rng : None, int, SeedSequence or Generator, optional
        As for :func:`restarts.multistart`.
    n_jobs : int, default=1
        As for :func:`restarts.multistart`.
    **multistart_options
        As for :func:`restarts.multistart` (``stop``, ``store``, ``timeout``, ...).

    Returns
    -------
    MultistartOptimizeResult
        An :class:`~scipy.optimize.OptimizeResult`: ``x``, ``fun``, ``success``,
        ``message`` of the best restart (with constraints: the best *feasible*
        one; lowest index on ties), ``status`` (0: it succeeded, 1: it did not,
        4: no restart is feasible, -1: every restart failed), ``nfev`` = every
        ``fun`` call of the run, ``nit`` and ``njev`` summed over restarts,
        ``maxcv`` with constraints; and the run: ``multistart``, ``table``,
        ``solutions``, ``results``, ``best_restart``.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> def f(x):
    ...     return float(np.sin(3 * x[0]) + 0.1 * x[0] ** 2)
    >>> res = rs.minimize(f, x0=[4.0], bounds=[(-5, 5)], rng=0)
    >>> round(res.fun, 4), res.success, res.nfev == int(res.table["nfev"].sum())
    (-0.9732, True, True)
    """
    owner = "minimize()"
    check_callable(fun, "fun", owner)
    _multistart_options(multistart_options, owner)
    box = None if bounds is None else as_box(bounds, "bounds", owner)
    x0 = None if x0 is None else np.atleast_1d(np.asarray(x0, dtype=float)).ravel()
    if x0 is not None and box is not None and x0.size != box.shape[0]:
        raise ValueError(f"The 'x0' parameter of {owner} must have one coordinate per "
                         f"bound ({box.shape[0]}). Got {x0.size} instead.")
    max_nfev = check_int(max_nfev, "max_nfev", owner, low=1, allow_none=True)
    if method is None:
        method = "SLSQP" if constraints else ("L-BFGS-B" if box is not None else "BFGS")
    finite = box is not None and bool(np.isfinite(box).all())
    portfolio = False
    if isinstance(strategy, str) and strategy == "auto":
        portfolio = finite and max_nfev is not None and not constraints
        strategy = Auto(x0=x0) if portfolio else "independent"
    independent = isinstance(strategy, str) and strategy == "independent"
    if n_starts is None:
        n_starts = max_nfev if (max_nfev is not None and not independent) else 20
    n_starts = check_int(n_starts, "n_starts", owner, low=1)
    per_restart = None
    rules = as_rules(multistart_options.pop("stop", None), owner)
    if x0 is not None and not (independent or portfolio):
        raise ValueError(f"The 'x0' parameter of {owner} is the first start of independent "
                         f"restarts, but strategy={strategy!r} chooses its own starts: drop x0 "
                         "or use strategy='independent'.")
    if max_nfev is not None:
        if independent:
            per_restart = max_nfev // n_starts
            if per_restart < 1:
                raise ValueError(
                    f"The 'max_nfev' parameter of {owner} must allow one call per restart: "
                    f"got max_nfev={max_nfev} for n_starts={n_starts}.")
        else:  # budgeted strategies cap each search at what is left of the total
            rules = [*rules, MaxEvaluations(max_nfev)]
    solver = Minimize(fun, box, method=method, jac=jac, options=options, max_nfev=per_restart,
                      args=args, hess=hess, hessp=hessp, constraints=constraints, tol=tol,
                      callback=callback)
    if starts is None and independent:
        starts = _around(x0, box, owner)
    run_solver: Any = solver
    if portfolio:  # the default of docs/benchmarks-bbob.md: CMA-ES and this local search
        run_solver = solver_set(solver.value, box, local=solver)
    run = multistart(run_solver, n_starts, starts=starts, rng=rng, n_jobs=n_jobs,
                     strategy=strategy, stop=rules or None, **multistart_options)
    return _minimize_result(run, solver)


def _minimize_result(run: MultistartResult, solver: Minimize) -> MultistartOptimizeResult:
    results = run.results
    ok = [k for k, r in enumerate(results) if np.isfinite(r.fun)]
    if solver.constrained:
        feasible = [k for k in ok if results[k].extra.get("maxcv", np.inf) <= solver.ctol]
        pool = feasible or ok
    else:
        feasible, pool = ok, ok
    out = MultistartOptimizeResult()
    out["multistart"] = run
    out["nfev"] = _run_nfev(run) + int(run.config.get("extra_nfev", 0) or 0)
    out["nit"] = int(sum(r.nit or 0 for r in results))
    out["njev"] = int(sum(r.extra.get("njev", 0) or 0 for r in results))
    n = len(results)
    if not pool:
        out.update(x=None, fun=np.nan, success=False, status=-1, best_restart=None,
                   message=f"all {n} restarts failed: " + "; ".join(
                       sorted({r.message for r in results})[:3]))
        return out
    best = min(pool, key=lambda k: (results[k].fun, k))  # lowest index on ties
    r = results[best]
    index = run.restarts[best].index
    out["x"] = np.array(r.x, dtype=float)
    out["fun"] = float(r.fun)
    out["success"] = bool(r.success) and (best in feasible)
    out["status"] = 0 if out["success"] else 1
    out["best_restart"] = index
    if solver.constrained:
        out["maxcv"] = float(r.extra.get("maxcv", np.nan))
        if not feasible:
            out["status"] = 4
    out["message"] = (f"{r.message} (best of {n} restarts: restart {index}"
                      + ("" if best in feasible else ", none feasible") + ")")
    return out


def least_squares(
    fun: Callable[..., Any],
    x0: Any = None,
    *,
    bounds: Any = (-np.inf, np.inf),
    n_starts: int = 20,
    starts: Any = None,
    rng: Any = None,
    n_jobs: int | None = 1,
    **kwargs: Any,
) -> MultistartOptimizeResult:
    """:func:`scipy.optimize.least_squares` from ``n_starts`` starts; the best fit.

    Parameters
    ----------
    fun : callable
        Residuals ``fun(x, *args, **kwargs) -> array (m,)``, as for SciPy.
    x0 : array_like, optional
        Restart 0 starts here. Required unless every bound is finite.
    bounds : (lb, ub) or scipy.optimize.Bounds, default=(-inf, inf)
        SciPy's meaning.
    n_starts : int, default=20
    starts : array (n_starts, d) or sampler, optional
        Where the restarts start. Default :class:`restarts.starts.Around` ``(x0,
        bounds)``: restart 0 at ``x0``; others uniform in coordinates with two
        finite bounds, else ``x0 + max(1, |x0|) * N(0, 1)`` (reflected into a
        one-sided bound).
    rng : None, int, SeedSequence or Generator, optional
        As for :func:`restarts.multistart` (restart ``i`` depends on ``(rng, i)`` only).
    n_jobs : int, default=1
        As for :func:`restarts.multistart`.
    **kwargs
        Any other keyword of :func:`scipy.optimize.least_squares` (``jac``,
        ``method``, ``loss``, ``max_nfev`` per restart, ``args``, ...).

    Returns
    -------
    MultistartOptimizeResult
        SciPy's result of the fit from the winning start (``x``, ``cost``, ``fun``
        = residuals, ``jac``, ``grad``, ``optimality``, ``active_mask``,
        ``status``, ``message``, ``success``, ``njev``), with ``nfev`` = every
        residual call of all restarts and of that final fit, and the run
        (``multistart``, ``table``, ``solutions``, ``best_restart``).

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> t = np.linspace(0, 6, 40)
    >>> y = np.sin(2.5 * t)
    >>> res = rs.least_squares(lambda p: np.sin(p[0] * t) - y, x0=[1.0], n_starts=10, rng=0)
    >>> round(float(res.x[0]), 6), bool(res.cost < 1e-20), len(res.table)
    (2.5, True, 10)
    """
    owner = "least_squares()"
    check_callable(fun, "fun", owner)
    n_starts = check_int(n_starts, "n_starts", owner, low=1)
    x0 = None if x0 is None else np.atleast_1d(np.asarray(x0, dtype=float))
    fun_kwargs = kwargs.pop("kwargs", None) or {}
    user = partial(fun, **fun_kwargs) if fun_kwargs else fun
    solver = LeastSquares(user, bounds, x0=x0, **kwargs)
    b = solver.bounds
    if starts is None:
        starts = _around(x0, b, owner)
    run = multistart(solver, n_starts, starts=starts, rng=rng, n_jobs=n_jobs)
    counted = _Counted(user)
    scipy_bounds = (-np.inf, np.inf) if b is None else (b[:, 0], b[:, 1])
    res = optimize.least_squares(counted, _winning_start(run), bounds=scipy_bounds, **kwargs)
    out = MultistartOptimizeResult(dict(res))
    out["nfev"] = _run_nfev(run) + counted.counted.nfev
    out["multistart"] = run
    out["best_restart"] = run.best_restart
    return out


def _around(x0: np.ndarray | None, bounds: np.ndarray | None, owner: str) -> Around:
    if bounds is None and x0 is None:
        raise ValueError(f"{owner} needs x0 or finite bounds to place the restarts.")
    if x0 is None and not np.isfinite(bounds).all():
        raise ValueError(
            f"The 'x0' parameter of {owner} must be given when a bound is infinite "
            f"(the restarts spread around it). Got bounds {bounds.tolist()} and no x0.")
    return Around(x0, bounds)


def _n_params(f: Callable, p0: Any, owner: str) -> int:
    if p0 is not None:
        return int(np.atleast_1d(np.asarray(p0, dtype=float)).size)
    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):
        params = []
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < 2:
        raise ValueError(f"{owner} cannot tell the number of fit parameters from f's "
                         "signature: pass p0.")
    return len(positional) - 1


class _CurveResiduals:
    """SciPy ``curve_fit``'s residuals: ``(f(xdata, *p) - ydata) / sigma`` (1-d sigma)
    or ``L^{-1} (f(xdata, *p) - ydata)`` with ``sigma = L L^T`` (2-d sigma)."""

    def __init__(self, f: Callable, xdata: Any, ydata: np.ndarray, sigma: Any) -> None:
        self.f, self.xdata, self.ydata = f, xdata, ydata
        self.weight = self.chol = None
        if sigma is not None:
            sigma = np.asarray(sigma, dtype=float)
            if sigma.ndim == 2:
                from scipy.linalg import cholesky

                self.chol = cholesky(sigma, lower=True)
            else:
                self.weight = 1.0 / sigma

    def __call__(self, p: np.ndarray) -> np.ndarray:
        return self.transform(np.asarray(self.f(self.xdata, *p), dtype=float) - self.ydata)

    def transform(self, r: np.ndarray) -> np.ndarray:
        if self.weight is not None:
            return (self.weight * r.T).T
        if self.chol is not None:
            from scipy.linalg import solve_triangular

            return solve_triangular(self.chol, r, lower=True)
        return r


class _CurveJacobian:
    """The residuals' Jacobian from ``jac(xdata, *p)``, transformed as the residuals."""

    def __init__(self, jac: Callable, residuals: _CurveResiduals) -> None:
        self.jac, self.residuals = jac, residuals

    def __call__(self, p: np.ndarray) -> np.ndarray:
        J = np.asarray(self.jac(self.residuals.xdata, *p), dtype=float)
        return self.residuals.transform(J)


def curve_fit(
    f: Callable[..., Any],
    xdata: Any,
    ydata: Any,
    p0: Any = None,
    sigma: Any = None,
    absolute_sigma: bool = False,
    check_finite: bool | None = None,
    bounds: Any = (-np.inf, np.inf),
    method: str = "trf",
    jac: Any = None,
    *,
    full_output: bool = False,
    n_starts: int = 20,
    starts: Any = None,
    rng: Any = None,
    n_jobs: int | None = 1,
    return_result: bool = False,
    **kwargs: Any,
) -> tuple:
    """:func:`scipy.optimize.curve_fit` with restarts: ``(popt, pcov)`` of the best fit.

    Each restart is a :func:`scipy.optimize.least_squares` fit of SciPy's
    ``curve_fit`` residuals from its own start; the best (lowest cost) start is then
    handed to :func:`scipy.optimize.curve_fit` itself, so ``popt`` and ``pcov`` are
    exactly what SciPy returns from that start.

    Parameters
    ----------
    f, xdata, ydata, p0, sigma, absolute_sigma, check_finite, bounds, jac, full_output
        SciPy's meaning (``jac(xdata, *params)`` is the model's Jacobian). ``p0`` is
        restart 0's start (default: SciPy's, all ones; with finite bounds, none).
    method : {"trf", "dogbox", "lm"}, default="trf"
        The ``least_squares`` method of every restart and of the final fit. (SciPy
        picks ``"lm"`` without bounds; ``"trf"`` handles both cases.)
    n_starts : int, default=20
    starts : array (n_starts, n_params) or sampler, optional
        Default :class:`restarts.starts.Around` ``(p0, bounds)``: restart 0 at
        ``p0``; the others uniform where both bounds of a parameter are finite,
        else ``p0 + max(1, |p0|) * N(0, 1)`` (reflected into a one-sided bound).
        Give finite bounds when you can: uniform starts in a box explore best.
    rng : None, int, SeedSequence or Generator, optional
        As for :func:`restarts.multistart`.
    n_jobs : int, default=1
        As for :func:`restarts.multistart`.
    return_result : bool, default=False
        Also return the :class:`~restarts.MultistartResult` of the restarts (last).
    **kwargs
        Passed to :func:`scipy.optimize.least_squares` (``loss``, ``ftol``, ...).

    Returns
    -------
    popt, pcov
        As SciPy's ``curve_fit`` from the winning start (with ``full_output``, also
        its ``infodict, mesg, ier``); then the run if ``return_result``.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> x = np.linspace(0, 10, 50)
    >>> y = 3 * np.sin(1.7 * x)
    >>> popt, pcov = rs.curve_fit(lambda x, a, w: a * np.sin(w * x), x, y,
    ...                           bounds=([0, 0], [5, 5]), rng=0)
    >>> np.round(popt, 6).tolist()
    [3.0, 1.7]
    """
    owner = "curve_fit()"
    check_callable(f, "f", owner)
    n_starts = check_int(n_starts, "n_starts", owner, low=1)
    if method not in ("trf", "dogbox", "lm"):
        raise fail("method", owner, "one of ['trf', 'dogbox', 'lm']", method)
    n = _n_params(f, p0, owner)
    b = as_lsq_bounds(bounds, n, owner)
    finite = check_finite is None or check_finite
    y = np.asarray_chkfinite(ydata, float) if finite else np.asarray(ydata, float)
    x = xdata
    if isinstance(xdata, list | tuple | np.ndarray):
        x = np.asarray_chkfinite(xdata, float) if finite else np.asarray(xdata, float)
    x0 = None
    if p0 is not None:
        x0 = np.atleast_1d(np.asarray(p0, dtype=float))
    elif not np.isfinite(b).all():
        x0 = np.clip(np.ones(n), b[:, 0], b[:, 1])  # SciPy's default p0
    residuals = _CurveResiduals(f, x, y, sigma)
    lsq_bounds = (b[:, 0], b[:, 1])
    lsq_jac = _CurveJacobian(jac, residuals) if callable(jac) else (
        "2-point" if jac is None else jac)
    solver = LeastSquares(residuals, lsq_bounds, x0=x0, method=method, jac=lsq_jac, **kwargs)
    if starts is None:
        starts = Around(x0, b)
    run = multistart(solver, n_starts, starts=starts, rng=rng, n_jobs=n_jobs)
    start = _winning_start(run)
    out = optimize.curve_fit(
        f, xdata, ydata, p0=start, sigma=sigma, absolute_sigma=absolute_sigma,
        check_finite=check_finite, bounds=bounds if isinstance(bounds, optimize.Bounds)
        else lsq_bounds, method=method, jac=jac, full_output=full_output, **kwargs)
    out = tuple(out)
    return (*out, run) if return_result else out
