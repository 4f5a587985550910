"""Benchmark: MLP restarts (64-32-10 on digits; 2-2-2 on XOR) — singles, solve_batch, sklearn.

Usage::

    python benchmarks/bench_mlp.py            # 32 restarts, 100 epochs, batch sizes 32, 200, full
    python benchmarks/bench_mlp.py --quick    # a few seconds
    python benchmarks/bench_mlp.py --batch-size 200 --restarts 16

For every mini-batch size and float type (``dtype`` float64, the default, and
float32; scikit-learn is given inputs of the same type, which it trains in), three
ways to train the same restarts (ReLU, Glorot-uniform weights, zero biases, Adam,
lr 1e-3, no L2, no early stopping), all on one BLAS
thread (``threadpoolctl.threadpool_limits(1)``):

(a) ``MLP(...)(None, rng_i)`` for each restart in turn;
(b) ``MLP(...).solve_batch(None, rngs)``: all restarts on stacked arrays;
(c) ``sklearn.neural_network.MLPClassifier(...).fit`` for each restart.

(a) and (b) alternate ``--repeats`` times; printed: the fastest seconds of each, the
batch speedup (a / b: the median of the repeats' ratios, with their range), the
ratio against scikit-learn
(b / c and a / c), the best final training log-loss of each method (on the whole
training set at the final weights), the largest relative difference between (a) and
(b), and the process's peak memory (``ru_maxrss``). Timings are noisy on a shared
machine: compare ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings

import numpy as np
from _common import alternate, peak_mib
from threadpoolctl import threadpool_limits

from restarts.solvers import MLP


def run(X, y, batch_size, restarts, epochs, hidden, dtype="float64", repeats=3):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import log_loss
    from sklearn.neural_network import MLPClassifier

    mlp = MLP(X, y, hidden=hidden, activation="relu", init="xavier_uniform",
              optimizer="adam", lr=1e-3, epochs=epochs, batch_size=batch_size, dtype=dtype)
    seeds = np.random.SeedSequence(2024).spawn(restarts)
    row = {"batch": "full" if batch_size is None else str(batch_size), "dtype": dtype}

    timed = alternate(lambda: [mlp(None, np.random.default_rng(s)) for s in seeds],
                      lambda: mlp.solve_batch(None, [np.random.default_rng(s) for s in seeds]),
                      repeats)
    singles, batch = timed["first"], timed["second"]
    row["single_s"], row["batch_s"] = timed["first_s"], timed["second_s"]
    row["speedup"], row["speedup_range"] = timed["ratio"], timed["ratio_range"]

    sk_losses = []
    t0 = time.perf_counter()
    for i in range(restarts):
        clf = MLPClassifier(hidden_layer_sizes=hidden, activation="relu", solver="adam",
                            learning_rate_init=1e-3, alpha=0.0, max_iter=epochs,
                            batch_size=len(X) if batch_size is None else batch_size,
                            tol=0.0, n_iter_no_change=epochs + 1, random_state=i)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X.astype(dtype), y)  # scikit-learn trains in the input's float type
        sk_losses.append(log_loss(y, clf.predict_proba(X)))
    row["sklearn_s"] = time.perf_counter() - t0
    row["sklearn_mem"] = peak_mib()

    row["best_single"] = min(r.fun for r in singles)
    row["best_batch"] = min(r.fun for r in batch)
    row["best_sklearn"] = min(sk_losses)
    row["max_rel_diff"] = max(
        max(abs(a.fun - b.fun) / abs(a.fun),
            float(np.max(np.abs(a.x - b.x)) / np.max(np.abs(a.x))))
        for a, b in zip(singles, batch, strict=True)
    )
    return row


def run_xor(restarts: int, epochs: int, repeats: int = 3) -> dict:
    """A tiny network (2-2-2 on XOR, full batch): where Python overhead dominates."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    mlp = MLP(X, y, hidden=(2,), activation="tanh", init="xavier_normal",
              optimizer="adam", lr=0.05, epochs=epochs)
    seeds = np.random.SeedSequence(7).spawn(restarts)
    timed = alternate(lambda: [mlp(None, np.random.default_rng(s)) for s in seeds],
                      lambda: mlp.solve_batch(None, [np.random.default_rng(s) for s in seeds]),
                      repeats)
    singles, batch = timed["first"], timed["second"]
    t0 = time.perf_counter()
    for i in range(restarts):
        clf = MLPClassifier(hidden_layer_sizes=(2,), activation="tanh", solver="adam",
                            learning_rate_init=0.05, alpha=0.0, max_iter=epochs, batch_size=4,
                            tol=0.0, n_iter_no_change=epochs + 1, random_state=i)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
    sklearn_s = time.perf_counter() - t0
    solved = sum(r.fun < 0.01 for r in batch)
    same = all(np.array_equal(a.x, b.x) for a, b in zip(singles, batch, strict=True))
    diff = max(abs(a.fun - b.fun) / abs(a.fun) for a, b in zip(singles, batch, strict=True))
    return {"single_s": timed["first_s"], "batch_s": timed["second_s"],
            "speedup": timed["ratio"], "speedup_range": timed["ratio_range"],
            "sklearn_s": sklearn_s, "solved": solved, "same": same, "diff": diff}


