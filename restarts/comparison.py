"""Restart strategies against SciPy's global optimizers, on equal evaluation budgets.

:func:`compare` runs every method on the same problem with the same budget of
objective evaluations, counted by one wrapper around ``fun`` (finite-difference
gradient calls are ``fun`` calls, so they count). Each method gets its own
budget-matching settings (``maxiter``, ``maxfun``, ``niter`` large enough for the
budget to bind) **and** a hard stop: the wrapper raises once the budget is spent and
the best point seen so far is kept. Restart strategies run through
:func:`~restarts.multistart` with a :class:`~restarts.stop.MaxEvaluations` rule and
stay within it by themselves.

``add_cli(subparsers)`` adds the ``restarts compare`` subcommand.
"""

from __future__ import annotations

import argparse
import math
import numbers
import time
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize
from threadpoolctl import threadpool_limits

from ._counting import BudgetExhausted, CountedFunction
from ._format import text_table
from ._running import describe_error
from ._seeding import child_seed, root_seed
from ._validation import check_bool, check_int, fail
from .analysis import add_solve_evaluations, success_tol, summarize_comparison

__all__ = ["compare", "concat", "summarize", "default_budget", "METHODS", "PEERS", "BudgetSpent",
           "add_cli"]

_OWNER = "compare()"

#: Methods :func:`compare` runs by default, restart strategies first.
METHODS: tuple[str, ...] = (
    "multistart", "tiktak", "mlsl",
    "basinhopping", "differential_evolution", "dual_annealing", "shgo", "direct",
)
#: Peers compared on request: pycma's own restart strategies (extra ``restarts[cma]``).
PEERS: tuple[str, ...] = ("cma-ipop", "cma-bipop")
_NAMES = METHODS + PEERS
_STRATEGY_OF = {"multistart": "independent", "tiktak": "tiktak", "mlsl": "mlsl"}
_LOCAL_METHOD = "L-BFGS-B"
_BUDGET_KEY = 2**31 - 1  # spawn key of the seed the default-budget DE run uses

# Default settings per method; compare(method_options=...) overrides them.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "multistart": {"local_method": _LOCAL_METHOD},
    "tiktak": {"local_method": _LOCAL_METHOD, "keep": 0.1, "sample_share": 0.1,
               "warm_start": "auto", "coordinate_share": 0.5},
    # Under a budget, a smaller sigma and a larger reduced sample start more searches
    # (sigma > 4 only matters for the asymptotic guarantee of sampling forever); a
    # first round of one point starts the first search at once.
    "mlsl": {"local_method": _LOCAL_METHOD, "gamma": 0.3, "sigma": 2.0, "first_round": 1,
             "coordinate_share": 0.5},
    "basinhopping": {"local_method": _LOCAL_METHOD},
    "differential_evolution": {},
    "dual_annealing": {},
    "shgo": {},
    "direct": {},
    # pycma's own restarts: up to 9 restarts, population doubled each time (IPOP), or
    # interleaved with small-population runs (BIPOP); further keys are pycma options.
    "cma-ipop": {},
    "cma-bipop": {},
}


def _min_budget(method: Any, dim: int) -> int:
    """Evaluations a method needs before it can return anything meaningful."""
    if not isinstance(method, str):
        return 1  # a user's method: its own business
    if method == "differential_evolution":
        return 15 * dim  # SciPy's default population: popsize * d points
    if method == "shgo":
        return 2**dim + 1  # the vertices of the initial simplicial complex
    if method == "direct":
        return 2 * dim + 1  # the centre and one trisection along every axis
    return dim + 2  # one point and a finite-difference gradient


#: Raised by the counter when the budget is spent (the package's one budget exception).
BudgetSpent = BudgetExhausted


class _Budgeted:
    """Independent restarts share one budget: each search is capped at what is left."""

    def __init__(self, solver: Any, counter: CountedFunction) -> None:
        self.solver, self.counter = solver, counter

    def __call__(self, start: Any, rng: np.random.Generator) -> Any:
        left = self.counter.remaining
        if left < 1:
            raise BudgetExhausted
        return self.solver(start, rng, max_nfev=left)


