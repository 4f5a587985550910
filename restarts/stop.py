"""Stopping rules: when a run has done enough restarts.

Rules are evaluated on finished restarts **in restart-index order**: after restart
``m`` joins the ordered prefix ``0..m``, every rule sees that prefix, and the first
rule that fires ends the run with exactly restarts ``0..m``. Restarts that finished
out of order beyond ``m`` are discarded, so a stopped run is deterministic whatever
``n_jobs`` or the completion order (except :class:`TimeLimit`, which reads a clock).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from ._validation import check_int, check_real

__all__ = [
    "StopRule",
    "RunState",
    "MaxEvaluations",
    "TimeLimit",
    "Target",
    "NoImprovement",
    "Discoveries",
    "MissingMass",
    "Bayesian",
    "OptimaTracker",
    "as_rules",
]


class RunState:
    """What stopping rules see: the ordered prefix of finished restarts.

    Attributes
    ----------
    restarts : list of Restart
        Finished restarts ``0..m`` in index order (failed ones included).
    n_done : int
        ``m + 1``.
    nfev : int
        Total objective evaluations over the prefix (restarts without ``nfev`` count 0),
        plus ``extra_nfev``.
    extra_nfev : int
        Evaluations a strategy made outside local searches (TikTak's Sobol sample,
        MLSL's sampling rounds), recorded with :meth:`add_evaluations`.
    best_fun : float
        Lowest finite ``fun`` so far (``inf`` if none).
    best_index : int or None
    since_improvement : int
        Restarts since ``best_fun`` last decreased.
    elapsed : float
        Seconds since the run started.
    ftol, xtol : float
        The run's tolerances for "same optimum" (see :func:`~restarts.multistart`).
    canonical : callable or None
        The solver's ``canonical(x)``, if any.
    """

    def __init__(self, ftol: float = 1e-6, xtol: float = 1e-4, canonical: Any = None) -> None:
        self.ftol, self.xtol, self.canonical = ftol, xtol, canonical
        self.restarts: list = []
        self.nfev = 0
        self.extra_nfev = 0
        self.best_fun = math.inf
        self.best_index: int | None = None
        self.since_improvement = 0
        self.t0 = time.perf_counter()

    @property
    def n_done(self) -> int:
        return len(self.restarts)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def add_evaluations(self, n: int) -> None:
        """Count ``n`` objective evaluations made outside any restart."""
        self.extra_nfev += int(n)
        self.nfev += int(n)

    def optima(self, ftol: float | None = None, xtol: float | None = None,
               canonical: Any = None) -> OptimaTracker:
        """Distinct optima of the prefix, updated incrementally (O(new restarts) per call).

        ``ftol``/``xtol``/``canonical`` default to the run's (the attributes of the
        same name).
        """
        ftol = self.ftol if ftol is None else ftol
        xtol = self.xtol if xtol is None else xtol
        canonical = self.canonical if canonical is None else canonical
        key = (float(ftol), float(xtol), id(canonical))
        trackers = self.__dict__.setdefault("_optima", {})
        tracker = trackers.get(key)
        if tracker is None:
            tracker = trackers[key] = OptimaTracker(key[0], key[1], canonical)
        tracker.update(self.restarts)
        return tracker

    def add(self, restart: Any, improve_tol: float = 0.0) -> None:
        self.restarts.append(restart)
        res = restart.result
        if res is not None and res.nfev is not None:
            self.nfev += res.nfev
        if restart.error is None and res is not None and res.fun < self.best_fun - improve_tol:
            self.best_fun = res.fun
            self.best_index = restart.index
            self.since_improvement = 0
        else:
            self.since_improvement += 1


class StopRule:
    """Base class. Subclasses implement ``__call__(state) -> bool``.

    ``reset()`` is called once when a run starts, so one rule object can be reused.
    """

    def reset(self) -> None:
        """Forget anything remembered from an earlier run."""

    def __call__(self, state: RunState) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> dict:
        return {"rule": type(self).__name__, **{k: v for k, v in vars(self).items()
                                                if not k.startswith("_")}}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class MaxEvaluations(StopRule):
    """Stop once the restarts so far used at least ``n`` objective evaluations in total.

    The restart that crosses ``n`` is kept (a local search is not cut short by the
    driver); strategies that share a hard evaluation budget (``"tiktak"``,
    ``"mlsl"``) read ``n`` and never exceed it.

    Examples
    --------
    >>> import restarts as rs
    >>> rule = rs.stop.MaxEvaluations(1000)
    >>> rule.n
    1000
    """

    def __init__(self, n: int) -> None:
        self.n = check_int(n, "n", "MaxEvaluations()", low=1)

    def __call__(self, state: RunState) -> bool:
        return state.nfev >= self.n


class TimeLimit(StopRule):
    """Stop once ``seconds`` of wall time have passed since the run started.

    Restarts already running finish, in-order ones are kept. This rule reads a clock,
    so where it stops is not reproducible (each kept restart still is).

    Examples
    --------
    >>> import restarts as rs
    >>> rs.stop.TimeLimit(60).seconds
    60.0
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = check_real(seconds, "seconds", "TimeLimit()", low=0, strict_low=True)

    def __call__(self, state: RunState) -> bool:
        return state.elapsed >= self.seconds


