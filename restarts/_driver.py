"""``multistart()``: validate -> seed -> plan -> dispatch -> collect in index order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._digest import array_sha1, code_digest
from ._dispatch import chunk_size, effective_workers, iter_chunks, report_interrupt
from ._result import MultistartResult, Restart
from ._seeding import root_seed, starts_rng
from ._validation import check_bool, check_callable, check_int, check_real, fail
from .starts import as_starts
from .stop import MaxEvaluations, RunState, as_rules
from .strategies import get_strategy
from .strategies._base import Independent, StrategyContext

__all__ = ["multistart"]

_OWNER = "multistart()"
_BUILTIN_BACKENDS = ["loky", "threading", "multiprocessing", "sequential", "dask"]


def _check_backend(backend: Any) -> str | None:
    if backend is None:
        return None
    if not isinstance(backend, str):
        raise fail("backend", _OWNER, "None or a joblib backend name", backend, TypeError)
    from joblib.parallel import BACKENDS

    names = sorted(set(_BUILTIN_BACKENDS) | set(BACKENDS))
    if backend not in names:
        raise ValueError(
            f"The 'backend' parameter of {_OWNER} must be one of {names} or None. "
            f"Got {backend!r} instead."
        )
    if backend == "dask":
        try:
            import distributed  # noqa: F401  - registers joblib's "dask" backend
        except ImportError as exc:
            raise ValueError(
                "backend='dask' needs dask.distributed: pip install 'restarts[dask]'."
            ) from exc
    return backend


def _check_n_jobs(n_jobs: Any) -> int:
    if n_jobs is None:
        return 1
    value = check_int(n_jobs, "n_jobs", _OWNER)
    if value == 0:
        raise fail("n_jobs", _OWNER, "a non-zero int (-1 means all cores)", n_jobs)
    return value


def multistart(
    solver: Callable[..., Any],
    n_starts: int = 100,
    *,
    starts: Any = None,
    rng: Any = None,
    n_jobs: int | None = 1,
    backend: str | None = None,
    strategy: Any = "independent",
    stop: Any = None,
    store: Any = None,
    name: str | None = None,
    timeout: float | None = None,
    progress: bool = False,
    batch_size: int | str = "auto",
    threads: int | None = 1,
    ftol: float = 1e-6,
    xtol: float = 1e-4,
    overwrite: bool = False,
) -> MultistartResult:
    """Run a local solver from many starts and keep every result.

    Parameters
    ----------
    solver : callable
        ``solver(start, rng) -> outcome``: a :class:`~restarts.LocalResult`, a
        :class:`scipy.optimize.OptimizeResult`, or a pair ``(x, fun)``. If it has
        ``solve_batch(starts, rngs)`` that is used for chunks of restarts (same
        results); if it has ``canonical(x)`` that defines when two optima are equal.
    n_starts : int, default=100
        Number of restarts (an upper bound when a stopping rule fires first).
    starts : None, array of shape (n_starts, d), or a sampler from :mod:`restarts.starts`
        Start points, drawn once up front from the run's root stream. ``None``
        passes ``start=None`` (the solver draws its own from ``rng``).
    rng : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Seeds the run (SPEC 7). Restart ``i`` gets the generator of
        ``SeedSequence(entropy, spawn_key + (i,))`` whatever ``n_jobs``, ``backend``,
        batching, completion order or resume.
    n_jobs : int, default=1
        Parallel workers, joblib meaning (``-1`` = all cores).
    backend : str, optional
        joblib backend ("loky", "threading", "dask", ...); ``None`` uses joblib's
        default (or the one set with ``joblib.parallel_config``).
    strategy : {"independent", "tiktak", "mlsl"} or Strategy, default="independent"
    stop : rule or list of rules from :mod:`restarts.stop`, optional
        Evaluated on finished restarts in index order; the run returns restarts
        ``0..m`` where ``m`` is the first restart after which a rule fired.
    store : str or path-like, optional
        SQLite file where every finished restart is saved; with ``name``, a run of
        the same name resumes.
    name : str, optional
        The run's name inside ``store`` (default: ``"default"``). Independent restarts
        from ``starts=None`` or a prefix-stable sampler may be resumed with a larger
        (or smaller) ``n_starts``: restart ``i`` does not depend on it.
    timeout : float, optional
        Seconds a restart may take; a slower restart is recorded as failed.
    progress : bool, default=False
        Show a tqdm progress bar.
    batch_size : int or "auto", default="auto"
        Restarts per dispatched task (and per ``solve_batch`` call). ``"auto"`` uses
        ``solver.restarts_per_batch`` (default 32) for solvers with ``solve_batch``.
    threads : int or None, default=1
        BLAS/OpenMP threads each restart may use (threadpoolctl). One thread per
        restart avoids oversubscription when restarts run in parallel and keeps
        results bit-identical across ``n_jobs``; ``None`` leaves the limits alone.
    ftol : float, default=1e-6
        Two restarts reached the same optimum when ``|Δfun| <= ftol`` and ...
    xtol : float, default=1e-4
        ... ``‖Δx‖ <= xtol`` (``x`` mapped through ``solver.canonical`` if defined).
    overwrite : bool, default=False
        With ``store``: replace a stored run of the same ``name`` whose
        configuration differs, instead of raising ``ValueError``.

    Returns
    -------
    MultistartResult

    Raises
    ------
    TypeError, ValueError
        For invalid arguments, before any restart runs.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> def f(x):
    ...     return float(np.sin(3 * x[0]) + 0.1 * x[0] ** 2)
    >>> res = rs.multistart(rs.solvers.Minimize(f, bounds=[(-5, 5)]), 20,
    ...                     starts=rs.starts.Sobol([(-5, 5)]), rng=0)
    >>> round(res.fun, 4), len(res.solutions) > 1
    (-0.9732, True)
    """
    check_callable(solver, "solver", _OWNER)
    n_starts = check_int(n_starts, "n_starts", _OWNER, low=1)
    starts = as_starts(starts, n_starts, _OWNER)
    n_jobs = _check_n_jobs(n_jobs)
    backend = _check_backend(backend)
    strat = get_strategy(strategy)
    rules = as_rules(stop, _OWNER)
    timeout = check_real(timeout, "timeout", _OWNER, low=0, strict_low=True, allow_none=True)
    progress = check_bool(progress, "progress", _OWNER)
    if batch_size != "auto":
        check_int(batch_size, "batch_size", _OWNER, low=1)
    threads = check_int(threads, "threads", _OWNER, low=1, allow_none=True)
    ftol = check_real(ftol, "ftol", _OWNER, low=0)
    xtol = check_real(xtol, "xtol", _OWNER, low=0)
    overwrite = check_bool(overwrite, "overwrite", _OWNER)
    if name is not None and not isinstance(name, str):
        raise fail("name", _OWNER, "a non-empty str or None", name, TypeError)
    if name is not None and not name.strip():
        raise fail("name", _OWNER, "a non-empty str or None", name)
    if name is not None and store is None:
        raise ValueError(
            f"The 'name' parameter of {_OWNER} names a run inside 'store'; pass store=... too."
        )

    root = root_seed(rng, _OWNER)
    root_rng = starts_rng(root)
    sampler = None
    if starts is not None and not isinstance(starts, np.ndarray):
        sampler = starts
        points = np.asarray(sampler.draw(n_starts, root_rng), dtype=float)
    else:
        points = None if starts is None else starts[:n_starts]
    dim = getattr(solver, "dim", None)
    if points is not None and isinstance(dim, int) and points.shape[1] != dim:
        raise ValueError(
            f"The 'starts' parameter of {_OWNER} must have one column per dimension of the "
            f"solver ({dim}). Got start points of dimension {points.shape[1]} instead."
        )

    sink = None
    done: dict[int, Restart] = {}
    if store is not None:
        from .store import open_run

        # Restart i of independent restarts from no starts or a prefix-stable sampler
        # does not depend on n_starts, so such a run may be resumed with more restarts.
        extendable = isinstance(strat, Independent) and (
            starts is None or bool(getattr(sampler, "prefix_stable", False)))
        config = {
            "n_starts": n_starts, "extendable": extendable, "strategy": strat.describe(),
            "solver": _describe(solver), "starts": _describe(sampler) if sampler else (
                None if points is None else {"array_sha1": array_sha1(points)}),
            "ftol": ftol, "xtol": xtol,
        }
        sink, done = open_run(store, "default" if name is None else name, root, config,
                              overwrite=overwrite)

    for rule in rules:
        reset = getattr(rule, "reset", None)
        if reset is not None:
            reset()
    budget = min((r.n for r in rules if isinstance(r, MaxEvaluations)), default=None)
    state = RunState(ftol, xtol, getattr(solver, "canonical", None))
    ctx = StrategyContext(solver=solver, n_starts=n_starts, starts=points, sampler=sampler,
                          rng=root_rng, state=state, max_nfev=budget)
    workers = effective_workers(n_jobs, backend)
    bar = _progress(progress, n_starts)
    stopped_by: str | None = None
    plan = strat.tasks(ctx)
    try:
        batch = next(plan, None)
        while batch is not None and stopped_by is None:
            batch = [t for t in batch if t[0] < n_starts]
            run_solver, batch = _capped(solver, batch)
            records = _collect(run_solver, root, batch, done, n_jobs, backend, timeout, batch_size,
                               threads, workers, state, rules, sink, bar)
            stopped_by = records[1]
            if stopped_by is not None or state.n_done >= n_starts:
                break
            try:
                batch = plan.send(records[0])
            except StopIteration:
                batch = None
        if sink is not None:
            sink.finish(state.n_done, stopped_by)  # load() returns exactly these restarts
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: finished restarts are saved; say so
        report_interrupt(n_starts, sink, state.n_done)
        raise
    finally:
        plan.close()
        if bar is not None:
            bar.close()
        if sink is not None:
            sink.close()

    return MultistartResult(
        restarts=list(state.restarts), seed_entropy=root.entropy,
        seed_spawn_key=tuple(root.spawn_key), ftol=ftol, xtol=xtol,
        canonical=getattr(solver, "canonical", None),
        config={"n_starts": n_starts, "strategy": strat.name, "n_jobs": n_jobs,
                "backend": backend, "extra_nfev": getattr(state, "extra_nfev", 0)},
        stopped_by=stopped_by,
    )


class CappedSolver:
    """``solver(start, rng, max_nfev=cap)``: a restart with a hard evaluation cap.

    Budgeted strategies (``"tiktak"``, ``"mlsl"``) yield tasks ``(index, start,
    max_nfev)`` so that the evaluations of the whole run never exceed
    ``MaxEvaluations``; the solver must accept ``max_nfev`` (as ``Minimize`` does).
    """

    def __init__(self, solver: Any, cap: int) -> None:
        self.solver, self.cap = solver, int(cap)

    def __call__(self, start: Any, rng: np.random.Generator) -> Any:
        return self.solver(start, rng, max_nfev=self.cap)


def _capped(solver: Any, batch: list) -> tuple[Any, list]:
    """Strip the optional third task element (an evaluation cap shared by the batch)."""
    caps = {t[2] for t in batch if len(t) > 2 and t[2] is not None}
    if not caps:
        return solver, [tuple(t[:2]) for t in batch]
    if len(caps) > 1:
        raise ValueError("All tasks of one strategy batch must share the same max_nfev.")
    return CappedSolver(solver, caps.pop()), [tuple(t[:2]) for t in batch]


def _collect(solver: Any, root: np.random.SeedSequence, batch: list, done: dict,
             n_jobs: int, backend: str | None, timeout: float | None, batch_size: Any,
             threads: int | None, workers: int, state: RunState, rules: list,
             sink: Any, bar: Any) -> tuple[list[Restart], str | None]:
    """Run one batch of tasks; feed finished restarts to the rules in index order."""
    todo = [t for t in batch if t[0] not in done]
    size = chunk_size(len(todo), workers, solver, batch_size)
    pending: dict[int, Restart] = {t[0]: done[t[0]] for t in batch if t[0] in done}
    order = [t[0] for t in batch]
    out: list[Restart] = []
    pos = 0
    stopped_by = None

    def advance() -> str | None:
        nonlocal pos
        while pos < len(order) and order[pos] in pending:
            rec = pending.pop(order[pos])
            pos += 1
            out.append(rec)
            state.add(rec)
            if bar is not None:
                bar.update(1)
            for rule in rules:
                if rule(state):
                    return getattr(rule, "__name__", type(rule).__name__)
        return None

    stopped_by = advance()
    if stopped_by is not None:
        return out, stopped_by
    chunks = iter_chunks(solver, root.entropy, tuple(root.spawn_key), todo, n_jobs=n_jobs,
                         backend=backend, timeout=timeout, size=size, threads=threads)
    try:
        for records in chunks:
            if sink is not None:
                sink.add(records)
            for rec in records:
                pending[rec.index] = rec
            stopped_by = advance()
            if stopped_by is not None:
                break
    finally:
        chunks.close()
    return out, stopped_by


def _progress(enabled: bool, total: int) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="restarts", unit="restart")


def _describe(obj: Any) -> Any:
    describe = getattr(obj, "describe", None)
    if callable(describe):
        try:
            return describe()
        except Exception:  # a description is informative only
            pass
    out = {"callable": getattr(obj, "__qualname__", type(obj).__qualname__)}
    digest = code_digest(obj)
    if digest is not None:  # two lambdas are both "<lambda>"; their code is not
        out["code_sha1"] = digest
    return out


