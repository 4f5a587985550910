"""The one evaluation counter: every call of an objective counted, capped, remembered.

:class:`CountedFunction` wraps ``fun``. Every call — SciPy's finite-difference
gradient calls included — adds one to ``nfev``; once ``max_nfev`` calls were made, the
next call raises :class:`BudgetExhausted` instead of evaluating. The wrapper keeps the
best point seen (so a search stopped by the cap still returns its best) and a
first-hit trace (one ``(nfev, value)`` pair per improvement; ``rs.compare`` reads
it for evaluations-to-success and data profiles).
``Minimize``, ``compare`` and the front doors all count through it, so their ``nfev``
mean the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["CountedFunction", "BudgetExhausted"]


class BudgetExhausted(Exception):
    """Raised by :class:`CountedFunction` on the call after its ``max_nfev``-th."""


class CountedFunction:
    """Wrap ``fun`` to count calls, cap them, and remember the best point.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float`` (or ``-> (float, gradient)`` with ``with_grad``).
    max_nfev : int or None
        When ``nfev`` reaches ``max_nfev``, the next call raises
        :class:`BudgetExhausted` without calling ``fun``. ``None``: no cap.
    with_grad : bool, default=False
        ``fun`` returns ``(value, gradient)`` (SciPy's ``jac=True``); the pair is
        passed through and the value is what counts as "best".

    Attributes
    ----------
    nfev : int
        Calls made so far.
    best_f, best_x : float, ndarray or None
        The lowest value seen (``inf`` before the first call; NaN is never best)
        and a copy of its point.
    best_at : int
        The call (1-based) at which ``best_f`` was first reached; 0 before any.
    trace : list of (int, float)
        ``(nfev, best so far)`` at every improvement.

    Examples
    --------
    >>> from restarts._counting import CountedFunction, BudgetExhausted
    >>> f = CountedFunction(lambda x: float(x[0] ** 2), max_nfev=2)
    >>> f([3.0]), f([1.0])
    (9.0, 1.0)
    >>> try:
    ...     f([0.0])
    ... except BudgetExhausted:
    ...     print("cap reached after", f.nfev, "calls; best", f.best_f)
    cap reached after 2 calls; best 1.0
    """

    def __init__(self, fun: Callable, max_nfev: int | None = None,
                 with_grad: bool = False) -> None:
        self.fun = fun
        self.max_nfev = None if max_nfev is None else int(max_nfev)
        self.with_grad = with_grad
        self.nfev = 0
        self.best_f = math.inf
        self.best_x: np.ndarray | None = None
        self.best_at = 0
        self.trace: list[tuple[int, float]] = []

    @property
    def remaining(self) -> int | None:
        """Calls left before the cap (``None`` without a cap)."""
        return None if self.max_nfev is None else max(0, self.max_nfev - self.nfev)

    def __call__(self, x: Any, *args: Any) -> Any:
        if self.max_nfev is not None and self.nfev >= self.max_nfev:
            raise BudgetExhausted
        self.nfev += 1
        value = self.fun(x, *args)
        if self.with_grad:  # jac=True: fun returns (f, gradient)
            f, grad = float(value[0]), value[1]
        else:
            f = float(value)
        if f < self.best_f:  # NaN never compares lower: never "best"
            self.best_f, self.best_at = f, self.nfev
            self.best_x = np.array(x, dtype=float, copy=True)
            self.trace.append((self.nfev, f))
        return (f, grad) if self.with_grad else f
