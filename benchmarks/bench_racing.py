"""Benchmark: racing restarts (successive halving) against running every restart in full.

Usage::

    python benchmarks/bench_racing.py           # 4 problems x 64 restarts x seeds 0-9;
                                                # rewrites its section of docs/benchmarks.md
    python benchmarks/bench_racing.py --quick   # small sizes, 2 seeds, prints only

For each problem and seed, with the same solver, ``n_starts`` and ``rng``:

- the full run: ``rs.multistart(solver, 64, rng=seed)`` (default batching: k-means
  and the networks train their restarts stacked in ``solve_batch``);
- the race: ``rs.multistart(solver, 64, rng=seed, strategy=Racing(eta, min_budget))``;
- a pilot, ``rs.multistart(LossCurve(solver, racing), 64, rng=seed)``: every
  restart's loss at each rung budget (not timed; its final losses are the full run's,
  checked, and successive halving replayed on it is the race, checked).

The full run and the race alternate (the order flips every seed) and both run on one
BLAS thread in this process. Reported per problem: the best-to-median spread of the
full run's final loss, racing's best against the full run's (relative gap; in how
many seeds within 0.5%, and in how many exactly the same loss), the compute ratio
(units actually run, the tables' ``nit`` summed over restarts: epochs or iterations;
converged k-means and EM restarts stop early in both runs), the wall-time ratio
(race / full, median over seeds), and per rung the Spearman correlation of the
restarts' losses with their final ones (median over seeds) and in how many seeds the
full run's winner survives the rung. Issue 17's targets: within 0.5% in >= 9 of 10
seeds at <= 0.35x the compute and <= 0.45x the wall time.

Racing's settings (``eta``, ``min_budget``) were chosen on seeds 100-102 with
``rs.analysis.racing_pilot`` (the smallest first rung whose replays stayed within 0.5%
of the full run's best in about 90% of draws or more); the seeds reported are 0-9.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import restarts as rs
from restarts.analysis import loss_curves, replay_racing, rung_agreement
from restarts.strategies.racing import LossCurve, rung_budgets

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- bench_racing.py writes from here -->"
END = "<!-- bench_racing.py writes up to here -->"
RTOL = 0.005


def problems(quick: bool) -> list[tuple[str, object, list[rs.strategies.Racing]]]:
    """``(name, solver, [racing, ...])`` of the four problems (smaller in quick mode)."""
    from sklearn.datasets import load_digits, make_blobs, make_moons
    from sklearn.decomposition import PCA

    X, y = make_moons(200, noise=0.2, random_state=0)
    moons = rs.solvers.MLP(X, y, hidden=(8,), activation="tanh", lr=0.05, epochs=270)
    n_blobs = 10_000 if quick else 100_000
    B, _ = make_blobs(n_blobs, n_features=20, centers=20, random_state=0)
    kmeans = rs.solvers.KMeans(B, 20, init="random")
    digits = load_digits()
    pca = PCA(10, random_state=0).fit_transform(digits.data)
    gmm = rs.solvers.GaussianMixture(pca, 10, covariance_type="full")
    gmm_random = rs.solvers.GaussianMixture(pca, 10, covariance_type="full", init="random")
    n_dig = 600 if quick else len(digits.data)
    net = rs.solvers.MLP(digits.data[:n_dig] / 16, digits.target[:n_dig], hidden=(32,),
                         activation="relu", init="xavier_uniform", lr=1e-3,
                         epochs=30 if quick else 100, batch_size=32)
    Racing = rs.strategies.Racing
    return [
        ("moons, 8 tanh units, full batch, 270 epochs", moons, [Racing(eta=2, min_budget=20)]),
        (f"k-means random init, blobs {n_blobs // 1000}k x 20, k=20", kmeans,
         [Racing(eta=4, min_budget=2)]),
        ("GMM full, digits PCA-10, k=10", gmm, [Racing(eta=4, min_budget=2)]),
        ("GMM full, random init, digits PCA-10, k=10", gmm_random,
         [Racing(eta=3, min_budget=5)]),
        # the default first rung (100 // 27 = 3 epochs), and the cheapest safe one
        (f"64-32-10 net, digits{' 600' if quick else ''}, Adam 1e-3, batch 32", net,
         [Racing(eta=3, min_budget=3), Racing(eta=2, min_budget=6 if quick else 20)]),
    ]


def one_seed(solver, racings: list, n: int, seed: int) -> list[dict]:
    """Pilot, then the full run and the races alternately; one seed's numbers per racing."""
    budgets = sorted(set().union(*(rung_budgets(*r.budgets(solver), r.eta) for r in racings)))
    pilot = rs.multistart(LossCurve(solver, budgets), n, rng=seed, n_jobs=2)
    curves = loss_curves(pilot)
    runs, times = {}, {}
    order = ["full", *range(len(racings))]
    for what in order if seed % 2 == 0 else order[::-1]:
        t0 = time.perf_counter()
        runs[what] = rs.multistart(solver, n, rng=seed, strategy="independent"
                                   if what == "full" else racings[what])
        times[what] = time.perf_counter() - t0
    full = runs["full"].table
    final = full["fun"].to_numpy()
    best = float(final.min())
    out = []
    for j, racing in enumerate(racings):
        race = runs[j].table
        replay = replay_racing(pilot, eta=racing.eta, min_budget=racing.min_budget)
        agree = rung_agreement(pilot, eta=racing.eta, min_budget=racing.min_budget)
        won = float(race["fun"].min())
        out.append({
            "pilot_is_full": bool(np.allclose(curves["fun"].iloc[:, -1].to_numpy(), final,
                                              rtol=1e-9, atol=0)),
            "replay_is_race": (replay["budget"].tolist() == race["budget"].tolist()
                               and bool(np.allclose(replay["fun"], race["fun"], rtol=1e-9,
                                                    atol=0))),
            "spread": (float(np.median(final)) - best) / abs(best),
            "gap": (won - best) / abs(best),
            "compute": float(race["nit"].sum()) / float(full["nit"].sum()),
            "t_full": times["full"], "t_race": times[j],
            "budgets": agree["budget"].tolist()[:-1],
            "spearman": agree["spearman"].tolist()[:-1],
            "kept": agree["winner_kept"].tolist()[:-1],
            "rank": agree["winner_rank"].tolist()[:-1],
        })
    return out


