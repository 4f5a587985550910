"""Restarting a local method against SciPy's global optimisers, on one budget.

:func:`restarts.compare` runs restart strategies — independent uniform restarts of
L-BFGS-B (``multistart``), TikTak and MLSL — and SciPy's ``basinhopping``,
``differential_evolution``, ``dual_annealing`` and ``direct`` on the same test
problems with the same budget of objective evaluations, counted by the library
itself. Each repeat shifts the problem (the optimum moves), so no method is helped
by an optimum at the centre of the box. We print the success rate (reaching the
known global minimum to 1e-4) and median gap per problem and method, and the
Dolan–Moré performance profile: for each method the share of (problem, repeat)
instances it solved within ``tau`` times the evaluations of the cheapest method.

What it shows: on smooth problems with a few basins, restarting a good local
method is as reliable as the global methods and often the cheapest; on a highly
multimodal one (Rastrigin, about 11^4 local minima in 4-d) independent L-BFGS-B
restarts rarely reach the global minimum on this budget while dual annealing,
designed for such landscapes, does — restarts raise the probability of finding the
global optimum, they do not guarantee it. Run with ``python
examples/restarts_vs_global.py``; it writes ``performance_profile.png``.
"""

from __future__ import annotations

import pandas as pd

import restarts as rs
from restarts.analysis import performance_profile, summarize_comparison

METHODS = ["multistart", "tiktak", "mlsl", "basinhopping", "differential_evolution",
           "dual_annealing", "direct"]


def main(quick: bool = False, figure: str | None = "performance_profile.png") -> dict:
    """Compare the methods; return the summary and profile tables."""
    if quick:
        problems = [("six_hump_camel", None), ("hartmann3", None)]
        methods = ["multistart", "tiktak", "differential_evolution", "direct"]
        budget, repeats = 300, 2
    else:
        problems, methods = [("six_hump_camel", None), ("hartmann3", None),
                             ("rastrigin", 4)], METHODS
        budget, repeats = 2000, 4
    tables = []
    for name, dim in problems:
        df = rs.compare(name, methods=methods, budget=budget, repeats=repeats, dim=dim,
                        shift=True, rng=0, n_jobs=1 if quick else 2)
        tables.append(pd.DataFrame(df))  # a plain copy: attrs hold per-run traces
    for t in tables:
        t.attrs = {}
    table = pd.concat(tables, ignore_index=True)

    summary = summarize_comparison(table)
    wide = summary.pivot(index="method", columns="problem", values="success_rate")
    gaps = summary.pivot(index="method", columns="problem", values="median_gap")
    taus = [1, 2, 5, 10, 100]
    profile = performance_profile(table, taus=taus).pivot(index="method", columns="tau",
                                                          values="fraction")
    print(f"budget {budget} evaluations, {repeats} shifted repeats per problem")
    print("\nsuccess rate")
    print(wide.to_string(float_format=lambda v: f"{v:.2f}"))
    print("\nmedian gap to the global minimum")
    print(gaps.to_string(float_format=lambda v: f"{v:.2g}"))
    print("\nperformance profile: share of instances solved within tau x the best's evaluations")
    print(profile.to_string(float_format=lambda v: f"{v:.2f}"))

    if not quick and figure:
        rs.plot.performance_profile(table, path=figure)
        print(f"figure: {figure}")
    return {"table": table, "summary": summary, "profile": profile, "budget": budget,
            "n_instances": len(problems) * repeats}


if __name__ == "__main__":
    main()
