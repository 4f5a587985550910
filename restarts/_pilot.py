"""Racing evidence from a pilot run's loss curves: replays of successive halving, the
rank agreement of early and final losses per rung, and a verdict on whether racing is
safe (:func:`racing_pilot`) — exposed as ``rs.analysis.loss_curves``, ``replay_racing``,
``rung_agreement``, ``racing_pilot`` and ``racing_settings``.

The curves come from ``rs.multistart(rs.strategies.racing.LossCurve(solver, ...), n)``;
the halving decision is :func:`restarts.strategies.racing.halve`, the one racing uses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._validation import check_int, check_real, fail

__all__ = ["loss_curves", "replay_racing", "rung_agreement", "racing_pilot",
           "racing_settings"]


def _race_key(values: np.ndarray) -> np.ndarray:
    """Losses as racing ranks them: non-finite ones last (as ``inf``)."""
    return np.where(np.isfinite(values), values, np.inf)


class _Curves:
    """Loss curves as arrays: ``fun``, ``nit`` and ``finished`` of shape (restarts, budgets)."""

    def __init__(self, index: np.ndarray, budgets: np.ndarray, fun: np.ndarray,
                 nit: np.ndarray, finished: np.ndarray, unit: str) -> None:
        self.index, self.budgets, self.fun = index, budgets, fun
        self.nit, self.finished, self.unit = nit, finished, unit


def _curves_from_result(result: Any, owner: str) -> _Curves:
    from .strategies.racing import CURVE_KEY

    rows = [(r.index, r.result.extra[CURVE_KEY]) for r in result.restarts
            if r.error is None and r.result is not None and CURVE_KEY in r.result.extra]
    if not rows:
        raise ValueError(
            f"The 'curves' parameter of {owner} must be a run of "
            "rs.multistart(rs.strategies.racing.LossCurve(solver, ...), ...) with at least "
            "one finished restart (its results record loss curves). Got a run without "
            "loss curves instead."
        )
    budgets = list(rows[0][1]["budgets"])
    if any(list(c["budgets"]) != budgets for _, c in rows):
        raise ValueError(
            f"The 'curves' parameter of {owner} must hold curves recorded at the same "
            "budgets for every restart. Got restarts recorded at different budgets instead."
        )
    return _Curves(np.array([i for i, _ in rows]), np.array(budgets, dtype=np.int64),
                   np.array([c["fun"] for _, c in rows], dtype=float),
                   np.array([c["nit"] for _, c in rows], dtype=float),
                   np.array([c["finished"] for _, c in rows], dtype=bool),
                   str(rows[0][1].get("unit", "units")))


def _as_curves(curves: Any, owner: str) -> _Curves:
    """The curves of a LossCurve run, of :func:`loss_curves`' frame, or of a wide frame
    (rows: restarts, columns: increasing budgets, values: losses)."""
    if hasattr(curves, "restarts") and hasattr(curves, "table"):
        out = _curves_from_result(curves, owner)
    elif isinstance(curves, pd.DataFrame):
        unit = str(curves.attrs.get("unit", "units"))
        if isinstance(curves.columns, pd.MultiIndex):
            if "fun" not in curves.columns.get_level_values(0):
                raise ValueError(
                    f"The 'curves' parameter of {owner} must have a 'fun' block of columns "
                    f"(as loss_curves() returns). Got columns {list(curves.columns)[:6]} "
                    "instead.")
            fun = curves["fun"]
            parts = {q: curves[q] if q in curves.columns.get_level_values(0) else None
                     for q in ("nit", "finished")}
        else:
            fun, parts = curves, {"nit": None, "finished": None}
        try:
            budgets = np.array([int(b) for b in fun.columns], dtype=np.int64)
            if not np.array_equal(budgets, np.asarray(fun.columns, dtype=float)):
                raise ValueError
        except (TypeError, ValueError):
            raise ValueError(
                f"The 'curves' parameter of {owner} must have integer budgets as columns. "
                f"Got columns {list(fun.columns)[:6]} instead.") from None
        for name, part in parts.items():
            if part is not None and list(part.columns) != list(fun.columns):
                raise ValueError(
                    f"The 'curves' parameter of {owner} must have its '{name}' columns at "
                    f"the budgets of its 'fun' columns. Got {list(part.columns)[:6]} "
                    f"against {list(fun.columns)[:6]} instead.")
        values = fun.to_numpy(dtype=float)
        nit = (np.broadcast_to(budgets.astype(float), values.shape).copy()
               if parts["nit"] is None else parts["nit"].to_numpy(dtype=float))
        finished = (np.zeros(values.shape, dtype=bool) if parts["finished"] is None
                    else parts["finished"].to_numpy(dtype=bool))
        out = _Curves(np.asarray(fun.index), budgets, values, nit, finished, unit)
    else:
        raise fail("curves", owner, "a run of rs.multistart(LossCurve(...)), or a DataFrame "
                   "of losses (rows: restarts, columns: budgets)", curves, TypeError)
    if out.fun.ndim != 2 or out.fun.shape[0] < 2 or out.fun.shape[1] < 1:
        raise ValueError(
            f"The 'curves' parameter of {owner} must hold at least 2 restarts and 1 budget. "
            f"Got shape {out.fun.shape} instead.")
    if out.budgets[0] < 1 or np.any(np.diff(out.budgets) <= 0):
        raise ValueError(
            f"The 'curves' parameter of {owner} must have strictly increasing budgets >= 1. "
            f"Got {out.budgets.tolist()} instead.")
    return out


def _rung_columns(c: _Curves, eta: Any, min_budget: Any, owner: str) -> tuple[int, list[int]]:
    """``eta`` checked, and the columns of ``c`` holding racing's rungs."""
    eta = check_int(eta, "eta", owner, low=2)
    full = int(c.budgets[-1])
    first = int(c.budgets[0]) if min_budget is None else check_int(
        min_budget, "min_budget", owner, low=1, high=full)
    rungs, cols = _columns(c, first, eta)
    if cols is None:
        missing = [b for b in rungs if b not in set(c.budgets.tolist())]
        raise ValueError(
            f"The 'min_budget' parameter of {owner} (with eta={eta}) needs the losses at "
            f"the rung budgets {rungs}, but the curves have none at {missing}. Record the "
            f"curves at those budgets (LossCurve(solver, Racing(eta={eta}, "
            f"min_budget={first}))) or pick min_budget and eta to match the recorded "
            f"budgets {c.budgets.tolist()}.")
    return eta, cols


