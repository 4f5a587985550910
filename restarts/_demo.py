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

from ._format import fmt, text_table
from .datasets import load_data

__all__ = ["run_demo"]

_INITS = [("zeros", {}), ("constant", {"value": 0.5}), ("xavier_uniform", {}),
          ("he_normal", {})]


class _Tour:
    """What every section shares: the store, the runs so far, the output, the clock."""

    def __init__(self, out: Path, quick: bool, n_jobs: int, progress: bool,
                 echo: Callable[[str], None]) -> None:
        self.out, self.quick, self.n_jobs, self.progress, self.echo = (
            out, quick, n_jobs, progress, echo)
        self.db = str(out / "restarts-demo.db")
        self.runs: dict[str, Any] = {}
        self.t = time.perf_counter()

    def multistart(self, name: str, solver: Any, n: int, **kw: Any) -> Any:
        """One stored run (re-running the demo replaces it)."""
        import restarts as rs

        res = rs.multistart(solver, n, rng=kw.pop("rng", 0), n_jobs=self.n_jobs,
                            store=self.db, name=name, overwrite=True,
                            progress=self.progress, **kw)
        self.runs[name] = res
        return res

    def table(self, df: pd.DataFrame) -> None:
        """Print a section's table and the seconds the section took."""
        now = time.perf_counter()
        self.echo(text_table(df))
        self.echo(f"   ({now - self.t:.1f} s)")
        self.t = now


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


# -- sections ---------------------------------------------------------------------------
def _xor(tour: _Tour) -> None:
    import restarts as rs

    X, y = load_data("xor")
    n = 12 if tour.quick else 100
    tour.echo(f"1. An MLP with 2 tanh hidden units on XOR, {n} restarts per initialisation")
    runs = {}
    for init, params in _INITS:
        mlp = rs.solvers.MLP(X, y, hidden=(2,), init=init, init_params=params or None,
                             lr=0.1, epochs=300 if tour.quick else 500)
        runs[init] = tour.multistart(f"xor/{init}", mlp, n)
    tour.table(_mlp_rows(runs, lambda r: r.extra.get("train_accuracy", 0) == 1.0))
    tour.echo("   zero/constant weights give identical hidden units that stay identical: the\n"
              "   network behaves like one unit and cannot fit XOR. Random (Xavier, He) weights\n"
              "   break the symmetry; restarts still end in different optima, some stuck.\n")


def _digits_mlp(tour: _Tour, X: np.ndarray, y: np.ndarray) -> None:
    import restarts as rs

    m = 300 if tour.quick else 600
    n = 4 if tour.quick else 10
    tour.echo(f"2. An MLP with 16 hidden units on {m} handwritten digits (8x8 pixels), "
              f"{n} restarts per initialisation")
    runs = {}
    for init, params in _INITS:
        mlp = rs.solvers.MLP(X[:m], y[:m], hidden=(16,), init=init,
                             init_params=params or None, lr=0.01,
                             epochs=60 if tour.quick else 200)
        runs[init] = tour.multistart(f"digits/{init}", mlp, n)
    tour.table(_mlp_rows(runs, lambda r: r.extra.get("train_accuracy", 0) >= 0.95))
    tour.echo("   success = training accuracy >= 95%. With zero or constant weights all 16\n"
              "   units are copies of one: the loss stays near log(10) = 2.30.\n")


def _kmeans(tour: _Tour, X: np.ndarray) -> None:
    import restarts as rs

    n = 10 if tour.quick else 100
    tour.echo(f"3. k-means (10 clusters) on all {len(X)} digits, {n} restarts")
    rows = []
    for init in ("k-means++", "random"):
        res = tour.multistart(f"kmeans/{init}", rs.solvers.KMeans(X, 10, init=init), n)
        fun = res.table["fun"].to_numpy()
        rows.append({"init": init, "restarts": len(res),
                     "distinct clusterings": len(res.solutions), "best inertia": fun.min(),
                     "median inertia": float(np.median(fun)), "worst inertia": fun.max(),
                     "spread %": 100 * (fun.max() - fun.min()) / fun.min()})
    tour.table(pd.DataFrame(rows))
    tour.echo("   scikit-learn's n_init keeps only the best of these; the rest is the\n"
              "   distribution of local optima a single k-means run draws from.\n")


