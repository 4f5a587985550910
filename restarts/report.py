"""One self-contained HTML page (and a Markdown summary) from stored runs or tables.

The page embeds every figure as a base64 PNG and uses inline CSS only, so it opens
from disk in any browser with no server and no network. Sources are runs (a
:class:`~restarts.MultistartResult`, a store file, a saved run table) and
:func:`restarts.compare` tables (in memory or saved as CSV).

Runs named ``group/member`` (e.g. ``xor/zeros``, ``xor/he_normal``) are reported
together: one table with a row per member and overlaid figures, so the members can
be compared at a glance. Other runs get a section of their own.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import analysis
from ._format import fmt, md_escape, short_x
from ._validation import fail

__all__ = ["write_report", "load_sources", "run_summary"]

_OWNER = "write_report()"
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;
max-width:1100px;padding:0 1em;color:#222;background:#fff}
h1{border-bottom:3px solid #2a6f97}h2{margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:0.8em 0;font-size:0.9em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#eef4f8}td:first-child,th:first-child{text-align:left}
figure{display:inline-block;margin:0.5em;vertical-align:top}
figcaption{font-size:0.85em;color:#555;max-width:480px}
.kv td:first-child{font-weight:600}.note{color:#555;font-size:0.9em}
code{background:#f4f4f4;padding:1px 4px}
"""


# -- sources --------------------------------------------------------------------------
def _is_compare(table: pd.DataFrame) -> bool:
    return {"problem", "method", "success"} <= set(table.columns)


def load_sources(sources: Any) -> tuple[dict[str, Any], list[pd.DataFrame], dict[str, dict]]:
    """Sort ``sources`` into runs ``{name: result or table}``, compare tables, configs.

    ``sources`` is one source or a list; a source is a :class:`~restarts.MultistartResult`,
    a :class:`~restarts.Store` or the path of a store file, a DataFrame or CSV path
    (a run table, or a compare table when it has ``problem``/``method``/``success``),
    or a mapping ``{name: result or table}``.
    """
    items = sources if isinstance(sources, (list, tuple)) else [sources]
    if not items:
        raise fail("sources", _OWNER, "a source or a non-empty list of sources", sources)
    runs: dict[str, Any] = {}
    compares: list[pd.DataFrame] = []
    configs: dict[str, dict] = {}

    def add_table(name: str, table: pd.DataFrame) -> None:
        if _is_compare(table):
            compares.append(table)
        elif "fun" in table.columns:
            runs[name] = table
        else:
            raise ValueError(
                f"The table {name!r} given to {_OWNER} is neither a run table (needs "
                "'fun') nor a compare table (needs 'problem', 'method', 'success'). "
                f"Got columns {list(table.columns)[:8]} instead."
            )

    for k, item in enumerate(items):
        if isinstance(item, Mapping):
            for name, value in item.items():
                if isinstance(value, pd.DataFrame):
                    add_table(str(name), value)
                else:
                    runs[str(name)] = value
            continue
        if isinstance(item, pd.DataFrame):
            add_table(f"table {k + 1}", item)
            continue
        if hasattr(item, "restarts") and hasattr(item, "table"):
            runs[str(getattr(item, "config", {}).get("name") or f"run {k + 1}")] = item
            continue
        path = getattr(item, "path", item)
        if not isinstance(path, (str, os.PathLike)):
            raise fail("sources", _OWNER, "results, stores, DataFrames or file paths", item,
                       TypeError)
        path = os.fspath(path)
        if not os.path.exists(path):
            raise ValueError(f"The source {path!r} given to {_OWNER} does not exist.")
        if path.lower().endswith(".csv"):
            add_table(Path(path).stem, pd.read_csv(path))
            continue
        from .store import Store

        store = Store(path)
        info = store.runs()
        for _, row in info.iterrows():
            runs[row["name"]] = store.load(row["name"])
            configs[row["name"]] = {
                key: row[key] for key in ("created", "n_starts", "n_done", "stopped_by",
                                          "strategy", "solver", "package_version")
                if key in row and row[key] is not None and row[key] == row[key]
            }
    return runs, compares, configs


