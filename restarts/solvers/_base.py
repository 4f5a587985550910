"""What every built-in solver shares: the ``Solver`` base class (``describe`` for
stores), a box solver's start point and description, and the incremental protocol
(``is_resumable``, ``Resumable``) that lets a strategy advance a restart in steps (racing)."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from .._digest import code_digest, data_digest
from .._validation import check_int

__all__ = ["Solver", "Resumable", "is_resumable", "RESUMABLE_METHODS", "one_blas_thread",
           "openmp_like_blas", "start_point", "describe_objective"]

#: the methods a solver defines to be resumable (besides ``max_budget``, ``budget_unit``)
RESUMABLE_METHODS = ("begin", "advance", "current", "finished")


_CONTROLLER: ThreadpoolController | None = None


def _controller() -> ThreadpoolController:
    """One cached :class:`threadpoolctl.ThreadpoolController`: building one scans the
    loaded libraries (milliseconds), setting a limit with it takes microseconds."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def one_blas_thread() -> Any:
    """Context limiting numpy's BLAS to one thread (for small, chunked products)."""
    return _controller().limit(limits=1, user_api="blas")


def openmp_like_blas() -> Any:
    """Context giving OpenMP, in this thread, the thread count BLAS has.

    BLAS limits are process-wide, OpenMP's are per thread: a worker *thread* of the
    threading backend runs with OpenMP's default although the driver capped the
    threads, and code that splits work by thread count (scikit-learn's k-means sums
    per thread chunk) then rounds differently than under ``n_jobs=1``.
    """
    global _CONTROLLER
    if not _controller().select(user_api="openmp").lib_controllers:
        _CONTROLLER = ThreadpoolController()  # OpenMP may have loaded since (sklearn)
    blas = _controller().select(user_api="blas").lib_controllers
    if not blas or not _controller().select(user_api="openmp").lib_controllers:
        return contextlib.nullcontext()
    return _controller().limit(limits=min(c.num_threads for c in blas), user_api="openmp")


def is_resumable(solver: Any) -> bool:
    """Whether ``solver`` offers the incremental protocol, so it can be advanced in steps.

    A resumable solver has ``max_budget`` (an int >= 1: its full budget),
    ``budget_unit`` (a string: what a budget counts, e.g. ``"epochs"``) and the
    methods ``begin(start, rng) -> state``, ``advance(state, budget) -> state``,
    ``current(state) -> LocalResult`` and ``finished(state) -> bool``.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> from restarts.solvers._base import is_resumable
    >>> is_resumable(rs.solvers.KMeans(np.eye(3), 2)), is_resumable(lambda s, rng: 0.0)
    (True, False)
    """
    if not all(callable(getattr(solver, m, None)) for m in RESUMABLE_METHODS):
        return False
    budget = getattr(solver, "max_budget", None)
    unit = getattr(solver, "budget_unit", None)
    return (isinstance(budget, (int, np.integer)) and not isinstance(budget, bool)
            and budget >= 1 and isinstance(unit, str))



def start_point(start: Any, rng: np.random.Generator, bounds: np.ndarray | None, owner: str,
                x0: np.ndarray | None = None) -> np.ndarray:
    """A restart's start as a float vector, for solvers of a function on a box.

    The given ``start`` (clipped into ``bounds``); without one, ``x0``; without that,
    a uniform point of the finite box drawn from the restart's ``rng``. Anything else
    is a ``ValueError`` that tells the user how to give a start.
    """
    if start is None:
        if x0 is not None:
            return np.array(x0, dtype=float)
        if bounds is None or not np.isfinite(bounds).all():
            raise ValueError(
                f"{owner} needs a start point: pass starts=... to multistart(), or give "
                f"{owner} finite bounds to draw uniform starts from."
            )
        lo, hi = bounds[:, 0], bounds[:, 1]
        return lo + rng.random(lo.shape[0]) * (hi - lo)
    x = np.atleast_1d(np.asarray(start, dtype=float)).ravel()
    if bounds is not None:
        if x.shape[0] != bounds.shape[0]:
            raise ValueError(
                f"The start point has {x.shape[0]} coordinates but 'bounds' has "
                f"{bounds.shape[0]} dimensions."
            )
        x = np.clip(x, bounds[:, 0], bounds[:, 1])
    return x


def describe_objective(fun: Any, bounds: np.ndarray | None) -> dict:
    """What a solver of ``fun`` on ``bounds`` adds to ``describe()``: the function's
    name and code digest (two lambdas differ by their code) and the bounds."""
    out = {"fun": getattr(fun, "__qualname__", type(fun).__name__)}
    digest = code_digest(fun)
    if digest is not None:
        out["fun_code_sha1"] = digest
    out["bounds"] = None if bounds is None else bounds.tolist()
    return out


class Solver:
    """Base class of the built-in local solvers.

    A solver is called as ``solver(start, rng)`` and returns a
    :class:`~restarts.LocalResult`. Subclasses may define ``solve_batch(starts, rngs)``
    (several restarts at once, identical results) and ``canonical(x)`` (a
    representative of ``x`` up to a symmetry, so that equal optima are counted once).
    """

    def __call__(self, start: Any, rng: np.random.Generator):  # pragma: no cover - abstract
        raise NotImplementedError

    #: private attributes holding the data the solver fits (digested by ``describe``)
    _data_attrs: tuple[str, ...] = ()

    def describe(self) -> dict:
        """A JSON-able description used by stores: the class name, scalar settings and
        a digest of the data (so a run is not resumed on other data)."""
        out = {"solver": type(self).__qualname__}
        held = [getattr(self, a) for a in self._data_attrs if getattr(self, a, None) is not None]
        if held:
            out["data_sha1"] = data_digest(*held)
        for k, v in vars(self).items():
            if k.startswith("_"):
                continue
            if isinstance(v, (int, float, str, bool)) or v is None:
                out[k] = v
            elif isinstance(v, tuple) and all(isinstance(t, (int, float, str)) for t in v):
                out[k] = list(v)
        return out


class Resumable(Solver):
    """A solver run in steps: ``begin`` a restart, ``advance`` it, read ``current``.

    Subclasses define ``max_budget``, ``budget_unit``, ``begin``, ``_advance``,
    ``current`` and ``finished``; a plain call is the full budget in one step, so the
    stepwise and the plain run share one code path:
    ``solver(start, rng) == current(advance(begin(start, rng), max_budget))``.
    States pickle (they hold arrays and the restart's generator), so a restart can
    move between workers and into a store.
    """

    budget_unit: str = "iterations"

    @property
    def max_budget(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, start: Any, rng: np.random.Generator):
        return self.current(self.advance(self.begin(start, rng), self.max_budget))

    def begin(self, start: Any, rng: np.random.Generator) -> Any:  # pragma: no cover
        """Set a restart up (initialisation only); returns its state."""
        raise NotImplementedError

    def advance(self, state: Any, budget: int) -> Any:
        """Run up to ``budget`` more units (never past ``max_budget``); returns the state
        (updated in place)."""
        budget = check_int(budget, "budget", f"{type(self).__name__}.advance()", low=0)
        if budget and not self.finished(state):
            self._advance(state, budget)
        return state

    def _advance(self, state: Any, budget: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def current(self, state: Any):  # pragma: no cover - abstract
        """The result so far, a :class:`~restarts.LocalResult` (``nit``: units used)."""
        raise NotImplementedError

    def finished(self, state: Any) -> bool:  # pragma: no cover - abstract
        """Whether more budget changes nothing (converged, or ``max_budget`` used)."""
        raise NotImplementedError
