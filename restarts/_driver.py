"""``multistart()``: validate -> seed -> plan -> dispatch -> collect in index order."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._digest import array_sha1, code_digest
from ._dispatch import chunk_size, effective_workers, iter_chunks, report_interrupt
from ._result import MultistartResult, Restart
from ._seeding import root_seed, starts_rng
from ._state import RunState
from ._validation import check_bool, check_callable, check_int, check_real, fail
from .starts import as_starts
from .stop import as_rules
from .strategies import get_strategy
from .strategies._base import Independent, StrategyContext, Task, as_task
from .strategies.racing import STATE_KEY, Racing, RungStep

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
    ftol: float | None = None,
    xtol: float | None = None,
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
    strategy : {"independent", "tiktak", "mlsl", "racing"} or Strategy, default="independent"
        ``"racing"`` (:class:`~restarts.strategies.Racing`) runs successive halving over
        the restarts of a resumable solver (MLP, KMeans, GaussianMixture, ...).
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
    ftol : float or None, default=None
        Two restarts reached the same optimum when ``|Δfun| <= ftol`` and ...
        (see :class:`~restarts._solutions.BasinMatcher`). ``None`` follows the local
        solver: ``1e-4 max(1, |best fun|)``. Grouping is analysis: a stored run
        resumes whatever ``ftol`` and ``xtol`` are.
    xtol : float or None, default=None
        ... ``‖Δx‖ <= xtol`` (``x`` mapped through ``solver.canonical`` if defined).
        ``None`` follows the local solver: the spread of the restarts that reached one
        optimum (SLSQP or Nelder-Mead stop farther from it than L-BFGS-B;
        :func:`~restarts._solutions.resolve_tolerances`).
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
    if isinstance(strat, Racing):
        strat.budgets(solver)  # a solver that cannot be raced: an error before any work
    rules = as_rules(stop, _OWNER)
    timeout = check_real(timeout, "timeout", _OWNER, low=0, strict_low=True, allow_none=True)
    progress = check_bool(progress, "progress", _OWNER)
    if batch_size != "auto":
        check_int(batch_size, "batch_size", _OWNER, low=1)
    threads = check_int(threads, "threads", _OWNER, low=1, allow_none=True)
    ftol = check_real(ftol, "ftol", _OWNER, low=0, allow_none=True)
    xtol = check_real(xtol, "xtol", _OWNER, low=0, allow_none=True)
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
        }  # no ftol/xtol: grouping is analysis, never a reason to refuse a resume
        sink, done = open_run(store, "default" if name is None else name, root, config,
                              overwrite=overwrite)

    for rule in rules:
        reset = getattr(rule, "reset", None)
        if reset is not None:
            reset()
    budgets = [getattr(r, "max_nfev", None) for r in rules]
    budget = min((int(b) for b in budgets if b is not None), default=None)
    state = RunState(ftol, xtol, getattr(solver, "canonical", None))
    ctx = StrategyContext(solver=solver, n_starts=n_starts, starts=points, sampler=sampler,
                          rng=root_rng, state=state, max_nfev=budget)
    run = RunSettings(solver=solver, root=root, n_starts=n_starts, n_jobs=n_jobs,
                      backend=backend, timeout=timeout, batch_size=batch_size, threads=threads,
                      workers=effective_workers(n_jobs, backend), state=state, rules=rules,
                      sink=sink, bar=_progress(progress, n_starts))
    stopped_by: str | None = None
    if isinstance(strat, Racing):
        try:
            stopped_by = _race(run, strat, ctx, done)
            if sink is not None:
                sink.finish(state.n_done, stopped_by)
        except KeyboardInterrupt:
            report_interrupt(n_starts, sink, state.n_done)
            raise
        finally:
            if run.bar is not None:
                run.bar.close()
            if sink is not None:
                sink.close()
        return _result(run, strat, ftol, xtol, stopped_by)
    plan = strat.tasks(ctx)
    try:
        batch = next(plan, None)
        while batch is not None and stopped_by is None:
            batch = [t for t in map(as_task, batch) if t.index < n_starts]
            records, stopped_by = _collect(run, batch, done)
            if stopped_by is not None or state.n_done >= n_starts:
                break
            try:
                batch = plan.send(records)
            except StopIteration:
                batch = None
        if sink is not None:
            sink.finish(state.n_done, stopped_by)  # load() returns exactly these restarts
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: finished restarts are saved; say so
        report_interrupt(n_starts, sink, state.n_done)
        raise
    finally:
        plan.close()
        if run.bar is not None:
            run.bar.close()
        if sink is not None:
            sink.close()

    return _result(run, strat, ftol, xtol, stopped_by)


def _result(run: RunSettings, strat: Any, ftol: float | None, xtol: float | None,
            stopped_by: str | None) -> MultistartResult:
    return MultistartResult(
        restarts=list(run.state.restarts), seed_entropy=run.root.entropy,
        seed_spawn_key=tuple(run.root.spawn_key), ftol=ftol, xtol=xtol,
        canonical=getattr(run.solver, "canonical", None),
        config={"n_starts": run.n_starts, "strategy": strat.name, "n_jobs": run.n_jobs,
                "backend": run.backend, "extra_nfev": run.state.extra_nfev},
        stopped_by=stopped_by,
    )


def _race(run: RunSettings, strat: Racing, ctx: StrategyContext, done: dict) -> str | None:
    """Race the restarts (all rungs), then let the final rows join the prefix in order.

    A stored run whose every restart is saved is read back. Otherwise every rung a
    restart finishes is checkpointed in the store as its results arrive, and a resumed
    run (killed, interrupted) continues from those checkpoints: no finished rung runs
    again. The final rows are saved when the race ends.
    """
    if not all(i in done for i in range(run.n_starts)):
        sink = run.sink
        saved = sink.rungs(STATE_KEY) if sink is not None else {}

        def execute(step: RungStep, items: list) -> list[Restart]:
            save = None if sink is None else (
                lambda records: sink.add_rung(step.rung, records, STATE_KEY))
            return _execute(run, step, items, save)

        final = strat.race(ctx, execute, saved)
        new = [rec for rec in final if rec.index not in done]
        if run.sink is not None and new:
            run.sink.add(new)
        done = {**done, **{rec.index: rec for rec in new}}
    for rec in done.values():
        if rec.info is None and rec.result is not None and "rung" in rec.result.extra:
            rec.info = {k: rec.result.extra[k] for k in ("budget", "rung")}  # read back
    return _collect(run, [Task(i, None) for i in range(run.n_starts)], done)[1]


def _execute(run: RunSettings, solver: Any, items: list,
             save: Callable[[list[Restart]], None] | None = None) -> list[Restart]:
    """Run ``(index, start)`` items on the run's workers; records in index order.
    ``save`` gets each chunk of records as it arrives."""
    size = chunk_size(len(items), run.workers, solver, run.batch_size)
    chunks = iter_chunks(solver, run.root.entropy, tuple(run.root.spawn_key), items,
                         n_jobs=run.n_jobs, backend=run.backend, timeout=run.timeout,
                         size=size, threads=run.threads)
    out: list[Restart] = []
    try:
        for records in chunks:
            if save is not None:
                save(records)
            out.extend(records)
    finally:
        chunks.close()
    return sorted(out, key=lambda rec: rec.index)


@dataclass
class RunSettings:
    """What running a batch of tasks needs, fixed for the whole run."""

    solver: Any
    root: np.random.SeedSequence
    n_starts: int
    n_jobs: int
    backend: str | None
    timeout: float | None
    batch_size: Any
    threads: int | None
    workers: int
    state: RunState
    rules: list
    sink: Any
    bar: Any


class WithOptions:
    """``solver(start, rng, **options)``: a restart with the keyword arguments of its task.

    Budgeted strategies (``"tiktak"``, ``"mlsl"``) give each local search
    ``max_nfev`` so that the evaluations of the whole run never exceed the rules'
    budget; the solver must accept those keywords (as ``Minimize`` does).
    """

    def __init__(self, solver: Any, options: Mapping[str, Any]) -> None:
        self.solver, self.options = solver, dict(options)

    def __call__(self, start: Any, rng: np.random.Generator) -> Any:
        return self.solver(start, rng, **self.options)


#: Restarts in index order whose identical TypeError/ValueError stops a run (set-up error).
FAIL_FAST = 10


def _groups(run: RunSettings, tasks: list[Task]) -> list[tuple[Any, list]]:
    """The tasks as ``(solver, [(index, start), ...])`` groups sharing one set of options."""
    groups: dict[tuple, tuple[Any, list]] = {}
    for t in tasks:
        key = tuple(sorted(t.options.items())) if t.options else ()
        if key not in groups:
            groups[key] = (WithOptions(run.solver, t.options) if t.options else run.solver, [])
        groups[key][1].append((t.index, t.start))
    return list(groups.values())


def _collect(run: RunSettings, batch: list[Task], done: dict) -> tuple[list[Restart], str | None]:
    """Run one batch of tasks; feed finished restarts to the rules in index order.

    In a fresh in-process run the first restart runs alone, and, if it fails with a
    ``TypeError``/``ValueError``, so do the next ones up to :data:`FAIL_FAST`: if all
    fail alike the run stops with that error (:func:`_fail_fast`) instead of running
    every restart into the same mistake. Parallel runs check the same as records
    stream back.
    """
    state = run.state
    info = {t.index: t.options for t in batch if t.options}
    pending: dict[int, Restart] = {t.index: done[t.index] for t in batch if t.index in done}
    for i, rec in pending.items():
        if i in info:
            rec.info = info[i]
    order = [t.index for t in batch]
    out: list[Restart] = []
    pos = 0
    limit = min(FAIL_FAST, run.n_starts)

    def advance() -> str | None:
        nonlocal pos
        while pos < len(order) and order[pos] in pending:
            rec = pending.pop(order[pos])
            pos += 1
            out.append(rec)
            state.add(rec)
            if state.n_done == limit:
                _fail_fast(state.restarts[:limit])
            if run.bar is not None:
                run.bar.update(1)
            for rule in run.rules:
                if rule(state):
                    return getattr(rule, "__name__", type(rule).__name__)
        return None

    stopped_by = advance()
    todo = [t for t in batch if t.index not in done]
    stages = [todo]
    # In-process runs only: worker pools already start with one restart per worker and
    # stream records back (resizing a pool for a probe would restart its workers);
    # solvers with solve_batch run chunks of <= 32 anyway; an explicit batch_size is the
    # user's chunking, kept as asked.
    probe = (run.workers <= 1 and getattr(run.solver, "solve_batch", None) is None
             and run.batch_size == "auto")
    if state.n_done == 0 and len(todo) > 1 and todo[0].index == 0 and probe:
        stages = [todo[:1], todo[1:limit], todo[limit:]]
    while stages and stopped_by is None:
        stage = stages.pop(0)
        if len(stages) == 1 and state.n_done and _setup_error(state.restarts[0]) is None:
            stage, stages = stage + stages[0], []  # restart 0 ran fine: no more probing
        for solver, items in _groups(run, stage):
            size = chunk_size(len(items), run.workers, solver, run.batch_size)
            chunks = iter_chunks(solver, run.root.entropy, tuple(run.root.spawn_key), items,
                                 n_jobs=run.n_jobs, backend=run.backend, timeout=run.timeout,
                                 size=size, threads=run.threads)
            try:
                for records in chunks:
                    for rec in records:
                        if rec.index in info:  # before saving: loads keep the columns
                            rec.info = info[rec.index]
                        pending[rec.index] = rec
                    if run.sink is not None:
                        run.sink.add(records)
                    stopped_by = advance()
                    if stopped_by is not None:
                        break
            finally:
                chunks.close()
            if stopped_by is not None:
                break
    return out, stopped_by


def _setup_error(rec: Restart) -> tuple[type, str] | None:
    """``(exception type, message)`` when ``rec`` failed with a TypeError/ValueError."""
    if rec.error is None:
        return None
    kind, _, message = rec.error.partition(": ")
    exc = {"TypeError": TypeError, "ValueError": ValueError}.get(kind)
    return None if exc is None else (exc, message)


def _fail_fast(first: list[Restart]) -> None:
    """Raise when the first restarts all failed with one TypeError/ValueError (set-up)."""
    errors = {rec.error for rec in first}
    found = _setup_error(first[0])
    if found is None or len(errors) != 1:
        return
    exc, message = found
    n = len(first)
    which = "restart 0 failed" if n == 1 else f"restarts 0 to {n - 1} all failed"
    message = message.rstrip()
    if message and message[-1] not in ".!?":
        message += "."
    raise exc(
        f"The run stopped after {which} with the same {exc.__name__}: {message} The same "
        "error in every first restart points to the set-up (the solver, its arguments, the "
        "starts) rather than to single restarts; call the solver once to see where it "
        "fails: solver(start, numpy.random.default_rng(0)), which must return a "
        "LocalResult, a scipy.optimize.OptimizeResult or a pair (x, fun)."
    )


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