# -- numbers --------------------------------------------------------------------------
def run_summary(run: Any) -> dict[str, Any]:
    """The headline numbers of one run (used by the report and ``restarts run``).

    Examples
    --------
    >>> import pandas as pd
    >>> from restarts.report import run_summary
    >>> s = run_summary(pd.DataFrame({"fun": [0.0, 1.0, 0.0], "basin": [0, 1, 0]}))
    >>> s["best_fun"], s["distinct_optima"], s["hit_rate"]
    (0.0, 2, 0.6666666666666666)
    """
    table = analysis.as_table(run, "run_summary()")
    fun = pd.to_numeric(table["fun"], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(fun)
    out: dict[str, Any] = {"restarts": len(table), "failed": int((~ok).sum())}
    if not ok.any():
        out.update(best_fun=math.nan)
        return out
    out["best_fun"] = float(fun[ok].min())
    out["median_fun"] = float(np.median(fun[ok]))
    out["worst_fun"] = float(fun[ok].max())
    if "basin" in table.columns:
        out["distinct_optima"] = int(table["basin"].dropna().nunique())
    curve = analysis.success_curve(run)
    out["hit_rate"] = curve.attrs["hits"] / curve.attrs["n"]
    need = analysis.restarts_needed(run, 0.95)
    out["restarts_95"] = need["k"]
    out["restarts_95_low"] = need["low"]
    out["restarts_95_high"] = need["high"]
    if "basin" in table.columns and table["basin"].notna().any():
        est = analysis.estimate_optima(run)
        out["expected_optima"] = est["expected_optima"]
        out["p_best_found"] = est["p_best_found"]
        out["p_all_found"] = est["p_all_found"]
        mm = analysis.missing_mass(run)
        out["missing_mass"] = mm["good_turing"]
        out["missing_mass_bound"] = mm["bound"]
    x = getattr(run, "x", None) if hasattr(run, "restarts") else None
    if x is not None:
        out["best_x"] = x
    return out


# -- rendering helpers ---------------------------------------------------------------
def _png(ax: Any) -> str:
    fig = ax.figure
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _html_table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in row) + "</tr>"
        for row in df.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _md_table(df: pd.DataFrame) -> str:
    cols = [md_escape(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(md_escape(fmt(v)) for v in row) + " |")
    return "\n".join(lines)


def _kv(d: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame({"": list(d.keys()), "value": [fmt(v) for v in d.values()]})


class _Page:
    """Accumulates HTML and Markdown side by side."""

    def __init__(self, title: str, figsize: tuple[float, float], dpi: int) -> None:
        self.html: list[str] = []
        self.md: list[str] = []
        self.figsize, self.dpi = figsize, dpi
        self.n_figures = 0
        self.title = title

    def heading(self, text: str, level: int = 2) -> None:
        anchor = "".join(c if c.isalnum() else "-" for c in text.lower())
        self.html.append(f'<h{level} id="{html.escape(anchor)}">{html.escape(text)}</h{level}>')
        self.md.append(f"\n{'#' * level} {md_escape(text)}\n")

    def para(self, text: str, cls: str = "") -> None:
        attr = f' class="{cls}"' if cls else ""
        self.html.append(f"<p{attr}>{html.escape(text)}</p>")
        self.md.append(md_escape(text) + "\n")

    def table(self, df: pd.DataFrame, kv: bool = False) -> None:
        t = _html_table(df)
        if kv:
            t = t.replace("<table>", '<table class="kv">', 1)
        self.html.append(t)
        self.md.append(_md_table(df) + "\n")

    def figure(self, draw: Any, caption: str) -> None:
        """``draw(ax_kwargs)`` returns an Axes; errors become a note, not a failed page."""
        try:
            ax = draw({"figsize": self.figsize, "dpi": self.dpi})
            data = _png(ax)
        except Exception as exc:  # a figure that cannot be drawn must not lose the report
            self.para(f"(figure '{caption}' could not be drawn: {type(exc).__name__}: {exc})",
                      "note")
            return
        self.n_figures += 1
        self.html.append(
            f'<figure><img alt="{html.escape(caption)}" width="{int(self.figsize[0] * self.dpi)}"'
            f' src="data:image/png;base64,{data}"><figcaption>{html.escape(caption)}'
            "</figcaption></figure>"
        )
        self.md.append(f"*Figure: {md_escape(caption)} (in the HTML report).*\n")

    def render(self) -> tuple[str, str]:
        from . import __version__

        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        head = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
                f"<h1>{html.escape(self.title)}</h1>"
                f'<p class="note">restarts {html.escape(__version__)} · {stamp} · '
                f"{self.n_figures} figures</p>")
        md_head = f"# {md_escape(self.title)}\n\nrestarts {__version__} · {stamp}\n"
        return head + "\n".join(self.html) + "</body></html>\n", md_head + "\n".join(self.md)


# -- sections -------------------------------------------------------------------------
def _has_loss_curves(run: Any) -> bool:
    results = getattr(run, "results", None)
    return bool(results) and any(r.extra.get("loss_curve") for r in results)


def _run_section(page: _Page, name: str, run: Any, config: Mapping[str, Any]) -> None:
    from . import plot

    page.heading(f"Run {name}")
    if config:
        cfg = {k: (json.dumps(v) if isinstance(v, (dict, list)) else v)
               for k, v in config.items()}
        page.para("Configuration")
        page.table(_kv(cfg), kv=True)
    s = run_summary(run)
    if not np.isfinite(s["best_fun"]):
        page.para(f"All {s['restarts']} restarts failed; nothing to analyse.")
        _errors(page, analysis.as_table(run, "report"))
        return
    headline = {
        "restarts (failed)": f"{s['restarts']} ({s['failed']})",
        "best value": s["best_fun"],
        "median / worst value": f"{fmt(s['median_fun'])} / {fmt(s['worst_fun'])}",
        "distinct optima": s.get("distinct_optima"),
        "restarts hitting the best": f"{s['hit_rate']:.1%}",
        "restarts needed for 95%": (f"{fmt(s['restarts_95'])} (interval "
                                    f"{fmt(s['restarts_95_low'])}–{fmt(s['restarts_95_high'])})"),
    }
    if "expected_optima" in s:
        headline["estimated optima (Boender–Rinnooy Kan)"] = s["expected_optima"]
        headline["P(best optimum found)"] = s["p_best_found"]
        headline["P(all optima found)"] = s["p_all_found"]
        headline["chance next restart finds a new optimum"] = (
            f"{fmt(s['missing_mass'])} (95% bound {fmt(s['missing_mass_bound'])})")
    if "best_x" in s:
        headline["best x"] = short_x(s["best_x"])
    page.table(_kv(headline), kv=True)
    table = analysis.as_table(run, "report")
    _errors(page, table)
    if "basin" in table.columns and table["basin"].notna().any():
        stats = analysis.basin_stats(run)
        page.para(f"Distinct optima (best first, {min(len(stats), 10)} of {len(stats)} shown)")
        page.table(stats.head(10))
        page.figure(lambda kw: plot.basins(run, **kw), f"{name}: share of restarts per optimum")
    page.figure(lambda kw: plot.ecdf(run, **kw), f"{name}: ECDF of final values")
    page.figure(lambda kw: plot.success_curve(run, **kw),
                f"{name}: P(best of k restarts reaches the best value), 95% band")
    page.figure(lambda kw: plot.convergence(run, **kw),
                f"{name}: best value so far against restarts")
    if _has_loss_curves(run):
        page.figure(lambda kw: plot.loss_curves(run, **kw), f"{name}: training-loss curves")


def _errors(page: _Page, table: pd.DataFrame) -> None:
    """The most frequent error messages of failed restarts (messages are untrusted)."""
    if "error" not in table.columns:
        return
    errors = table["error"].dropna().astype(str)
    errors = errors[errors != ""]
    if errors.empty:
        return
    counts = errors.value_counts()
    page.para(f"Failed restarts: {len(errors)}, {len(counts)} distinct errors "
              f"({min(len(counts), 5)} most frequent shown)")
    page.table(pd.DataFrame({"error": counts.index[:5], "restarts": counts.to_numpy()[:5]}))


def _group_section(page: _Page, group: str, members: dict[str, Any]) -> None:
    from . import plot

    page.heading(f"Runs {group}/…")
    rows = []
    best_all = min(run_summary(r)["best_fun"] for r in members.values())
    for label, run in members.items():
        s = run_summary(run)
        row = {"run": label, "restarts": s["restarts"], "failed": s["failed"],
               "best": s["best_fun"], "median": s.get("median_fun"),
               "distinct optima": s.get("distinct_optima")}
        results = getattr(run, "results", None)
        if results and any("distinct_units" in r.extra for r in results):
            units = [r.extra.get("distinct_units") for r in results
                     if r.extra.get("distinct_units") is not None]
            row["median distinct hidden units"] = (
                float(np.median([u[0] for u in units])) if units else math.nan)
        if results and any("train_accuracy" in r.extra for r in results):
            acc = [r.extra["train_accuracy"] for r in results if "train_accuracy" in r.extra]
            row["median train accuracy"] = float(np.median(acc))
        if np.isfinite(best_all):
            tol = 1e-3 * max(1.0, abs(best_all))
            fun = pd.to_numeric(analysis.as_table(run, "report")["fun"]).to_numpy(float)
            with np.errstate(invalid="ignore"):
                row["share within 0.1% of group best"] = float(np.mean(fun <= best_all + tol))
        rows.append(row)
    page.table(pd.DataFrame(rows))
    page.para("Each row is one run; all runs of the group solve the same problem, so the "
              "best value and the share of restarts reaching the group's best compare the "
              "settings directly.", "note")
    page.figure(lambda kw: plot.ecdf(members, **kw), f"{group}: ECDF of final values per run")
    page.figure(lambda kw: plot.convergence(members, **kw),
                f"{group}: best value so far against restarts")
    if any(_has_loss_curves(r) for r in members.values()):
        curves = {k: v for k, v in members.items() if _has_loss_curves(v)}
        page.figure(lambda kw: plot.loss_curves(curves, max_curves=20, **kw),
                    f"{group}: training-loss curves (20 restarts per run)")


def _compare_section(page: _Page, table: pd.DataFrame) -> None:
    from . import plot

    problems = sorted(table["problem"].astype(str).unique())
    page.heading("Comparison on " + ", ".join(problems))
    budget = table["budget"].iloc[0] if "budget" in table.columns else None
    page.para(f"{table['method'].nunique()} methods, {len(problems)} problems, "
              f"{len(table)} runs" + (f", budget {fmt(budget)} evaluations per run"
                                      if budget is not None else "") + ".")
    page.table(analysis.summarize_comparison(table))
    page.para(f"A run succeeds when its gap to the reference value f* is at most "
              f"{analysis.SUCCESS_RTOL:g} × max(1, |f*|); nfev_to_success is the median, over "
              "successful runs, of the evaluations spent when that was first reached.", "note")
    if isinstance(table.attrs.get("traces"), dict):
        for problem in problems:
            page.figure(lambda kw, p=problem: plot.traces(table, p, **kw),
                        f"{problem}: best value so far against evaluations, per method")
    page.figure(lambda kw: plot.performance_profile(table, **kw),
                "Performance profile (Dolan & Moré): evaluations to solve relative to the best")
    page.figure(lambda kw: plot.data_profile(table, **kw),
                "Data profile (Moré & Wild): share solved within a budget")


# -- entry point ----------------------------------------------------------------------
def write_report(
    sources: Any,
    out: Any = ".",
    *,
    title: str = "restarts report",
    stem: str = "report",
    figsize: tuple[float, float] = (5.6, 3.6),
    dpi: int = 80,
) -> tuple[Path, Path]:
    """Write ``<out>/<stem>.html`` (self-contained) and ``<out>/<stem>.md``.

    Parameters
    ----------
    sources : source or list of sources
        See :func:`load_sources`: results, stores (objects or file paths), run tables
        and :func:`restarts.compare` tables (DataFrames or CSV paths), or mappings
        ``{name: result}``.
    out : str or path-like, default="."
        Directory to write into (created if missing).
    title : str, default="restarts report"
    stem : str, default="report"
        File name without extension.
    figsize : (float, float), default=(5.6, 3.6)
        Size of each embedded figure, in inches.
    dpi : int, default=80
        Resolution of each embedded figure.

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        The HTML page and the Markdown summary.

    Examples
    --------
    >>> import tempfile, restarts as rs
    >>> from restarts.report import write_report
    >>> res = rs.multistart(lambda s, rng: (s, float((s[0] ** 2 - 1) ** 2)), 20,
    ...                     starts=rs.starts.Uniform([(-2, 2)]), rng=0)
    >>> page, summary = write_report({"quartic": res}, tempfile.mkdtemp())
    >>> page.name, summary.name
    ('report.html', 'report.md')
    """
    if not isinstance(title, str):
        raise fail("title", _OWNER, "a str", title, TypeError)
    if not isinstance(stem, str) or not stem or os.sep in stem:
        raise fail("stem", _OWNER, "a non-empty file name without directories", stem)
    if not isinstance(out, (str, os.PathLike)):
        raise fail("out", _OWNER, "a directory path", out, TypeError)
    runs, compares, configs = load_sources(sources)
    if not runs and not compares:
        raise ValueError(f"The sources given to {_OWNER} hold no runs and no comparisons.")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise fail("out", _OWNER, "a directory (it is an existing file)", str(out))
    page = _Page(title, figsize, dpi)

    groups: dict[str, dict[str, Any]] = {}
    for name, run in runs.items():
        group, _, member = name.partition("/")
        groups.setdefault(group if member else name, {})[member or name] = run
    if runs:
        labels = {"restarts": "restarts", "failed": "failed", "best_fun": "best",
                  "distinct_optima": "distinct optima"}
        index = pd.DataFrame([
            {"run": n, **{labels[k]: v for k, v in run_summary(r).items() if k in labels}}
            for n, r in runs.items()])
        page.heading("Runs")
        page.table(index)
    for group, members in groups.items():
        if len(members) > 1:
            _group_section(page, group, members)
        else:
            (member, run), = members.items()
            name = member if member == group else f"{group}/{member}"
            _run_section(page, name, run, configs.get(name, {}))
    for table in compares:
        _compare_section(page, table)

    text, md = page.render()
    out.mkdir(parents=True, exist_ok=True)
    html_path, md_path = out / f"{stem}.html", out / f"{stem}.md"
    html_path.write_text(text, encoding="utf-8")
    md_path.write_text(md, encoding="utf-8")
    return html_path, md_path