def summarize(name: str, racing, rows: list[dict]) -> dict:
    med = statistics.median
    k = len(rows)
    budgets = rows[0]["budgets"]
    return {
        "problem": name, "eta": racing.eta, "min_budget": budgets[0], "seeds": k,
        "spread": med(r["spread"] for r in rows),
        "gap_median": med(r["gap"] for r in rows), "gap_max": max(r["gap"] for r in rows),
        "within": sum(r["gap"] <= RTOL for r in rows),
        "same": sum(r["gap"] <= 1e-9 for r in rows),
        "compute": med(r["compute"] for r in rows),
        "t_full": med(r["t_full"] for r in rows), "t_race": med(r["t_race"] for r in rows),
        "wall": med(r["t_race"] / r["t_full"] for r in rows),
        "budgets": budgets,
        "spearman": [med(r["spearman"][j] for r in rows) for j in range(len(budgets))],
        "rank": [med(r["rank"][j] for r in rows) for j in range(len(budgets))],
        "kept": [sum(r["kept"][j] for r in rows) for j in range(len(budgets))],
        "checks": all(r["pilot_is_full"] and r["replay_is_race"] for r in rows),
    }


def report(s: dict) -> None:
    """Print one summary row and its rungs."""
    label = f"{s['problem']} [eta={s['eta']}, min={s['min_budget']}]"
    print(f"{label:<72}{s['spread']:>8.4f}{s['gap_median']:>9.5f}{s['gap_max']:>9.5f}"
          f"{s['within']:>5}/{s['seeds']:<2}{s['same']:>3}/{s['seeds']:<2}"
          f"{s['compute']:>9.3f}{s['t_full']:>8.2f}{s['t_race']:>8.2f}{s['wall']:>7.2f}"
          f"  {s['checks']}", flush=True)
    for b, r, rank, k in zip(s["budgets"], s["spearman"], s["rank"], s["kept"], strict=True):
        print(f"    rung {b:>4}: spearman {r:6.3f}  winner rank {rank:5.1f}  "
              f"winner kept {k}/{s['seeds']}")