def _rastrigin(tour: _Tour) -> None:
    import restarts as rs

    from .report import run_summary

    prob = rs.problems.get("rastrigin", dim=2)
    n = 60 if tour.quick else 300
    tour.echo(f"4. L-BFGS-B on the 2-d Rastrigin function (global minimum {prob.f_min:g}), "
              f"{n} Sobol restarts")
    res = tour.multistart("rastrigin-2d", rs.solvers.Minimize(prob.fun, bounds=prob.bounds),
                          n, starts=rs.starts.Sobol(prob.bounds))
    s = run_summary(res)
    tour.table(pd.DataFrame([{
        "best": s["best_fun"], "distinct optima": s["distinct_optima"],
        "hit rate": s["hit_rate"], "restarts for 95%": fmt(s["restarts_95"]),
        "interval": f"{fmt(s['restarts_95_low'])}-{fmt(s['restarts_95_high'])}",
        "est. optima (B&RK)": s["expected_optima"], "P(new optimum)": s["missing_mass"],
    }]))
    tour.echo("   the success curve and the Bayesian estimate say how many restarts are\n"
              "   enough; with many small basins, far more optima exist than were seen.\n")


def _comparison(tour: _Tour) -> pd.DataFrame:
    import restarts as rs

    methods = (["multistart", "tiktak", "differential_evolution"] if tour.quick else
               ["multistart", "tiktak", "mlsl", "basinhopping", "differential_evolution",
                "dual_annealing"])
    repeats, budget = (3, 600) if tour.quick else (6, 2000)
    problems = [("six_hump_camel", None), ("rastrigin", 3)]
    tour.echo(f"5. Restart strategies vs SciPy's global optimizers: {len(problems)} problems, "
              f"{repeats} repeats, {budget} evaluations each")
    table = rs.comparison.concat([
        rs.compare(p, methods=methods, budget=budget, repeats=repeats, rng=0,
                   n_jobs=tour.n_jobs, dim=d) for p, d in problems])
    table.to_csv(tour.out / "restarts-demo-compare.csv", index=False)
    summary = rs.analysis.summarize_comparison(table)
    tour.table(summary[["problem", "method", "success_rate", "median_gap", "median_nfev",
                        "median_time_s"]])
    tour.echo("")
    return table


# -- the tour ---------------------------------------------------------------------------
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
        ``runs`` ({name: MultistartResult}), ``compare`` (DataFrame), ``store``,
        ``report`` (path or None), ``seconds``, ``skipped`` (sections not run, with
        the reason: the digits sections need scikit-learn, ``pip install
        'restarts[demo]'``).
    """
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tour = _Tour(out, quick, n_jobs, progress, echo)
    echo(f"restarts demo ({'quick' if quick else 'full'}): why random initialisation and "
         "restarts matter\n")
    skipped: list[str] = []
    _xor(tour)
    try:
        X, y = load_data("digits")
    except ImportError as exc:
        skipped = [f"digits MLP and k-means: {exc}"]
        echo(f"(skipping sections 2 and 3: {exc})\n")
    else:
        _digits_mlp(tour, X, y)
        _kmeans(tour, X)
    _rastrigin(tour)
    table = _comparison(tour)
    page = None
    if report:
        from .report import write_report

        page, _ = write_report([tour.runs, table], out, title="restarts demo",
                               stem="restarts-demo")
    seconds = time.perf_counter() - t0
    echo(f"runs stored in {tour.db}")
    echo(f"comparison table: {out / 'restarts-demo-compare.csv'}")
    if page is not None:
        echo(f"HTML report: {page.resolve()}")
    echo(f"done in {seconds:.1f} s")
    return {"runs": tour.runs, "compare": table, "store": tour.db, "report": page,
            "seconds": seconds, "skipped": skipped}
