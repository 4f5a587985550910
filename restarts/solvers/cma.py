"""CMA-ES (pycma, the reference implementation) as one local search of a restart.

Restarts are the driver's job, so pycma's own restarts are off: one call runs one
CMA-ES from the start point (the initial mean) until pycma's termination criteria or
the evaluation cap. The loop is ask/tell, so every ``fun`` call goes through one
counter and the cap ``max_nfev`` is exact: when fewer evaluations are left than the
population has members, only those that fit are evaluated and the search ends.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._result import LocalResult
from .._validation import check_bounds, check_callable, check_choice, check_int, check_real, fail
from ._base import Resumable, describe_objective, start_point

__all__ = ["CMA", "import_cma", "SIGMA0_FRACTION"]

#: Default initial step size, as a fraction of each coordinate's box width (Hansen's
#: advice: about a quarter to a fifth of the search range; COCO's BBOB runs of pycma
#: use 2 on [-5, 5], i.e. 0.2).
SIGMA0_FRACTION = 0.2

# pycma's own tolerances (tolfun=1e-11, tolx=1e-11) are kept: on the 10-d sphere and
# 1e6-conditioned ellipsoid they end at f - f* ~ 1e-14 (5 seeds each, 2,350-5,150
# evaluations); 100x tighter ones reached ~1e-16 for ~5% more evaluations.


def import_cma(owner: str) -> Any:
    """The ``cma`` module, or an ``ImportError`` naming the extra to install."""
    try:
        import cma
    except ImportError as exc:
        raise ImportError(
            f"{owner} needs pycma (the 'cma' package): pip install 'restarts[cma]' (or cma)."
        ) from exc
    return cma


class _Randn:
    """pycma's ``randn(lam, N)`` drawn from the restart's generator (not numpy's global)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def __call__(self, *shape: int) -> np.ndarray:
        return self.rng.standard_normal(shape)


@dataclass(eq=False)
class CMAState:
    """Where one CMA-ES stands (it pickles): pycma's strategy (which samples from the
    restart's ``rng``), the cap, the evaluations so far, the best point seen, a
    generation asked but not yet fully evaluated (``pending``, with its ``values``)
    and pycma's stop reasons once it stopped."""

    es: Any
    cap: int | None
    sigma0: float
    best_x: np.ndarray
    best_f: float = math.inf
    nfev: int = 0
    pending: list | None = None
    values: list = field(default_factory=list)
    message: str = ""


class CMA(Resumable):
    """CMA-ES from one start point: a local solver for :func:`~restarts.multistart`.

    Parameters
    ----------
    fun : callable
        Objective ``fun(x) -> float`` to minimise.
    bounds : sequence of (low, high), optional
        Box constraints; every evaluated point lies in the box (see
        ``bound_handling``). Starts are clipped into the box; a ``None`` start is
        drawn uniformly in it.
    sigma0 : float > 0, optional
        Initial step size. Default: ``SIGMA0_FRACTION = 0.2`` times each
        coordinate's box width (coordinate-wise through pycma's ``CMA_stds`` when the
        widths differ). Required without bounds. A given ``sigma0`` is the step in
        every coordinate.
    popsize : int >= 2, optional
        Population size ``λ`` (default pycma's ``4 + floor(3 ln d)``).
    max_nfev : int >= 1, optional
        Hard cap on ``fun`` calls per restart, never exceeded.
    options : dict, optional
        Further pycma options (override the defaults here: quiet, sampling from the
        restart's ``rng``; pycma's termination tolerances, which end smooth problems
        at ``f - f* ~ 1e-14``).
    bound_handling : {"penalty", "transform"}, default="penalty"
        ``"penalty"``: CMA-ES samples without bounds; a point outside the box is
        evaluated at its projection (clipped into the box) and ranked with a
        penalty ``w · ||x - clip(x)||²``, ``w`` = the generation's inter-quartile
        range of values over ``σ² · mean(diag C)`` (one standard deviation outside
        costs about one IQR; as pycma's ``BoundPenalty`` scales it). ``"transform"``:
        pycma's ``BoundTransform`` (the box folded periodically). On BBOB's
        ill-conditioned functions in 10-d the transform slows convergence to 1e-8
        about 1.5x (f10: 4,400-8,300 evaluations vs 3,900-5,300, 8 runs each; see
        ``docs/benchmarks-bbob.md``): the long axes of the search distribution
        cross the box and fold back.

    Notes
    -----
    ``solver(start, rng, max_nfev=None, popsize=None, sigma0=None)`` takes per-restart
    settings (restart schedules such as IPOP pass a growing ``popsize``); the smaller
    of two caps wins. pycma samples from ``rng`` (its ``randn`` option), never from
    numpy's global state, so restart ``i`` depends only on ``(rng, i)``.
    ``extra`` holds ``popsize``, ``sigma0`` and ``sigma`` (the final step size);
    ``message`` pycma's termination reasons.

    With ``max_nfev`` the solver is resumable (``begin``, ``advance``, ``current``,
    ``finished``; ``budget_unit = "evaluations"``): a generation cut by a piece's
    budget stays pending and is evaluated on, so pieces equal one run bit for bit
    and ``current`` after ``k`` evaluations equals the run with ``max_nfev=k``.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> solver = rs.solvers.CMA(lambda x: float((x ** 2).sum()), bounds=[(-5, 5)] * 3)
    >>> r = solver(np.array([1.0, 2.0, -1.0]), np.random.default_rng(0), max_nfev=2000)
    >>> bool(r.fun < 1e-10), r.nfev <= 2000
    (True, True)
    """

    def __init__(self, fun: Callable, bounds: Any = None, sigma0: float | None = None,
                 popsize: int | None = None, max_nfev: int | None = None,
                 options: dict | None = None, bound_handling: str = "penalty") -> None:
        owner = "CMA()"
        self.fun = check_callable(fun, "fun", owner)
        self.bounds = None if bounds is None else check_bounds(bounds, "bounds", owner)
        self.sigma0 = check_real(sigma0, "sigma0", owner, low=0, strict_low=True,
                                 allow_none=True)
        if self.sigma0 is None and self.bounds is None:
            raise ValueError(
                "The 'sigma0' parameter of CMA() must be given when there are no bounds "
                "(its default is a fraction of the box width). Got None instead."
            )
        self.popsize = check_int(popsize, "popsize", owner, low=2, allow_none=True)
        self.max_nfev = check_int(max_nfev, "max_nfev", owner, low=1, allow_none=True)
        if options is not None and not isinstance(options, dict):
            raise fail("options", owner, "a dict or None", options, TypeError)
        self.options = dict(options or {})
        self.bound_handling = check_choice(bound_handling, "bound_handling", owner,
                                           ["penalty", "transform"])
        import_cma(owner)  # fail at construction, not in every restart

    @property
    def dim(self) -> int | None:
        return None if self.bounds is None else self.bounds.shape[0]

    def _start(self, start: Any, rng: np.random.Generator) -> np.ndarray:
        return start_point(start, rng, self.bounds, "CMA()")

    def __call__(self, start: Any, rng: np.random.Generator, max_nfev: int | None = None,
                 popsize: int | None = None, sigma0: float | None = None) -> LocalResult:
        """Run one CMA-ES from ``start`` (or a uniform point in the box if ``None``)."""
        owner = "CMA.__call__()"
        max_nfev = check_int(max_nfev, "max_nfev", owner, low=1, allow_none=True)
        popsize = check_int(popsize, "popsize", owner, low=2, allow_none=True)
        sigma0 = check_real(sigma0, "sigma0", owner, low=0, strict_low=True, allow_none=True)
        cap = self.max_nfev if max_nfev is None else (
            max_nfev if self.max_nfev is None else min(max_nfev, self.max_nfev))
        state = self._begin(start, rng, cap, popsize, sigma0)
        self._run(state, cap)
        return self.current(state)

    # -- the incremental protocol (budget: evaluations; needs max_nfev) -----------------
    budget_unit = "evaluations"

    @property
    def max_budget(self) -> int | None:
        """``max_nfev`` (``None`` without a cap: the solver is then not resumable)."""
        return self.max_nfev

    def begin(self, start: Any, rng: np.random.Generator) -> CMAState:
        """Set one CMA-ES up from ``start`` (no evaluation yet)."""
        if self.max_nfev is None:
            raise TypeError(
                "CMA.begin() needs max_nfev: the incremental protocol counts "
                "evaluations up to it. Got CMA(max_nfev=None) instead."
            )
        return self._begin(start, rng, self.max_nfev, None, None)

    def _advance(self, state: CMAState, budget: int) -> None:
        self._run(state, min(state.cap, state.nfev + budget))

    def finished(self, state: CMAState) -> bool:
        """Whether pycma stopped (its tolerances) or ``max_nfev`` evaluations ran."""
        return bool(state.message) or (state.cap is not None and state.nfev >= state.cap)

    def current(self, state: CMAState) -> LocalResult:
        """The best point evaluated so far; after ``k`` evaluations what
        ``max_nfev=k`` returns."""
        capped = not state.message and state.cap is not None and state.nfev >= state.cap
        message = "evaluation budget exhausted" if capped else state.message
        if not np.isfinite(state.best_f):
            reason = message or "no evaluation yet: advance the state first"
            raise ValueError(f"CMA() found no finite value of fun ({reason}).")
        if not message:
            message = f"stopped after {state.nfev} evaluations"
        return LocalResult(
            x=state.best_x.copy(), fun=state.best_f,
            success=bool(state.message) and "no finite" not in state.message,
            nit=int(state.es.countiter), nfev=state.nfev, message=message,
            extra={"popsize": int(state.es.popsize), "sigma0": state.sigma0,
                   "sigma": float(state.es.sigma)},
        )

    def _begin(self, start: Any, rng: np.random.Generator, cap: int | None,
               popsize: int | None, sigma0: float | None) -> CMAState:
        cma = import_cma("CMA()")
        x0 = self._start(start, rng)
        opts: dict[str, Any] = {"verbose": -9, "verb_log": 0, "verb_disp": 0,
                                "seed": math.nan, "randn": _Randn(rng)}
        sigma = sigma0 if sigma0 is not None else self.sigma0
        if self.bounds is not None:
            lo, hi = self.bounds[:, 0], self.bounds[:, 1]
            if self.bound_handling == "transform":
                opts["bounds"] = [lo.tolist(), hi.tolist()]
            if sigma is None:
                width = hi - lo
                sigma = SIGMA0_FRACTION * float(width.max())
                if not np.all(width == width.max()):
                    opts["CMA_stds"] = (width / width.max()).tolist()
        lam = popsize if popsize is not None else self.popsize
        if lam is not None:
            opts["popsize"] = lam
        opts.update(self.options)
        state = CMAState(es=cma.CMAEvolutionStrategy(x0, sigma, opts), cap=cap,
                         sigma0=float(sigma), best_x=x0.copy())
        self._check_stop(state)
        return state

    @staticmethod
    def _check_stop(state: CMAState) -> None:
        stop = state.es.stop()
        if stop:
            state.message = ", ".join(f"{k}={v}" for k, v in stop.items())

    def _run(self, state: CMAState, target: int | None) -> None:
        """Evaluate (and tell pycma) until ``target`` evaluations in all (``None``: no
        cap) or pycma stops; a generation cut by the target stays pending."""
        es = state.es
        while not state.message:
            if state.pending is None:
                if target is not None and state.nfev >= target:
                    return
                state.pending, state.values = es.ask(), []
            xs, values = state.pending, state.values
            while len(values) < len(xs):
                if target is not None and state.nfev >= target:
                    return  # the budget ends inside a generation: nothing to tell yet
                x = np.array(xs[len(values)], dtype=float)
                if self._penalised:
                    x = np.clip(x, self.bounds[:, 0], self.bounds[:, 1])
                value = float(self.fun(x))
                state.nfev += 1
                values.append(value)
                if value < state.best_f:  # NaN never compares lower
                    state.best_f, state.best_x = value, x
            state.pending = None
            values = np.array(values)
            finite = np.isfinite(values)
            if not finite.any():
                state.message = "no finite value in a generation"
                return
            if not finite.all():  # worse than every finite value, so ranked last
                worst = values[finite].max()
                values[~finite] = worst + abs(worst) + 1.0
            if self._penalised:
                values = values + self._penalty(es, xs, values)
            es.tell(xs, values.tolist())
            self._check_stop(state)

    @property
    def _penalised(self) -> bool:
        return self.bounds is not None and self.bound_handling == "penalty"

    def _penalty(self, es: Any, xs: list, values: np.ndarray) -> np.ndarray:
        """``w · ||x - clip(x)||²`` per point (``bound_handling="penalty"``)."""
        xs = np.asarray(xs, dtype=float)
        d2 = np.sum((xs - np.clip(xs, self.bounds[:, 0], self.bounds[:, 1])) ** 2, axis=1)
        if not d2.any():
            return d2
        q75, q25 = np.percentile(values, [75, 25])
        scale = float(es.sigma) ** 2 * float(np.mean(es.sm.variances))
        return max(q75 - q25, 1e-300) / max(scale, 1e-300) * d2

    def describe(self) -> dict:
        out = super().describe()
        out.update(describe_objective(self.fun, self.bounds))
        if self.bounds is not None:  # runs stored before "penalty" used "transform"
            out["bound_handling"] = self.bound_handling
        out["options"] = {k: repr(v) for k, v in sorted(self.options.items())}
        return out
