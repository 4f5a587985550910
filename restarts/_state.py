"""The run state: the ordered prefix of finished restarts that rules and strategies read.

The driver appends each restart once it joins the prefix ``0..m`` (restart-index
order); stopping rules read the state, strategies read it and add the evaluations
they make outside local searches. Derived views (distinct optima, restarts since
the last improvement) are kept per tolerance and updated incrementally.
"""

from __future__ import annotations

import math
import time
from typing import Any

from ._solutions import BasinMatcher, resolve_tolerances

__all__ = ["RunState"]


class RunState:
    """What stopping rules and strategies see: the ordered prefix of finished restarts.

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
        Restarts since ``best_fun`` last decreased (see :meth:`restarts_since_improvement`).
    elapsed : float
        Seconds since the run started.
    ftol, xtol : float or None
        The run's tolerances for "same optimum" (see :func:`~restarts.multistart`);
        ``None`` follows the data (:func:`~restarts._solutions.resolve_tolerances`).
    canonical : callable or None
        The solver's ``canonical(x)``, if any.

    Examples
    --------
    >>> import restarts as rs
    >>> state = rs.stop.RunState()
    >>> state.n_done, state.best_fun
    (0, inf)
    """

    def __init__(self, ftol: float | None = None, xtol: float | None = None,
                 canonical: Any = None) -> None:
        self.ftol, self.xtol, self.canonical = ftol, xtol, canonical
        self.restarts: list = []
        self.nfev = 0
        self.extra_nfev = 0
        self.best_fun = math.inf
        self.best_index: int | None = None
        self.t0 = time.perf_counter()
        self._matchers: dict[tuple, list] = {}  # key -> [matcher, refit at n_done]
        self._since: dict[float, list] = {}  # tol -> [best, since, seen]

    @property
    def n_done(self) -> int:
        return len(self.restarts)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    @property
    def since_improvement(self) -> int:
        return self.restarts_since_improvement(0.0)

    def restarts_since_improvement(self, tol: float = 0.0) -> int:
        """Restarts since the best ``fun`` last decreased by more than ``tol``.

        Failed restarts count as not improving. Updated incrementally per ``tol``.
        """
        entry = self._since.setdefault(float(tol), [math.inf, 0, 0])
        best, since, seen = entry
        for r in self.restarts[seen:]:
            if r.error is None and r.result is not None and r.result.fun < best - tol:
                best, since = r.result.fun, 0
            else:
                since += 1
        entry[:] = [best, since, len(self.restarts)]
        return since

    def add_evaluations(self, n: int) -> None:
        """Count ``n`` objective evaluations made outside any restart."""
        self.extra_nfev += int(n)
        self.nfev += int(n)

    def optima(self, ftol: float | None = None, xtol: float | None = None,
               canonical: Any = None) -> BasinMatcher:
        """Distinct optima of the prefix, updated incrementally (O(new restarts) per call).

        ``ftol``/``xtol``/``canonical`` default to the run's (the attributes of the
        same name). One matcher is kept per set of tolerances. Tolerances that are
        ``None`` are resolved from the prefix whenever it has doubled in size, so
        counts then agree with the table of that prefix.
        """
        ftol = self.ftol if ftol is None else ftol
        xtol = self.xtol if xtol is None else xtol
        canonical = self.canonical if canonical is None else canonical
        key = (ftol, xtol, canonical)
        entry = self._matchers.get(key)
        if ftol is not None and xtol is not None:
            if entry is None:
                entry = self._matchers[key] = [BasinMatcher(ftol, xtol, canonical), math.inf]
        elif entry is None or self.n_done >= entry[1]:
            # Tolerances from the data: re-resolved on the prefix whenever it has doubled,
            # and the matcher rebuilt (amortised O(1) per restart).
            f, x = resolve_tolerances(self.restarts, ftol, xtol, canonical)
            entry = self._matchers[key] = [BasinMatcher(f, x, canonical),
                                           max(8, 2 * self.n_done)]
        entry[0].update(self.restarts)
        return entry[0]

    def add(self, restart: Any) -> None:
        """Append the next restart of the prefix."""
        self.restarts.append(restart)
        res = restart.result
        if res is not None and res.nfev is not None:
            self.nfev += res.nfev
        if restart.error is None and res is not None and res.fun < self.best_fun:
            self.best_fun = res.fun
            self.best_index = restart.index
