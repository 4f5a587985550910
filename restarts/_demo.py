"""``restarts demo``: why random initialisation and restarts matter, in about a minute.

1. An MLP on XOR and on handwritten digits, initialised with zeros, a constant,
   Xavier and He weights: identical initial hidden units stay identical (gradient
   descent cannot break the symmetry), so zero/constant initialisation trains a
   network with one effective hidden unit; random initialisations train them all and
   land in different optima.
2. k-means on digits: every restart is a different clustering; the spread of the
   inertia is what ``n_init`` quietly throws away.
3. A multimodal function: how many optima, how likely one restart finds the best,
   how many restarts are needed, have we probably seen them all.
4. A small comparison of restart strategies and SciPy's global optimizers on equal
   budgets.

Every run is stored in ``restarts-demo.db`` (re-running resumes from it) and the
HTML report is written next to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["run_demo"]

_INITS = [("zeros", {}), ("constant", {"value": 0.5}), ("xavier_uniform", {}),
          ("he_normal", {})]


class _Clock:
    """Seconds since the current section started (printed after its table)."""

    def __init__(self) -> None:
        self.t = time.perf_counter()

    def lap(self) -> float:
        now = time.perf_counter()
        out, self.t = now - self.t, now
        return out


_CLOCK = _Clock()


def _table(echo: Callable[[str], None], df: pd.DataFrame) -> None:
    echo(df.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    echo(f"   ({_CLOCK.lap():.1f} s)")


def _mlp_rows(runs: dict[str, Any], solved: Callable[[Any], bool]) -> pd.DataFrame:
    rows = []
    for init, res in runs.items():
        results = [r for r in res.results if np.isfinite(r.fun)]
        units = [r.extra["distinct_units"][0] for r in results
                 if r.extra.get("distinct_units")]
        rows.append({
            "init": init,
            "restarts": len(res),
            "distinct hidden units": float(np.median(units)) if units else np.nan,
            "median loss": float(np.median([r.fun for r in results])),
            "best loss": res.fun,
            "success rate": float(np.mean([solved(r) for r in results])),
            "distinct optima": len(res.solutions),
        })
    return pd.DataFrame(rows)


def run_demo(out: Any = ".", *, quick: bool = False, n_jobs: int = 1, progress: bool = False,
             report: bool = True, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the tour, print its tables, store the runs, write the report.

    Parameters
    ----------
    out : str or path-like, default="."
        Directory for ``restarts-demo.db``, ``restarts-demo-compare.csv`` and
        ``restarts-demo.html`` / ``.md``.
    quick : bool, default=False
        Fewer restarts, smaller data and budgets (well under 20 s).
    n_jobs : int, default=1
    progress : bool, default=False
    report : bool, default=True
    echo : callable, default=print

    Returns
    -------
    dict
        ``runs`` ({name: MultistartResult}), ``compare`` (DataFrame or None), ``store``,
        ``report`` (path or None), ``seconds``.
    """
    import restarts as rs

    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    db = str(out / "restarts-demo.db")
    runs: dict[str, Any] = {}

    def multistart(name: str, solver: Any, n: int, **kw: Any) -> Any:
        res = rs.multistart(solver, n, rng=kw.pop("rng", 0), n_jobs=n_jobs, store=db,
                            name=name, overwrite=True, progress=progress, **kw)
        runs[name] = res
        return res

    _CLOCK.lap()
    mode = "quick" if quick else "full"
    echo(f"restarts demo ({mode}): why random initialisation and restarts matter\n")

    # 1a. XOR ----------------------------------------------------------------------
    from .cli import load_data

    X, y = load_data("xor")
    n_xor = 12 if quick else 100
    echo(f"1. An MLP with 2 tanh hidden units on XOR, {n_xor} restarts per initialisation")
    xor = {}
    for init, params in _INITS:
        mlp = rs.solvers.MLP(X, y, hidden=(2,), init=init, init_params=params or None,
                             lr=0.1, epochs=300 if quick else 500)
        xor[init] = multistart(f"xor/{init}", mlp, n_xor)
    _table(echo, _mlp_rows(xor, lambda r: r.extra.get("train_accuracy", 0) == 1.0))
    echo("   zero/constant weights give identical hidden units that stay identical: the\n"
         "   network behaves like one unit and cannot fit XOR. Random (Xavier, He) weights\n"
         "   break the symmetry; restarts still end in different optima, some stuck.\n")

    # 1b. digits -------------------------------------------------------------------
    have_sklearn = True
    try:
        Xd, yd = load_data("digits")
    except ValueError as exc:
        have_sklearn = False
        echo(f"(skipping the digits sections: {exc})\n")
    if have_sklearn:
        m = 300 if quick else 600
        n_dig = 4 if quick else 10
        echo(f"2. An MLP with 16 hidden units on {m} handwritten digits (8x8 pixels), "
             f"{n_dig} restarts per initialisation")
        digits = {}
        for init, params in _INITS:
            mlp = rs.solvers.MLP(Xd[:m], yd[:m], hidden=(16,), init=init,
                                 init_params=params or None, lr=0.01,
                                 epochs=60 if quick else 200)
            digits[init] = multistart(f"digits/{init}", mlp, n_dig)
        _table(echo, _mlp_rows(digits, lambda r: r.extra.get("train_accuracy", 0) >= 0.95))
        echo("   success = training accuracy >= 95%. With zero or constant weights all 16\n"
             "   units are copies of one: the loss stays near log(10) = 2.30.\n")

        # 2. k-means -----------------------------------------------------------------
        n_km = 10 if quick else 100
        echo(f"3. k-means (10 clusters) on all {len(Xd)} digits, {n_km} restarts")
        rows = []
        for init in ("k-means++", "random"):
            res = multistart(f"kmeans/{init}", rs.solvers.KMeans(Xd, 10, init=init), n_km)
            fun = res.table["fun"].to_numpy()
            rows.append({"init": init, "restarts": len(res),
                         "distinct clusterings": len(res.solutions), "best inertia": fun.min(),
                         "median inertia": float(np.median(fun)), "worst inertia": fun.max(),
                         "spread %": 100 * (fun.max() - fun.min()) / fun.min()})
        _table(echo, pd.DataFrame(rows))
        echo("   scikit-learn's n_init keeps only the best of these; the rest is the\n"
             "   distribution of local optima a single k-means run draws from.\n")

    # 3. a multimodal function ---------------------------------------------------------
    prob = rs.problems.get("rastrigin", dim=2)
    n_ras = 60 if quick else 300
    echo(f"4. L-BFGS-B on the 2-d Rastrigin function (global minimum {prob.f_min:g}), "
         f"{n_ras} Sobol restarts")
    res = multistart("rastrigin-2d", rs.solvers.Minimize(prob.fun, bounds=prob.bounds), n_ras,
                     starts=rs.starts.Sobol(prob.bounds))
    from .report import _fmt, run_summary

    s = run_summary(res)
    _table(echo, pd.DataFrame([{
        "best": s["best_fun"], "distinct optima": s["distinct_optima"],
        "hit rate": s["hit_rate"], "restarts for 95%": _fmt(s["restarts_95"]),
        "interval": f"{_fmt(s['restarts_95_low'])}-{_fmt(s['restarts_95_high'])}",
        "est. optima (B&RK)": s["expected_optima"], "P(new optimum)": s["missing_mass"],
    }]))
    echo("   the success curve and the Bayesian estimate say how many restarts are\n"
         "   enough; with many small basins, far more optima exist than were seen.\n")

    # 4. comparison ------------------------------------------------------------------
    compare_table = None
    compare = getattr(rs, "compare", None)
    if compare is None:
        try:
            from .comparison import compare
        except ImportError:
            compare = None
    if compare is not None:
        methods = (["multistart", "tiktak", "differential_evolution"] if quick else
                   ["multistart", "tiktak", "mlsl", "basinhopping", "differential_evolution",
                    "dual_annealing"])
        repeats, budget = (3, 600) if quick else (6, 2000)
        problems = [("six_hump_camel", None), ("rastrigin", 3)]
        echo(f"5. Restart strategies vs SciPy's global optimizers: {len(problems)} problems, "
             f"{repeats} repeats, {budget} evaluations each")
        tables = [compare(p, methods=methods, budget=budget, repeats=repeats, rng=0,
                          n_jobs=n_jobs, dim=d) for p, d in problems]
        # Evaluations each run needed to succeed, from its trace (the traces are
        # per-problem attrs, which pandas cannot concatenate).
        traces = {(t["problem"].iloc[0], *key): tr for t in tables
                  for key, tr in t.attrs["traces"].items()}
        f_ref = {t["problem"].iloc[0]: t.attrs["f_ref"] for t in tables}
        tables = [rs.analysis.add_solve_evaluations(t) for t in tables]
        for t in tables:
            t.attrs = {}
        compare_table = pd.concat(tables, ignore_index=True)
        compare_table.attrs.update(traces=traces, f_ref=f_ref)
        compare_table.to_csv(out / "restarts-demo-compare.csv", index=False)
        summary = rs.analysis.summarize_comparison(compare_table)
        _table(echo, summary[["problem", "method", "success_rate", "median_gap",
                              "median_nfev", "median_time_s"]])
        echo("")

    page = None
    if report:
        from .report import write_report

        sources: list[Any] = [runs]
        if compare_table is not None:
            sources.append(compare_table)
        page, _ = write_report(sources, out, title="restarts demo", stem="restarts-demo")
    seconds = time.perf_counter() - t0
    echo(f"runs stored in {db}")
    if compare_table is not None:
        echo(f"comparison table: {out / 'restarts-demo-compare.csv'}")
    if page is not None:
        echo(f"HTML report: {page.resolve()}")
    echo(f"done in {seconds:.1f} s")
    return {"runs": runs, "compare": compare_table, "store": db, "report": page,
            "seconds": seconds}
