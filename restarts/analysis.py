"""Reading a run: success curves, restarts needed, basins, unseen optima, benchmark profiles.

Pure functions: a run's table (or the :class:`~restarts.MultistartResult` itself, or a
:func:`restarts.compare` table) in, a :class:`pandas.DataFrame` or
:class:`pandas.Series` out. Nothing here runs a solver.

References
----------
.. [BRK] C. G. E. Boender and A. H. G. Rinnooy Kan, "Bayesian stopping rules for
   multistart global optimization methods", Mathematical Programming 37 (1987) 59-80.
.. [DW] T. Dick, E. Wong and C. Dann, "How many random restarts are enough?",
   Carnegie Mellon University technical report (2014); the bound is D. McAllester and
   R. Schapire, "On the convergence rate of Good-Turing estimators", COLT 2000.
.. [DM] E. D. Dolan and J. J. Moré, "Benchmarking optimization software with
   performance profiles", Mathematical Programming 91 (2002) 201-213.
.. [MW] J. J. Moré and S. M. Wild, "Benchmarking derivative-free optimization
   algorithms", SIAM Journal on Optimization 20 (2009) 172-191.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._pilot import (  # racing evidence: its own module, public here
    loss_curves,
    racing_pilot,
    racing_settings,
    replay_racing,
    rung_agreement,
)
from ._validation import check_int, check_real, fail

__all__ = [
    "success_curve",
    "restarts_needed",
    "basin_stats",
    "estimate_optima",
    "missing_mass",
    "performance_profile",
    "data_profile",
    "summarize_comparison",
    "add_solve_evaluations",
    "SUCCESS_RTOL",
    "success_tol",
    "as_table",
    "good_turing_bound",
    "bayesian_optima",
    "loss_curves",
    "replay_racing",
    "rung_agreement",
    "racing_pilot",
    "racing_settings",
]

_DEFAULT_FTOL = 1e-6

#: A compared run *succeeds* when its gap ``fun - f_ref`` is at most
#: ``SUCCESS_RTOL * max(1, |f_ref|)`` (:func:`success_tol`): relative for large optima,
#: absolute near zero. ``rs.compare``, the profiles and the report all use this rule.
SUCCESS_RTOL = 1e-4


def success_tol(f_ref: float) -> float:
    """The success tolerance for reference value ``f_ref``: ``1e-4 * max(1, |f_ref|)``.

    ``NaN`` when ``f_ref`` is not finite (nothing can succeed against it).

    Examples
    --------
    >>> from restarts.analysis import success_tol
    >>> success_tol(0.0), success_tol(-250.0)
    (0.0001, 0.025)
    """
    f_ref = float(f_ref)
    return SUCCESS_RTOL * max(1.0, abs(f_ref)) if math.isfinite(f_ref) else math.nan


# -- inputs ---------------------------------------------------------------------------
def as_table(obj: Any, owner: str, needs: Sequence[str] = ("fun",)) -> pd.DataFrame:
    """A run's table from a MultistartResult or a DataFrame, with the columns ``needs``.

    ``owner`` names the calling function in the error message.

    Examples
    --------
    >>> import pandas as pd
    >>> from restarts.analysis import as_table
    >>> as_table(pd.DataFrame({"fun": [1.0]}), "mine()").shape
    (1, 1)
    """
    table = getattr(obj, "table", obj)
    if not isinstance(table, pd.DataFrame):
        raise fail("table", owner, "a MultistartResult or its pandas.DataFrame table", obj,
                   TypeError)
    missing = [c for c in needs if c not in table.columns]
    if missing:
        raise ValueError(
            f"The 'table' parameter of {owner} must have the column(s) {missing}. "
            f"Got columns {list(table.columns)} instead."
        )
    return table


def _resolve_target(table: pd.DataFrame, obj: Any, target: Any, tol: Any,
                    owner: str) -> tuple[float, float, np.ndarray]:
    """``target``, ``tol`` and the per-restart hit mask (failed restarts never hit)."""
    fun = pd.to_numeric(table["fun"], errors="coerce").to_numpy(dtype=float)
    finite = fun[np.isfinite(fun)]
    if target is None:
        if finite.size == 0:
            raise ValueError(
                f"{owner} needs at least one restart with a finite 'fun' to default the "
                "target to the best value; every restart failed. Pass target=... explicitly."
            )
        target = float(finite.min())
    else:
        target = check_real(target, "target", owner)
    if tol is None:
        # A result knows the tolerance its optima were grouped with.
        tol = float(getattr(obj, "ftol", _DEFAULT_FTOL)) * max(1.0, abs(target))
    else:
        tol = check_real(tol, "tol", owner, low=0)
    with np.errstate(invalid="ignore"):
        hits = fun <= target + tol  # NaN (failed restart) compares False
    return target, tol, hits


def _clopper_pearson(s: int, n: int, confidence: float) -> tuple[float, float]:
    """Exact two-sided interval for a binomial proportion ``s / n``."""
    from scipy.stats import beta

    alpha = 1.0 - confidence
    lo = 0.0 if s == 0 else float(beta.ppf(alpha / 2, s, n - s + 1))
    hi = 1.0 if s == n else float(beta.ppf(1 - alpha / 2, s + 1, n - s))
    return lo, hi


def _best_of_k(p: float, k: np.ndarray) -> np.ndarray:
    """``1 - (1 - p)**k``, accurate for small ``p``."""
    if p >= 1.0:
        return np.ones_like(k, dtype=float)
    return -np.expm1(k * np.log1p(-p))


# -- success curve ----------------------------------------------------------------------
def success_curve(
    table: Any,
    target: float | None = None,
    *,
    tol: float | None = None,
    ks: Any = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Probability that the best of ``k`` restarts reaches ``target``, for each ``k``.

    From ``n`` observed restarts of which ``s`` reached ``fun <= target + tol``, the
    probability that ``k`` restarts drawn without replacement from those ``n`` contain
    at least one hit is ``1 - C(n - s, k) / C(n, k)``: the unbiased estimate of
    ``1 - (1 - p)**k`` (``p`` = one restart's success probability) using every
    subset of the run at once — no bootstrap noise. Beyond ``k = n`` the plug-in
    ``1 - (1 - s/n)**k`` is used. The band propagates the exact (Clopper–Pearson)
    interval of ``p`` through ``1 - (1 - p)**k``, which is monotone, so it covers the
    true curve at every ``k`` simultaneously with probability ``>= confidence``.

    Parameters
    ----------
    table : MultistartResult or pandas.DataFrame
        A run, or its table (needs a ``fun`` column; failed restarts, ``NaN``,
        count as misses).
    target : float, optional
        Default: the best value of the run.
    tol : float, optional
        A restart hits when ``fun <= target + tol``. Default ``ftol * max(1, |target|)``
        with the run's ``ftol`` (``1e-6`` for a bare table).
    ks : int or sequence of int, optional
        The ``k`` values; default ``1 .. n``.
    confidence : float, default=0.95
        Level of the band.

    Returns
    -------
    pandas.DataFrame
        Columns ``k``, ``prob``, ``low``, ``high``; ``attrs`` holds ``target``, ``tol``,
        ``n`` and ``hits``.

    Examples
    --------
    >>> import pandas as pd
    >>> from restarts.analysis import success_curve
    >>> curve = success_curve(pd.DataFrame({"fun": [0.0, 1.0, 1.0, 0.0]}))
    >>> curve["prob"].round(4).tolist()
    [0.5, 0.8333, 1.0, 1.0]
    """
    owner = "success_curve()"
    t = as_table(table, owner)
    confidence = check_real(confidence, "confidence", owner, low=0, high=1, strict_low=True)
    if confidence >= 1:
        raise fail("confidence", owner, "a number in (0, 1)", confidence)
    n = len(t)
    if n == 0:
        raise ValueError(f"The 'table' parameter of {owner} must have at least one row.")
    target, tol, hits = _resolve_target(t, table, target, tol, owner)
    s = int(hits.sum())
    if ks is None:
        kk = np.arange(1, n + 1)
    else:
        kk = np.atleast_1d(np.asarray(ks))
        if kk.dtype.kind not in "iu" or kk.ndim != 1 or kk.size == 0 or kk.min() < 1:
            raise fail("ks", owner, "an int >= 1 or a sequence of them", ks)
        kk = kk.astype(np.int64)
    # C(n-s, k)/C(n, k) = prod_{j<k} (n-s-j)/(n-j), as a running product (no overflow).
    j = np.arange(n)
    miss_all = np.cumprod(np.clip(n - s - j, 0, None) / (n - j))
    prob = np.empty(kk.size)
    inside = kk <= n
    prob[inside] = 1.0 - miss_all[kk[inside] - 1]
    prob[~inside] = _best_of_k(s / n, kk[~inside].astype(float))
    p_lo, p_hi = _clopper_pearson(s, n, confidence)
    out = pd.DataFrame({
        "k": kk,
        "prob": prob,
        "low": _best_of_k(p_lo, kk.astype(float)),
        "high": _best_of_k(p_hi, kk.astype(float)),
    })
    out.attrs.update(target=target, tol=tol, n=n, hits=s, confidence=confidence)
    return out


