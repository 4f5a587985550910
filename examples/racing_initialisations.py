"""Racing restarts: safe when early losses rank the restarts as the final ones, not otherwise.

Racing (``strategy=rs.strategies.Racing(...)``, successive halving over restarts)
gives every restart a small budget, keeps the best third, triples their budget, and
so on: most of the compute goes to the initialisations that can still win. It is
only as good as the early ranking. A pilot run (``LossCurve``) records every
restart's loss at racing's rung budgets; ``rs.analysis.rung_agreement`` gives the
Spearman correlation of each rung's losses with the final ones and the rank of the
eventual winner there, and ``rs.analysis.racing_pilot`` replays racing on many
random draws of the restarts and says whether it is safe. Then the real race runs
with the same seed and is compared with the full run (the pilot's final losses:
restart ``i`` of the pilot is restart ``i`` of the full run).

Two problems:

- k-means with random initial centres on Gaussian blobs: a bad start is visibly bad
  after three iterations. Safe: racing finds the full run's best at a fraction of
  the iterations.
- the 64-32-10 network on scikit-learn's digits (ReLU, Adam, lr 1e-3, mini-batch
  32): after a few epochs the losses say little about where a restart ends, and the
  eventual winner ranks near the bottom. Not safe: racing returns a worse network.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.datasets import load_digits, make_blobs

import restarts as rs
from restarts.analysis import loss_curves, racing_pilot, rung_agreement
from restarts.strategies.racing import LossCurve


def problems(quick: bool) -> dict:
    """``{name: (solver, Racing, n_restarts)}`` (smaller sizes in quick mode)."""
    X, _ = make_blobs(5_000 if quick else 20_000, n_features=10, centers=12,
                      random_state=0)
    kmeans = rs.solvers.KMeans(X, 12, init="random", max_iter=81)
    digits = load_digits()
    n = 600 if quick else len(digits.data)
    net = rs.solvers.MLP(digits.data[:n] / 16, digits.target[:n], hidden=(32,),
                         activation="relu", init="xavier_uniform", lr=1e-3,
                         epochs=27 if quick else 81, batch_size=32)
    return {
        "k-means (random init), blobs": (kmeans, rs.strategies.Racing(eta=3, min_budget=3),
                                         27 if quick else 64),
        "64-32-10 network, digits": (net, rs.strategies.Racing(eta=3),  # first rung: 1/27
                                     27 if quick else 64),
    }


def study(solver, racing, n: int, seed: int = 0) -> dict:
    """Pilot, verdict, race and full run of one problem."""
    t0 = time.perf_counter()
    pilot = rs.multistart(LossCurve(solver, racing), n, rng=seed, n_jobs=2)
    t_pilot = time.perf_counter() - t0
    curves = loss_curves(pilot)
    agree = rung_agreement(pilot, eta=racing.eta)
    report = racing_pilot(pilot, eta=racing.eta)
    t0 = time.perf_counter()
    race = rs.multistart(solver, n, strategy=racing, rng=seed, n_jobs=2)
    t_race = time.perf_counter() - t0
    full_best = float(curves["fun"].iloc[:, -1].min())
    return {
        "budgets": agree["budget"].tolist(),
        "spearman": agree["spearman"].round(3).tolist(),
        "winner_rank": agree["winner_rank"].tolist(),
        "winner_kept": agree["winner_kept"].tolist(),
        "safe": bool(report["safe"]),
        "share_within": float(report["share_within"]),
        "verdict": report["verdict"],
        "full_best": full_best,
        "race_best": float(race.fun),
        "gap": (float(race.fun) - full_best) / abs(full_best),
        "compute": float(race.table["nit"].sum() / curves["nit"].iloc[:, -1].sum()),
        "seconds": {"pilot (= full run, unbatched)": t_pilot, "race": t_race},
        "n": n,
        "unit": solver.budget_unit,
    }


def main(quick: bool = False) -> dict:
    """Study both problems; print and return ``{problem: {...numbers...}}``."""
    out = {}
    for name, (solver, racing, n) in problems(quick).items():
        r = out[name] = study(solver, racing, n)
        print(f"{name}: {n} restarts, Racing(eta={racing.eta}, "
              f"min_budget={r['budgets'][0]}), full budget {r['budgets'][-1]} {r['unit']}")
        for b, rho, rank, kept in zip(r["budgets"][:-1], r["spearman"], r["winner_rank"],
                                      r["winner_kept"], strict=False):
            print(f"  after {b:>3} {r['unit']}: Spearman {rho:6.3f} with the final loss; "
                  f"the eventual winner ranks {rank:>2} of {n}"
                  f"{'' if kept else ' (out of the race)'}")
        print(f"  pilot: {r['verdict']}")
        print(f"  full run best {r['full_best']:.6g}; racing best {r['race_best']:.6g} "
              f"(gap {r['gap']:+.2%}) at {r['compute']:.2f}x the {r['unit']}")
    return out


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
