"""Stopping rules: when a run has done enough restarts.

Rules are evaluated on finished restarts **in restart-index order**: after restart
``m`` joins the ordered prefix ``0..m``, every rule sees that prefix, and the first
rule that fires ends the run with exactly restarts ``0..m``. Restarts that finished
out of order beyond ``m`` are discarded, so a stopped run is deterministic whatever
``n_jobs`` or the completion order (except :class:`TimeLimit`, which reads a clock).
Rules read a :class:`RunState` (defined in ``restarts._state``, re-exported here).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._solutions import BasinMatcher
from ._state import RunState
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


class StopRule:
    """Base class. Subclasses implement ``__call__(state) -> bool``.

    ``reset()`` is called once when a run starts, so one rule object can be reused.

    Attributes
    ----------
    max_nfev : int or None
        A hard evaluation budget the rule stands for (``None``: none). The driver
        hands the smallest budget of a run's rules to the strategy, and budgeted
        strategies (``"tiktak"``, ``"mlsl"``) never exceed it. Any rule, or any
        callable used as a rule, may define it.
    """

    max_nfev: int | None = None

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

    @property
    def max_nfev(self) -> int:
        """The budget ``n``: strategies that share a budget never exceed it."""
        return self.n

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

    def __call__(self, state: RunState) -> bool:
        return state.restarts_since_improvement(self.tol) >= self.restarts


OptimaTracker = BasinMatcher  # the name stopping rules used before; one matcher


class Discoveries(StopRule):
    """Stop once the best optimum so far has been reached ``k`` times.

    optimagic's multistart rule: when the best value keeps coming back, more
    restarts are unlikely to beat it. Two restarts reach the same optimum under
    :func:`~restarts.multistart`'s ``ftol``/``xtol`` rule.

    Parameters
    ----------
    k : int >= 1
    ftol, xtol : float, optional
        Tolerances deciding that two optima are the same (default: the run's, which
        follow the data unless given; see :func:`~restarts.multistart`).

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
