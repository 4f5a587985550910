"""Results: one restart (:class:`LocalResult`) and a whole run (:class:`MultistartResult`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["LocalResult", "Restart", "MultistartResult", "AllRestartsFailedError",
           "as_local_result"]


_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _freeze(value: Any) -> Any:
    """Return a read-only view of arrays so a frozen result cannot be mutated in place."""
    if isinstance(value, np.ndarray):
        view = value.view()
        view.flags.writeable = False
        return view
    return value


@dataclass(frozen=True, eq=False)
class LocalResult:
    """The outcome of one local search (one restart).

    Field names follow :class:`scipy.optimize.OptimizeResult`, but the set of fields
    is closed: solver-specific values go into ``extra``.

    Parameters
    ----------
    x : array_like or object
        The local optimum found (an array for numeric problems; solvers may return
        any object, e.g. a fitted estimator).
    fun : float
        Objective value at ``x`` (lower is better).
    success : bool, default=True
        Whether the local solver reported convergence.
    nit : int or None, default=None
        Iterations used, if known.
    nfev : int or None, default=None
        Objective evaluations used, if known.
    message : str, default=""
        The solver's message.
    extra : mapping, default={}
        Solver-specific values (e.g. ``distinct_units`` for networks). Stored read-only.

    Examples
    --------
    >>> import restarts as rs
    >>> r = rs.LocalResult(x=[1.0, 2.0], fun=0.5, nit=3)
    >>> r.fun, r.x.tolist(), r.nit
    (0.5, [1.0, 2.0], 3)
    """

    x: Any
    fun: float
    success: bool = True
    nit: int | None = None
    nfev: int | None = None
    message: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Cheap on the hot path: a run may build 100,000 of these.
        setattr_ = object.__setattr__
        x = self.x
        if isinstance(x, np.ndarray):
            if x.flags.writeable:
                setattr_(self, "x", _freeze(x))
        elif isinstance(x, (list, tuple, float, int, np.number)) and not isinstance(x, bool):
            setattr_(self, "x", _freeze(np.asarray(x, dtype=float)))
        if type(self.fun) is not float:
            setattr_(self, "fun", _real(self.fun))
        if type(self.success) is not bool:
            setattr_(self, "success", bool(self.success))
        if self.nit is not None and type(self.nit) is not int:
            setattr_(self, "nit", int(self.nit))
        if self.nfev is not None and type(self.nfev) is not int:
            setattr_(self, "nfev", int(self.nfev))
        if type(self.message) is not str:
            setattr_(self, "message", str(self.message))
        if type(self.extra) is not MappingProxyType:
            setattr_(self, "extra", MappingProxyType(dict(self.extra)))

    def __reduce__(self) -> tuple:
        # ``extra`` is a read-only view, which plain pickle cannot save: pickle a dict.
        return (type(self), (self.x, self.fun, self.success, self.nit, self.nfev,
                             self.message, dict(self.extra)))

    @classmethod
    def _plain(cls, x: np.ndarray, fun: float) -> LocalResult:
        """Fast constructor for the common ``(float array, float)`` outcome.

        Skips the conversions of ``__post_init__`` that such an outcome does not need;
        ``x`` is copied (a solver may reuse its buffer) and made read-only.
        """
        self = object.__new__(cls)
        x = x.copy()
        x.flags.writeable = False
        setattr_ = object.__setattr__
        setattr_(self, "x", x)
        setattr_(self, "fun", fun)
        setattr_(self, "success", True)
        setattr_(self, "nit", None)
        setattr_(self, "nfev", None)
        setattr_(self, "message", "")
        setattr_(self, "extra", _EMPTY)
        return self

    def __repr__(self) -> str:
        return (
            f"LocalResult(fun={self.fun!r}, success={self.success}, nit={self.nit}, "
            f"nfev={self.nfev}, message={self.message!r})"
        )


def as_local_result(outcome: Any) -> LocalResult:
    """Normalise what a solver returned into a :class:`LocalResult`.

    Accepted: a :class:`LocalResult`, a :class:`scipy.optimize.OptimizeResult` (or any
    mapping with ``x`` and ``fun``), or a pair ``(x, fun)``.

    Raises
    ------
    TypeError
        For anything else, naming the type that was returned.
    """
    if isinstance(outcome, LocalResult):
        return outcome
    if isinstance(outcome, Mapping) and "x" in outcome and "fun" in outcome:
        known = {"x", "fun", "success", "nit", "nfev", "message"}
        extra = {k: v for k, v in outcome.items() if k not in known and _jsonable(v)}
        nit = outcome.get("nit")
        nfev = outcome.get("nfev")
        return LocalResult(
            x=np.asarray(outcome["x"], dtype=float) if _numeric(outcome["x"]) else outcome["x"],
            fun=_scalar(outcome["fun"]),
            success=bool(outcome.get("success", True)),
            nit=None if nit is None else int(nit),
            nfev=None if nfev is None else int(nfev),
            message=str(outcome.get("message", "")),
            extra=extra,
        )
    if isinstance(outcome, tuple) and len(outcome) == 2:
        x, fun = outcome
        if isinstance(x, np.ndarray) and x.dtype.kind == "f" and isinstance(fun, float):
            return LocalResult._plain(x, float(fun))
        return LocalResult(x=np.asarray(x, dtype=float) if _numeric(x) else x, fun=_scalar(fun))
    raise TypeError(
        "A local solver must return a LocalResult, a scipy.optimize.OptimizeResult or a "
        f"pair (x, fun). Got {type(outcome).__name__} instead."
    )


def _scalar(fun: Any) -> float:
    arr = np.asarray(fun)
    if arr.size != 1:
        raise TypeError(
            f"The objective value 'fun' returned by the solver must be a scalar. "
            f"Got an array of shape {arr.shape} instead."
        )
    return _real(fun)


def _real(fun: Any) -> float:
    """``fun`` as a float; strings, booleans and other non-numbers are a ``TypeError``.

    ``float("2.5")`` and ``float(True)`` succeed, which would turn a solver's bug into
    a plausible number, so only real numeric types (and size-1 numeric arrays) pass.
    """
    arr = np.asarray(fun)
    if arr.dtype.kind in "iuf" and arr.size == 1 and not isinstance(fun, (bool, np.bool_)):
        return float(arr.reshape(()))
    raise TypeError(
        f"The objective value 'fun' returned by the solver must be a real number. "
        f"Got {type(fun).__name__} ({fun!r:.40}) instead."
    )


def _numeric(x: Any) -> bool:
    try:
        arr = np.asarray(x)
    except Exception:
        return False
    return arr.dtype.kind in "biuf"


def _jsonable(v: Any) -> bool:
    return isinstance(v, (int, float, str, bool)) or v is None


class AllRestartsFailedError(RuntimeError):
    """Raised when the best restart of a run is requested but every restart failed."""


@dataclass(eq=False, slots=True)
class Restart:
    """The record of one restart of a run: what it returned, or why it failed.

    ``MultistartResult.restarts`` is a list of these in restart-index order; stopping
    rules see them through :class:`~restarts.stop.RunState` and adaptive strategies
    receive them after each batch of tasks. Read-only by convention (not frozen: a
    run builds one per restart on its hot path).

    Attributes
    ----------
    index : int
        The restart's index ``i``; its random stream comes from ``(rng, i)``.
    result : LocalResult or None
        The solver's outcome (``None`` when it raised or timed out in C).
    error : str or None
        ``"ExceptionType: first line"`` when the restart failed, else ``None``. A failed
        restart may still carry a ``result`` (e.g. non-finite ``fun``, a timeout).
    time_s : float
        Wall time of the restart, seconds.
    start : array or None
        The start point it was given.
    attempts : int
        Times it ran (a restart whose worker died is retried once).
    info : mapping or None
        What the strategy gave this restart besides the start (the task's options,
        e.g. ``max_nfev``; racing's ``budget`` and ``rung``); scalar values become
        table columns.

    Examples
    --------
    >>> import restarts as rs
    >>> res = rs.multistart(lambda start, rng: (start, float(start[0] ** 2)), 2,
    ...                     starts=[[1.0], [-2.0]], rng=0)
    >>> r = res.restarts[1]
    >>> r.index, r.result.fun, r.error
    (1, 4.0, None)
    """

    index: int
    result: LocalResult | None
    error: str | None
    time_s: float
    start: Any = None
    attempts: int = 1
    info: Mapping[str, Any] | None = None


class _Tolerance:
    """A grouping tolerance of a run: the value given, or, for ``None``, resolved from
    the restarts on first read (it follows the solver; see ``resolve_tolerances``).

    Lazy because grouping is analysis: a run that never groups (or stores, or returns
    to a caller who only reads ``best``) does not pay for it.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return None  # the dataclass default
        given = obj.__dict__.get("_given_" + self.name)
        if given is not None:
            return given
        cache = obj.__dict__.setdefault("_tolerances", {})
        if "both" not in cache:
            from ._solutions import resolve_tolerances

            cache["both"] = resolve_tolerances(
                obj.restarts, obj.__dict__.get("_given_ftol"), obj.__dict__.get("_given_xtol"),
                obj.canonical)
        return cache["both"][0 if self.name == "ftol" else 1]

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__["_given_" + self.name] = None if value is None else float(value)
        obj.__dict__.pop("_tolerances", None)


@dataclass(frozen=True, eq=False)
class MultistartResult:
    """All restarts of a run, in restart-index order.

    Build it with :func:`restarts.multistart` (or :meth:`restarts.Store.load`); every
    view (``table``, ``solutions``) is computed from the restarts on demand.

    Attributes
    ----------
    results : list of LocalResult
        One per restart, by restart index. A failed restart has ``fun = nan``,
        ``success = False`` and its error as ``message``.
    best : LocalResult
        The restart with the lowest finite ``fun``.
    x, fun
        Shortcuts to ``best.x`` and ``best.fun``.
    table : pandas.DataFrame
        One row per restart: ``restart``, ``fun``, ``success``, ``nit``, ``nfev``,
        ``time_s``, ``error``, ``basin``, ``seed_entropy``, ``seed_spawn_key``,
        ``x0_0 ...`` (numeric starts).
    solutions : pandas.DataFrame
        Distinct local optima, best first: ``basin``, ``fun``, ``count``, ``x``.
    ftol, xtol : float
        The grouping tolerances (resolved from the data when built with ``None``).

    Examples
    --------
    >>> import restarts as rs
    >>> res = rs.multistart(lambda start, rng: (start, float(start[0] ** 2)), 4,
    ...                     starts=[[1.0], [-1.0], [0.5], [2.0]], rng=0)
    >>> res.fun, len(res.table)
    (0.25, 4)
    """

    restarts: Sequence[Restart]
    seed_entropy: Any = None
    seed_spawn_key: tuple = ()
    ftol: float | None = _Tolerance()  # type: ignore[assignment]
    xtol: float | None = _Tolerance()  # type: ignore[assignment]
    canonical: Callable[[Any], Any] | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    stopped_by: str | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    def regroup(self, ftol: float | None = None, xtol: float | None = None) -> MultistartResult:
        """The same run with other grouping tolerances (``None``: from the data).

        Examples
        --------
        >>> import restarts as rs
        >>> res = rs.multistart(lambda s, rng: (s, 0.0), 3, starts=[[0.0], [0.5], [1.0]],
        ...                     rng=0, xtol=0.1)
        >>> len(res.solutions), len(res.regroup(xtol=2.0).solutions)
        (3, 1)
        """
        return MultistartResult(self.restarts, self.seed_entropy, self.seed_spawn_key,
                                ftol, xtol, self.canonical, self.config, self.stopped_by)

    # -- per-restart views -------------------------------------------------
    @property
    def results(self) -> list[LocalResult]:
        if "results" not in self._cache:
            out = []
            for r in self.restarts:
                if r.result is not None and r.error is None:
                    out.append(r.result)
                else:
                    out.append(
                        LocalResult(
                            x=None if r.result is None else r.result.x,
                            fun=math.nan,
                            success=False,
                            nit=None if r.result is None else r.result.nit,
                            nfev=None if r.result is None else r.result.nfev,
                            message=r.error or "",
                        )
                    )
            self._cache["results"] = out
        return self._cache["results"]

    @property
    def n_failed(self) -> int:
        """Number of restarts recorded with an error."""
        return sum(r.error is not None for r in self.restarts)

    def _best_index(self) -> int | None:
        best, best_i = math.inf, None
        for r in self.restarts:
            if r.error is None and r.result is not None and r.result.fun < best:
                best, best_i = r.result.fun, r.index
        return best_i

    @property
    def best(self) -> LocalResult:
        i = self._best_index()
        if i is None:
            errors = {r.error for r in self.restarts if r.error}
            sample = "; ".join(sorted(errors)[:3])
            raise AllRestartsFailedError(
                f"All {len(self.restarts)} restarts failed, so there is no best result. "
                f"First errors: {sample or 'none recorded'}. Check the solver or the bounds "
                "(result.table['error'] lists every failure)."
            )
        return self.results[self._position(i)]

    @property
    def best_restart(self) -> int:
        """Index of the best restart (raises like :attr:`best` if all failed)."""
        self.best  # noqa: B018 - raises the informative error
        return int(self._best_index())

    def _position(self, index: int) -> int:
        if "pos" not in self._cache:
            self._cache["pos"] = {r.index: k for k, r in enumerate(self.restarts)}
        return self._cache["pos"][index]

    @property
    def x(self) -> Any:
        return self.best.x

    @property
    def fun(self) -> float:
        return self.best.fun

    def restart_seed(self, index: int) -> np.random.SeedSequence:
        """The :class:`numpy.random.SeedSequence` of restart ``index``.

        ``np.random.default_rng(result.restart_seed(i))`` is the generator restart ``i``
        received, so any row can be re-run alone.
        """
        from ._seeding import restart_seed

        return restart_seed(self.seed_entropy, self.seed_spawn_key, index)

    # -- tables --------------------------------------------------------------
    def _basins(self) -> np.ndarray:
        if "basins" not in self._cache:
            from ._solutions import assign_basins

            self._cache["basins"] = assign_basins(
                self.restarts, ftol=self.ftol, xtol=self.xtol, canonical=self.canonical
            )
        return self._cache["basins"]

    @property
    def table(self) -> pd.DataFrame:
        if "table" not in self._cache:
            from ._solutions import build_table

            self._cache["table"] = build_table(self, self._basins())
        return self._cache["table"].copy()

    @property
    def solutions(self) -> pd.DataFrame:
        if "solutions" not in self._cache:
            from ._solutions import build_solutions

            self._cache["solutions"] = build_solutions(self, self._basins())
        return self._cache["solutions"].copy()

    def __len__(self) -> int:
        return len(self.restarts)

    def __repr__(self) -> str:
        n = len(self.restarts)
        i = self._best_index()
        best = "none (all failed)"
        if i is not None:
            best = f"{self.restarts[self._position(i)].result.fun:.6g}"
        return f"MultistartResult(n_restarts={n}, failed={self.n_failed}, best_fun={best})"
