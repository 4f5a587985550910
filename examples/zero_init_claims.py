"""Checking the common claims about zero (equal) initialisation, with numbers.

Each claim below is tested on a small network (8 hidden units, two concentric
circles) or a test function, and gets a verdict: supported, not supported, or
partly. The mechanism behind most of them: if all hidden units of a layer start
with the same incoming and outgoing weights, they compute the same activation, so
the chain rule hands them the same gradient, so they make the same update and are
still equal after it — by induction, forever. Nothing in that argument uses the
value zero.

Claims checked:

1. Every unit of an equally initialised layer computes the same function and gets
   the same update — for any equal value, not only zero.
2. Such a layer is no more expressive than a single unit.
3. With all-zero weights and tanh (or ReLU), the hidden weights never move at all;
   with sigmoid they move, but stay identical.
4. Zero initialisation is harmless when there is no hidden layer (a convex model).
5. "Restarts reach the global optimum."
6. "Randomness itself (entropy) is what makes training work."
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import make_circles, make_moons

import restarts as rs

HIDDEN = 8


def _frac_init(shape, rng=None):
    """A deterministic, non-random but asymmetric init with Xavier's variance.

    Weights ``a (2 frac(k phi) - 1)`` for ``k = 1, 2, ...``: a golden-ratio (Weyl)
    sequence, equidistributed in ``(-a, a)`` — every unit different, no randomness.
    """
    fan_in, fan_out = shape
    a = np.sqrt(6.0 / (fan_in + fan_out))
    k = np.arange(1, fan_in * fan_out + 1, dtype=float)
    return (a * (2.0 * np.mod(k * (np.sqrt(5.0) - 1.0) / 2.0, 1.0) - 1.0)).reshape(shape)


def main(quick: bool = False) -> dict:
    """Run every check; return the numbers and a verdict per claim."""
    X, y = make_circles(200, noise=0.05, factor=0.5, random_state=0)
    epochs = 100 if quick else 300
    n_restarts = 4 if quick else 10
    out: dict = {}

    def mlp(**kw) -> rs.solvers.MLP:
        kw = {"hidden": (HIDDEN,), "activation": "tanh", "lr": 0.05, "epochs": epochs, **kw}
        return rs.solvers.MLP(X, y, **kw)

    # 1. same function, same update, for any equal value
    grad_gap, units_after = {}, {}
    for value in (0.0, 0.5, -0.3):
        net = mlp(init="constant", init_params={"value": value}, bias_init=value)
        x0 = np.full(net.n_params, value)
        _, g = net.loss_grad(x0)
        gw1, gb1 = net.unflatten(g)[0]
        grads = np.vstack([gw1, gb1])  # one column per hidden unit
        grad_gap[value] = float(np.max(np.abs(grads - grads[:, :1])))
        units_after[value] = net(x0, np.random.default_rng(0)).extra["distinct_units"][0]
    out["1_grad_gap"] = grad_gap
    out["1_units_after_training"] = units_after

    # 2. no more expressive than one unit: the trained equal network IS a 1-unit network
    net = mlp(init="constant", init_params={"value": 0.5})
    trained = net(None, np.random.default_rng(0))
    (w1, b1), (w2, b2) = net.unflatten(trained.x)
    one = mlp(hidden=(1,), init="xavier_normal")
    collapsed = np.concatenate([w1[:, 0], b1[:1], HIDDEN * w2[0], b2])
    out["2_loss_equal_init"] = trained.fun
    out["2_loss_as_one_unit"] = one.loss_grad(collapsed)[0]
    best_one = rs.multistart(one, n_restarts, rng=0)
    out["2_best_loss_one_unit"] = best_one.fun
    free = rs.multistart(mlp(init="xavier_normal"), n_restarts, rng=0)
    out["2_best_loss_random_init"] = free.fun

    # 3. all zeros: tanh/relu hidden weights frozen; sigmoid moves them, identically
    for act in ("tanh", "relu", "sigmoid"):
        r = mlp(init="zeros", activation=act)(None, np.random.default_rng(0))
        (w1, b1), (w2, _) = mlp(activation=act).unflatten(r.x)
        out[f"3_{act}_max_abs_hidden_weight"] = float(max(np.abs(w1).max(), np.abs(b1).max()))
        out[f"3_{act}_distinct_units"] = r.extra["distinct_units"][0]

    # 4. no hidden layer: zeros vs random reach the same (convex) optimum; on two moons,
    # which a line separates fairly well (the circles it cannot separate at all)
    Xm, ym = make_moons(200, noise=0.1, random_state=0)

    def linear(init: str) -> rs.solvers.MLP:
        return rs.solvers.MLP(Xm, ym, hidden=(), init=init, lr=0.05, epochs=4 * epochs)

    linear_zero = linear("zeros")(None, np.random.default_rng(0))
    linear_rand = rs.multistart(linear("xavier_normal"), n_restarts, rng=0)
    out["4_linear_loss_zeros"] = linear_zero.fun
    out["4_linear_loss_random_best"] = linear_rand.fun

    # 5. restarts and the global optimum: a 10-d Rastrigin function, L-BFGS-B restarts
    prob = rs.problems.get("rastrigin", dim=10)
    run = rs.multistart(rs.solvers.Minimize(prob.fun, bounds=prob.bounds), 10 * n_restarts,
                        starts=rs.starts.Sobol(prob.bounds), rng=0)
    out["5_rastrigin_restarts"] = len(run.table)
    out["5_rastrigin_gap"] = float(run.fun - prob.f_min)
    out["5_rastrigin_distinct_optima"] = int(len(run.solutions))
    funs = run.table["fun"].to_numpy()
    out["5_best_of_first_10"] = float(funs[:10].min() - prob.f_min)

    # 6. a deterministic asymmetric init trains as well as a random one
    det = mlp(init=_frac_init)(None, np.random.default_rng(0))
    acc = [r.extra["train_accuracy"] for r in free.results]
    out["6_det_init_accuracy"] = det.extra["train_accuracy"]
    out["6_det_init_distinct_units"] = det.extra["distinct_units"][0]
    out["6_random_init_accuracy_median"] = float(np.median(acc))

    v = {
        "1": all(g <= 1e-12 for g in grad_gap.values())
        and all(u == 1 for u in units_after.values()),
        "2": abs(out["2_loss_equal_init"] - out["2_loss_as_one_unit"]) < 1e-9
        and out["2_loss_equal_init"] >= out["2_best_loss_one_unit"] - 1e-3,
        "3": out["3_tanh_max_abs_hidden_weight"] == 0.0 and out["3_relu_max_abs_hidden_weight"]
        == 0.0 and out["3_sigmoid_max_abs_hidden_weight"] > 1e-3
        and out["3_sigmoid_distinct_units"] == 1,
        "4": abs(out["4_linear_loss_zeros"] - out["4_linear_loss_random_best"]) < 1e-3,
        "5": out["5_rastrigin_gap"] <= 1e-6,
        "6": out["6_det_init_accuracy"] < out["6_random_init_accuracy_median"] - 0.05,
    }
    verdicts = {
        "1 equal init: same function and update, any value": (
            "supported" if v["1"] else "NOT supported",
            f"gradient columns differ by <= {max(grad_gap.values()):.1g} for values 0, 0.5, "
            f"-0.3; distinct units after training: {sorted(set(units_after.values()))}"),
        "2 the layer is no better than one unit": (
            "supported" if v["2"] else "NOT supported",
            f"loss {out['2_loss_equal_init']:.4f} = the 1-unit net's "
            f"{out['2_loss_as_one_unit']:.4f} (best 1-unit restart "
            f"{out['2_best_loss_one_unit']:.4f}); random init reaches "
            f"{out['2_best_loss_random_init']:.4f}"),
        "3 zeros: tanh/relu frozen, sigmoid moves": (
            "supported" if v["3"] else "NOT supported",
            f"max |hidden weight| tanh {out['3_tanh_max_abs_hidden_weight']:.1g}, relu "
            f"{out['3_relu_max_abs_hidden_weight']:.1g}, sigmoid "
            f"{out['3_sigmoid_max_abs_hidden_weight']:.2g} with "
            f"{out['3_sigmoid_distinct_units']} distinct unit"),
        "4 zeros are fine without hidden layers": (
            "supported" if v["4"] else "NOT supported",
            f"loss from zeros {out['4_linear_loss_zeros']:.4f} vs random "
            f"{out['4_linear_loss_random_best']:.4f}"),
        "5 restarts reach the global optimum": (
            "supported" if v["5"] else "not supported",
            f"{out['5_rastrigin_restarts']} restarts on 10-d Rastrigin: "
            f"{out['5_rastrigin_distinct_optima']} distinct optima, best gap "
            f"{out['5_rastrigin_gap']:.3g} (first 10: {out['5_best_of_first_10']:.3g}); "
            "more restarts help, nothing guarantees"),
        "6 randomness itself makes training work": (
            "supported" if v["6"] else "not supported",
            f"a deterministic asymmetric init: accuracy {out['6_det_init_accuracy']:.2f}, "
            f"{out['6_det_init_distinct_units']} distinct units; random init median "
            f"{out['6_random_init_accuracy_median']:.2f}. Asymmetry and scale matter"),
    }
    out["verdicts"] = {k: verdict for k, (verdict, _) in verdicts.items()}
    table = pd.DataFrame(verdicts, index=["verdict", "evidence"]).T
    with pd.option_context("display.max_colwidth", None, "display.width", 200):
        print(table.to_string())
    return out


if __name__ == "__main__":
    main()