def restarts_needed(
    table: Any,
    prob: float = 0.95,
    target: float | None = None,
    *,
    tol: float | None = None,
    confidence: float = 0.95,
) -> pd.Series:
    """Smallest number of restarts ``k`` whose best reaches ``target`` with ``prob``.

    ``k`` is the first point where :func:`success_curve` reaches ``prob``; ``low`` and
    ``high`` are where the upper and lower edges of its band do (``high`` is ``inf``
    when no restart hit, or the lower edge never gets there).

    Parameters
    ----------
    table : MultistartResult or pandas.DataFrame
    prob : float in (0, 1), default=0.95
    target : float, optional
        As in :func:`success_curve`.
    tol : float, optional
        As in :func:`success_curve`.
    confidence : float, default=0.95
        As in :func:`success_curve`.

    Returns
    -------
    pandas.Series
        ``k``, ``low``, ``high`` (float: ``inf`` when never), ``prob``, ``p`` (one
        restart's estimated success probability ``s / n``), ``target``, ``n``, ``hits``.

    Examples
    --------
    >>> import pandas as pd
    >>> from restarts.analysis import restarts_needed
    >>> table = pd.DataFrame({"fun": [0.0] * 10 + [1.0] * 30})
    >>> int(restarts_needed(table, prob=0.9)["k"])
    8
    """
    owner = "restarts_needed()"
    prob = check_real(prob, "prob", owner, low=0, high=1, strict_low=True)
    if prob >= 1:
        raise fail("prob", owner, "a number in (0, 1)", prob)
    curve = success_curve(table, target, tol=tol, confidence=confidence)
    n, s = curve.attrs["n"], curve.attrs["hits"]
    p_lo, p_hi = _clopper_pearson(s, n, confidence)

    def first(column: str, p: float) -> float:
        hit = np.flatnonzero(curve[column].to_numpy() >= prob)
        if hit.size:
            return float(curve["k"].iloc[hit[0]])
        if p <= 0:
            return math.inf
        return float(max(n + 1, math.ceil(math.log1p(-prob) / math.log1p(-p))))

    return pd.Series({
        "k": first("prob", s / n), "low": first("high", p_hi), "high": first("low", p_lo),
        "prob": prob, "p": s / n, "target": curve.attrs["target"], "n": n, "hits": s,
    }, dtype=object, name="restarts_needed")


