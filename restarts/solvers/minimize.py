"""Local search with :func:`scipy.optimize.minimize`, counting evaluations itself.

Evaluations are counted by the package's one counter,
:class:`restarts._counting.CountedFunction` (re-exported here with
:class:`BudgetExhausted`, where both were defined before).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import optimize

from .._counting import BudgetExhausted, CountedFunction
from .._digest import code_digest
from .._result import LocalResult
from .._validation import check_bounds, check_callable, check_choice, check_int, fail
from ._base import Solver

__all__ = ["Minimize", "CountedFunction", "BudgetExhausted"]

_METHODS = [
    "Nelder-Mead", "Powell", "CG", "BFGS", "Newton-CG", "L-BFGS-B", "TNC", "COBYLA",
    "COBYQA", "SLSQP", "trust-constr", "dogleg", "trust-ncg", "trust-exact", "trust-krylov",
]
_BOUNDED = {"Nelder-Mead", "Powell", "L-BFGS-B", "TNC", "SLSQP", "trust-constr", "COBYLA", "COBYQA"}
_NEEDS_JAC = {"Newton-CG", "dogleg", "trust-ncg", "trust-exact", "trust-krylov"}


class Minimize(Solver):
    """A local search with :func:`scipy.optimize.minimize` from each start point.

    Parameters
    ----------
    fun : callable
        Objective ``fun(x) -> float`` to minimise.
    bounds : sequence of (low, high), optional
        Box constraints. Start points are clipped into the box; with ``starts=None``
        in :func:`~restarts.multistart`, each restart draws a uniform start in it.
    method : str, default="L-BFGS-B"
        Any method of :func:`scipy.optimize.minimize`.
    jac : callable, bool or None, default=None
        Passed through. ``None`` means finite differences, whose ``fun`` calls are
        counted in ``nfev``; analytic gradient calls are counted in ``extra['njev']``.
        ``True`` means ``fun`` returns ``(value, gradient)``; each call counts once in
        ``nfev`` and once in ``njev``.
    options : dict, optional
        Passed through to :func:`scipy.optimize.minimize`.
    max_nfev : int, optional
        Hard cap on ``fun`` calls per restart; the best point seen so far is returned
        when it is reached (``success=False``).

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
    ) -> None:
        self.fun = check_callable(fun, "fun", "Minimize()")
        self.bounds = None if bounds is None else check_bounds(bounds, "bounds", "Minimize()")
        self.method = method if callable(method) else check_choice(
            method, "method", "Minimize()", _METHODS
        )
        if method in _NEEDS_JAC and jac is None:
            raise ValueError(
                f"The 'jac' parameter of Minimize() must be given for method={method!r}, "
                "which needs an analytic gradient. Got None instead."
            )
        if jac is not None and not (callable(jac) or isinstance(jac, (bool, str))):
            raise fail("jac", "Minimize()", "a callable, a bool, a str or None", jac, TypeError)
        self.jac = jac
        if options is not None and not isinstance(options, dict):
            raise fail("options", "Minimize()", "a dict or None", options, TypeError)
        self.options = dict(options or {})
        self.max_nfev = check_int(max_nfev, "max_nfev", "Minimize()", low=1, allow_none=True)

    @property
    def dim(self) -> int | None:
        return None if self.bounds is None else self.bounds.shape[0]

    def _start(self, start: Any, rng: np.random.Generator) -> np.ndarray:
        if start is None:
            if self.bounds is None:
                raise ValueError(
                    "Minimize() needs a start point: pass starts=... to multistart() or give "
                    "Minimize() bounds to draw uniform starts from."
                )
            lo, hi = self.bounds[:, 0], self.bounds[:, 1]
            return lo + rng.random(lo.shape[0]) * (hi - lo)
        x0 = np.asarray(start, dtype=float).ravel()
        if self.bounds is not None:
            if x0.shape[0] != self.bounds.shape[0]:
                raise ValueError(
                    f"The start point has {x0.shape[0]} coordinates but 'bounds' has "
                    f"{self.bounds.shape[0]} dimensions."
                )
            x0 = np.clip(x0, self.bounds[:, 0], self.bounds[:, 1])
        return x0

    def __call__(
        self, start: Any, rng: np.random.Generator, max_nfev: int | None = None
    ) -> LocalResult:
        """Run one local search from ``start`` (or a uniform point if ``None``)."""
        x0 = self._start(start, rng)
        cap = self.max_nfev if max_nfev is None else (
            max_nfev if self.max_nfev is None else min(max_nfev, self.max_nfev))
        counted = CountedFunction(self.fun, cap, with_grad=self.jac is True)
        njev = [0]
        jac = self.jac
        if callable(jac):
            user_jac = jac

            def jac(x: np.ndarray, *args: Any) -> Any:
                njev[0] += 1
                return user_jac(x, *args)

        bounds = None
        if self.bounds is not None:
            bounds = optimize.Bounds(self.bounds[:, 0], self.bounds[:, 1])
        kw = {"bounds": bounds} if bounds is not None and self.method in _BOUNDED else {}
        try:
            res = optimize.minimize(
                counted, x0, method=self.method, jac=jac, options=self.options or None, **kw
            )
        except BudgetExhausted:
            if counted.best_x is None:
                raise
            return LocalResult(
                x=counted.best_x, fun=counted.best_f, success=False, nit=None,
                nfev=counted.nfev, message="evaluation budget exhausted",
                extra={"njev": counted.nfev if self.jac is True else njev[0]},
            )
        x, fun = np.asarray(res.x, dtype=float), float(res.fun)
        if counted.best_f < fun:  # e.g. a line search ended on a worse point
            x, fun = counted.best_x, counted.best_f
        return LocalResult(
            x=x, fun=fun, success=bool(res.success), nit=int(getattr(res, "nit", 0) or 0),
            nfev=counted.nfev, message=str(res.message),
            extra={"njev": counted.nfev if self.jac is True else njev[0]},
        )

    def describe(self) -> dict:
        out = super().describe()
        out["fun"] = getattr(self.fun, "__qualname__", type(self.fun).__name__)
        digest = code_digest(self.fun)
        if digest is not None:
            out["fun_code_sha1"] = digest
        out["bounds"] = None if self.bounds is None else self.bounds.tolist()
        return out
