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
        Total objective evaluations over the prefix (restarts without ``nfev`` count 0).
    best_fun : float
        Lowest finite ``fun`` so far (``inf`` if none).
    best_index : int or None
    since_improvement : int
        Restarts since ``best_fun`` last decreased.
    elapsed : float
        Seconds since the run started.
    """

    def __init__(self) -> None:
        self.restarts: list = []
        self.nfev = 0
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