# -- distinct optima ----------------------------------------------------------------------
def basin_stats(result: Any) -> pd.DataFrame:
    """One row per distinct optimum: value, count, share of restarts, mean effort.

    ``share`` is the fraction of successful restarts that ended in that optimum — the
    estimated probability of its basin of attraction under the start distribution.

    Parameters
    ----------
    result : MultistartResult or pandas.DataFrame
        A run or its table (needs ``fun`` and ``basin``).

    Returns
    -------
    pandas.DataFrame
        ``basin``, ``fun`` (best value in the basin), ``count``, ``share``,
        ``mean_nit``, ``mean_nfev``, ``mean_time_s``, ``first_restart``; best first.

    Examples
    --------
    >>> import pandas as pd
    >>> from restarts.analysis import basin_stats
    >>> t = pd.DataFrame({"restart": [0, 1, 2], "fun": [1.0, 0.0, 1.0], "basin": [1, 0, 1]})
    >>> stats = basin_stats(t)
    >>> stats["count"].tolist(), stats["share"].round(3).tolist()
    ([1, 2], [0.333, 0.667])
    """
    t = as_table(result, "basin_stats()", ("fun", "basin"))
    ok = t[t["basin"].notna()].copy()
    ok["basin"] = ok["basin"].astype(np.int64)
    if "restart" not in ok.columns:
        ok["restart"] = np.arange(len(ok))
    for col in ("nit", "nfev", "time_s"):
        ok[col] = pd.to_numeric(ok[col], errors="coerce").astype(float) if col in ok else np.nan
    g = ok.groupby("basin", sort=True)
    out = pd.DataFrame({
        "fun": g["fun"].min(),
        "count": g.size(),
        "mean_nit": g["nit"].mean(),
        "mean_nfev": g["nfev"].mean(),
        "mean_time_s": g["time_s"].mean(),
        "first_restart": g["restart"].min(),
    }).reset_index()
    out.insert(3, "share", out["count"] / max(len(ok), 1))
    return out.sort_values(["fun", "basin"], kind="stable").reset_index(drop=True)


