"""Local search with :func:`scipy.optimize.minimize`, counting evaluations itself.

Every argument of ``scipy.optimize.minimize`` passes through (``args``, ``jac``,
``hess``, ``hessp``, ``bounds``, ``constraints``, ``tol``, ``callback``,
``options``). With constraints each restart records its largest constraint
violation (``extra['maxcv']``), and one that ends infeasible is ``success=False``.

Evaluations are counted by the package's one counter,
:class:`restarts._counting.CountedFunction` (re-exported here with
:class:`BudgetExhausted`, where both were defined before).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import optimize

from .._counting import BudgetExhausted, CountedFunction
from .._result import LocalResult
from .._validation import check_callable, check_choice, check_int, fail
from ._base import Solver, describe_objective, start_point

__all__ = ["Minimize", "CountedFunction", "BudgetExhausted", "as_box", "max_violation"]

_METHODS = [
    "Nelder-Mead", "Powell", "CG", "BFGS", "Newton-CG", "L-BFGS-B", "TNC", "COBYLA",
    "COBYQA", "SLSQP", "trust-constr", "dogleg", "trust-ncg", "trust-exact", "trust-krylov",
]
_BOUNDED = {"Nelder-Mead", "Powell", "L-BFGS-B", "TNC", "SLSQP", "trust-constr", "COBYLA", "COBYQA"}
_NEEDS_JAC = {"Newton-CG", "dogleg", "trust-ncg", "trust-exact", "trust-krylov"}
_NEEDS_HESS = {"dogleg", "trust-exact"}  # hess itself; trust-ncg/-krylov: hess or hessp
_NEEDS_HESS_OR_P = {"trust-ncg", "trust-krylov"}
_CONSTRAINED = {"COBYLA", "COBYQA", "SLSQP", "trust-constr"}
_OWNER = "Minimize()"


def as_box(bounds: Any, name: str = "bounds", owner: str = _OWNER) -> np.ndarray:
    """``bounds`` as a ``(d, 2)`` array of ``(low, high)``; infinite or ``None`` ends allowed.

    Accepts a sequence of ``(low, high)`` pairs (SciPy's ``minimize`` convention) or a
    :class:`scipy.optimize.Bounds`. A ``(2, d)`` array — SciPy's ``(lb, ub)`` layout
    of ``least_squares`` — is refused with a message saying it looks transposed.

    Examples
    --------
    >>> from restarts.solvers.minimize import as_box
    >>> as_box([(0, 1), (None, 5)]).tolist()
    [[0.0, 1.0], [-inf, 5.0]]
    """
    if isinstance(bounds, optimize.Bounds):
        lb, ub = np.atleast_1d(bounds.lb), np.atleast_1d(bounds.ub)
        n = max(lb.size, ub.size)
        bounds = np.column_stack([np.broadcast_to(lb, (n,)), np.broadcast_to(ub, (n,))])
    if isinstance(bounds, (str, bytes)) or bounds is None:
        raise fail(name, owner, "a sequence of (low, high) pairs", bounds, TypeError)
    try:
        pairs = list(bounds)
    except TypeError:
        raise fail(name, owner, "a sequence of (low, high) pairs", bounds, TypeError) from None
    if not all(isinstance(p, (tuple, list, np.ndarray)) for p in pairs):
        raise fail(name, owner, "a non-empty sequence of (low, high) pairs (shape (d, 2))",
                   bounds)
    try:
        rows = [tuple(-np.inf if v is None and k == 0 else np.inf if v is None else v
                      for k, v in enumerate(pair)) for pair in pairs]
        arr = np.asarray(rows, dtype=float)
    except (TypeError, ValueError):
        raise fail(name, owner, "a sequence of numeric (low, high) pairs", bounds,
                   TypeError) from None
    if arr.ndim == 2 and arr.shape[0] == 2 and arr.shape[1] != 2:
        raise ValueError(
            f"The {name!r} parameter of {owner} must be one (low, high) pair per variable. "
            f"Got an array of shape {arr.shape}, which looks transposed (SciPy's (lb, ub) "
            "layout): pass list(zip(lb, ub)) or scipy.optimize.Bounds(lb, ub).")
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 1:
        raise fail(name, owner, "a non-empty sequence of (low, high) pairs (shape (d, 2))",
                   bounds)
    if np.isnan(arr).any():
        raise fail(name, owner, "(low, high) pairs without NaN (None or inf: no bound)",
                   bounds)
    bad = np.flatnonzero(arr[:, 0] > arr[:, 1])
    if bad.size:
        raise ValueError(
            f"The {name!r} parameter of {owner} must have low <= high in every pair. "
            f"Got low > high in dimension {int(bad[0])}: {tuple(arr[bad[0]])}.")
    return arr


def _as_constraint_list(constraints: Any) -> list:
    if constraints is None:
        return []
    if isinstance(constraints, (dict, optimize.LinearConstraint, optimize.NonlinearConstraint)):
        return [constraints]
    return list(constraints)


def max_violation(constraints: Any, x: np.ndarray) -> float:
    """The largest violation of ``constraints`` (SciPy's dicts or constraint objects) at ``x``.

    ``0`` when every constraint holds; an equality ``c(x) = 0`` is violated by
    ``|c(x)|``, an inequality ``c(x) >= 0`` by ``max(0, -c(x))``, ``lb <= c(x) <= ub``
    by the distance to the interval.

    Examples
    --------
    >>> import numpy as np
    >>> from restarts.solvers.minimize import max_violation
    >>> cons = [{"type": "ineq", "fun": lambda x: x[0] - 1}, {"type": "eq", "fun": lambda x: x[1]}]
    >>> max_violation(cons, np.array([0.5, 0.1]))
    0.5
    """
    worst = 0.0
    x = np.asarray(x, dtype=float)
    for c in _as_constraint_list(constraints):
        if isinstance(c, dict):
            v = np.atleast_1d(np.asarray(c["fun"](x, *c.get("args", ())), dtype=float))
            if c["type"] == "eq":
                viol = np.abs(v)
            else:
                viol = np.maximum(0.0, -v)
        else:
            if isinstance(c, optimize.LinearConstraint):
                v = np.atleast_1d(np.asarray(c.A @ x, dtype=float))
            else:
                v = np.atleast_1d(np.asarray(c.fun(x), dtype=float))
            lb = np.broadcast_to(np.asarray(c.lb, dtype=float), v.shape)
            ub = np.broadcast_to(np.asarray(c.ub, dtype=float), v.shape)
            viol = np.maximum(0.0, np.maximum(lb - v, v - ub))
        if viol.size:
            worst = max(worst, float(np.max(viol)))
    return worst


class _WithArgs:
    """``f(x, *rest, *args)``: SciPy's extra ``args`` bound once (picklable)."""

    def __init__(self, f: Callable, args: tuple) -> None:
        self.f, self.args = f, tuple(args)

    def __call__(self, *xs: Any) -> Any:
        return self.f(*xs, *self.args)


class _FirstOf:
    """``f(x)[0]`` as a float: the value of a ``(value, gradient)`` function (picklable)."""

    def __init__(self, f: Callable) -> None:
        self.f = f

    def __call__(self, x: Any) -> float:
        return float(self.f(x)[0])


class Minimize(Solver):
    """A local search with :func:`scipy.optimize.minimize` from each start point.

    Every argument of :func:`scipy.optimize.minimize` passes through with SciPy's
    meaning, so every method SciPy lists works when given what it needs (``jac``
    for Newton-CG and the trust-region methods; ``hess`` for dogleg and
    trust-exact; ``hess`` or ``hessp`` for trust-ncg and trust-krylov).

    Parameters
    ----------
    fun : callable
        Objective ``fun(x, *args) -> float`` to minimise.
    bounds : sequence of (low, high) or scipy.optimize.Bounds, optional
        Box constraints (``None`` or infinite ends allowed). Start points are
        clipped into the box; with ``starts=None`` in :func:`~restarts.multistart`,
        each restart draws a uniform start in it (finite bounds needed then).
        Passed to the methods that take bounds.
    method : str, default="L-BFGS-B"
        Any method of :func:`scipy.optimize.minimize`.
    jac : callable, bool, str or None, default=None
        Passed through. ``None`` means finite differences, whose ``fun`` calls are
        counted in ``nfev``; analytic gradient calls are counted in ``extra['njev']``.
        ``True`` means ``fun`` returns ``(value, gradient)``; each call counts once in
        ``nfev`` and once in ``njev``.
    options : dict, optional
        Passed through to :func:`scipy.optimize.minimize`.
    max_nfev : int, optional
        Hard cap on ``fun`` calls per restart; the best point seen so far is returned
        when it is reached (``success=False``).
    args : tuple, default=()
        Passed through, SciPy's meaning (as are the next five).
    hess : callable, str or HessianUpdateStrategy, optional
        A ``HessianUpdateStrategy`` is copied for each restart (it keeps state).
    hessp : callable, optional
        Hessian times a vector.
    constraints : dict, constraint or sequence of them, default=()
        SciPy's constraints (see ``ctol`` for feasibility).
    tol : float, optional
        SciPy's tolerance for termination.
    callback : callable, optional
        Called by SciPy after each iteration of each restart.
    ctol : float, optional
        With ``constraints``: a restart whose largest violation
        (:func:`max_violation`, recorded as ``extra['maxcv']``) exceeds ``ctol`` is
        ``success=False``. Default ``options['catol']`` for COBYLA (SciPy's 2e-4),
        else 1e-6.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> solver = rs.solvers.Minimize(lambda x: float((x ** 2).sum()), bounds=[(-1, 1)] * 2)
    >>> r = solver(np.array([0.5, -0.5]), np.random.default_rng(0))
    >>> bool(r.fun < 1e-10), r.nfev > 0
    (True, True)
    """

    def __init__(
        self,
        fun: Callable,
        bounds: Any = None,
        method: str = "L-BFGS-B",
        jac: Any = None,
        options: dict | None = None,
        max_nfev: int | None = None,
        *,
        args: Any = (),
        hess: Any = None,
        hessp: Callable | None = None,
        constraints: Any = (),
        tol: float | None = None,
        callback: Callable | None = None,
        ctol: float | None = None,
    ) -> None:
        check_callable(fun, "fun", _OWNER)
        if not isinstance(args, tuple):
            args = (args,)  # SciPy accepts a single extra argument
        self.args = args
        self.fun = _WithArgs(fun, args) if args else fun
        self.bounds = None if bounds is None else as_box(bounds, "bounds", _OWNER)
        self.method = method if callable(method) else check_choice(
            method, "method", _OWNER, _METHODS
        )
        if method in _NEEDS_JAC and jac is None:
            raise ValueError(
                f"The 'jac' parameter of {_OWNER} must be given for method={method!r}, "
                "which needs an analytic gradient. Got None instead."
            )
        if method in _NEEDS_HESS and hess is None:
            raise ValueError(
                f"The 'hess' parameter of {_OWNER} must be given for method={method!r}, "
                "which needs the Hessian. Got None instead.")
        if method in _NEEDS_HESS_OR_P and hess is None and hessp is None:
            raise ValueError(
                f"The 'hess' or 'hessp' parameter of {_OWNER} must be given for "
                f"method={method!r}, which needs Hessian(-vector) products. Got neither.")
        if jac is not None and not (callable(jac) or isinstance(jac, (bool, str))):
            raise fail("jac", _OWNER, "a callable, a bool, a str or None", jac, TypeError)
        self.jac = jac
        self._jac = _WithArgs(jac, args) if callable(jac) and args else jac
        self._hess = _WithArgs(hess, args) if callable(hess) and args else hess
        if hessp is not None:
            check_callable(hessp, "hessp", _OWNER)
        self._hessp = _WithArgs(hessp, args) if hessp is not None and args else hessp
        self._constraints = _as_constraint_list(constraints)
        if self._constraints and isinstance(method, str) and method not in _CONSTRAINED:
            raise ValueError(
                f"The 'constraints' parameter of {_OWNER} needs a method that handles "
                f"constraints ({sorted(_CONSTRAINED)}). Got method={method!r}, which "
                "ignores them.")
        self.tol = None if tol is None else float(tol)
        if callback is not None:
            check_callable(callback, "callback", _OWNER)
        self._callback = callback
        if options is not None and not isinstance(options, dict):
            raise fail("options", _OWNER, "a dict or None", options, TypeError)
        self.options = dict(options or {})
        self.max_nfev = check_int(max_nfev, "max_nfev", _OWNER, low=1, allow_none=True)
        if ctol is None:
            ctol = float(self.options.get("catol", 2e-4)) if method == "COBYLA" else 1e-6
        self.ctol = float(ctol)

    @property
    def value(self) -> Callable:
        """``x -> float``: the objective's value (``args`` bound; with ``jac=True`` the
        first of ``fun``'s pair), for samplers and value-only solvers."""
        return _FirstOf(self.fun) if self.jac is True else self.fun

    @property
    def constrained(self) -> bool:
        """Whether restarts are checked against constraints (``extra['maxcv']``)."""
        return bool(self._constraints)

    @property
    def dim(self) -> int | None:
        return None if self.bounds is None else self.bounds.shape[0]

    def _start(self, start: Any, rng: np.random.Generator) -> np.ndarray:
        return start_point(start, rng, self.bounds, _OWNER)

    def __call__(
        self, start: Any, rng: np.random.Generator, max_nfev: int | None = None
    ) -> LocalResult:
        """Run one local search from ``start`` (or a uniform point if ``None``)."""
        x0 = self._start(start, rng)
        cap = self.max_nfev if max_nfev is None else (
            max_nfev if self.max_nfev is None else min(max_nfev, self.max_nfev))
        counted = CountedFunction(self.fun, cap, with_grad=self.jac is True)
        njev = [0]
        jac = self._jac
        if callable(jac):
            user_jac = jac

            def jac(x: np.ndarray, *args: Any) -> Any:
                njev[0] += 1
                return user_jac(x, *args)

        kw: dict[str, Any] = {}
        if self.bounds is not None and self.method in _BOUNDED:
            kw["bounds"] = optimize.Bounds(self.bounds[:, 0], self.bounds[:, 1])
        hess = self._hess
        if hess is not None and not callable(hess) and not isinstance(hess, str):
            hess = copy.deepcopy(hess)  # a HessianUpdateStrategy keeps state
        for key, value in (("hess", hess), ("hessp", self._hessp), ("tol", self.tol),
                           ("callback", self._callback)):
            if value is not None:
                kw[key] = value
        if self._constraints:
            kw["constraints"] = self._constraints
        try:
            res = optimize.minimize(
                counted, x0, method=self.method, jac=jac, options=self.options or None, **kw
            )
        except BudgetExhausted:
            if counted.best_x is None:
                raise
            return self._result(counted.best_x, counted.best_f, False, None, counted.nfev,
                                "evaluation budget exhausted", counted, njev[0])
        x, fun = np.asarray(res.x, dtype=float), float(res.fun)
        if counted.best_f < fun and not self._constraints:
            x, fun = counted.best_x, counted.best_f  # e.g. a line search ended worse
        return self._result(x, fun, bool(res.success), int(getattr(res, "nit", 0) or 0),
                            counted.nfev, str(res.message), counted, njev[0])

    def _result(self, x: np.ndarray, fun: float, success: bool, nit: int | None, nfev: int,
                message: str, counted: CountedFunction, njev: int) -> LocalResult:
        extra: dict[str, Any] = {"njev": counted.nfev if self.jac is True else njev}
        if self._constraints:
            maxcv = max_violation(self._constraints, x)
            extra["maxcv"] = maxcv
            if maxcv > self.ctol:
                success = False
                message = (f"infeasible: largest constraint violation {maxcv:.3g} > "
                           f"ctol={self.ctol:g} ({message})")
        return LocalResult(x=x, fun=fun, success=success, nit=nit, nfev=nfev,
                           message=message, extra=extra)

    def describe(self) -> dict:
        out = super().describe()
        fun = self.fun.f if isinstance(self.fun, _WithArgs) else self.fun
        out.update(describe_objective(fun, self.bounds))
        out.pop("args", None)
        # Settings at their defaults stay out, so runs stored before they existed resume.
        if out.get("tol") is None:
            out.pop("tol", None)
        if self.constrained:
            out["constraints"] = len(self._constraints)
        else:
            out.pop("ctol", None)  # ctol only judges constrained restarts
        return out
