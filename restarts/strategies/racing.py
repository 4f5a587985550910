"""Racing: successive halving over the restarts of a resumable solver.

Every restart begins and runs ``min_budget`` units (epochs, iterations, ...); the best
``1/eta`` of them (lowest ``fun``) continue to ``eta`` times the budget, and so on;
the last ones run to ``max_budget``. Most of the compute then goes to the random
initialisations that can still win, which pays when the early ranking predicts the
final one (and misleads when a slow starter wins: a larger ``min_budget`` is the
remedy). Jamieson & Talwalkar (2016) and Li et al. (2017, Hyperband) race
hyperparameters; here the contestants are the restarts of one model.

The solver must offer the incremental protocol (``max_budget``, ``budget_unit``,
``begin``, ``advance``, ``current``, ``finished``; see
:func:`restarts.solvers._base.is_resumable`). States pickle, so a restart may
continue on another worker; restart ``i`` begins from ``(rng, i)`` and carries its own
generator from then on, so the table is the same for any ``n_jobs`` or backend.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any

import numpy as np

from .._result import LocalResult, Restart
from .._validation import check_int, fail
from ._base import Strategy, StrategyContext

__all__ = ["Racing", "RungStep", "BatchRungStep", "rung_step", "rung_budgets", "halve",
           "STATE_KEY"]

#: Where a rung's record carries the solver's state (``result.extra[STATE_KEY]``).
STATE_KEY = "racing_state"
_STATE = STATE_KEY
_FINISHED = "racing_finished"


def rung_budgets(min_budget: int, max_budget: int, eta: int, first_rung: int = 0) -> list[int]:
    """Cumulative budgets of the rungs: ``min_budget * eta ** k``, the last one ``max_budget``.

    ``first_rung`` skips the first rungs (a Hyperband bracket that starts later).

    Examples
    --------
    >>> from restarts.strategies.racing import rung_budgets
    >>> rung_budgets(4, 100, 3)
    [4, 12, 36, 100]
    >>> rung_budgets(4, 100, 3, first_rung=2)
    [36, 100]
    """
    out = []
    k = 0
    while True:
        b = min(max_budget, min_budget * eta**k)
        if k >= first_rung:
            out.append(b)
        if b >= max_budget:
            return out
        k += 1


def halve(fun: Sequence[float], ids: Sequence[int], n_ran: int,
          eta: int) -> tuple[list[int], list[int]]:
    """One rung's decision: of the ``n_ran`` restarts that ran it, the
    ``max(1, n_ran // eta)`` best of ``ids`` (the ones still improving, losses ``fun``;
    non-finite last, ties to the lower id) continue.

    Returns the continuing ids (sorted) and the dropped ones, best first. Racing and
    :func:`restarts.analysis.replay_racing` both decide with it.

    Examples
    --------
    >>> from restarts.strategies.racing import halve
    >>> halve([3.0, float("nan"), 1.0, 2.0], [10, 11, 12, 13], n_ran=6, eta=3)
    ([12, 13], [10, 11])
    """
    ranked = sorted((f if math.isfinite(f) else math.inf, int(i))
                    for f, i in zip(fun, ids, strict=True))
    slots = max(1, int(n_ran) // int(eta))
    return sorted(i for _, i in ranked[:slots]), [i for _, i in ranked[slots:]]


class RungStep:
    """Run one rung of a restart in a worker: ``begin`` it (first rung) or continue its
    state by ``units``; returns the current result with the state in ``extra``
    (key :data:`STATE_KEY`). ``rung`` names the rung (for checkpoints).

    :func:`rung_step` builds it; for solvers that can ``stack`` and ``unstack`` states
    (:class:`~restarts.solvers.MLP`) the step has ``solve_batch``, so a chunk of
    restarts advances together as in a plain run's batches.
    """

    def __init__(self, solver: Any, units: int, begin: bool, rung: int = 0) -> None:
        self.solver, self.units, self.begin = solver, int(units), bool(begin)
        self.rung = int(rung)

    def __call__(self, start: Any, rng: np.random.Generator) -> LocalResult:
        solver = self.solver
        state = solver.begin(start, rng) if self.begin else start
        return self._record(solver.advance(state, self.units))

    def _record(self, state: Any, result: LocalResult | None = None) -> LocalResult:
        if result is None:
            result = self.solver.current(state)
        return dataclasses.replace(result, extra={**result.extra, _STATE: state,
                                                  _FINISHED: bool(self.solver.finished(state))})


class BatchRungStep(RungStep):
    """A :class:`RungStep` whose chunks run stacked (``solver.stack`` / ``unstack``)."""

    def solve_batch(self, payloads: list, rngs: list) -> list[LocalResult]:
        """Begin (or take) the chunk's states, advance them as one stack, split them."""
        solver = self.solver
        states = ([solver.begin(p, g) for p, g in zip(payloads, rngs, strict=True)]
                  if self.begin else list(payloads))
        states, results = _read_stack(solver, solver.advance(solver.stack(states), self.units))
        return [self._record(s, r) for s, r in zip(states, results, strict=True)]