def _basin_counts(result: Any, owner: str) -> np.ndarray:
    t = as_table(result, owner, ("basin",))
    b = t["basin"].dropna().astype(np.int64).to_numpy()
    return np.bincount(np.unique(b, return_inverse=True)[1]) if b.size else np.zeros(0, int)


def bayesian_optima(n: int, w: int) -> dict[str, float]:
    """Boender & Rinnooy Kan's posterior summaries from ``n`` restarts and ``w`` optima.

    Under a uniform prior on the number of optima ``K`` and a uniform (Dirichlet) prior
    on their basins' shares, the posterior of ``K`` is
    ``P(K = k) = (k-1)! k! (n-1)! (n-2)! / ((k-w)! (n+k-1)! w! (w-1)! (n-w-2)!)``,
    giving the closed forms below (``inf``/``0`` where the posterior moment does not exist).

    Returns
    -------
    dict
        ``expected_optima`` ``= w (n-1) / (n-w-2)``; ``p_all_found`` ``= P(K = w) =
        (n-1)! (n-2)! / ((n+w-1)! (n-w-2)!)``; ``p_best_found`` ``= E[w / K] =
        (n-w-1)/(n-1)`` (the global optimum is any of the ``K`` with equal probability);
        ``unseen_share`` ``= w (w+1) / (n (n-1))``, the expected total share of the
        basins not yet seen.
    """
    lg = math.lgamma
    if w <= 0 or n < 2:
        return {"expected_optima": math.nan, "p_all_found": math.nan,
                "p_best_found": math.nan, "unseen_share": math.nan}
    expected = w * (n - 1) / (n - w - 2) if n - w - 2 > 0 else math.inf
    p_all = (math.exp(lg(n) + lg(n - 1) - lg(n + w) - lg(n - w - 1))
             if n - w - 2 >= 0 else 0.0)
    p_best = (n - w - 1) / (n - 1) if n - w - 2 >= 0 else 0.0
    unseen = min(1.0, w * (w + 1) / (n * (n - 1)))
    return {"expected_optima": expected, "p_all_found": p_all, "p_best_found": p_best,
            "unseen_share": unseen}