def markdown(summaries: list[dict], n: int, seeds: list[int], elapsed: float) -> str:
    lines = [
        BEGIN,
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
        f"{n} restarts, seeds {seeds[0]}-{seeds[-1]}, one BLAS thread, "
        f"`n_jobs=1` for both runs ({elapsed / 60:.1f} min in all).",
        "",
        "| problem | racing | spread (median - best) / best | racing gap median (max) "
        "| within 0.5% | same best | compute ratio | full s | racing s | wall ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        lines.append(
            f"| {s['problem']} | eta={s['eta']}, min_budget={s['min_budget']} "
            f"| {s['spread']:.2%} | {s['gap_median']:.3%} ({s['gap_max']:.3%}) "
            f"| {s['within']}/{s['seeds']} | {s['same']}/{s['seeds']} | {s['compute']:.3f} "
            f"| {s['t_full']:.2f} | {s['t_race']:.2f} | {s['wall']:.2f} |")
    lines += ["", "Per rung (budget: median over seeds of the Spearman rho of the losses "
              "there with the final losses, and of the full run's winner's rank there; "
              f"seeds in which the winner survived the rung, of {summaries[0]['seeds']}):",
              "", "| problem | racing | rungs |", "|---|---|---|"]
    for s in summaries:
        cells = "; ".join(f"{b}: rho {r:.2f}, rank {rank:g}, kept {k}"
                          for b, r, rank, k in zip(s["budgets"], s["spearman"], s["rank"],
                                                   s["kept"], strict=True))
        lines.append(f"| {s['problem']} | eta={s['eta']}, min_budget={s['min_budget']} "
                     f"| {cells} |")
    lines += ["", END]
    return "\n".join(lines)


def write_section(path: Path, text: str) -> None:
    """Replace the text between ``BEGIN`` and ``END`` in ``path`` (append if absent)."""
    old = path.read_text() if path.exists() else ""
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + text + old[old.index(END) + len(END):]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 2 seeds")
    parser.add_argument("--seeds", type=int, default=None, help="seeds 0..seeds-1")
    parser.add_argument("--restarts", type=int, default=None)
    parser.add_argument("--out", default=None,
                        help="Markdown page whose section to rewrite (default: "
                             "docs/benchmarks.md; none with --quick)")
    args = parser.parse_args(argv)
    seeds = list(range(args.seeds or (2 if args.quick else 10)))
    n = args.restarts or (27 if args.quick else 64)
    out = args.out or (None if args.quick else str(ROOT / "docs" / "benchmarks.md"))
    header = (f"{'problem [racing]':<72}{'spread':>8}{'gap_med':>9}{'gap_max':>9}{'within':>8}"
              f"{'same':>6}{'compute':>9}{'full_s':>8}{'race_s':>8}{'wall':>7}  checks")
    print(header)
    print("-" * len(header))
    summaries = []
    t0 = time.perf_counter()
    with threadpool_limits(1):
        for name, solver, racings in problems(args.quick):
            per_seed = [one_seed(solver, racings, n, seed) for seed in seeds]
            for j, racing in enumerate(racings):
                s = summarize(name, racing, [rows[j] for rows in per_seed])
                summaries.append(s)
                report(s)
    elapsed = time.perf_counter() - t0
    print(f"elapsed: {elapsed:.0f} s")
    if out:
        write_section(Path(out), markdown(summaries, n, seeds, elapsed))
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
