"""Why network weights start random: equal weights never break their symmetry.

The same one-hidden-layer tanh network (16 units) is trained on two concentric circles
— a problem one hidden unit cannot solve — from five initialisations: all zeros, all
0.5, small uniform noise U(-1e-3, 1e-3), Xavier/Glorot normal and He normal. For each
we report the number of *distinct* hidden units during training (16 means every unit
computes a different function), the final loss, and the fraction of restarts (each
from its own random draw) that fit the training set (accuracy >= 95%).

What it shows: with equal weights every hidden unit receives the same gradient, so
all 16 stay one unit forever and the network is stuck at the loss of a single unit
(log 2 here); any random draw — even a tiny one, for this shallow network — breaks
the tie and every restart succeeds. (Small random numbers stop being enough once the
network is deep; see ``init_depth.py``.)

Run ``python examples/symmetry_breaking.py``; it prints the table and writes
``symmetry_breaking.png``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import make_circles

import restarts as rs

INITS = {
    "zeros": ("zeros", {}),
    "constant 0.5": ("constant", {"value": 0.5}),
    "small uniform": ("uniform", {"low": -1e-3, "high": 1e-3}),
    "xavier": ("xavier_normal", {}),
    "he": ("he_normal", {}),
}
HIDDEN = 16


def main(quick: bool = False, figure: str | None = "symmetry_breaking.png") -> dict:
    """Train from each initialisation; return ``{init: {...numbers...}}``.

    ``quick`` uses fewer restarts and epochs; no figure is written then.
    """
    X, y = make_circles(200, noise=0.05, factor=0.5, random_state=0)
    epochs = 150 if quick else 300
    n_restarts = 6 if quick else 20
    checkpoints = [1, 10, 30, 100, epochs]

    def mlp(init: str, params: dict, n_epochs: int) -> rs.solvers.MLP:
        return rs.solvers.MLP(X, y, hidden=(HIDDEN,), activation="tanh", init=init,
                              init_params=params, lr=0.05, epochs=n_epochs)

    out, curves = {}, {}
    for label, (init, params) in INITS.items():
        # Full-batch training is deterministic given the initial weights, so training
        # for e epochs from the same draw is the state of one run after e epochs.
        units = [mlp(init, params, e)(None, np.random.default_rng(0)).extra["distinct_units"][0]
                 for e in checkpoints]
        run = rs.multistart(mlp(init, params, epochs), n_restarts, rng=1, n_jobs=2)
        acc = np.array([r.extra["train_accuracy"] for r in run.results])
        curves[label] = run.results[0].extra["loss_curve"]
        out[label] = {
            "distinct_units": units,
            "final_loss": float(np.median(run.table["fun"])),
            "success_rate": float(np.mean(acc >= 0.95)),
        }

    table = pd.DataFrame(
        {
            "distinct units at epochs " + "/".join(map(str, checkpoints)):
                ["/".join(map(str, v["distinct_units"])) for v in out.values()],
            "median final loss": [round(v["final_loss"], 4) for v in out.values()],
            f"success over {n_restarts} restarts": [v["success_rate"] for v in out.values()],
        },
        index=list(out),
    )
    print(table.to_string())

    if not quick and figure:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 3.5), layout="constrained")
        ax = fig.add_subplot()
        for label, curve in curves.items():
            ax.semilogy(np.arange(1, len(curve) + 1), curve, label=label,
                        linestyle="--" if label == "zeros" else "-")  # under "constant"
        ax.set(xlabel="epoch", ylabel="training loss (cross-entropy)",
               title=f"{HIDDEN} tanh units on two circles, restart 0")
        ax.legend()
        fig.savefig(figure, dpi=120)
        print(f"figure: {figure}")
    return out


if __name__ == "__main__":
    main()