def estimate_optima(result: Any) -> pd.Series:
    """Bayesian estimate of the total number of optima and of having found the best.

    Boender & Rinnooy Kan (1987) [BRK]_: from ``n`` successful restarts that found
    ``w`` distinct optima, the posterior expected number of optima is
    ``w (n - 1) / (n - w - 2)`` (finite once ``n >= w + 3``). The rule
    :class:`restarts.stop.Bayesian` stops when it is within ``0.5`` of ``w``.

    Parameters
    ----------
    result : MultistartResult or pandas.DataFrame
        A run or its table (needs ``basin``; failed restarts are ignored).

    Returns
    -------
    pandas.Series
        ``n``, ``observed`` (= ``w``), ``expected_optima``, ``unseen_optima``
        (expected minus observed), ``p_all_found``, ``p_best_found``, ``unseen_share``.
        See :func:`bayesian_optima` for the formulas.

    Examples
    --------
    >>> import pandas as pd
    >>> from restarts.analysis import estimate_optima
    >>> t = pd.DataFrame({"basin": [0] * 5 + [1] * 4 + [2]})
    >>> round(float(estimate_optima(t)["expected_optima"]), 3)
    5.4
    """
    counts = _basin_counts(result, "estimate_optima()")
    n, w = int(counts.sum()), int(counts.size)
    est = bayesian_optima(n, w)
    return pd.Series({"n": n, "observed": w, **est,
                      "unseen_optima": est["expected_optima"] - w},
                     dtype=object, name="estimate_optima")


def good_turing_bound(n: int, singletons: int, delta: float) -> tuple[float, float]:
    """Good–Turing missing mass ``singletons / n`` and its ``1 - delta`` upper bound.

    McAllester & Schapire (2000), as used by Dick, Wong & Dann [DW]_: with probability
    at least ``1 - delta`` the missing mass is at most
    ``G + (2 sqrt(2) + sqrt(3)) sqrt(log(3 / delta) / n)``.
    """
    if n <= 0:
        return math.nan, 1.0
    g = singletons / n
    bound = g + (2 * math.sqrt(2) + math.sqrt(3)) * math.sqrt(math.log(3 / delta) / n)
    return g, min(1.0, bound)


def missing_mass(result: Any, delta: float = 0.05) -> pd.Series:
    """Chance that one more restart lands in a basin not seen yet (Good–Turing).

    The Good–Turing estimate is the fraction of restarts whose optimum was reached
    exactly once; Dick, Wong & Dann's rule [DW]_ stops restarting once the
    high-confidence upper bound of this missing mass drops below a chosen level
    (:class:`restarts.stop.MissingMass`).

    Parameters
    ----------
    result : MultistartResult or pandas.DataFrame
        A run or its table (needs ``basin``).
    delta : float in (0, 1), default=0.05
        The bound holds with probability ``>= 1 - delta``.

    Returns
    -------
    pandas.Series
        ``n``, ``observed``, ``singletons``, ``good_turing``, ``bound``, ``delta``.

    Examples
    --------
    >>> import pandas as pd
    >>> from restarts.analysis import missing_mass
    >>> t = pd.DataFrame({"basin": [0, 0, 0, 1, 2, 2, 3, 0]})
    >>> float(missing_mass(t)["good_turing"])
    0.25
    """
    owner = "missing_mass()"
    delta = check_real(delta, "delta", owner, low=0, high=1, strict_low=True)
    if delta >= 1:
        raise fail("delta", owner, "a number in (0, 1)", delta)
    counts = _basin_counts(result, owner)
    n = int(counts.sum())
    f1 = int(np.sum(counts == 1))
    g, bound = good_turing_bound(n, f1, delta)
    return pd.Series({"n": n, "observed": int(counts.size), "singletons": f1,
                      "good_turing": g, "bound": bound, "delta": delta},
                     dtype=object, name="missing_mass")


# -- benchmark profiles -----------------------------------------------------------------
_INSTANCE = ("problem", "repeat")


