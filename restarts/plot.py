"""Plots of restart runs and comparisons (matplotlib, an optional extra).

Every function draws on ``ax`` if given, else on a new figure of ``figsize`` inches at
``dpi`` built with :class:`matplotlib.figure.Figure` (no pyplot global state, so no GUI
backend is touched and figures are freed with their last reference), returns the
:class:`~matplotlib.axes.Axes`, and with ``path`` also saves the figure there
(format from the file extension). To draw inside a pyplot figure, pass
``ax=plt.gca()``.

``runs`` arguments take one :class:`~restarts.MultistartResult` (or table) or a
mapping ``{label: result}`` to overlay several runs, e.g. one per initialiser.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from . import analysis
from ._validation import check_choice, check_int, fail

__all__ = [
    "ecdf",
    "success_curve",
    "basins",
    "convergence",
    "loss_curves",
    "performance_profile",
    "data_profile",
    "traces",
    "save",
]


def _require_matplotlib(owner: str) -> Any:
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - matplotlib is installed in tests
        raise ImportError(
            f"{owner} needs matplotlib: pip install 'restarts[plot]' (or matplotlib)."
        ) from exc
    return matplotlib


def _axes(ax: Any, figsize: Any, dpi: Any, owner: str) -> Any:
    _require_matplotlib(owner)
    if ax is not None:
        if not hasattr(ax, "plot") or not hasattr(ax, "figure"):
            raise fail("ax", owner, "a matplotlib Axes or None", ax, TypeError)
        return ax
    from matplotlib.figure import Figure

    try:
        w, h = (float(v) for v in figsize)
    except (TypeError, ValueError) as exc:
        raise fail("figsize", owner, "a pair (width, height) in inches", figsize,
                   TypeError) from exc
    if not (w > 0 and h > 0):
        raise fail("figsize", owner, "a pair of positive numbers", figsize)
    dpi = check_int(dpi, "dpi", owner, low=1)
    # Fixed margins instead of constrained layout: layout passes cost as much as drawing.
    fig = Figure(figsize=(w, h), dpi=dpi)
    fig.subplots_adjust(left=0.8 / w + 0.02, right=0.97, bottom=0.75 / h + 0.02,
                        top=1 - 0.4 / h)
    return fig.add_subplot()


def save(ax_or_fig: Any, path: Any, **kwargs: Any) -> None:
    """Save the figure of ``ax_or_fig`` to ``path`` at its own size and dpi.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> from restarts import plot
    >>> ax = plot.ecdf(pd.DataFrame({"fun": [0.0, 1.0, 2.0]}))
    >>> path = os.path.join(tempfile.mkdtemp(), "ecdf.png")
    >>> plot.save(ax, path); os.path.getsize(path) > 0
    True
    """
    fig = getattr(ax_or_fig, "figure", ax_or_fig)
    fig.savefig(path, **kwargs)


def _finish(ax: Any, path: Any) -> Any:
    if path is not None:
        save(ax, path)
    return ax


def _runs(runs: Any, owner: str) -> dict[str, Any]:
    if isinstance(runs, Mapping):
        if not runs:
            raise fail("runs", owner, "a result, a table or a non-empty mapping of them", runs)
        return {str(k): v for k, v in runs.items()}
    return {"": runs}


def _fun(run: Any, owner: str) -> np.ndarray:
    table = analysis.as_table(run, owner)
    return pd.to_numeric(table["fun"], errors="coerce").to_numpy(dtype=float)


def ecdf(runs: Any, *, ax: Any = None, path: Any = None, figsize: Any = (6.0, 4.0),
         dpi: int = 100, logx: bool = False) -> Any:
    """Empirical CDF of the final objective values of the restarts.

    A vertical jump is a distinct optimum; its height is the share of restarts that
    ended there. Failed restarts are left out (the curve then ends below 1).

    Parameters
    ----------
    runs : MultistartResult, DataFrame, or mapping {label: either}
    ax : matplotlib Axes, optional
    path : str or path-like, optional
        Also save the figure there.
    figsize : (float, float), default=(6, 4)
    dpi : int, default=100
    logx : bool, default=False
        Log scale for ``fun - min(fun) + tiny``, to separate close optima.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from restarts import plot
    >>> ax = plot.ecdf(pd.DataFrame({"fun": [0.0, 1.0, 1.0]}))
    >>> ax.get_ylabel()
    'share of restarts'
    """
    owner = "plot.ecdf()"
    ax = _axes(ax, figsize, dpi, owner)
    data = {label: _fun(run, owner) for label, run in _runs(runs, owner).items()}
    low = min((np.nanmin(f) for f in data.values() if np.isfinite(f).any()), default=0.0)
    for label, fun in data.items():
        n = len(fun)
        ok = np.sort(fun[np.isfinite(fun)])
        if logx:
            ok = ok - low + max(1e-12, 1e-9 * abs(low))
        y = np.arange(1, ok.size + 1) / max(n, 1)
        ax.step(np.concatenate([[ok[0]] if ok.size else [], ok]),
                np.concatenate([[0.0] if ok.size else [], y]), where="post",
                label=label or None)
    if logx:
        ax.set_xscale("log")
        ax.set_xlabel("final objective - best")
    else:
        ax.set_xlabel("final objective value")
    ax.set_ylabel("share of restarts")
    ax.set_ylim(0, 1.02)
    ax.set_title("Where the restarts end")
    if len(data) > 1:
        ax.legend(fontsize="small")
    return _finish(ax, path)


def success_curve(run: Any, target: float | None = None, *, tol: float | None = None,
                  prob: float = 0.95, ax: Any = None, path: Any = None,
                  figsize: Any = (6.0, 4.0), dpi: int = 100) -> Any:
    """P(best of k restarts reaches the target) against k, with its confidence band.

    See :func:`restarts.analysis.success_curve`; a dotted line marks ``prob`` and the
    number of restarts needed to reach it. The k-axis is logarithmic: the curve
    usually saturates within the first few restarts of a long run, which a linear
    axis squeezes into a spike at its left edge.

    Examples
    --------
    >>> import pandas as pd
    >>> from restarts import plot
    >>> ax = plot.success_curve(pd.DataFrame({"fun": [0.0, 1.0, 1.0, 1.0]}))
    >>> ax.get_xlabel()
    'restarts k'
    """
    owner = "plot.success_curve()"
    ax = _axes(ax, figsize, dpi, owner)
    curve = analysis.success_curve(run, target, tol=tol)
    ax.fill_between(curve["k"], curve["low"], curve["high"], alpha=0.25,
                    label=f"{int(100 * curve.attrs['confidence'])}% band")
    ax.plot(curve["k"], curve["prob"], lw=2, label="estimate")
    need = analysis.restarts_needed(run, prob, target, tol=tol)
    ax.axhline(prob, ls=":", color="gray")
    if np.isfinite(need["k"]) and need["k"] <= curve["k"].max():
        ax.axvline(need["k"], ls=":", color="gray")
        ax.annotate(f"k = {int(need['k'])}", (need["k"], prob), textcoords="offset points",
                    xytext=(4, -14), fontsize="small")
    ax.set_xscale("log")
    ax.set_xlim(1, max(2, int(curve["k"].max())))
    ax.set_xlabel("restarts k")
    ax.set_ylabel("P(best of k reaches target)")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Success curve (target {curve.attrs['target']:.6g}, "
                 f"{curve.attrs['hits']}/{curve.attrs['n']} hits)")
    ax.legend(fontsize="small", loc="lower right")
    return _finish(ax, path)


def basins(run: Any, *, top: int = 20, ax: Any = None, path: Any = None,
           figsize: Any = (6.0, 4.0), dpi: int = 100) -> Any:
    """Bar chart of the distinct optima: share of restarts per optimum, best first.

    Examples
    --------
    >>> import pandas as pd
    >>> from restarts import plot
    >>> ax = plot.basins(pd.DataFrame({"fun": [0.0, 1.0, 1.0], "basin": [0, 1, 1]}))
    >>> len(ax.patches)
    2
    """
    owner = "plot.basins()"
    top = check_int(top, "top", owner, low=1)
    ax = _axes(ax, figsize, dpi, owner)
    stats = analysis.basin_stats(run).head(top)
    pos = np.arange(len(stats))
    ax.bar(pos, stats["share"], color=["C2"] + ["C0"] * max(len(stats) - 1, 0))
    ax.set_xticks(pos, [f"{f:.4g}" for f in stats["fun"]], rotation=45, ha="right",
                  fontsize="x-small")
    fig = ax.figure
    if len(fig.axes) == 1 and fig.subplotpars.bottom < 0.3:
        fig.subplots_adjust(bottom=0.3)
    ax.set_xlabel("distinct optimum (objective value), best first")
    ax.set_ylabel("share of restarts (basin size)")
    ax.set_title(f"{len(analysis.basin_stats(run))} distinct optima")
    return _finish(ax, path)


def _trace(run: Any, owner: str, by: str) -> tuple[np.ndarray, np.ndarray]:
    table = analysis.as_table(run, owner)
    if "restart" in table.columns:
        table = table.sort_values("restart", kind="stable")
    fun = pd.to_numeric(table["fun"], errors="coerce").to_numpy(dtype=float)
    best = np.minimum.accumulate(np.where(np.isfinite(fun), fun, np.inf))
    if by == "nfev":
        if "nfev" not in table.columns or table["nfev"].isna().any():
            raise ValueError(f"The 'x' parameter of {owner} can be 'nfev' only for runs "
                             "whose table has 'nfev' for every restart.")
        return np.cumsum(pd.to_numeric(table["nfev"]).to_numpy(dtype=float)), best
    return np.arange(1, len(fun) + 1, dtype=float), best


def convergence(runs: Any, *, x: str = "restarts", ax: Any = None, path: Any = None,
                figsize: Any = (6.0, 4.0), dpi: int = 100, logy: bool = False) -> Any:
    """Best value so far against restarts (in index order), on a logarithmic axis.

    A log axis shows the early restarts, where the best usually improves, and a long
    tail at the same time. ``x="nfev"`` draws it against evaluations spent instead.

    Examples
    --------
    >>> import pandas as pd
    >>> from restarts import plot
    >>> ax = plot.convergence(pd.DataFrame({"fun": [3.0, 1.0, 2.0], "nfev": [10, 10, 10]}))
    >>> ax.get_xlabel(), ax.get_xscale()
    ('restarts', 'log')
    """
    owner = "plot.convergence()"
    by = check_choice(x, "x", owner, ["restarts", "nfev"])
    ax = _axes(ax, figsize, dpi, owner)
    runs = _runs(runs, owner)
    for label, run in runs.items():
        xs, best = _trace(run, owner, by)
        ok = np.isfinite(best)
        ax.step(xs[ok], best[ok], where="post", label=label or None)
    ax.set_xscale("log")
    ax.set_xlabel("restarts" if by == "restarts" else "objective evaluations")
    ax.set_ylabel("best objective so far")
    if logy:
        ax.set_yscale("symlog", linthresh=1e-6)
    ax.set_title("Convergence across restarts")
    if len(runs) > 1:
        ax.legend(fontsize="small")
    return _finish(ax, path)


def loss_curves(runs: Any, *, max_curves: int = 50, ax: Any = None, path: Any = None,
                figsize: Any = (6.0, 4.0), dpi: int = 100, logy: bool = True) -> Any:
    """Training-loss curves of every restart (``LocalResult.extra['loss_curve']``).

    One thin line per restart (up to ``max_curves`` per run), one colour per run, so
    restarts that stall on a plateau stand out from those that escape it.

    Parameters
    ----------
    runs : MultistartResult or mapping {label: MultistartResult}
        Results whose ``results[i].extra`` hold ``loss_curve`` (e.g. from
        :class:`restarts.solvers.MLP`).

    Examples
    --------
    >>> import restarts as rs
    >>> from restarts import plot
    >>> res = rs.multistart(lambda s, rng: rs.LocalResult(x=[0.0], fun=0.1,
    ...                     extra={"loss_curve": [1.0, 0.5, 0.1]}), 3, rng=0)
    >>> len(plot.loss_curves(res).lines)
    3
    """
    owner = "plot.loss_curves()"
    max_curves = check_int(max_curves, "max_curves", owner, low=1)
    ax = _axes(ax, figsize, dpi, owner)
    runs = _runs(runs, owner)
    drawn = 0
    for c, (label, run) in enumerate(runs.items()):
        results = getattr(run, "results", None)
        if results is None:
            raise fail("runs", owner, "a MultistartResult (tables do not keep loss curves)",
                       run, TypeError)
        curves = [r.extra.get("loss_curve") for r in results if r.extra.get("loss_curve")]
        for k, curve in enumerate(curves[:max_curves]):
            y = np.asarray(curve, dtype=float)
            ax.plot(np.arange(1, y.size + 1), y, color=f"C{c % 10}", lw=0.8, alpha=0.6,
                    label=(label or None) if k == 0 else None)
            drawn += 1
    if drawn == 0:
        ax.text(0.5, 0.5, "no loss curves recorded", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    if logy and drawn:
        ax.set_yscale("log")
    ax.set_title("Loss curves across restarts")
    if len(runs) > 1 and drawn:
        ax.legend(fontsize="small")
    return _finish(ax, path)


def performance_profile(table: Any, *, measure: str = "nfev", ax: Any = None,
                        path: Any = None, figsize: Any = (6.0, 4.0), dpi: int = 100) -> Any:
    """Dolan & Moré performance profiles (see :func:`restarts.analysis.performance_profile`).

    Examples
    --------
    >>> import pandas as pd
    >>> from restarts import plot
    >>> t = pd.DataFrame({"problem": ["a", "a"], "method": ["x", "y"],
    ...                   "success": [True, True], "nfev": [10, 20]})
    >>> plot.performance_profile(t).get_xscale()
    'log'
    """
    owner = "plot.performance_profile()"
    ax = _axes(ax, figsize, dpi, owner)
    prof = analysis.performance_profile(table, measure=measure)
    top = max(float(prof["tau"].max()), 2.0) * 1.5
    for method, g in prof.groupby("method", sort=True):
        x = np.concatenate([g["tau"].to_numpy(), [top]])
        y = np.concatenate([g["fraction"].to_numpy(), [g["fraction"].iloc[-1]]])
        ax.step(x, y, where="post", label=str(method))
    ax.set_xscale("log")
    ax.set_xlim(1, top)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"performance ratio tau ({measure} / best {measure})")
    ax.set_ylabel("share of instances within tau")
    ax.set_title("Performance profile")
    ax.legend(fontsize="x-small", loc="best")
    return _finish(ax, path)


def data_profile(table: Any, *, measure: str = "nfev", ax: Any = None, path: Any = None,
                 figsize: Any = (6.0, 4.0), dpi: int = 100) -> Any:
    """Moré & Wild data profiles (see :func:`restarts.analysis.data_profile`).

    Examples
    --------
    >>> import pandas as pd
    >>> from restarts import plot
    >>> t = pd.DataFrame({"problem": ["a", "a"], "method": ["x", "y"],
    ...                   "success": [True, True], "nfev": [10, 20]})
    >>> plot.data_profile(t).get_ylabel()
    'share of instances solved'
    """
    owner = "plot.data_profile()"
    ax = _axes(ax, figsize, dpi, owner)
    t = analysis.as_table(table, owner, ("problem",))
    prof = analysis.data_profile(t, measure=measure)
    for method, g in prof.groupby("method", sort=True):
        ax.step(g["budget"], g["fraction"], where="post", label=str(method))
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    unit = "simplex gradients (dim + 1 evaluations)" if "dim" in t.columns else measure
    ax.set_xlabel(f"budget in {unit}")
    ax.set_ylabel("share of instances solved")
    ax.set_title("Data profile")
    ax.legend(fontsize="x-small", loc="best")
    return _finish(ax, path)


def _trace_store(table: Any, owner: str) -> tuple[dict, Any]:
    traces = getattr(table, "attrs", {}).get("traces")
    f_ref = getattr(table, "attrs", {}).get("f_ref")
    if not isinstance(traces, dict) or f_ref is None:
        raise fail("table", owner, "a restarts.compare() table with attrs['traces'] and "
                   "attrs['f_ref'] (lost by CSV files and pandas.concat)", table, ValueError)
    return traces, f_ref


def traces(table: Any, problem: str | None = None, *, ax: Any = None, path: Any = None,
           figsize: Any = (6.0, 4.0), dpi: int = 100) -> Any:
    """Best-so-far gap against evaluations, per method, from :func:`restarts.compare`.

    The median over repeats is drawn as a line and the range over repeats as a band.
    The traces live in ``table.attrs["traces"]`` keyed ``(method, repeat)`` (or
    ``(problem, method, repeat)`` with ``attrs["f_ref"]`` a dict by problem, for
    tables of several problems).

    Parameters
    ----------
    table : pandas.DataFrame
        A :func:`restarts.compare` result (in memory: CSV files do not keep traces).
    problem : str, optional
        Which problem to draw when the table has several (default: the first).

    Examples
    --------
    >>> import restarts as rs
    >>> from restarts import plot
    >>> df = rs.compare("booth", methods=["direct"], budget=200, repeats=2)
    >>> plot.traces(df).get_xlabel()
    'objective evaluations'
    """
    owner = "plot.traces()"
    t = analysis.as_table(table, owner, ("problem", "method", "repeat"))
    store, f_ref = _trace_store(table, owner)
    names = list(dict.fromkeys(t["problem"].astype(str)))
    if problem is None:
        problem = names[0]
    elif problem not in names:
        raise fail("problem", owner, f"one of {names}", problem)
    ref = float(f_ref[problem] if isinstance(f_ref, Mapping) else f_ref)
    ax = _axes(ax, figsize, dpi, owner)
    rows = t[t["problem"].astype(str) == problem]
    top = float(pd.to_numeric(rows["budget"]).max()) if "budget" in rows else None
    for c, (method, g) in enumerate(rows.groupby("method", sort=True)):  # profile colours
        curves = []
        for repeat in g["repeat"]:
            tr = store.get((problem, method, repeat), store.get((method, repeat)))
            if tr is None or len(tr) == 0:
                continue
            curves.append(np.asarray(tr, dtype=float).reshape(-1, 2))
        if not curves:
            continue
        end = top or max(cv[-1, 0] for cv in curves)
        grid = np.unique(np.geomspace(1, max(end, 2), 120).round())
        gaps = np.full((len(curves), grid.size), np.nan)
        for i, cv in enumerate(curves):
            pos = np.searchsorted(cv[:, 0], grid, side="right") - 1
            ok = pos >= 0
            gaps[i, ok] = np.maximum(cv[pos[ok], 1] - ref, 1e-12)
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                med = np.nanmedian(gaps, axis=0)
                lo, hi = np.nanmin(gaps, axis=0), np.nanmax(gaps, axis=0)
        ax.plot(grid, med, color=f"C{c % 10}", label=str(method))
        ax.fill_between(grid, lo, hi, color=f"C{c % 10}", alpha=0.15, lw=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("objective evaluations")
    ax.set_ylabel("best value so far - reference")
    ax.set_title(f"{problem}: median and range over repeats", fontsize="medium")
    ax.legend(fontsize="x-small", loc="best")
    return _finish(ax, path)