def speedup_text(r: dict) -> str:
    lo, hi = r["speedup_range"]
    return f"{r['speedup']:.1f}x ({lo:.1f}-{hi:.1f})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny settings, a few seconds")
    parser.add_argument("--restarts", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--dtype", choices=["float64", "float32", "both"], default="both")
    parser.add_argument("--repeats", type=int, default=None,
                        help="alternating single/batch measurements per row (default 3)")
    parser.add_argument("--batch-size", default=None,
                        help="one mini-batch size ('full' = whole training set); "
                             "default: 32, 200 and full")
    args = parser.parse_args(argv)

    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    restarts = args.restarts or (8 if args.quick else 32)
    epochs = args.epochs or (3 if args.quick else 100)
    if args.batch_size is None:
        sizes = [32, 200, None]
    else:
        sizes = [None if args.batch_size == "full" else int(args.batch_size)]
    hidden = (32,)
    repeats = args.repeats or (1 if args.quick else 3)

    print(f"MLP 64-{hidden[0]}-10 on load_digits ({len(X)} samples), {restarts} restarts, "
          f"{epochs} epochs, Adam lr=1e-3, ReLU, 1 BLAS thread; singles and batch "
          f"alternate {repeats}x")
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
    head = (f"{'batch':>6} {'dtype':>8} {'singles s':>10} {'batch s':>8} {'sklearn s':>10} "
            f"{'speedup (range)':>18} {'batch/sk':>9} {'single/sk':>10} {'best single':>12} "
            f"{'best batch':>11} {'best sklearn':>13} {'max rel diff':>13}")
    print(head)
    print("-" * len(head), flush=True)
    with threadpool_limits(1):
        for bs, dtype in itertools.product(sizes, dtypes):
            r = run(X, y, bs, restarts, epochs, hidden, dtype, repeats)
            speedup = speedup_text(r)
            print(f"{r['batch']:>6} {r['dtype']:>8} {r['single_s']:>10.2f} "
                  f"{r['batch_s']:>8.2f} {r['sklearn_s']:>10.2f} "
                  f"{speedup:>18} "
                  f"{r['batch_s'] / r['sklearn_s']:>9.3f} "
                  f"{r['single_s'] / r['sklearn_s']:>10.3f} {r['best_single']:>12.5f} "
                  f"{r['best_batch']:>11.5f} {r['best_sklearn']:>13.5f} "
                  f"{r['max_rel_diff']:>13.1e}", flush=True)
        xr = 20 if args.quick else 100
        xe = 100 if args.quick else 1000
        r = run_xor(xr, xe, repeats)
    print(f"\nXOR, 2-2-2 tanh network, {xr} restarts x {xe} epochs, full batch, Adam lr=0.05")
    print(f"{'singles s':>10} {'batch s':>8} {'sklearn s':>10} {'speedup (range)':>18} "
          f"{'batch/sk':>9} {'solved (loss<0.01)':>19} {'x == singles':>13} {'fun rel diff':>13}")
    print(f"{r['single_s']:>10.2f} {r['batch_s']:>8.3f} {r['sklearn_s']:>10.2f} "
          f"{speedup_text(r):>18} {r['batch_s'] / r['sklearn_s']:>9.3f} "
          f"{r['solved']:>15}/{xr} {str(r['same']):>13} {r['diff']:>13.1e}")
    print(f"peak memory (ru_maxrss): {peak_mib():.0f} MiB")
    print("speedup = singles / solve_batch (throughput ratio); batch/sk, single/sk = time "
          "ratios against 32 MLPClassifier fits (< 1: ours faster)")


if __name__ == "__main__":
    main()
