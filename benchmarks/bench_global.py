"""Restart strategies vs SciPy's global optimizers over the whole problem suite.

Every method of :func:`restarts.compare` runs on every suite problem (shifted off
centre, a new offset per repeat), 20 repeats, at the default budget (what
``differential_evolution`` uses with its defaults on that problem). Writes
``docs/benchmarks-global.md``: solved counts (a problem is solved by a method when
>= 90% of its repeats reach ``f_min`` within ``1e-4 * max(1, |f_min|)``), success
rates and median evaluations to success per problem, a data profile, and the same
for unshifted versions of the centred problems (where DIRECT and SHGO profit from
sampling the centre first).

Usage::

    PYTHONPATH=. python benchmarks/bench_global.py            # full run (~15-20 min, 2 cores)
    PYTHONPATH=. python benchmarks/bench_global.py --quick    # smoke run (< 1 min), ./*-quick.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import restarts as rs  # noqa: E402
from restarts.comparison import METHODS  # noqa: E402

RESTARTS = ["multistart", "tiktak", "mlsl"]
SCIPY = [m for m in METHODS if m not in RESTARTS]
SOLVED = 0.9  # share of repeats that must succeed for a problem to count as solved

# (name, dim): every built-in problem but powell (its default budget, ~60,000
# evaluations at d=4, would double the run time alone); dimensions chosen so that d
# spans 2 to 10 while DE's default budget and SHGO's triangulation (2^d vertices,
# ~8 s per run at d=10) stay affordable.
SUITE: list[tuple[str, int | None]] = [
    ("ackley", 3), ("beale", None), ("bohachevsky", None), ("booth", None),
    ("branin", None), ("bukin6", None), ("cross_in_tray", None), ("dixon_price", 6),
    ("drop_wave", None), ("easom", None), ("eggholder", None), ("goldstein_price", None),
    ("griewank", 3), ("hartmann3", None), ("hartmann6", None), ("himmelblau", None),
    ("holder_table", None), ("levy", 4), ("matyas", None), ("mccormick", None),
    ("michalewicz", 5), ("rastrigin", 5), ("rosenbrock", 3), ("schwefel", 3),
    ("shekel5", None), ("shekel7", None), ("shekel10", None), ("shubert", None),
    ("six_hump_camel", None), ("sphere", 3), ("styblinski_tang", 10),
    ("sum_of_different_powers", 4), ("trid", 6), ("zakharov", 3),
]
# Problems whose optimum sits at the centre of the box (reported unshifted too).
CENTRED = [("ackley", 3), ("bohachevsky", None), ("drop_wave", None), ("griewank", 3),
           ("matyas", None), ("rastrigin", 5), ("sphere", 3), ("sum_of_different_powers", 4),
           ("zakharov", 3)]
QUICK = [("branin", None), ("hartmann3", None), ("shekel5", None), ("rastrigin", 2),
         ("styblinski_tang", 3)]


def run(suite: list, repeats: int, shift: bool, n_jobs: int, rng: int) -> pd.DataFrame:
    frames = []
    for name, dim in suite:
        t0 = time.perf_counter()
        df = rs.compare(name, dim=dim, repeats=repeats, rng=rng, n_jobs=n_jobs, shift=shift)
        df.insert(1, "dim", int(rs.problems.get(name, dim=dim).dim))
        df["problem"] = name  # one label per function, shifted or not
        frames.append(df)
        rate = df.groupby("method", sort=False)["success"].mean()
        print(f"{name:24s} d={df['dim'].iloc[0]:<3d} budget={df['budget'].iloc[0]:<7d} "
              f"{time.perf_counter() - t0:6.1f}s  "
              + " ".join(f"{m[:6]}={rate[m]:.2f}" for m in rate.index), flush=True)
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------


def rates(df: pd.DataFrame) -> pd.DataFrame:
    """Success rate per problem (rows) and method (columns)."""
    out = df.pivot_table(index=["problem", "dim", "budget"], columns="method",
                         values="success", aggfunc="mean")
    return out[[m for m in METHODS if m in out.columns]]


def median_nfev(df: pd.DataFrame) -> pd.DataFrame:
    """Median evaluations to success over successful runs (NaN when none)."""
    ok = df[df["success"]]
    out = ok.pivot_table(index="problem", columns="method", values="nfev_to_success",
                         aggfunc="median")
    return out.reindex(index=rates(df).index.get_level_values(0),
                       columns=[m for m in METHODS if m in df["method"].unique()])


def solved_counts(df: pd.DataFrame) -> pd.DataFrame:
    r = rates(df)
    counts = (r >= SOLVED).sum()
    mean_rate = r.mean()
    return pd.DataFrame({"solved (>= 90% of repeats)": counts,
                         "mean success rate": mean_rate.round(3),
                         "of problems": len(r)}).rename_axis("method")


def data_profile(df: pd.DataFrame, levels=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0)) -> pd.DataFrame:
    """Share of (problem, repeat) runs solved within a fraction of the budget.

    Moré & Wild's data profile with the budget as unit: a run counts at level ``a``
    when its best-so-far met the success threshold within ``a * budget`` evaluations.
    """
    frac = df["nfev_to_success"] / df["budget"]
    rows = {}
    for m, g in frac.groupby(df["method"], sort=False):
        rows[m] = {f"{a:g} x budget": float((g <= a).mean()) for a in levels}
    out = pd.DataFrame(rows).T.rename_axis("method")
    return out.loc[[m for m in METHODS if m in out.index]].round(3)


def head_to_head(df: pd.DataFrame, best_r: str, best_s: str) -> tuple[int, int, int, float]:
    """On problems both solve: how often each needs fewer median evaluations, and the
    geometric mean of the ratio (best_r / best_s) of median evaluations."""
    r, n = rates(df), median_nfev(df)
    both = [p for p in r.index.get_level_values(0)
            if r.xs(p, level=0)[best_r].iloc[0] >= SOLVED
            and r.xs(p, level=0)[best_s].iloc[0] >= SOLVED]
    wins = sum(n.loc[p, best_r] < n.loc[p, best_s] for p in both)
    losses = sum(n.loc[p, best_r] > n.loc[p, best_s] for p in both)
    ratios = [math.log(n.loc[p, best_r] / n.loc[p, best_s]) for p in both]
    geo = math.exp(sum(ratios) / len(ratios)) if ratios else math.nan
    return len(both), wins, losses, geo


def _md(df: pd.DataFrame, fmt=None) -> str:
    """A markdown table without the optional 'tabulate' dependency."""
    df = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df
    cols = [str(c) for c in df.columns]

    def cell(v):
        if isinstance(v, float):
            if math.isnan(v):
                return "–"
            return fmt(v) if fmt else f"{v:.3g}"
        return str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def best_of(counts: pd.DataFrame, group: list[str]) -> str:
    sub = counts.loc[[m for m in group if m in counts.index]]
    key = sub["solved (>= 90% of repeats)"] + sub["mean success rate"] / 10  # ties: mean rate
    return str(key.idxmax())


def report(shifted: pd.DataFrame, plain: pd.DataFrame | None, args, elapsed: float) -> str:
    counts = solved_counts(shifted)
    best_r, best_s = best_of(counts, RESTARTS), best_of(counts, SCIPY)
    n_both, wins, losses, geo = head_to_head(shifted, best_r, best_s)
    dims = sorted(shifted["dim"].unique())
    parts = [
        "# Restart strategies vs SciPy's global optimizers",
        "",
        f"Generated by `benchmarks/bench_global.py{' --quick' if args.quick else ''}` on "
        f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC "
        f"({platform.python_version()}, {os.cpu_count()} CPUs, n_jobs={args.n_jobs}"
        + (f", {elapsed / 60:.1f} min" if elapsed else "")
        + "). Timings are wall-clock on a shared machine.",
        "",
        f"- {shifted['problem'].nunique()} problems from `rs.problems` (d = {dims[0]} to "
        f"{dims[-1]}), every method of `rs.compare`, {args.repeats} repeats each, "
        "**shifted**: each repeat moves the optimum off-centre by its own seeded offset "
        "(`rs.problems.get(name, dim, shift=seed)`), the same instance for every method.",
        "- Budget: the evaluations `differential_evolution` uses with its defaults on the "
        "problem (one run), the same for every method; every call of `fun` counts "
        "(finite-difference gradients included) and every method is stopped hard when "
        "the budget is spent.",
        "- Success: `f_best - f_min <= 1e-4 * max(1, |f_min|)`. Solved: success in "
        f">= {SOLVED:.0%} of repeats.",
        "- Settings: see *How `rs.compare`'s settings were chosen* below (restart "
        "strategies use L-BFGS-B local "
        "searches; SciPy methods their defaults with budget-matching iteration limits). "
        "`multistart` is naive independent restarts from uniform points.",
        "- Not in the suite: `powell` (DE's default budget, ~60,000 evaluations at d=4, "
        "would double the run time on its own).",
        "- Reading the data profile: under a budget TikTak runs one local search at once from "
        "the best of the first d + 1 Sobol' points (its warm start), then draws its sample in "
        "growing cycles (20 d points first, 4 times more each cycle, each at most 10% of the "
        "budget left) and runs a full TikTak pass on each; MLSL's first round is one point. So "
        "TikTak starts searching after d + 1 evaluations and MLSL after one, rather than after "
        "10% of the budget (one up-front sample, the paper's plan, took up to 10 times more "
        "evaluations to succeed on easy problems). Every second TikTak search is a coordinate "
        "move (the incumbent with one coordinate from a kept Sobol' point), and half of each "
        "MLSL round probes coordinate lines through its best minimum; both are what make 5-d "
        "Rastrigin, 3-d Ackley and 10-d Styblinski-Tang solvable for them (the strategies' "
        "module docstrings give the measurements).",
        "",
        "## Solved problems (shifted)",
        "",
        _md(counts),
        "",
        f"Best restart strategy: **{best_r}** ({int(counts.loc[best_r].iloc[0])} solved); "
        f"best SciPy method: **{best_s}** ({int(counts.loc[best_s].iloc[0])} solved). On the "
        f"{n_both} problems both solve, {best_r} needs fewer median evaluations to success "
        f"on {wins} and more on {losses}; the geometric mean of its median evaluations "
        f"over {best_s}'s on them is {geo:.3f}.",
        "",
        "## Data profile (shifted)",
        "",
        "Share of all (problem, repeat) runs that reached success within a fraction of "
        "the budget (Moré & Wild's data profile, budget-normalised).",
        "",
        _md(data_profile(shifted)),
        "",
        "## Success rate per problem (shifted)",
        "",
        _md(rates(shifted), fmt=lambda v: f"{v:.2f}"),
        "",
        "## Median evaluations to success (shifted)",
        "",
        "Over the successful repeats; – where none succeeded.",
        "",
        _md(median_nfev(shifted), fmt=lambda v: f"{v:.0f}"),
        "",
    ]
    if plain is not None:
        parts += [
            "## Unshifted, centred problems (reported separately)",
            "",
            "The published versions of the problems whose optimum is the centre of the "
            "box. DIRECT and SHGO sample the centre first, so these numbers measure "
            "central bias more than search.",
            "",
            _md(solved_counts(plain)),
            "",
            _md(rates(plain), fmt=lambda v: f"{v:.2f}"),
            "",
        ]
    return "\n".join(parts)


#: Everything from this line on in the Markdown page is hand-written and kept.
KEEP = "<!-- Sections below are written by hand; bench_global.py keeps them. -->"


def _write(path: Path, text: str) -> None:
    """Write the generated page, keeping the hand-written sections after ``KEEP``."""
    old = path.read_text() if path.exists() else ""
    kept = old[old.index(KEEP):] if KEEP in old else ""
    path.write_text(text + "\n" + ("\n" + kept if kept else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few problems, 3 repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--n-jobs", type=int, default=2, dest="n_jobs")
    parser.add_argument("--rng", type=int, default=0)
    parser.add_argument("--no-unshifted", action="store_true",
                        help="skip the unshifted centred problems")
    parser.add_argument("--out", default=None,
                        help="the Markdown report (default: docs/benchmarks-global.md; with "
                             "--quick, benchmarks-global-quick.md here, so a smoke run never "
                             "replaces the published tables)")
    parser.add_argument("--csv", default=None, help="also write the full table here")
    parser.add_argument("--from-csv", default=None, dest="from_csv",
                        help="rebuild the report from a table written with --csv, no runs")
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (3 if args.quick else 20)
    if args.out is None:
        args.out = ("benchmarks-global-quick.md" if args.quick else
                    str(Path(__file__).resolve().parents[1] / "docs" / "benchmarks-global.md"))
    if args.from_csv:
        table = pd.read_csv(args.from_csv)
        args.repeats = int(table["repeat"].max()) + 1
        plain = table[~table["shifted"]]
        text = report(table[table["shifted"]], plain if len(plain) else None, args, 0.0)
        _write(Path(args.out), text)
        print(f"wrote {args.out} from {args.from_csv}")
        return 0
    suite = QUICK if args.quick else SUITE
    t0 = time.perf_counter()
    print("# shifted")
    shifted = run(suite, args.repeats, True, args.n_jobs, args.rng)
    plain = None
    if not args.no_unshifted:
        print("# unshifted, centred")
        centred = [("rastrigin", 2)] if args.quick else CENTRED
        plain = run(centred, args.repeats, False, args.n_jobs, args.rng)
    elapsed = time.perf_counter() - t0
    text = report(shifted, plain, args, elapsed)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    _write(Path(args.out), text)
    if args.csv:
        both = [shifted.assign(shifted=True)]
        if plain is not None:
            both.append(plain.assign(shifted=False))
        pd.concat(both, ignore_index=True).to_csv(args.csv, index=False)
    print(solved_counts(shifted).to_string())
    print(f"wrote {args.out} in {elapsed / 60:.1f} min")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