class Target(StopRule):
    """Stop once a restart reaches ``fun <= target + tol``.

    Examples
    --------
    >>> import restarts as rs
    >>> rs.stop.Target(0.0, tol=1e-8).tol
    1e-08
    """

    def __init__(self, fun: float, tol: float = 1e-8) -> None:
        self.fun = check_real(fun, "fun", "Target()")
        self.tol = check_real(tol, "tol", "Target()", low=0)

    def __call__(self, state: RunState) -> bool:
        return state.best_fun <= self.fun + self.tol


class NoImprovement(StopRule):
    """Stop after ``restarts`` consecutive restarts that did not improve the best value.

    Parameters
    ----------
    restarts : int >= 1
    tol : float, default=0.0
        An improvement smaller than ``tol`` does not count.

    Examples
    --------
    >>> import restarts as rs
    >>> rs.stop.NoImprovement(20).restarts
    20
    """

    def __init__(self, restarts: int, tol: float = 0.0) -> None:
        self.restarts = check_int(restarts, "restarts", "NoImprovement()", low=1)
        self.tol = check_real(tol, "tol", "NoImprovement()", low=0)
        self._best = math.inf
        self._since = 0
        self._seen = 0

    def reset(self) -> None:
        self._best, self._since, self._seen = math.inf, 0, 0

    def __call__(self, state: RunState) -> bool:
        for r in state.restarts[self._seen:]:
            ok = r.error is None and r.result is not None
            if ok and r.result.fun < self._best - self.tol:
                self._best, self._since = r.result.fun, 0
            else:
                self._since += 1
        self._seen = state.n_done
        return self._since >= self.restarts


class OptimaTracker:
    """Distinct optima of an ordered prefix of restarts, grown one restart at a time.

    A new restart joins the first known optimum with ``|Δfun| <= ftol`` and
    ``‖Δkey‖ <= xtol`` (key = ``canonical(x)`` or ``x``), else founds a new one — the
    rule of :func:`restarts._solutions.assign_basins`, applied in arrival order
    rather than best first, so ids here are arrival order (counts agree but for
    chains of optima closer than the tolerances). Candidates are found by bisection
    on ``fun``, so an update costs about ``O(log m)`` per new restart.

    Attributes
    ----------
    n : int
        Successful restarts seen.
    counts : list of int
        Restarts per optimum, by optimum id.
    singletons : int
        Optima reached exactly once.
    best : int or None
        Id of the optimum with the lowest ``fun``.
    """

    def __init__(self, ftol: float, xtol: float, canonical: Any = None) -> None:
        self.ftol, self.xtol, self.canonical = ftol, xtol, canonical
        self.n = 0
        self.counts: list[int] = []
        self.singletons = 0
        self.best: int | None = None
        self._seen = 0
        self._funs: list[float] = []  # representative values, sorted
        self._ids: list[int] = []  # optimum id at each sorted position
        self._keys: list[Any] = []  # by optimum id

    @property
    def distinct(self) -> int:
        return len(self.counts)

    def update(self, restarts: Sequence[Any]) -> None:
        import bisect

        import numpy as np

        from ._solutions import optimum_key

        for r in restarts[self._seen:]:
            if r.error is not None or r.result is None:
                continue
            f = float(r.result.fun)
            key = optimum_key(r.result.x, self.canonical)
            found = -1
            for pos in range(bisect.bisect_left(self._funs, f - self.ftol), len(self._funs)):
                if self._funs[pos] > f + self.ftol:
                    break
                other = self._keys[self._ids[pos]]
                if key is None or other is None or other.shape != key.shape:
                    same = key is None and other is None
                else:
                    same = float(np.linalg.norm(key - other)) <= self.xtol
                if same:
                    found = self._ids[pos]
                    break
            if found < 0:
                found = len(self.counts)
                pos = bisect.bisect_right(self._funs, f)
                self._funs.insert(pos, f)
                self._ids.insert(pos, found)
                self._keys.append(key)
                self.counts.append(0)
            self.counts[found] += 1
            if self.counts[found] == 1:
                self.singletons += 1
            elif self.counts[found] == 2:
                self.singletons -= 1
            self.n += 1
            if self._ids[0] != self.best:
                self.best = self._ids[0]
        self._seen = len(restarts)