# --------------------------------------------------------------------------------------
# One run of one method
# --------------------------------------------------------------------------------------


def _run_restarts(method: str, counter: CountedFunction, bounds: np.ndarray, budget: int,
                  seed: np.random.SeedSequence, opts: dict) -> None:
    from . import stop as _stop
    from ._driver import multistart
    from .solvers import Minimize
    from .strategies import MLSL, TikTak

    opts = dict(opts)
    local = Minimize(counter, bounds=bounds, method=opts.pop("local_method", _LOCAL_METHOD),
                     options=opts.pop("local_options", None))
    if method == "multistart":
        solver: Any = _Budgeted(local, counter)
        strategy: Any = "independent"
    else:
        solver = local
        strategy = TikTak(**opts) if method == "tiktak" else MLSL(**opts)
    # threads=None: no per-batch thread-limit bookkeeping; parallelism is across runs.
    multistart(solver, budget, rng=seed, strategy=strategy,
               stop=_stop.MaxEvaluations(budget), batch_size=1, threads=None)


def _uniform(bounds: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return bounds[:, 0] + rng.random(bounds.shape[0]) * (bounds[:, 1] - bounds[:, 0])


def _run_scipy(method: str, counter: CountedFunction, bounds: np.ndarray, budget: int,
               seed: np.random.SeedSequence, opts: dict) -> None:
    rng = np.random.default_rng(seed)
    d = bounds.shape[0]
    box = [tuple(b) for b in bounds]
    opts = dict(opts)
    if method == "basinhopping":
        local = opts.pop("local_method", _LOCAL_METHOD)
        kw = {"method": local, "bounds": box}
        optimize.basinhopping(counter, _uniform(bounds, rng), niter=budget,
                              minimizer_kwargs=kw, rng=rng, **opts)
    elif method == "differential_evolution":
        popsize = opts.get("popsize", 15)
        maxiter = max(1, budget // (popsize * d))
        optimize.differential_evolution(counter, box, maxiter=maxiter, rng=rng, **opts)
    elif method == "dual_annealing":
        optimize.dual_annealing(counter, box, maxiter=budget, maxfun=budget, rng=rng, **opts)
    elif method == "shgo":
        # No maxfev: with it SHGO keeps refining its simplicial complex, whose cost
        # grows superlinearly (minutes for 2,000 evaluations on 3-d Ackley).
        optimize.shgo(counter, box, **opts)
    elif method == "direct":
        optimize.direct(counter, box, maxfun=budget, maxiter=budget, **opts)
    else:  # pragma: no cover - validated before
        raise ValueError(method)


def _run_cma(method: str, counter: CountedFunction, bounds: np.ndarray, budget: int,
             seed: np.random.SeedSequence, opts: dict) -> None:
    """pycma's ``fmin2`` with its own restarts (9, IPOP or BIPOP) from a uniform start."""
    from .solvers.cma import SIGMA0_FRACTION, import_cma

    cma = import_cma(f"compare(methods=[{method!r}])")
    rng = np.random.default_rng(seed)
    lo, hi = bounds[:, 0], bounds[:, 1]
    width = hi - lo
    options = {"bounds": [lo.tolist(), hi.tolist()], "maxfevals": budget, "verbose": -9,
               "verb_log": 0, "verb_disp": 0, "seed": math.nan,
               "randn": lambda *shape: rng.standard_normal(shape)}  # the run's own stream
    if not np.all(width == width.max()):
        options["CMA_stds"] = (width / width.max()).tolist()
    options.update(opts)
    cma.fmin2(counter, _uniform(bounds, rng), SIGMA0_FRACTION * float(width.max()), options,
              restarts=9, bipop=method == "cma-bipop")


def _run_user(method: Any, counter: CountedFunction, bounds: np.ndarray, budget: int,
              seed: np.random.SeedSequence, opts: dict) -> None:
    """A user's ``method(fun, bounds, budget, rng)``; ``fun`` is the counter itself."""
    method(counter, bounds.copy(), budget, np.random.default_rng(seed))


def _run_one(problem: Any, method: Any, name: str, repeat: int, budget: int,
             seed: np.random.SeedSequence, opts: dict) -> dict:
    """One (method, repeat): the row of the table, plus its trace."""
    import warnings

    counter = CountedFunction(problem.fun, budget)
    bounds = np.asarray(problem.bounds, dtype=float)
    if callable(method):
        runner: Any = _run_user
    elif method in _STRATEGY_OF:
        runner = _run_restarts
    elif method in PEERS:
        runner = _run_cma
    else:
        runner = _run_scipy
    t0 = time.perf_counter()
    # One BLAS thread: L-BFGS-B's tiny products are ~30x slower when OpenBLAS threads
    # fight over shared cores, and parallelism is across runs anyway.
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SciPy warns when stopped early, by design here
        error = None
        try:
            runner(method, counter, bounds, budget, seed, opts)
        except BudgetExhausted:
            pass
        except ImportError:  # a missing extra is the setup's error, not the run's
            raise
        except Exception as exc:  # a failing run is a row (best value before it failed)
            error = describe_error(exc)
    elapsed = time.perf_counter() - t0
    return {
        "problem": problem.name, "method": name, "repeat": repeat, "error": error,
        "fun": counter.best_f, "nfev": counter.nfev, "time_s": elapsed,
        "budget": budget, "best_so_far_at": counter.best_at,
        "trace": np.array(counter.trace, dtype=float).reshape(-1, 2),
    }


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


def _method_name(method: Any) -> str:
    return method if isinstance(method, str) else str(
        getattr(method, "__name__", type(method).__name__))


def _check_methods(methods: Any) -> list[Any]:
    """Names from METHODS/PEERS and callables, each once (by name)."""
    if methods is None:
        return list(METHODS)
    if isinstance(methods, str) or callable(methods):
        methods = ([m.strip() for m in methods.split(",") if m.strip()]
                   if isinstance(methods, str) else [methods])
    if not isinstance(methods, Sequence) or not methods:
        raise fail("methods", _OWNER, f"None or a non-empty list of names from {list(_NAMES)} "
                   "or callables method(fun, bounds, budget, rng)", methods, TypeError)
    unknown = [m for m in methods if not callable(m) and m not in _NAMES]
    if unknown:
        raise ValueError(
            f"The 'methods' parameter of {_OWNER} must name methods from {list(_NAMES)} "
            f"or be callables method(fun, bounds, budget, rng). Got unknown {unknown!r} "
            "instead."
        )
    names = [_method_name(m) for m in methods]
    if len(set(names)) != len(names):
        raise fail("methods", _OWNER, "a list without duplicate names", names)
    clash = [n for m, n in zip(methods, names, strict=True) if callable(m) and n in _NAMES]
    if clash:
        raise fail("methods", _OWNER, "callables whose __name__ is not a built-in method's",
                   clash)
    return list(methods)


def _method_key(method: Any) -> int:
    """The spawn key of a method's runs: its position, or a hash of a callable's name."""
    if isinstance(method, str):
        return _NAMES.index(method)
    return 2**20 + zlib.crc32(_method_name(method).encode()) % 2**20


def _as_problem(problem: Any, dim: int | None, shift: Any) -> tuple[Any, Any]:
    """``(problem, instance_for(seed_or_None))``: the problem and a way to shift it."""
    from . import problems as _problems

    if isinstance(problem, str):
        base = _problems.get(problem, dim=dim)

        def instance(seed: Any) -> Any:
            return base if seed is None else _problems.get(problem, dim=dim, shift=seed)

        return base, instance
    if dim is not None:
        raise ValueError(
            f"The 'dim' parameter of {_OWNER} applies to a problem given by name. "
            f"Got dim={dim!r} with a {type(problem).__name__} instead."
        )
    fun = getattr(problem, "fun", None)
    if not callable(fun) or not hasattr(problem, "bounds"):
        raise fail("problem", _OWNER, "a problem name, or a Problem with 'fun' and 'bounds'",
                    problem, TypeError)
    if getattr(problem, "bounds", None) is None:
        raise ValueError(
            f"The 'problem' parameter of {_OWNER} must have bounds: every compared method "
            "samples or searches a box. Got a problem without bounds instead."
        )
    if shift:
        name = str(getattr(problem, "name", ""))
        if name not in _problems.names():
            raise ValueError(
                f"The 'shift' parameter of {_OWNER} needs a built-in problem (given by name "
                f"or as rs.problems.get(...)) to move its optimum. Got problem {name!r}."
            )
        dim_ = int(np.asarray(problem.bounds).shape[0])
        return problem, lambda seed: (problem if seed is None
                                      else _problems.get(name, dim=dim_, shift=seed))
    return problem, lambda seed: problem


def _check_budget(budget: Any, methods: list[str], dim: int) -> int | None:
    if budget is None:
        return None
    budget = check_int(budget, "budget", _OWNER, low=1)
    short = {m: _min_budget(m, dim) for m in methods
             if isinstance(m, str) and budget < _min_budget(m, dim)}
    if short:
        need = max(short.values())
        raise ValueError(
            f"The 'budget' parameter of {_OWNER} must be at least {need} for "
            f"{sorted(short)} to start on this {dim}-d problem (needs: {short}). "
            f"Got {budget} instead."
        )
    return budget


def default_budget(problem: Any, rng: Any = 0) -> int:
    """Evaluations :func:`scipy.optimize.differential_evolution` uses with its defaults.

    Counted with the same wrapper :func:`compare` uses (polishing included), in one
    run seeded from ``rng``.

    Examples
    --------
    >>> import restarts as rs
    >>> from restarts.comparison import default_budget
    >>> default_budget(rs.problems.get("branin")) > 0
    True
    """
    root = root_seed(rng, "default_budget()")
    counter = CountedFunction(problem.fun)
    rgen = np.random.default_rng(child_seed(root, _BUDGET_KEY))
    import warnings

    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optimize.differential_evolution(counter, [tuple(b) for b in np.asarray(problem.bounds)],
                                        rng=rgen)
    return counter.nfev


# --------------------------------------------------------------------------------------
# compare()
# --------------------------------------------------------------------------------------


def compare(
    problem: Any,
    methods: Sequence[Any] | str | None = None,
    budget: int | None = None,
    repeats: int = 20,
    rng: Any = 0,
    n_jobs: int = 1,
    *,
    dim: int | None = None,
    shift: bool = False,
    method_options: dict[str, dict] | None = None,
) -> pd.DataFrame:
    """Run restart strategies and SciPy's global methods on a problem, equal budgets.

    Parameters
    ----------
    problem : str, Problem, or a list of them
        A name from :func:`restarts.problems.names` (with ``dim``), a problem from
        :func:`restarts.problems.get`, or a user's :class:`restarts.Problem` (any
        object with ``name``, ``fun``, ``bounds`` and optionally ``f_min``). A list
        runs each problem as if alone and returns the tables stacked by
        :func:`concat` (each problem's ``budget`` defaults separately).
    methods : list of str and callables, or comma-separated str, optional
        Names from :data:`METHODS` (default: all of them): ``"multistart"``
        (independent uniform restarts), ``"tiktak"``, ``"mlsl"``, ``"basinhopping"``,
        ``"differential_evolution"``, ``"dual_annealing"``, ``"shgo"``, ``"direct"``;
        from :data:`PEERS`: ``"cma-ipop"``, ``"cma-bipop"`` (pycma's ``fmin2`` with 9
        restarts, IPOP or BIPOP, ``sigma0`` a fifth of the box; extra
        ``restarts[cma]``); or any callable ``method(fun, bounds, budget, rng)``
        (``bounds`` a ``(d, 2)`` array, ``rng`` a Generator). Every method, a
        callable too, evaluates through the same counter: ``fun`` raises once
        ``budget`` calls were made, and the best point it was called at is the
        result (what the callable returns is ignored). A callable's ``__name__``
        names its rows.
    budget : int, optional
        Objective evaluations per run. Default: what ``differential_evolution`` uses
        with its default settings on the problem (one run, see :func:`default_budget`;
        on the first repeat's instance when shifted).
    repeats : int >= 1, default=20
        Runs per method.
    rng : int, SeedSequence or Generator, default=0
        Run ``(method, repeat)`` is seeded with the child ``(repeat, k)`` of this
        seed, ``k`` the method's position in :data:`METHODS` + :data:`PEERS` (for a
        callable, a hash of its name), so a row does not depend on ``n_jobs`` or on
        which other methods or problems are compared.
    n_jobs : int, default=1
        Runs executed in parallel (joblib; ``-1`` = all cores).
    dim : int, optional
        Dimension of a problem given by name.
    shift : bool, default=False
        Compare on shifted problems: repeat ``r`` runs every method on
        ``rs.problems.get(name, dim, shift=seed)`` with ``seed`` the child ``(r,)`` of
        ``rng``'s shift stream, so all methods of a repeat share one instance while
        the optimum moves between repeats (DIRECT and SHGO are deterministic: without
        a shift their repeats are identical). Needs a built-in problem.
    method_options : dict, optional
        Per-method overrides of the settings, e.g.
        ``{"tiktak": {"keep": 0.2}, "mlsl": {"local_method": "Powell"}}``.

    Returns
    -------
    pandas.DataFrame
        One row per run: ``problem``, ``method``, ``repeat``, ``fun`` (best value
        found), ``gap`` (``fun - f_min``), ``success`` (``gap <= 1e-4 * max(1,
        |f_min|)``, :func:`restarts.analysis.success_tol`), ``nfev`` (counted
        evaluations, never above ``budget``), ``time_s``, ``budget``,
        ``best_so_far_at`` (the evaluation at which the final best was first
        reached), ``nfev_to_success`` (the evaluation at which the best-so-far first
        met the success threshold, ``NaN`` for a run that did not succeed),
        ``error`` (``None``, or how a run that raised failed: it keeps the best value
        it had evaluated, and the other runs go on). Without a
        known ``f_min`` the reference is the best value any run found. ``df.attrs``
        holds ``"traces"`` (a dict ``(method, repeat) -> ((nfev, best so far), ...)``
        with one pair per improvement, for data profiles; ``np.asarray`` makes it a
        ``(k, 2)`` array), ``"f_ref"`` (the reference value) and ``"budget_source"``
        (``"given"`` or ``"differential_evolution defaults"``).

    Raises
    ------
    ValueError
        Unknown method names (the message lists the valid ones), a budget below what
        a method needs to start, ``repeats < 1``, a problem without bounds, ``shift``
        with a problem that is not built in.

    Notes
    -----
    Restart strategies run L-BFGS-B with finite differences inside the box (TikTak
    with a warm start and growing Sobol' cycles, MLSL with a one-point first round;
    both with ``coordinate_share=0.5``): on budgets, these settings solved the most
    suite problems. SciPy's methods keep their defaults except the iteration limits
    that let the budget bind; ``shgo`` keeps ``n=100, iters=1`` because its cost grows
    superlinearly with ``maxfev``. Every method is stopped hard when the budget is
    spent, and may stop earlier by its own convergence test. The measurements behind
    these choices are in ``docs/benchmarks-global.md``.

    Examples
    --------
    >>> import restarts as rs
    >>> df = rs.compare("six_hump_camel", methods=["tiktak", "direct"], budget=500,
    ...                 repeats=2)
    >>> df[["method", "repeat", "success"]].values.tolist()
    [['tiktak', 0, True], ['tiktak', 1, True], ['direct', 0, True], ['direct', 1, True]]
    >>> bool((df["nfev"] <= 500).all())
    True
    """
    if isinstance(problem, (list, tuple)):
        if not problem:
            raise fail("problem", _OWNER, "a problem or a non-empty list of problems",
                       problem, ValueError)
        return concat([compare(p, methods, budget, repeats, rng, n_jobs, dim=dim,
                               shift=shift, method_options=method_options)
                       for p in problem])
    methods = _check_methods(methods)
    repeats = check_int(repeats, "repeats", _OWNER, low=1)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise fail("n_jobs", _OWNER, "a non-zero int (-1 means all cores)", n_jobs,
                   TypeError if not isinstance(n_jobs, numbers.Integral) else ValueError)
    shift = check_bool(shift, "shift", _OWNER)
    dim = check_int(dim, "dim", _OWNER, low=1, allow_none=True)
    if method_options is not None and not isinstance(method_options, dict):
        raise fail("method_options", _OWNER, "a dict of dicts or None", method_options, TypeError)
    for key in method_options or {}:
        if key not in _NAMES:
            raise fail("method_options", _OWNER, f"keyed by names from {list(_NAMES)}", key)
    root = root_seed(rng, _OWNER)
    base, instance = _as_problem(problem, dim, shift)
    d = int(np.asarray(base.bounds).shape[0])
    budget = _check_budget(budget, methods, d)

    shift_root = child_seed(root, _BUDGET_KEY - 1)
    instances = [instance(child_seed(shift_root, r) if shift else None) for r in range(repeats)]
    source = "given"
    if budget is None:
        budget = default_budget(instances[0], root)
        source = "differential_evolution defaults"
        budget = max(budget, max(_min_budget(m, d) for m in methods))

    tasks = []
    for method in methods:
        name = _method_name(method)
        opts = ({} if callable(method) else
                {**_DEFAULTS[method], **(method_options or {}).get(method, {})})
        k = _method_key(method)
        for r in range(repeats):
            tasks.append((instances[r], method, name, r, budget, child_seed(root, r, k), opts))
    if n_jobs == 1:
        runs = [_run_one(*t) for t in tasks]
    else:
        from joblib import Parallel, delayed

        runs = Parallel(n_jobs=n_jobs)(delayed(_run_one)(*t) for t in tasks)
    return _table(base, instances[0].name, runs, source)


def _table(problem: Any, name: str, runs: list[dict], source: str) -> pd.DataFrame:
    f_min = getattr(problem, "f_min", None)
    funs = np.array([r["fun"] for r in runs], dtype=float)
    if f_min is None:
        finite = funs[np.isfinite(funs)]
        f_ref = float(finite.min()) if finite.size else math.nan
    else:
        f_ref = float(f_min)
    df = pd.DataFrame({
        "problem": [name] * len(runs),
        "method": [r["method"] for r in runs],
        "repeat": [r["repeat"] for r in runs],
        "fun": funs,
    })
    df["gap"] = funs - f_ref
    with np.errstate(invalid="ignore"):
        df["success"] = (df["gap"] <= success_tol(f_ref)).to_numpy()
    for col in ("nfev", "time_s", "budget", "best_so_far_at", "error"):
        df[col] = [r[col] for r in runs]
    df["nfev"] = df["nfev"].astype(int)
    df["budget"] = df["budget"].astype(int)
    df["best_so_far_at"] = df["best_so_far_at"].astype(int)
    # Tuples, not arrays: pandas compares attrs with == (pd.concat of two tables).
    df.attrs["traces"] = {(r["method"], r["repeat"]): tuple(map(tuple, r["trace"].tolist()))
                          for r in runs}
    df.attrs["f_ref"] = f_ref
    df.attrs["budget_source"] = source
    return add_solve_evaluations(df)


def concat(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Stack :func:`compare` tables of different problems, keeping traces and references.

    :func:`pandas.concat` drops ``attrs`` that differ; here the traces are re-keyed
    ``(problem, method, repeat)`` and ``f_ref`` becomes a dict by problem, which
    :func:`restarts.analysis.add_solve_evaluations`, the profiles and
    :func:`restarts.plot.traces` read.

    Examples
    --------
    >>> import restarts as rs
    >>> a = rs.compare("booth", methods=["direct"], budget=100, repeats=1)
    >>> b = rs.compare("branin", methods=["direct"], budget=100, repeats=1)
    >>> both = rs.comparison.concat([a, b])
    >>> sorted(both.attrs["f_ref"]), sorted(both.attrs["traces"])[0]
    (['booth', 'branin'], ('booth', 'direct', 0))
    """
    if isinstance(tables, pd.DataFrame) or not isinstance(tables, Sequence) or not tables:
        raise fail("tables", "concat()", "a non-empty list of compare() tables", tables,
                   TypeError)
    traces: dict[tuple, Any] = {}
    f_ref: dict[str, float] = {}
    sources: list[str] = []
    for t in tables:
        ref = t.attrs.get("f_ref")
        names = list(dict.fromkeys(t["problem"].astype(str)))
        clash = sorted(set(names) & set(f_ref))
        if clash:
            raise ValueError(f"The 'tables' parameter of concat() must hold each problem "
                             f"once. Got {clash} in two tables instead.")
        if isinstance(ref, dict):  # already several problems
            f_ref.update(ref)
            traces.update(t.attrs.get("traces", {}))
        else:
            f_ref[names[0]] = math.nan if ref is None else float(ref)
            traces.update({(names[0], *key): tr
                           for key, tr in t.attrs.get("traces", {}).items()})
        sources.append(str(t.attrs.get("budget_source", "given")))
    out = pd.concat(list(tables), ignore_index=True)
    out.attrs = {"traces": traces, "f_ref": f_ref,
                 "budget_source": sources[0] if len(set(sources)) == 1 else "mixed"}
    return out


#: The one comparison summary, :func:`restarts.analysis.summarize_comparison`.
summarize = summarize_comparison


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def add_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``compare`` subcommand to an :mod:`argparse` sub-parsers object.

    The subcommand's handler is stored as ``func`` in the parsed namespace
    (``args.func(args)`` runs it and returns an exit code).

    Examples
    --------
    >>> import argparse
    >>> from restarts.comparison import add_cli
    >>> parser = argparse.ArgumentParser(prog="restarts")
    >>> _ = add_cli(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["compare", "--problem", "booth", "--budget", "200"])
    >>> args.problem, args.budget, args.shift
    ('booth', 200, False)
    """
    p = subparsers.add_parser(
        "compare",
        help="restart strategies vs SciPy's global optimizers on equal budgets",
        description="Run restart strategies and SciPy's global optimizers on a test "
        "problem with the same budget of function evaluations, repeated over seeds, and "
        "print per method: success rate, median nfev to success, median gap, median time.",
    )
    p.add_argument("--problem", required=True, help="a name from restarts.problems.names()")
    p.add_argument("--dim", type=int, default=None, help="dimension (scalable problems)")
    p.add_argument("--budget", type=int, default=None,
                   help="evaluations per run (default: differential_evolution's own use)")
    p.add_argument("--repeats", type=int, default=20, help="runs per method (default 20)")
    p.add_argument("--methods", default=None,
                   help=f"comma-separated, from {','.join(METHODS)} (default: all) and "
                   f"{','.join(PEERS)} (pycma's restarts; pip install 'restarts[cma]')")
    p.add_argument("--n-jobs", type=int, default=1, dest="n_jobs",
                   help="parallel runs (-1 = all cores)")
    p.add_argument("--rng", type=int, default=0, help="seed (default 0)")
    p.add_argument("--shift", action=argparse.BooleanOptionalAction, default=False,
                   help="move the optimum off-centre, per repeat (default: --no-shift)")
    p.add_argument("--out", default=None, help="write the full table to this CSV file")
    p.set_defaults(func=_cli_compare)
    return p


def _cli_compare(args: argparse.Namespace) -> int:
    df = compare(args.problem, methods=args.methods, budget=args.budget,
                 repeats=args.repeats, rng=args.rng, n_jobs=args.n_jobs, dim=args.dim,
                 shift=args.shift)
    summary = summarize_comparison(df).drop(columns=["problem"])
    print(f"problem {df['problem'].iloc[0]}  budget {int(df['budget'].iloc[0])} "
          f"({df.attrs['budget_source']})  repeats {args.repeats}")
    print(text_table(summary))
    if args.out:
        df.to_csv(args.out, index=False)
        print(f"table written to {args.out}")
    return 0
