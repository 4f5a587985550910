"""Why Xavier and He choose their variances: signal scale through 20 layers at initialisation.

A plain feed-forward network of 20 layers, 256 units wide, no biases, is evaluated at
initialisation (no training) on 256 random inputs, with ReLU and with tanh, under
four initialisers from :mod:`restarts.init`: ``uniform`` (Keras' default U(-0.05,
0.05), "small random numbers"), ``lecun_normal`` (variance 1/fan_in),
``xavier_normal`` (2/(fan_in + fan_out), Glorot & Bengio 2010) and ``he_normal``
(2/fan_in, He et al. 2015). We print, layer by layer, the variance of the
pre-activations on the way forward, the root-mean-square gradient of the loss with
respect to them on the way back (the loss is a fixed random projection of the
output), and the size of the first layer's weight gradient relative to its weights.

The arithmetic behind it: a pre-activation ``z = sum_i w_i h_i`` of ``n`` inputs has
``Var(z) = n Var(w) E[h^2]``. For ReLU ``E[h^2] = Var(z_prev) / 2``, so the scale is
kept from layer to layer exactly when ``Var(w) = 2 / n`` (He). For tanh, which is
linear near 0, ``Var(w) = 1 / n`` (Xavier when fan_in = fan_out, LeCun). Any other
choice multiplies the scale by a constant factor per layer — after 20 layers that
is a factor to the 20th power: "small random numbers" make the signal and the
gradients vanish, which is why they are not enough for deep networks, though they
do break the symmetry (``symmetry_breaking.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import restarts as rs

INITS = ("uniform", "lecun_normal", "xavier_normal", "he_normal")
ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, h: (z > 0).astype(float)),
    "tanh": (np.tanh, lambda z, h: 1.0 - h * h),
}


def signal(init: str, activation: str, depth: int, width: int, n: int, seed: int = 0) -> dict:
    """Per-layer scales of one network at initialisation.

    Returns ``var`` (``Var(z_l)`` forward), ``back`` (RMS of ``dL/dz_l``, the signal
    back-propagated to layer ``l``) and ``rel_grad`` (``|dL/dW_l| / |W_l|``, how
    fast layer ``l`` would move under gradient descent), each a list over layers.
    """
    rng = np.random.default_rng(seed)
    f, df = ACTIVATIONS[activation]
    weights = [rs.init.get(init)((width, width), rng) for _ in range(depth)]
    h = rng.standard_normal((n, width))
    inputs, zs, hs = [], [], []
    for w in weights:
        inputs.append(h)
        z = h @ w
        h = f(z)
        zs.append(z)
        hs.append(h)
    g = rng.standard_normal((n, width)) / n  # dL/dh_L for L = sum(h_L * G) / n
    back, rel_grad = [0.0] * depth, [0.0] * depth
    for layer in reversed(range(depth)):
        dz = g * df(zs[layer], hs[layer])
        back[layer] = float(np.sqrt(np.mean(dz**2)))
        grad_w = inputs[layer].T @ dz
        rel_grad[layer] = float(np.linalg.norm(grad_w) / np.linalg.norm(weights[layer]))
        g = dz @ weights[layer].T
    return {"var": [float(z.var()) for z in zs], "back": back, "rel_grad": rel_grad}


def main(quick: bool = False) -> dict:
    """Return ``{(activation, init): signal(...)}`` — per-layer lists, layer 1 first."""
    depth = 20
    width, n = (256, 128) if quick else (256, 512)
    out = {}
    for activation in ACTIVATIONS:
        rows = {}
        for init in INITS:
            s = out[(activation, init)] = signal(init, activation, depth, width, n)
            rows[init] = {
                "Var(z) layer 1": s["var"][0],
                "layer 10": s["var"][9],
                "layer 20": s["var"][-1],
                "20 / 1": s["var"][-1] / s["var"][0],
                "|dL/dz| layer 20": s["back"][-1],
                "layer 1": s["back"][0],
                "1 / 20": s["back"][0] / s["back"][-1],
                "|dW|/|W| layer 1": s["rel_grad"][0],
            }
        print(f"\n{activation}, {depth} layers of {width} units, at initialisation")
        print(pd.DataFrame(rows).T.to_string(float_format=lambda v: f"{v:.3g}"))
    return out


if __name__ == "__main__":
    main()