def _costs(table: Any, measure: str, owner: str) -> pd.DataFrame:
    """Instances x methods matrix of the cost to solve (``inf`` when not solved)."""
    t = as_table(table, owner, ("problem", "method", "success"))
    if not isinstance(measure, str) or measure not in t.columns:
        raise fail("measure", owner, f"a numeric column of the table {list(t.columns)}",
                   measure)
    keys = [c for c in _INSTANCE if c in t.columns]
    cost = pd.to_numeric(t[measure], errors="coerce").astype(float)
    solved = t["success"].fillna(False).astype(bool).to_numpy()
    if "nfev_to_success" in t.columns and measure == "nfev":
        at = pd.to_numeric(t["nfev_to_success"], errors="coerce").astype(float)
        cost = at.fillna(cost)
    elif "best_so_far_at" in t.columns and measure == "nfev":
        # A successful run solved the instance when its final best was first reached
        # (rs.compare records that evaluation), not when its budget ran out.
        at = pd.to_numeric(t["best_so_far_at"], errors="coerce").astype(float)
        cost = at.where(at > 0).fillna(cost)
    cost = cost.where(solved & np.isfinite(cost), np.inf)
    frame = t[keys + ["method"]].assign(_cost=cost.to_numpy())
    wide = frame.pivot_table(index=keys, columns="method", values="_cost", aggfunc="min",
                             sort=True)
    return wide.fillna(np.inf)


def performance_profile(
    table: Any, *, measure: str = "nfev", taus: Any = None
) -> pd.DataFrame:
    """Dolan & Moré performance profiles of a :func:`restarts.compare` table.

    An instance is a ``(problem, repeat)`` pair. A method's cost on it is ``measure``
    (default: function evaluations) when it succeeded, else infinite; its ratio is
    that cost over the best method's cost on the instance. ``fraction`` at ``tau`` is
    the share of instances with ratio ``<= tau``: at ``tau = 1`` how often a method
    is the cheapest, for large ``tau`` how often it solves at all.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``problem``, ``method``, ``success``, ``measure`` (and ``repeat``).
    measure : str, default="nfev"
        The cost column (``"nfev"``, ``"time_s"``, ...). For ``"nfev"``, a column
        ``nfev_to_success`` (:func:`add_solve_evaluations`) is used when present, else
        ``best_so_far_at`` (from :func:`restarts.compare`: the evaluation at which the
        final best was first reached).
    taus : sequence of float >= 1, optional
        Where to evaluate; default every observed finite ratio (and 1).

    Returns
    -------
    pandas.DataFrame
        Long format: ``method``, ``tau``, ``fraction``.

    Examples
    --------
    >>> import pandas as pd
    >>> from restarts.analysis import performance_profile
    >>> t = pd.DataFrame({"problem": ["a", "a", "b", "b"], "method": ["x", "y"] * 2,
    ...                   "success": [True, True, True, False], "nfev": [10, 20, 30, 5]})
    >>> prof = performance_profile(t, taus=[1, 2])
    >>> prof.pivot(index="tau", columns="method", values="fraction").values.tolist()
    [[1.0, 0.0], [1.0, 0.5]]
    """
    owner = "performance_profile()"
    wide = _costs(table, measure, owner)
    best = wide.min(axis=1).to_numpy()[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.isfinite(wide.to_numpy()),
                         np.maximum(wide.to_numpy(), 1e-300) / np.maximum(best, 1e-300), np.inf)
    if taus is None:
        finite = ratio[np.isfinite(ratio)]
        grid = np.unique(np.concatenate([[1.0], finite]))
    else:
        grid = np.sort(np.atleast_1d(np.asarray(taus, dtype=float)))
        if grid.size == 0 or not np.all(np.isfinite(grid)) or grid[0] < 1:
            raise fail("taus", owner, "a non-empty sequence of finite numbers >= 1", taus)
    n_inst = max(len(wide), 1)
    rows = []
    for j, method in enumerate(wide.columns):
        r = np.sort(ratio[:, j])
        frac = np.searchsorted(r, grid, side="right") / n_inst
        rows.append(pd.DataFrame({"method": method, "tau": grid, "fraction": frac}))
    return pd.concat(rows, ignore_index=True)


