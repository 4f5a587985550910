"""A portfolio: several restart strategies share one budget, which moves to the leader.

No restart strategy wins everywhere: on BBOB, CMA-ES restarts (IPOP/BIPOP) win on
ill-conditioned functions and on multimodal ones with global structure, L-BFGS-B
restarts (TikTak) on weakly structured ones. :class:`Portfolio` runs several member
strategies, each with its own local solver, on one objective and one budget, and
moves the budget online toward the member that is ahead:

- restart 0 goes to the first member (a cheap first phase, or the user's ``x0``);
  then the next restart goes to the member with the least ``spent_k / w_k`` (ties:
  the first member), where ``spent_k`` counts the member's evaluations (its restarts
  and its own sampling) and ``w_k = 1`` for the *leader* — the member that found
  the best point so far (a better value very near that point only refines it, and
  leaves the lead where it is: ``same_point``) — and ``w_k = ratio`` for the
  others. So the leader gets about ``1 / (1 + (K - 1) ratio)`` of the budget, and a
  member that takes over the lead (e.g. a CMA-ES large-population run that finally
  finds the global basin) gets it.
- one restart may use at most ``max(first_slice, evaluations spent so far)``: a
  member that runs long cannot take the whole budget before the others have shown
  what they do (the slices double as the run goes on). Members named in
  ``uncapped`` are exempt: their restarts end on their own criteria (CMA-ES needs
  most of a ``1000 d`` budget on ill-conditioned functions) or when the budget does.

Everything depends only on the members' results in restart order, so a portfolio is
deterministic given the run's seed (same table for any ``n_jobs``, after a resume).
Restarts run one at a time. The run's solver must be a :class:`SolverSet` (one
objective, several local solvers: :func:`solver_set` builds the default one); each
member strategy sees its own solver, its own stream (spawned from the run's root
stream) and, as its budget, its own spending plus what is left of the run's. The
table's ``use`` column names the member solver of each restart.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import check_int, check_real, fail
from ._base import Strategy, StrategyContext, Task, as_task, evaluate, objective_of, remaining

__all__ = ["Portfolio", "Auto", "SolverSet", "solver_set", "default_members", "auto_members",
           "FromBest"]


class SolverSet:
    """Several local solvers of one objective: ``solver(start, rng, use=key, **options)``.

    Parameters
    ----------
    solvers : dict of str -> solver
        Each ``solver(start, rng, **options)``; the first one's ``fun``, ``bounds``
        and ``dim`` are the set's (they describe the problem).

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> f = lambda x: float(np.sum(x ** 2))
    >>> s = rs.strategies.SolverSet({"lbfgsb": rs.solvers.Minimize(f, bounds=[(-1, 1)] * 2),
    ...                              "cma": rs.solvers.CMA(f, bounds=[(-1, 1)] * 2)})
    >>> bool(s(None, np.random.default_rng(0), use="cma").fun < 1e-10)
    True
    """

    def __init__(self, solvers: dict[str, Any]) -> None:
        if not isinstance(solvers, dict) or not solvers:
            raise fail("solvers", "SolverSet()", "a non-empty dict of name -> solver", solvers,
                       TypeError)
        for key, solver in solvers.items():
            if not isinstance(key, str) or not callable(solver):
                raise fail("solvers", "SolverSet()", "a dict of str -> callable solver",
                           {key: solver}, TypeError)
        self.solvers = dict(solvers)
        first = next(iter(self.solvers.values()))
        self.fun = getattr(first, "fun", None)
        self.bounds = getattr(first, "bounds", None)
        self.dim = getattr(first, "dim", None)

    def __call__(self, start: Any, rng: np.random.Generator, use: str | None = None,
                 **options: Any) -> Any:
        key = next(iter(self.solvers)) if use is None else use
        if key not in self.solvers:
            raise fail("use", "SolverSet.__call__()", f"one of {sorted(self.solvers)}", use)
        return self.solvers[key](start, rng, **options)

    def describe(self) -> dict:
        out: dict[str, Any] = {"solver": "SolverSet"}
        for key, solver in self.solvers.items():
            describe = getattr(solver, "describe", None)
            out[key] = describe() if describe is not None else type(solver).__qualname__
        return out


def solver_set(fun: Any, bounds: Any, method: str = "L-BFGS-B",
               local_options: dict | None = None, local: Any = None) -> SolverSet:
    """The default :class:`SolverSet`: ``"cma"`` (:class:`~restarts.solvers.CMA`),
    ``"local"`` (:class:`~restarts.solvers.Minimize` with ``method``, or the given
    ``local`` solver) and ``"coord"`` (:class:`~restarts.solvers.CoordinateSearch`,
    one sweep per call), all on ``fun`` (a value-only function: ``fun(x) -> float``).

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> s = rs.strategies.portfolio.solver_set(lambda x: float(np.sum(x ** 2)), [(-1, 1)] * 2)
    >>> sorted(s.solvers), s.dim
    (['cma', 'coord', 'local'], 2)
    """
    from ..solvers import CMA, CoordinateSearch, Minimize

    if local is None:
        local = Minimize(fun, bounds=bounds, method=method, options=local_options)
    return SolverSet({"cma": CMA(fun, bounds=bounds), "local": local,
                      "coord": CoordinateSearch(fun, bounds=bounds, max_sweeps=1)})


def default_members(coord: bool = False) -> list[tuple[str, Any]]:
    """``[("cma", BIPOP()), ("local", TikTak(...))]`` (rs.compare's TikTak settings),
    and with ``coord`` also ``("coord", FromBest())`` (coordinate sweeps, each from
    the best point of the previous ones)."""
    from .schedules import BIPOP
    from .tiktak import TikTak

    members: list[tuple[str, Any]] = [
        ("cma", BIPOP()), ("local", TikTak(warm_start="auto", coordinate_share=0.5))]
    return [*members, ("coord", FromBest())] if coord else members


class FromBest(Strategy):
    """Each restart starts where the strategy's best restart so far ended (the first
    from ``None``: the solver's own start). For a member whose solver continues a
    search, such as :class:`~restarts.solvers.CoordinateSearch` with ``max_sweeps``:
    the portfolio then pays for it one slice at a time.

    Parameters
    ----------
    max_restarts : int >= 1, optional
        At most this many restarts (default: ``n_starts``).
    separable : bool, default=False
        First check, with a few evaluations (:func:`~restarts.solvers.coordinate.separable`),
        that the objective looks additively separable, and make no restart if it does
        not: for coordinate sweeps, which solve separable functions globally and are
        rarely worth their evaluations otherwise.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> f = lambda x: float(np.sum((x - 0.3) ** 2))
    >>> solver = rs.solvers.CoordinateSearch(f, [(-1, 1)] * 2, max_sweeps=1)
    >>> res = rs.multistart(solver, 3, strategy=rs.strategies.portfolio.FromBest(), rng=0)
    >>> bool(res.table["fun"].iloc[-1] <= res.table["fun"].iloc[0])
    True
    """

    name = "from-best"

    def __init__(self, max_restarts: int | None = None, separable: bool = False) -> None:
        self.max_restarts = check_int(max_restarts, "max_restarts", "FromBest()", low=1,
                                      allow_none=True)
        self.separable = bool(separable)

    def describe(self) -> dict:
        out = super().describe()
        if self.separable:
            out["separable"] = True
        return out

    def tasks(self, ctx: StrategyContext) -> Generator[list[Task], list, None]:
        if self.separable:
            from ..solvers.coordinate import separable, separable_cost

            fun, bounds = objective_of(ctx, self.name)
            left = remaining(ctx)
            if left is not None and left <= separable_cost(len(bounds)):  # no sweep after it
                return
            if not separable(lambda points: evaluate(ctx, fun, points), bounds, ctx.rng):
                return
        best, best_x = math.inf, None
        n = ctx.n_starts if self.max_restarts is None else min(ctx.n_starts,
                                                               self.max_restarts)
        for i in range(n):
            left = remaining(ctx)
            if left is not None and left < 1:
                return
            task = Task(i, best_x) if left is None else Task(i, best_x, {"max_nfev": left})
            records = yield [task]
            for rec in records:
                res = rec.result
                if rec.error is None and res is not None and np.isfinite(res.fun) and \
                        res.fun < best:
                    best, best_x = float(res.fun), np.asarray(res.x, dtype=float)


def auto_members() -> list[tuple[str, Any]]:
    """:class:`Auto`'s members, in order (restart 0 goes to the first): TikTak on
    ``"local"``, IPOP-CMA-ES on ``"cma"`` (the local member plays the part of BIPOP's
    small restarts), and coordinate sweeps on ``"coord"``, each from the best one's
    end, only if the objective looks separable (``FromBest(separable=True)``)."""
    from .schedules import IPOP

    members = dict(default_members())
    members.update(cma=IPOP(), coord=FromBest(separable=True))
    return [(key, members[key]) for key in AUTO_ORDER]


#: The order of :func:`auto_members` (measured: docs/benchmarks-bbob.md).
AUTO_ORDER = ("local", "cma", "coord")
#: :class:`Auto`'s budget weights of trailing members (measured: docs/benchmarks-bbob.md).
AUTO_RATIO = {"cma": 0.25, "local": 0.1, "coord": 0.1}
#: :class:`Auto`'s share of the budget kept for a final polish (measured: docs/benchmarks-bbob.md).
AUTO_POLISH = 0.02


class _MemberState:
    """A member's view of the run's state: its own evaluations, counted globally too."""

    def __init__(self, run_state: Any) -> None:
        self.run_state = run_state
        self.nfev = 0

    def add_evaluations(self, n: int) -> None:
        self.nfev += int(n)
        self.run_state.add_evaluations(n)


@dataclass
class _Member:
    key: str
    strategy: Any
    ctx: StrategyContext
    gen: Any = None
    queue: list = field(default_factory=list)  # tasks of the member's current list
    records: list = field(default_factory=list)  # their finished records so far
    alive: bool = True


class Portfolio(Strategy):
    """Member strategies share one budget; it moves toward the leader (module docstring).

    Parameters
    ----------
    members : list of (solver key, Strategy or name), optional
        Default :func:`default_members`: BIPOP-CMA-ES on ``"cma"`` and TikTak on
        ``"local"`` (L-BFGS-B).
    ratio : float in (0, 1] or dict of str -> float, default=0.25
        Budget weight of a member that does not hold the best value (the leader's is
        1); a dict gives it per solver key (missing keys: 0.25).
    first_slice : int >= 1, optional
        The most evaluations of one restart while little has been spent; default
        ``100 d``.
    polish : float in [0, 1], default=0.0
        Under a budget, the share of it kept for a final polish: a run of the
        ``polish_with`` solver (CMA-ES) from the best point found, with initial step
        ``polish_sigma`` times the widest box side. No reserve is held while the best
        value is one the ``polish_with`` solver reached itself (its run ended at its
        own tolerances). Evaluations the polish does not use go back to the members.
    polish_with : str, default="cma"
    polish_sigma : float > 0, default=1e-3
    uncapped : sequence of str, default=()
        Solver keys whose restarts are not capped by ``max(first_slice, spent)``,
        only by what is left of the budget (minus the polish reserve, unless they
        are the polish solver's): they end on their own termination criteria
        (CMA-ES: pycma's ``tolfun``, ``tolx``, ``tolstagnation``, ...), so a run
        that needs most of the budget gets it.
    x0 : array_like, optional
        A start the user trusts: restart 0 is then a search of the first member's
        solver from ``x0`` (capped as that member's restarts are); it counts as the
        first member's.
    same_point : float >= 0, default=1e-3
        A better value found within ``same_point`` times the box's width (in every
        coordinate) of the best point so far refines that point rather than finding a
        new one: the lead stays with the member that found it. Without this, a
        member that re-converges to the leader's optimum a little more precisely
        (CMA-ES after L-BFGS-B, say) would take the budget; 0 credits every
        improvement.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> f = lambda x: float(np.sum(x ** 2 - 10 * np.cos(2 * np.pi * x)) + 20)
    >>> solver = rs.strategies.portfolio.solver_set(f, [(-5, 5)] * 2)
    >>> res = rs.multistart(solver, 10**6, strategy="portfolio", rng=0,
    ...                     stop=rs.stop.MaxEvaluations(3000))
    >>> sorted(set(res.table["use"])), round(res.fun, 4), int(res.table["nfev"].sum()) <= 3000
    (['cma', 'local'], 0.0, True)
    """

    name = "portfolio"

    def __init__(self, members: list | None = None, ratio: float = 0.25,
                 first_slice: int | None = None, polish: float = 0.0,
                 polish_with: str = "cma", polish_sigma: float = 1e-3,
                 uncapped: Any = (), x0: Any = None, same_point: float = 1e-3) -> None:
        from . import get_strategy

        members = default_members() if members is None else members
        if not isinstance(members, (list, tuple)) or not members:
            raise fail("members", "Portfolio()", "a non-empty list of (solver key, strategy)",
                       members, TypeError)
        checked = []
        for item in members:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                raise fail("members", "Portfolio()", "a list of (solver key, strategy) pairs",
                           item, TypeError)
            checked.append((item[0], get_strategy(item[1], "Portfolio()")))
        self.members = checked
        if isinstance(ratio, dict):
            self.ratios = {str(k): check_real(v, "ratio", "Portfolio()", low=0, high=1,
                                              strict_low=True) for k, v in ratio.items()}
            self.ratio = 0.25
        else:
            self.ratios = {}
            self.ratio = check_real(ratio, "ratio", "Portfolio()", low=0, high=1,
                                    strict_low=True)
        self.first_slice = check_int(first_slice, "first_slice", "Portfolio()", low=1,
                                     allow_none=True)
        self.polish = check_real(polish, "polish", "Portfolio()", low=0, high=1)
        if not isinstance(polish_with, str):
            raise fail("polish_with", "Portfolio()", "a solver key (str)", polish_with,
                       TypeError)
        self.polish_with = polish_with
        self.polish_sigma = check_real(polish_sigma, "polish_sigma", "Portfolio()", low=0,
                                       strict_low=True)
        if isinstance(uncapped, str) or not isinstance(uncapped, (list, tuple)) or \
                not all(isinstance(k, str) for k in uncapped):
            raise fail("uncapped", "Portfolio()", "a sequence of solver keys (str)", uncapped,
                       TypeError)
        self.uncapped = tuple(uncapped)
        self.x0 = None if x0 is None else np.atleast_1d(np.asarray(x0, dtype=float)).ravel()
        if self.x0 is not None and not np.isfinite(self.x0).all():
            raise fail("x0", "Portfolio()", "a finite start point", x0)
        self.same_point = check_real(same_point, "same_point", "Portfolio()", low=0)

    def describe(self) -> dict:
        out = super().describe()
        out["members"] = [(key, s.describe()) for key, s in self.members]
        if self.ratios:
            out["ratios"] = dict(self.ratios)
        if self.uncapped:
            out["uncapped"] = list(self.uncapped)
        if self.x0 is not None:
            out["x0"] = self.x0.tolist()
        return out

    def _members(self, ctx: StrategyContext) -> list[_Member]:
        solvers = getattr(ctx.solver, "solvers", None)
        if not isinstance(ctx.solver, SolverSet) or solvers is None:
            raise ValueError(
                f"strategy={self.name!r} runs several local solvers, so the solver must be "
                "a SolverSet, e.g. rs.strategies.portfolio.solver_set(fun, bounds). "
                f"Got {type(ctx.solver).__name__} instead."
            )
        missing = [key for key, _ in self.members if key not in solvers]
        if missing:
            raise ValueError(
                f"The 'members' of Portfolio() use solvers {missing} that the SolverSet "
                f"does not have (it has {sorted(solvers)})."
            )
        rngs = ctx.rng.spawn(len(self.members))
        out = []
        for (key, strategy), rng in zip(self.members, rngs, strict=True):
            sub = StrategyContext(solver=solvers[key], n_starts=ctx.n_starts, starts=None,
                                  sampler=None, rng=rng, state=_MemberState(ctx.state),
                                  max_nfev=ctx.max_nfev)
            out.append(_Member(key, strategy, sub))
        return out

    @staticmethod
    def _sync(member: _Member, left: int | None) -> None:
        """The member's budget: what it spent plus what is left of the run's."""
        if left is not None:
            member.ctx.max_nfev = member.ctx.state.nfev + left

    def _refill(self, member: _Member, left: int | None) -> None:
        """Make sure the member has a queued task (or mark it finished)."""
        while member.alive and not member.queue:
            self._sync(member, left)
            try:
                if member.gen is None:
                    member.gen = member.strategy.tasks(member.ctx)
                    batch = next(member.gen)
                else:
                    records, member.records = member.records, []
                    batch = member.gen.send(records)
            except StopIteration:
                member.alive = False
                return
            member.queue = [as_task(t) for t in batch]

    def tasks(self, ctx: StrategyContext) -> Generator[list[Task], list, None]:
        members = self._members(ctx)
        dim = getattr(ctx.solver, "dim", None)
        first = self.first_slice or 100 * (dim if isinstance(dim, int) else 10)
        polish = self.polish_with if self.polish_with in ctx.solver.solvers else None
        held = int(self.polish * ctx.max_nfev) if ctx.max_nfev and polish else 0
        bounds = getattr(ctx.solver, "bounds", None)
        widths = np.ones(1) if bounds is None else np.ptp(np.asarray(bounds, float), axis=1)
        widths = np.where(np.isfinite(widths) & (widths > 0), widths, 1.0)
        width = float(widths.max())
        index = 0
        best, best_x = math.inf, None
        leader: _Member | None = None  # the member that found the best point
        best_by = None  # the solver key of the restart that reached the best value

        def room(key: str, left: int) -> int:
            """What a member's next restart may use: the polish reserve is held from
            all but the polish solver (whose run then needs no polish, or leaves none)."""
            return left if key == polish else left - reserve
        try:
            while index < ctx.n_starts:
                left = remaining(ctx)
                if left is not None and left < 1:
                    return
                # No reserve while the polish solver reached the best value itself: a
                # polish would only repeat that run's end.
                reserve = 0 if best_by == polish else held
                for_members = None if left is None else left - reserve
                alive = []
                if for_members is None or for_members >= 1:
                    for m in members:
                        self._refill(m, room(m.key, left))
                    alive = [m for m in members if m.alive]
                if not alive:
                    if not reserve or best_x is None:
                        return
                    # Final polish: a CMA-ES from the incumbent with a small step, for
                    # precision (module docstring); what it leaves goes back to the members.
                    left = remaining(ctx)  # refilling may have sampled
                    if left < 1:
                        return
                    options = {"use": polish, "sigma0": self.polish_sigma * width,
                               "max_nfev": left}
                    held = 0
                    records = yield [Task(index, best_x, options)]
                    index += 1
                    for rec in records:
                        if rec.error is None and rec.result is not None and \
                                rec.result.fun < best:
                            best, best_x = float(rec.result.fun), rec.result.x
                    continue
                weights = [1.0 if leader is None or m is leader
                           else self.ratios.get(m.key, self.ratio) for m in alive]
                pick = min(range(len(alive)),
                           key=lambda j: (alive[j].ctx.state.nfev / weights[j], j))
                first_turn = index == 0 and members[0].alive
                member = members[0] if first_turn else alive[pick]  # restart 0: the first's
                own = not (first_turn and self.x0 is not None)
                if own:
                    task = member.queue.pop(0)
                else:  # restart 0: the first member's search from x0, not its strategy's
                    task = Task(0, self.x0, {})
                options = dict(task.options)
                cap = None if member.key in self.uncapped else max(first, int(ctx.state.nfev))
                left = remaining(ctx)  # refilling may have sampled: what is left now
                if left is not None:
                    may = room(member.key, left)
                    if may < 1:  # no room left for the member
                        if own:
                            member.queue.insert(0, task)
                        continue
                    cap = may if cap is None else min(cap, may)
                given = options.get("max_nfev")
                if cap is not None:
                    options["max_nfev"] = cap if given is None else min(int(given), cap)
                options["use"] = member.key
                records = yield [Task(index, task.start, options)]
                index += 1
                for rec in records:
                    res = rec.result
                    nfev = 0 if res is None or res.nfev is None else int(res.nfev)
                    member.ctx.state.nfev += nfev  # the run's state counted it already
                    if rec.error is None and res is not None and np.isfinite(res.fun) and \
                            res.fun < best:
                        x = np.asarray(res.x, dtype=float)
                        if best_x is None or \
                                np.any(np.abs(x - best_x) > self.same_point * widths):
                            leader = member  # a new point, not a refinement of the best
                        best, best_x, best_by = float(res.fun), x, member.key
                    if own:
                        member.records.append(rec)
        finally:
            for m in members:
                if m.gen is not None:
                    m.gen.close()


class Auto(Portfolio):
    """The default strategy (``strategy="auto"``, and ``rs.minimize``'s with finite bounds
    and ``max_nfev``): the portfolio this library recommends.

    With a :class:`SolverSet` (:func:`solver_set`): a :class:`Portfolio` whose restart
    0 is a cheap local search (TikTak's warm start: ``d + 1`` Sobol' points, then
    L-BFGS-B from the best, at most ``100 d`` evaluations) for early progress, as in
    HCMA (Loshchilov, Schoenauer & Sebag 2013); then IPOP-CMA-ES restarts that run
    to their own termination (``uncapped``) and TikTak's L-BFGS-B restarts, the
    budget moving to the member that found the best point. Coordinate sweeps
    (:class:`~restarts.solvers.CoordinateSearch`, which solve separable functions
    globally) join only when a probe of ``2 (d + 2)`` evaluations finds the objective
    additively separable (:func:`~restarts.solvers.coordinate.separable`). A final
    CMA-ES run polishes the best point when another member found it.
    The settings and the evidence behind them (BBOB, tuned on instances 1-5, judged
    on 6-15) are in ``docs/benchmarks-bbob.md``. With any other solver: TikTak
    (:func:`restarts.compare`'s settings) when the solver exposes ``fun`` and
    ``bounds`` and accepts ``max_nfev``, else independent restarts.

    Parameters
    ----------
    members : list of (solver key, Strategy or name), optional
        Default :func:`auto_members`.
    ratio : float in (0, 1] or dict, optional
        As for :class:`Portfolio`; default :data:`AUTO_RATIO`: 0.25 for ``"cma"``, 0.1
        for ``"local"`` (when CMA-ES leads, its large-population restarts need most of
        the budget) and for ``"coord"`` (sweeps rarely pay off on non-separable
        functions).
    first_slice : int >= 1, optional
        As for :class:`Portfolio` (default ``100 d``).
    polish : float in [0, 1], default=AUTO_POLISH
        As for :class:`Portfolio`, 0.02 (:data:`AUTO_POLISH`): CMA-ES from the best
        point when another member found it (L-BFGS-B with finite differences stops
        at ``f - f* ~ 1e-9 ... 1e-6`` on Gallagher's peaks; CMA-ES, which runs to its
        own termination, needs none).
    polish_sigma : float > 0, default=1e-3
        As for :class:`Portfolio`.
    uncapped : sequence of str, default=("cma",)
        As for :class:`Portfolio`.
    x0 : array_like, optional
        As for :class:`Portfolio`: restart 0 searches from ``x0``.
    same_point : float >= 0, default=1e-3
        As for :class:`Portfolio`.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> f = lambda x: float(np.sum((x - 0.5) ** 2))
    >>> solver = rs.strategies.portfolio.solver_set(f, [(-5, 5)] * 3)
    >>> res = rs.multistart(solver, 10**6, strategy="auto", rng=0,
    ...                     stop=rs.stop.MaxEvaluations(3000))
    >>> bool(res.fun < 1e-12), res.table["use"].iloc[0]
    (True, 'local')
    """

    name = "auto"

    def __init__(self, members: list | None = None, ratio: float | dict | None = None,
                 first_slice: int | None = None, polish: float = AUTO_POLISH,
                 polish_sigma: float = 1e-3, uncapped: Any = ("cma",),
                 x0: Any = None, same_point: float = 1e-3) -> None:
        members = auto_members() if members is None else members
        ratio = dict(AUTO_RATIO) if ratio is None else ratio
        super().__init__(members, ratio=ratio, first_slice=first_slice, polish=polish,
                         polish_sigma=polish_sigma, uncapped=uncapped, x0=x0,
                         same_point=same_point)

    def tasks(self, ctx: StrategyContext) -> Generator[list[Task], list, None]:
        if isinstance(ctx.solver, SolverSet):
            yield from super().tasks(ctx)
            return
        from ._base import Independent
        from .schedules import accepts
        from .tiktak import TikTak

        solver = ctx.solver
        if (callable(getattr(solver, "fun", None)) and getattr(solver, "bounds", None)
                is not None and accepts(solver, "max_nfev")):
            fallback: Strategy = TikTak(warm_start="auto", coordinate_share=0.5)
        else:
            fallback = Independent()
        yield from fallback.tasks(ctx)