def _stacks(solver: Any) -> bool:
    """Whether ``solver``'s states stack (``stack`` and ``unstack``: ``MLP``, ``KMeans``)."""
    return callable(getattr(solver, "stack", None)) and callable(
        getattr(solver, "unstack", None))


def _read_stack(solver: Any, group: Any) -> tuple[list, list[LocalResult]]:
    """A stacked ``group``'s states and their current results: in one pass when the
    solver offers ``current_stack`` (which may keep work it did ahead in the group, so it
    runs before the split), else ``current`` of each."""
    each = getattr(solver, "current_stack", None)
    results = each(group) if each is not None else None
    states = solver.unstack(group)
    return states, results if results is not None else [solver.current(s) for s in states]


def rung_step(solver: Any, units: int, begin: bool, rung: int = 0) -> RungStep:
    """The step that runs a rung of ``solver``: batched when its states stack."""
    return (BatchRungStep if _stacks(solver) else RungStep)(solver, units, begin, rung)


class Racing(Strategy):
    """Successive halving over restarts (see the module docstring).

    Parameters
    ----------
    eta : int >= 2, default=3
        Each rung keeps the best ``1/eta`` of the restarts that ran it (at least one)
        and gives them ``eta`` times the budget.
    min_budget : int >= 1, optional
        Units every restart runs first. Default ``max_budget // eta**3`` (at least 1):
        four rungs, e.g. 7, 22, 66 and 200 epochs for ``eta=3`` and 200 epochs.
    max_budget : int >= 1, optional
        Units the winners run in all. Default: the solver's ``max_budget``.
    brackets : int >= 1, default=1
        Hyperband-style brackets: the restarts are split into ``brackets`` contiguous
        blocks of indices, and block ``j`` starts racing at rung ``j`` (budget
        ``min_budget * eta**j``), hedging against rankings that settle late. 1 is plain
        successive halving.

    Notes
    -----
    Every restart is a row. A restart dropped at a rung keeps its result at the budget
    it reached, with ``success=False`` and the reason in ``message`` (its ``error`` is
    empty: it did not fail). Restarts that finish early (converged) keep their final
    result and do not take a slot of the next rung: the slots (``floor(n / eta)`` of
    the ``n`` restarts that ran a rung) go to the best restarts still improving.
    Columns ``budget`` (units the restart was given) and ``rung`` (the last rung it
    ran, counted from ``min_budget``) are added to the table (and kept in each
    result's ``extra``, which stores save).

    With ``store=...``, every rung a restart finishes is checkpointed (its record and
    pickled solver state) as results arrive; a killed or interrupted race resumes from
    there and runs no finished rung again, ending with the same table. The checkpoints
    are deleted when the run returns.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> res = rs.multistart(rs.solvers.KMeans(X, 4, init="random", max_iter=27), 9,
    ...                     strategy=rs.strategies.Racing(eta=3, min_budget=3), rng=0)
    >>> res.table["rung"].value_counts().sort_index().tolist()  # 9 -> 3 -> 1 restarts
    [6, 2, 1]
    """

    name = "racing"

    def __init__(self, eta: int = 3, min_budget: int | None = None,
                 max_budget: int | None = None, brackets: int = 1) -> None:
        self.eta = check_int(eta, "eta", "Racing()", low=2)
        self.min_budget = check_int(min_budget, "min_budget", "Racing()", low=1,
                                    allow_none=True)
        self.max_budget = check_int(max_budget, "max_budget", "Racing()", low=1,
                                    allow_none=True)
        self.brackets = check_int(brackets, "brackets", "Racing()", low=1)
        if (self.min_budget is not None and self.max_budget is not None
                and self.min_budget > self.max_budget):
            raise fail("min_budget", "Racing()", f"at most max_budget={self.max_budget}",
                       min_budget)

    def budgets(self, solver: Any) -> tuple[int, int]:
        """``(min_budget, max_budget)`` for ``solver``; raises if it cannot be raced."""
        from ..solvers._base import is_resumable

        if not is_resumable(solver):
            raise TypeError(
                "The 'solver' parameter of multistart(strategy='racing') must offer the "
                "incremental protocol (max_budget, budget_unit, begin, advance, current, "
                "finished), as rs.solvers.MLP, KMeans and GaussianMixture do. Got "
                f"{type(solver).__name__} without it instead."
            )
        full = self.max_budget if self.max_budget is not None else int(solver.max_budget)
        first = self.min_budget if self.min_budget is not None else max(1, full // self.eta**3)
        if first > full:
            raise fail("min_budget", "Racing()",
                       f"at most the full budget ({full} {solver.budget_unit})", first)
        return first, full

    def tasks(self, ctx: StrategyContext) -> Generator[list, list, None]:  # pragma: no cover
        raise TypeError("Racing runs rungs, not tasks: call it through multistart().")

    def race(self, ctx: StrategyContext, execute: Callable[[Any, list], list[Restart]],
             saved: Mapping[tuple[int, int], Restart] | None = None) -> list[Restart]:
        """Race ``ctx.n_starts`` restarts; ``execute(step, items)`` runs ``(index, payload)``
        items of ``step.rung`` through the run's workers and returns their records.

        ``saved`` holds records of rungs already run, ``{(index, rung): record}`` as
        ``execute`` returned them (a resumed run's checkpoints): those restarts do not
        run that rung again, and since the decisions depend only on the records, the
        race goes on exactly as it would have. Returns one final record per restart,
        in index order.
        """
        solver = ctx.solver
        first, full = self.budgets(solver)
        n = ctx.n_starts
        final: dict[int, Restart] = {}
        for j in range(self.brackets):
            block = range(j * n // self.brackets, (j + 1) * n // self.brackets)
            if len(block):
                final.update(self._bracket(ctx, execute, list(block), first, full, j,
                                           saved or {}))
        return [final[i] for i in range(n)]

    def _bracket(self, ctx: StrategyContext, execute: Callable, alive: list[int],
                 first: int, full: int, first_rung: int,
                 saved: Mapping[tuple[int, int], Restart]) -> dict[int, Restart]:
        solver, starts = ctx.solver, ctx.starts
        budgets = rung_budgets(first, full, self.eta, first_rung)
        final: dict[int, Restart] = {}
        payload = {i: None if starts is None else starts[i] for i in alive}
        spent = {i: 0.0 for i in alive}
        given = 0
        for k, budget in enumerate(budgets):
            rung = first_rung + k
            step = rung_step(solver, budget - given, begin=(k == 0), rung=rung)
            todo = [(i, payload[i]) for i in alive if (i, rung) not in saved]
            records = sorted([saved[(i, rung)] for i in alive if (i, rung) in saved]
                             + (execute(step, todo) if todo else []),
                             key=lambda rec: rec.index)
            given = budget
            running: list[tuple[float, int, Restart]] = []
            for rec in records:
                i = rec.index
                spent[i] += rec.time_s
                start = None if starts is None else starts[i]
                info = {"budget": budget, "rung": rung}
                if rec.error is not None or rec.result is None:
                    final[i] = Restart(i, rec.result, rec.error, spent[i], start, rec.attempts,
                                       info)
                    continue
                extra = dict(rec.result.extra)
                payload[i] = extra.pop(_STATE, None)  # None: a later rung is saved
                finished = extra.pop(_FINISHED)
                result = dataclasses.replace(rec.result, extra={**extra, **info})  # stores keep it
                row = Restart(i, result, None, spent[i], start, rec.attempts, info)
                if finished or k == len(budgets) - 1:
                    final[i] = row  # converged, or ran the full budget: its own result
                else:
                    running.append((result.fun, i, row))
            if k == len(budgets) - 1:
                break
            alive, out = halve([f for f, _, _ in running], [i for _, i, _ in running],
                               len(records), self.eta)
            slots, rows = len(alive), {i: row for _, i, row in running}
            for rank, i in enumerate(out, start=slots + 1):
                row = rows[i]
                final[i] = dataclasses.replace(row, result=dataclasses.replace(
                    row.result, success=False,
                    message=(f"racing: dropped after rung {rung} ({budget} "
                             f"{solver.budget_unit}), ranked {rank} of {len(running)} still "
                             f"improving; {slots} continued")))
                payload.pop(i, None)
            if not alive:
                break
        return final


__all__ += ["LossCurve", "CURVE_KEY"]

#: the key of :class:`LossCurve`'s record in a result's ``extra``
CURVE_KEY = "racing_curve"


class LossCurve:
    """A pilot run's solver: each restart runs through the incremental protocol and
    records its loss at the given budgets, so the rankings racing would see can be read
    afterwards (:func:`restarts.analysis.racing_pilot`).

    ``rs.multistart(LossCurve(solver, ...), n, rng=seed)`` runs every restart to the
    last budget, in parallel, with stores and seeding as any run: restart ``i`` is the
    restart ``i`` of ``rs.multistart(solver, n, rng=seed)`` and of a racing run with
    the same ``rng``, observed at every budget instead of only at its end.

    Parameters
    ----------
    solver : resumable solver
        A solver offering the incremental protocol (``rs.solvers.is_resumable``).
    budgets : sequence of int, Racing or None, default=None
        Cumulative budgets (strictly increasing, from 1 to ``solver.max_budget``) at
        which to record the loss, or a :class:`Racing` whose rungs to record (its
        ``eta``, ``min_budget`` and ``max_budget``); ``None`` records the rungs of
        ``Racing()``.

    Notes
    -----
    A restart's result is its result at the last budget, with ``extra["racing_curve"]``
    a dict of lists, one entry per budget: ``budgets``, ``fun`` (``current(state).fun``),
    ``nit`` (units used so far: the result's ``nit``, else the budget) and ``finished``
    (``solver.finished(state)``: a converged restart stops early, as in racing).
    :func:`restarts.analysis.loss_curves` tabulates them. For solvers whose states
    stack (``MLP``: ``stack``/``unstack``) a chunk of restarts trains together
    (``solve_batch``), as in a plain run and in racing's rungs; the curves are the same.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> from restarts.strategies.racing import LossCurve
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> km = rs.solvers.KMeans(X, 4, init="random", max_iter=27, tol=0.0)
    >>> pilot = rs.multistart(LossCurve(km, [3, 9, 27]), 6, rng=0)
    >>> pilot.results[0].extra["racing_curve"]["budgets"]
    [3, 9, 27]
    >>> pilot.results[0].fun == rs.multistart(km, 6, rng=0).results[0].fun
    True
    """

    def __init__(self, solver: Any, budgets: Any = None) -> None:
        from ..solvers._base import is_resumable

        owner = "LossCurve()"
        if not is_resumable(solver):
            raise TypeError(
                f"The 'solver' parameter of {owner} must offer the incremental protocol "
                "(max_budget, budget_unit, begin, advance, current, finished), as "
                "rs.solvers.MLP, KMeans and GaussianMixture do. Got "
                f"{type(solver).__name__} without it instead."
            )
        full = int(solver.max_budget)
        if budgets is None:
            budgets = Racing()
        if isinstance(budgets, Racing):
            first, last = budgets.budgets(solver)
            steps = rung_budgets(first, last, budgets.eta)
        else:
            if isinstance(budgets, (str, bytes)) or not hasattr(budgets, "__iter__"):
                raise fail("budgets", owner, "a sequence of int, a Racing or None", budgets,
                           TypeError)
            steps = [check_int(b, "budgets", owner, low=1, high=full) for b in budgets]
            if not steps or any(b <= a for a, b in zip(steps[:-1], steps[1:], strict=True)):
                raise fail("budgets", owner,
                           f"strictly increasing budgets in [1, {full}] (non-empty)", budgets)
        self.solver, self.budgets = solver, tuple(int(b) for b in steps)
        self.budget_unit = str(solver.budget_unit)

    def __call__(self, start: Any, rng: np.random.Generator) -> LocalResult:
        return self._run([self.solver.begin(start, rng)], stacked=False)[0]

    def _run(self, states: list, stacked: bool) -> list[LocalResult]:
        """Advance ``states`` budget by budget (as one stack if ``stacked``), recording."""
        solver = self.solver
        group = solver.stack(states) if stacked else states[0]
        given = 0
        curves: list[dict] = [{"budgets": list(self.budgets), "fun": [], "nit": [],
                               "finished": [], "unit": self.budget_unit} for _ in states]
        for budget in self.budgets:
            group = solver.advance(group, budget - given)
            given = budget
            now, results = _read_stack(solver, group) if stacked else (
                [group], [solver.current(group)])
            for curve, state, result in zip(curves, now, results, strict=True):
                curve["fun"].append(float(result.fun))
                curve["nit"].append(budget if result.nit is None else int(result.nit))
                curve["finished"].append(bool(solver.finished(state)))
        return [dataclasses.replace(r, extra={**r.extra, CURVE_KEY: c})
                for r, c in zip(results, curves, strict=True)]

    def __getattr__(self, name: str) -> Any:
        # solve_batch only for solvers whose states stack: the restarts of a chunk
        # then train together, as in a plain run's batches and racing's rungs
        if name in ("solve_batch", "restarts_per_batch") and "solver" in vars(self):
            solver = self.solver
            if _stacks(solver):
                return (self._solve_batch if name == "solve_batch"
                        else getattr(solver, "restarts_per_batch", 32))
        raise AttributeError(name)

    def _solve_batch(self, starts: list, rngs: list) -> list[LocalResult]:
        states = [self.solver.begin(s, g) for s, g in zip(starts, rngs, strict=True)]
        return self._run(states, stacked=True)

    def describe(self) -> dict:
        """What a store checks before resuming: the wrapped solver and the budgets."""
        describe = getattr(self.solver, "describe", None)
        inner = describe() if callable(describe) else {
            "callable": type(self.solver).__qualname__}
        return {"solver": "LossCurve", "budgets": list(self.budgets), "inner": inner}