def data_profile(
    table: Any, *, budgets: Any = None, measure: str = "nfev", dim: Any = None
) -> pd.DataFrame:
    """Moré & Wild data profiles of a :func:`restarts.compare` table.

    The share of instances (``(problem, repeat)`` pairs) each method solved within a
    budget of ``kappa`` units, one unit being ``dim + 1`` function evaluations (a
    simplex gradient) when the dimension is known, else one evaluation.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``problem``, ``method``, ``success``, ``measure`` (``dim`` optional).
    budgets : sequence of float, optional
        ``kappa`` values; default 50 points log-spaced up to the largest cost seen.
    measure : str, default="nfev"
    dim : int or dict {problem: int}, optional
        Overrides the table's ``dim`` column.

    Returns
    -------
    pandas.DataFrame
        Long format: ``method``, ``budget``, ``fraction``.

    Examples
    --------
    >>> import pandas as pd
    >>> from restarts.analysis import data_profile
    >>> t = pd.DataFrame({"problem": ["a", "a", "b", "b"], "method": ["x", "y"] * 2,
    ...                   "success": [True, True, True, False], "nfev": [10, 20, 30, 5]})
    >>> prof = data_profile(t, budgets=[15, 40])
    >>> prof.pivot(index="budget", columns="method", values="fraction").values.tolist()
    [[0.5, 0.0], [1.0, 0.5]]
    """
    owner = "data_profile()"
    wide = _costs(table, measure, owner)
    t = as_table(table, owner, ("problem",))
    problems = wide.index.get_level_values("problem") if "problem" in wide.index.names \
        else wide.index
    if dim is None and "dim" in t.columns:
        dim = t.groupby("problem")["dim"].first().to_dict()
    if dim is None:
        units = np.ones(len(wide))
    elif isinstance(dim, dict):
        units = np.array([float(dim.get(p, 0)) + 1.0 for p in problems])
    else:
        units = np.full(len(wide), float(check_int(dim, "dim", owner, low=1)) + 1.0)
    scaled = wide.to_numpy() / units[:, None]
    if budgets is None:
        finite = scaled[np.isfinite(scaled)]
        top = float(finite.max()) if finite.size else 1.0
        grid = np.unique(np.concatenate([np.geomspace(max(min(1.0, top), 1e-12), top, 50),
                                         np.sort(finite)]))
    else:
        grid = np.sort(np.atleast_1d(np.asarray(budgets, dtype=float)))
        if grid.size == 0 or not np.all(np.isfinite(grid)) or grid[0] < 0:
            raise fail("budgets", owner, "a non-empty sequence of finite numbers >= 0", budgets)
    n_inst = max(len(wide), 1)
    rows = []
    for j, method in enumerate(wide.columns):
        c = np.sort(scaled[:, j])
        frac = np.searchsorted(c, grid, side="right") / n_inst
        rows.append(pd.DataFrame({"method": method, "budget": grid, "fraction": frac}))
    return pd.concat(rows, ignore_index=True)