class Discoveries(StopRule):
    """Stop once the best optimum so far has been reached ``k`` times.

    optimagic's multistart rule: when the best value keeps coming back, more
    restarts are unlikely to beat it. Two restarts reach the same optimum under
    :func:`~restarts.multistart`'s ``ftol``/``xtol`` rule.

    Parameters
    ----------
    k : int >= 1
    ftol, xtol : float, optional
        Tolerances deciding that two optima are the same (default: the run's, else
        ``1e-6`` and ``1e-4``).

    Examples
    --------
    >>> import restarts as rs
    >>> rs.stop.Discoveries(3).k
    3
    """

    def __init__(self, k: int, ftol: float | None = None, xtol: float | None = None) -> None:
        self.k = check_int(k, "k", "Discoveries()", low=1)
        self.ftol = check_real(ftol, "ftol", "Discoveries()", low=0, allow_none=True)
        self.xtol = check_real(xtol, "xtol", "Discoveries()", low=0, allow_none=True)

    def __call__(self, state: RunState) -> bool:
        t = state.optima(self.ftol, self.xtol)
        return t.best is not None and t.counts[t.best] >= self.k


class MissingMass(StopRule):
    """Stop when, with confidence ``1 - delta``, an unseen basin has share ``<= mass``.

    Dick, Wong & Dann ("How many random restarts are enough?", 2014): the Good–Turing
    estimate of the probability that one more restart finds a new optimum is the
    fraction of restarts whose optimum was seen exactly once; McAllester & Schapire's
    bound adds ``(2 sqrt(2) + sqrt(3)) sqrt(log(3 / delta) / n)``. The rule fires when
    that upper bound is ``<= mass``. See :func:`restarts.analysis.missing_mass`.

    Parameters
    ----------
    mass : float in (0, 1], default=0.1
    delta : float in (0, 1), default=0.05
    ftol, xtol : float, optional
        As in :class:`Discoveries`.

    Examples
    --------
    >>> import restarts as rs
    >>> rule = rs.stop.MissingMass(0.2, delta=0.1)
    >>> rule.mass, rule.delta
    (0.2, 0.1)
    """

    def __init__(self, mass: float = 0.1, delta: float = 0.05, ftol: float | None = None,
                 xtol: float | None = None) -> None:
        owner = "MissingMass()"
        self.mass = check_real(mass, "mass", owner, low=0, high=1, strict_low=True)
        self.delta = check_real(delta, "delta", owner, low=0, high=1, strict_low=True)
        if self.delta >= 1:
            raise ValueError(f"The 'delta' parameter of {owner} must be a number in (0, 1). "
                             f"Got {delta!r} instead.")
        self.ftol = check_real(ftol, "ftol", owner, low=0, allow_none=True)
        self.xtol = check_real(xtol, "xtol", owner, low=0, allow_none=True)

    def __call__(self, state: RunState) -> bool:
        from .analysis import good_turing_bound

        t = state.optima(self.ftol, self.xtol)
        return t.n > 0 and good_turing_bound(t.n, t.singletons, self.delta)[1] <= self.mass


class Bayesian(StopRule):
    """Stop when the expected number of optima not yet seen is below ``unseen``.

    Boender & Rinnooy Kan (1987): after ``n`` successful restarts with ``w`` distinct
    optima, the posterior expected number of optima is ``w (n-1) / (n-w-2)``; with
    the default ``unseen=0.5`` the rule stops when that estimate rounds to ``w``.
    See :func:`restarts.analysis.estimate_optima`.

    Parameters
    ----------
    unseen : float > 0, default=0.5
    min_restarts : int >= 1, default=1
        Never stop before this many successful restarts.
    ftol, xtol : float, optional
        As in :class:`Discoveries`.

    Examples
    --------
    >>> import restarts as rs
    >>> rs.stop.Bayesian().unseen
    0.5
    """

    def __init__(self, unseen: float = 0.5, min_restarts: int = 1, ftol: float | None = None,
                 xtol: float | None = None) -> None:
        owner = "Bayesian()"
        self.unseen = check_real(unseen, "unseen", owner, low=0, strict_low=True)
        self.min_restarts = check_int(min_restarts, "min_restarts", owner, low=1)
        self.ftol = check_real(ftol, "ftol", owner, low=0, allow_none=True)
        self.xtol = check_real(xtol, "xtol", owner, low=0, allow_none=True)

    def __call__(self, state: RunState) -> bool:
        t = state.optima(self.ftol, self.xtol)
        n, w = t.n, t.distinct
        if n < self.min_restarts or w == 0 or n - w - 2 <= 0:
            return False
        return w * (w + 1) / (n - w - 2) < self.unseen


def as_rules(stop: Any, owner: str = "multistart()") -> list[StopRule]:
    """Validate ``stop``: None, one rule, or a sequence of rules (callables on RunState)."""
    if stop is None:
        return []
    rules: Sequence[Any] = [stop] if not isinstance(stop, (list, tuple)) else stop
    for rule in rules:
        if not callable(rule):
            raise TypeError(
                f"The 'stop' parameter of {owner} must be a rule from restarts.stop, a "
                f"callable taking a RunState, or a list of them. Got {type(rule).__name__} instead."
            )
    return list(rules)