def _columns(c: _Curves, first: int, eta: int) -> tuple[list[int], list[int] | None]:
    """Racing's rung budgets from ``first`` and the columns of ``c`` holding them
    (``None`` when the curves miss one)."""
    from .strategies.racing import rung_budgets

    rungs = rung_budgets(int(first), int(c.budgets[-1]), eta)
    where = {int(b): j for j, b in enumerate(c.budgets)}
    if any(b not in where for b in rungs):
        return rungs, None
    return rungs, [where[b] for b in rungs]


def _halving(fun: np.ndarray, finished: np.ndarray, cols: list[int],
             eta: int) -> tuple[np.ndarray, np.ndarray]:
    """Successive halving replayed on curves: the rung (position in ``cols``) at which
    each restart stopped, and whether it was dropped (else converged or won).

    As :class:`restarts.strategies.Racing` (both decide with
    :func:`~restarts.strategies.racing.halve`): of the ``n`` restarts that ran a rung,
    the ``max(1, n // eta)`` best still improving continue; finished ones keep their
    result.
    Returns ``stop`` (int per restart) and ``dropped`` (bool per restart).
    """
    from .strategies.racing import halve

    n = fun.shape[0]
    stop = np.zeros(n, dtype=np.int64)
    dropped = np.zeros(n, dtype=bool)
    alive = np.arange(n)
    for k, c in enumerate(cols):
        stop[alive] = k
        if k == len(cols) - 1:
            break
        running = alive[~finished[alive, c]]
        kept, out = halve(fun[running, c].tolist(), running.tolist(), alive.size, eta)
        dropped[out] = True
        alive = np.asarray(kept, dtype=np.int64)
        if not alive.size:
            break
    return stop, dropped


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks for ties; non-finite values rank last)."""
    ra = pd.Series(_race_key(a)).rank(method="average").to_numpy()
    rb = pd.Series(_race_key(b)).rank(method="average").to_numpy()
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = math.sqrt(float(ra @ ra) * float(rb @ rb))
    return float(ra @ rb) / denom if denom > 0 else math.nan


def _rel_gap(value: float, best: float) -> float:
    """``(value - best) / |best|`` (absolute when ``best`` is 0)."""
    return (value - best) / abs(best) if best != 0 else value - best


def loss_curves(result: Any) -> pd.DataFrame:
    """The loss curves of a pilot run, one row per restart.

    Parameters
    ----------
    result : MultistartResult
        A run of ``rs.multistart(rs.strategies.racing.LossCurve(solver, ...), n)``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``restart``; columns ``("fun", budget)`` (the loss after ``budget``
        units), ``("nit", budget)`` (units used: less than ``budget`` once a restart
        converged) and ``("finished", budget)``; ``attrs["unit"]`` is the solver's
        ``budget_unit``. ``curves["fun"]`` is the plain table of losses. Failed restarts
        have no row.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> from restarts.analysis import loss_curves
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> km = rs.solvers.KMeans(X, 4, init="random", max_iter=27)
    >>> pilot = rs.multistart(rs.strategies.racing.LossCurve(km, [3, 9, 27]), 5, rng=0)
    >>> curves = loss_curves(pilot)
    >>> curves["fun"].columns.tolist(), curves.attrs["unit"]
    ([3, 9, 27], 'iterations')
    """
    c = _curves_from_result(result, "loss_curves()")
    blocks = {"fun": c.fun, "nit": c.nit.astype(np.int64), "finished": c.finished}
    out = pd.concat({q: pd.DataFrame(v, index=pd.Index(c.index, name="restart"),
                                     columns=c.budgets.tolist())
                     for q, v in blocks.items()}, axis=1)
    out.attrs["unit"] = c.unit
    return out


def replay_racing(curves: Any, eta: int = 3, min_budget: int | None = None) -> pd.DataFrame:
    """What racing would have done with these restarts, read off their loss curves.

    Successive halving replayed exactly as :class:`restarts.strategies.Racing` runs it
    (one bracket): of the restarts that ran a rung, the best ``1/eta`` still improving
    continue, converged ones keep their final result. With the curves of a pilot run,
    the rows equal those of ``rs.multistart(solver, n, strategy=Racing(eta,
    min_budget), rng=...)`` with the pilot's ``rng``.

    Parameters
    ----------
    curves : MultistartResult or pandas.DataFrame
        A :class:`~restarts.strategies.racing.LossCurve` run, :func:`loss_curves` of
        one, or a frame of losses (rows: restarts, columns: increasing budgets).
    eta : int >= 2, default=3
        Racing's ``eta``.
    min_budget : int, optional
        The first rung's budget. Default: the first budget recorded. Every rung's
        budget (``min_budget * eta**k``, then the last budget) must be recorded.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``restart``: ``fun`` (the loss where it stopped), ``budget`` and
        ``rung`` (as racing's table), ``nit`` (units it used), ``dropped``, and
        ``winner`` (the restart racing returns: the lowest ``fun``).

    Examples
    --------
    >>> import pandas as pd
    >>> from restarts.analysis import replay_racing
    >>> losses = pd.DataFrame({1: [5.0, 4.0, 3.0], 3: [1.0, 2.0, 3.0]})
    >>> replay_racing(losses, eta=3)[["fun", "budget", "dropped"]].values.tolist()
    [[5.0, 1, True], [4.0, 1, True], [3.0, 3, False]]
    """
    owner = "replay_racing()"
    c = _as_curves(curves, owner)
    eta, cols = _rung_columns(c, eta, min_budget, owner)
    stop, dropped = _halving(c.fun, c.finished, cols, eta)
    at = np.asarray(cols)[stop]
    rows = np.arange(c.fun.shape[0])
    fun = c.fun[rows, at]
    winner = np.zeros(len(fun), dtype=bool)
    winner[int(np.argmin(_race_key(fun)))] = True
    return pd.DataFrame({"fun": fun, "budget": c.budgets[at], "rung": stop,
                         "nit": c.nit[rows, at].astype(np.int64), "dropped": dropped,
                         "winner": winner}, index=pd.Index(c.index, name="restart"))


def rung_agreement(curves: Any, eta: int = 3, min_budget: int | None = None) -> pd.DataFrame:
    """Per rung of racing: does the ranking at that budget predict the final one?

    For each rung budget: Spearman's rank correlation between every restart's loss at
    that budget and its final loss; the rank there of the eventual winner (the
    restart with the lowest final loss); whether successive halving (replayed as
    :func:`replay_racing`) still has the winner after the rung; and how far the best
    final loss of the restarts still in the race is from the best of all. Racing is
    safe when the winner survives every rung; a slow starter (bad early, best at the
    end) is the failure it cannot see coming.

    Parameters
    ----------
    curves : MultistartResult or pandas.DataFrame
        As for :func:`replay_racing`.
    eta : int >= 2, default=3
        Racing's ``eta``.
    min_budget : int, optional
        The first rung's budget (default: the first budget recorded).

    Returns
    -------
    pandas.DataFrame
        One row per rung: ``rung``, ``budget``, ``ran`` (restarts that ran it),
        ``continued`` (still improving and kept), ``spearman``, ``winner_rank`` (1 =
        best; ties by index), ``winner_kept`` and ``kept_gap`` (best final loss among
        the restarts not dropped by this rung, relative to the best: ``(f - best) /
        |best|``).

    Examples
    --------
    >>> import pandas as pd
    >>> from restarts.analysis import rung_agreement
    >>> losses = pd.DataFrame({1: [1.0, 2.0, 3.0, 4.0], 2: [1.5, 1.0, 3.0, 4.0],
    ...                        4: [0.5, 0.6, 2.0, 3.0]})
    >>> rung_agreement(losses, eta=2)[["budget", "winner_rank", "winner_kept"]]
       budget  winner_rank  winner_kept
    0       1            1         True
    1       2            2        False
    2       4            1        False
    """
    owner = "rung_agreement()"
    c = _as_curves(curves, owner)
    eta, cols = _rung_columns(c, eta, min_budget, owner)
    return _agreement(c, eta, cols)


def _agreement(c: _Curves, eta: int, cols: list[int]) -> pd.DataFrame:
    """:func:`rung_agreement` of checked curves and rung columns."""
    stop, dropped = _halving(c.fun, c.finished, cols, eta)
    n = c.fun.shape[0]
    final = c.fun[:, -1]
    winner = int(np.argmin(_race_key(final)))
    best = float(final[winner])
    positions = np.arange(n)
    rows = []
    for k, col in enumerate(cols):
        key = _race_key(c.fun[:, col])
        w = key[winner]
        rank = int(np.sum((key < w) | ((key == w) & (positions < winner)))) + 1
        out_by_now = dropped & (stop <= k)
        kept = ~out_by_now
        rows.append({
            "rung": k, "budget": int(c.budgets[col]), "ran": int(np.sum(stop >= k)),
            "continued": int(np.sum(stop > k)),
            "spearman": _spearman(c.fun[:, col], final), "winner_rank": rank,
            "winner_kept": bool(kept[winner]),
            "kept_gap": _rel_gap(float(np.min(_race_key(final[kept]))), best),
        })
    return pd.DataFrame(rows)


def racing_pilot(
    curves: Any,
    n_starts: int | None = None,
    *,
    eta: int = 3,
    min_budget: int | None = None,
    rtol: float = 0.005,
    level: float = 0.9,
    replays: int = 1000,
    rng: Any = 0,
) -> pd.Series:
    """Is racing safe for this problem? A verdict from a pilot run's loss curves.

    Successive halving is replayed (:func:`replay_racing`) on ``replays`` random
    draws of ``n_starts`` of the pilot's restarts (subsets; bootstrap resamples when
    ``n_starts`` is at least the pilot's size), and each replay's racing winner is
    compared with the best final loss of the same restarts run in full. Racing is
    called safe when its winner is within ``rtol`` of that best in at least a share
    ``level`` of the replays: a probability, not one anecdote. When it is not, the
    early ranking does not predict the final one (the Spearman correlations per rung
    in the verdict say where), and every restart should run in full, or racing start
    with a larger ``min_budget``.

    Parameters
    ----------
    curves : MultistartResult or pandas.DataFrame
        The pilot: as for :func:`replay_racing`.
    n_starts : int >= 1, optional
        How many restarts you will race. Default: the pilot's number.
    eta : int >= 2, default=3
        Racing's ``eta``.
    min_budget : int, optional
        The first rung's budget (default: the first budget recorded).
    rtol : float >= 0, default=0.005
        "As good as the full run": within ``rtol * |best|`` of its best loss.
    level : float in (0, 1], default=0.9
        The share of replays within ``rtol`` needed to call racing safe.
    replays : int >= 1, default=1000
        Random draws of ``n_starts`` restarts to race.
    rng : int or numpy.random.Generator, default=0
        Seeds the draws.

    Returns
    -------
    pandas.Series
        ``safe`` (bool), ``verdict`` (a sentence), ``share_within`` (share of replays
        within ``rtol``), ``compute_ratio`` (mean over replays of the units racing runs
        over those of the full run), ``pilot_gap`` (the gap of racing's winner on the
        whole pilot, as :func:`rung_agreement`'s ``kept_gap`` at the last rung),
        ``spearman`` (a tuple, per rung), ``rung_budgets``, ``n_starts``, ``n_pilot``,
        ``eta``, ``min_budget``, ``replays``, ``rtol``, ``level``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from restarts.analysis import racing_pilot
    >>> g = np.random.default_rng(0)
    >>> final = g.uniform(1, 2, 27)  # early losses rank the restarts as the final ones
    >>> losses = pd.DataFrame({1: final + 3, 3: final + 1, 9: final + 0.1, 27: final})
    >>> report = racing_pilot(losses, eta=3, replays=200)
    >>> report["safe"], report["verdict"].split(":")[0], round(report["compute_ratio"], 2)
    (True, 'safe', 0.11)
    >>> late = pd.DataFrame({1: 5 - final, 3: 4.5 - final, 9: 4 - final, 27: final})
    >>> racing_pilot(late, replays=200)["verdict"][:60]
    'not safe: early ranking does not predict final (Spearman rho'
    """
    owner = "racing_pilot()"
    c = _as_curves(curves, owner)
    eta, cols = _rung_columns(c, eta, min_budget, owner)
    n_pilot = c.fun.shape[0]
    n = n_pilot if n_starts is None else check_int(n_starts, "n_starts", owner, low=1)
    rtol = check_real(rtol, "rtol", owner, low=0)
    level = check_real(level, "level", owner, low=0, high=1, strict_low=True)
    replays = check_int(replays, "replays", owner, low=1)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(
        check_int(rng, "rng", owner, low=0))
    share, ratio, pilot_gap = _replays(c, cols, eta, n, rtol, replays, gen)
    agreement = _agreement(c, eta, cols)
    rhos = tuple(float(r) for r in agreement["spearman"])
    budgets = tuple(int(b) for b in agreement["budget"])
    safe = share >= level
    what = (f"racing {n} restarts (eta={eta}, min_budget={budgets[0]} {c.unit}) kept a "
            f"loss within {rtol:.1%} of the full run's best in {share:.0%} of {replays} "
            f"replays, at {ratio:.2f}x the compute")
    if safe:
        verdict = f"safe: {what}"
    else:
        early = ", ".join(f"{r:.2f} at {b}" for r, b in zip(rhos[:-1], budgets[:-1],
                                                            strict=True))
        scan = _scan(c, n, (2, 3, 4), rtol, level, min(replays, 300),
                     int(gen.integers(2**63)))
        ok = scan[scan["safe"] & (scan["compute_ratio"] < 1)]
        advice = ("no setting these curves allow is: run every restart in full" if ok.empty
                  else f"these curves allow eta={ok['eta'].iloc[0]}, min_budget="
                       f"{ok['min_budget'].iloc[0]} {c.unit} at "
                       f"{ok['compute_ratio'].iloc[0]:.2f}x the compute "
                       "(rs.analysis.racing_settings)")
        verdict = (f"not safe: early ranking does not predict final (Spearman rho "
                   f"{early} {c.unit}); {what}. A safe race needs a larger min_budget; "
                   f"{advice}")
    return pd.Series({
        "safe": bool(safe), "verdict": verdict, "share_within": share,
        "compute_ratio": ratio, "pilot_gap": pilot_gap, "spearman": rhos,
        "rung_budgets": budgets, "n_starts": n, "n_pilot": n_pilot, "eta": eta,
        "min_budget": budgets[0], "replays": replays, "rtol": rtol, "level": level,
    }, name="racing_pilot")


def _replays(c: _Curves, cols: list[int], eta: int, n: int, rtol: float, replays: int,
             gen: np.random.Generator) -> tuple[float, float, float]:
    """Racing replayed on ``replays`` draws of ``n`` restarts: the share whose winner is
    within ``rtol`` of the draw's best final loss, the mean compute ratio, and the gap
    of racing on the whole pilot."""
    final = c.fun[:, -1]
    full_units = c.nit[:, -1]
    at_cols = np.asarray(cols)

    def race(rows: np.ndarray) -> tuple[bool, float, float]:
        stop, _ = _halving(c.fun[rows], c.finished[rows], cols, eta)
        at = at_cols[stop]
        won = float(np.min(_race_key(c.fun[rows, at])))
        best = float(np.min(_race_key(final[rows])))
        units = float(np.sum(c.nit[rows, at])) / max(float(np.sum(full_units[rows])), 1e-300)
        return won - best <= rtol * abs(best), _rel_gap(won, best), units

    n_pilot = c.fun.shape[0]
    _, pilot_gap, _ = race(np.arange(n_pilot))
    hits, ratios = 0, 0.0
    replace = n >= n_pilot
    for _ in range(replays):
        ok, _, ratio = race(np.sort(gen.choice(n_pilot, size=n, replace=replace)))
        hits += ok
        ratios += ratio
    return hits / replays, ratios / replays, pilot_gap


def _scan(c: _Curves, n: int, etas: Sequence[int], rtol: float, level: float,
          replays: int, seed: int) -> pd.DataFrame:
    """Every ``(eta, min_budget)`` the curves hold the rungs of, cheapest first."""
    rows = []
    for eta in etas:
        for first in c.budgets[:-1].tolist():
            rungs, cols = _columns(c, first, eta)
            if len(rungs) < 2 or cols is None:
                continue
            share, ratio, _ = _replays(c, cols, eta, n, rtol, replays,
                                       np.random.default_rng(seed))
            rows.append({"eta": eta, "min_budget": int(first), "rungs": len(rungs),
                         "share_within": share, "compute_ratio": ratio,
                         "safe": share >= level})
    out = pd.DataFrame(rows, columns=["eta", "min_budget", "rungs", "share_within",
                                      "compute_ratio", "safe"])
    return out.sort_values(["compute_ratio", "eta", "min_budget"], ignore_index=True)


def racing_settings(
    curves: Any,
    n_starts: int | None = None,
    *,
    etas: Sequence[int] = (2, 3, 4),
    rtol: float = 0.005,
    level: float = 0.9,
    replays: int = 300,
    rng: Any = 0,
) -> pd.DataFrame:
    """Which racing settings a pilot run says are safe, and what each costs.

    Every ``(eta, min_budget)`` whose rung budgets the curves hold (record them
    densely, e.g. ``LossCurve(solver, range(1, epochs + 1))``, to try them all) is
    replayed as in :func:`racing_pilot`, on the same random draws of ``n_starts``
    restarts. The cheapest row with ``safe`` is the setting to race with; if none is
    safe, run every restart in full.

    Parameters
    ----------
    curves : MultistartResult or pandas.DataFrame
        The pilot: as for :func:`replay_racing`.
    n_starts : int >= 1, optional
        How many restarts you will race. Default: the pilot's number.
    etas : sequence of int >= 2, default=(2, 3, 4)
        The values of ``eta`` to try.
    rtol : float >= 0, default=0.005
        "As good as the full run": within ``rtol * |best|`` of its best loss.
    level : float in (0, 1], default=0.9
        The share of replays within ``rtol`` that makes a setting safe.
    replays : int >= 1, default=300
        Random draws of ``n_starts`` restarts per setting.
    rng : int or numpy.random.Generator, default=0
        Seeds the draws (the same draws for every setting).

    Returns
    -------
    pandas.DataFrame
        One row per setting, cheapest first: ``eta``, ``min_budget``, ``rungs``,
        ``share_within``, ``compute_ratio`` (mean units raced over units of the full
        run) and ``safe``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from restarts.analysis import racing_settings
    >>> g = np.random.default_rng(0)
    >>> final = g.uniform(1, 2, 27)
    >>> noise = {b: g.normal(0, 3 / b, 27) for b in range(1, 28)}  # ranks settle late
    >>> losses = pd.DataFrame({b: final + 1 / b + noise[b] for b in range(1, 28)})
    >>> s = racing_settings(losses, etas=(3,), replays=100)
    >>> s.loc[s["safe"], ["eta", "min_budget"]].iloc[0].tolist()  # the cheapest safe
    [3, 10]
    """
    owner = "racing_settings()"
    c = _as_curves(curves, owner)
    n = c.fun.shape[0] if n_starts is None else check_int(n_starts, "n_starts", owner, low=1)
    if isinstance(etas, (str, bytes)) or not hasattr(etas, "__iter__"):
        raise fail("etas", owner, "a sequence of int >= 2", etas, TypeError)
    etas = [check_int(e, "etas", owner, low=2) for e in etas]
    if not etas:
        raise fail("etas", owner, "a non-empty sequence of int >= 2", etas)
    rtol = check_real(rtol, "rtol", owner, low=0)
    level = check_real(level, "level", owner, low=0, high=1, strict_low=True)
    replays = check_int(replays, "replays", owner, low=1)
    seed = (int(rng.integers(2**63)) if isinstance(rng, np.random.Generator)
            else check_int(rng, "rng", owner, low=0))
    return _scan(c, n, etas, rtol, level, replays, seed)