def add_solve_evaluations(table: pd.DataFrame, tol: float | None = None) -> pd.DataFrame:
    """Add ``nfev_to_success``: the evaluation at which each run first got within ``tol``.

    Reads the per-run traces that :func:`restarts.compare` keeps in
    ``table.attrs["traces"]`` (``(method, repeat) -> [(nfev, best so far), ...]``) and
    the reference value ``attrs["f_ref"]``; ``NaN`` for runs that never got there.
    Tables of several problems key traces ``(problem, method, repeat)`` and hold
    ``f_ref`` as a dict by problem (``rs.compare`` with a list, ``comparison.concat``).
    Profiles then charge a run the evaluations it needed, not the ones it went on to
    spend. ``rs.compare`` fills its own column with this function; call it again for
    another ``tol``, on one problem's table (traces do not survive CSV).

    Parameters
    ----------
    table : pandas.DataFrame
        One :func:`restarts.compare` result.
    tol : float, optional
        Default: the success rule, :func:`success_tol` of ``f_ref``.

    Returns
    -------
    pandas.DataFrame
        A copy with the column added or replaced (``attrs`` kept).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from restarts.analysis import add_solve_evaluations
    >>> t = pd.DataFrame({"problem": ["p"], "method": ["m"], "repeat": [0],
    ...                   "success": [True], "nfev": [100]})
    >>> t.attrs = {"f_ref": 0.0, "traces": {("m", 0): ((1, 5.0), (30, 1e-6), (90, 0.0))}}
    >>> add_solve_evaluations(t)["nfev_to_success"].tolist()
    [30.0]
    """
    owner = "add_solve_evaluations()"
    t = as_table(table, owner, ("method", "repeat"))
    traces = t.attrs.get("traces")
    f_ref = t.attrs.get("f_ref")
    if not isinstance(traces, dict) or f_ref is None:
        raise ValueError(
            f"The 'table' parameter of {owner} must be a restarts.compare() table with its "
            "attrs['traces'] and attrs['f_ref'] (they are lost by CSV)."
        )
    if tol is not None:
        tol = check_real(tol, "tol", owner, low=0)
    several = isinstance(f_ref, dict)
    problems = t["problem"] if "problem" in t.columns else [None] * len(t)
    out = []
    for problem, method, repeat in zip(problems, t["method"], t["repeat"], strict=True):
        ref = float(f_ref[problem] if several else f_ref)
        key = (problem, method, repeat) if several else (method, repeat)
        trace = np.asarray(traces.get(key, ()), dtype=float).reshape(-1, 2)
        level = success_tol(ref) if tol is None else tol
        with np.errstate(invalid="ignore"):
            hit = np.flatnonzero(trace[:, 1] - ref <= level)  # the gap rule of 'success'
        out.append(float(trace[hit[0], 0]) if hit.size else math.nan)
    result = t.copy()
    result["nfev_to_success"] = out
    return result


def summarize_comparison(table: Any) -> pd.DataFrame:
    """Per problem and method: runs, success rate, evaluations to success, gap, time.

    The one summary of :func:`restarts.compare` tables (``restarts compare``, the
    report and the demo print it). Rows keep the order in which problems and methods
    first appear. Columns: ``problem``, ``method``, ``runs``, ``success_rate``, and
    where the table has their inputs ``nfev_to_success`` (median over the successful
    runs; ``NaN`` when none succeeded), ``best_fun``, ``median_gap``, ``median_nfev``,
    ``median_time_s``, ``budget``.

    Examples
    --------
    >>> import pandas as pd
    >>> from restarts.analysis import summarize_comparison
    >>> t = pd.DataFrame({"problem": ["a"] * 2, "method": ["x"] * 2, "fun": [0.0, 1.0],
    ...                   "gap": [0.0, 1.0], "success": [True, False], "nfev": [10, 20],
    ...                   "time_s": [0.1, 0.1], "nfev_to_success": [7.0, float("nan")]})
    >>> s = summarize_comparison(t)
    >>> s["success_rate"].tolist(), s["nfev_to_success"].tolist()
    ([0.5], [7.0])
    """
    t = as_table(table, "summarize_comparison()", ("problem", "method", "success"))
    t = t.assign(success=t["success"].fillna(False).astype(bool))
    numeric = ("fun", "gap", "nfev", "time_s", "nfev_to_success", "budget")
    for col in numeric:
        if col in t.columns:
            t[col] = pd.to_numeric(t[col], errors="coerce").astype(float)
    rows = []
    for (problem, method), g in t.groupby(["problem", "method"], sort=False):
        row: dict[str, Any] = {"problem": problem, "method": method, "runs": len(g),
                               "success_rate": float(g["success"].mean())}
        if "nfev_to_success" in g.columns:
            ok = g.loc[g["success"], "nfev_to_success"]
            row["nfev_to_success"] = float(ok.median()) if len(ok) else math.nan
        for col, name, how in (("fun", "best_fun", "min"), ("gap", "median_gap", "median"),
                               ("nfev", "median_nfev", "median"),
                               ("time_s", "median_time_s", "median"),
                               ("budget", "budget", "max")):
            if col in g.columns:
                row[name] = float(getattr(g[col], how)())
        if math.isfinite(row.get("budget", math.nan)):
            row["budget"] = int(row["budget"])
        rows.append(row)
    return pd.DataFrame(rows)


# -- racing: is the early ranking of the restarts the final one? ------------------------
