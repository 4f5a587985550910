"""The contrast: a convex problem has one basin, so restarts find nothing new.

L2-regularised logistic regression on scikit-learn's breast-cancer data (30
standardised features + intercept) is a strictly convex problem: it has exactly one
minimum and every descent method reaches it from anywhere. We restart L-BFGS-B
(:class:`restarts.solvers.Minimize`, NumPy + SciPy only) from random starts spread
over ``[-5, 5]^31`` and check that every restart ends at the same point — the one
scikit-learn's ``LogisticRegression`` finds, used here as an independent reference.

What it shows: restarts buy nothing on a convex problem (an SVM or a ridge regression
are the same); they pay off only where the landscape has several basins — k-means,
EM, neural networks (``kmeans_restarts.py``, ``gmm_local_optima.py``,
``symmetry_breaking.py``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

import restarts as rs

C = 1.0  # scikit-learn's inverse regularisation strength


def main(quick: bool = False) -> dict:
    """Restart the convex fit; return the number of basins and the distances."""
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    n, d = X.shape
    sign = 2.0 * y - 1.0  # labels as -1 / +1

    def loss(w: np.ndarray) -> float:
        """scikit-learn's objective:  ||coef||^2 / 2 + C * sum of log losses."""
        coef, b = w[:-1], w[-1]
        return float(0.5 * coef @ coef - C * np.sum(log_expit(sign * (X @ coef + b))))

    def grad(w: np.ndarray) -> np.ndarray:
        coef, b = w[:-1], w[-1]
        r = -C * sign * expit(-sign * (X @ coef + b))
        return np.append(coef + X.T @ r, r.sum())

    solver = rs.solvers.Minimize(loss, jac=grad, method="L-BFGS-B",
                                 options={"gtol": 1e-10, "ftol": 1e-15, "maxiter": 5000})
    n_restarts = 10 if quick else 50
    run = rs.multistart(solver, n_restarts, starts=rs.starts.Uniform([(-5, 5)] * (d + 1)),
                        rng=0, n_jobs=2)

    ref = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    w_ref = np.append(ref.coef_.ravel(), ref.intercept_)
    xs = np.array([r.x for r in run.results])
    starts = run.table.filter(like="x0_").to_numpy()
    out = {
        "n_restarts": n_restarts,
        "n_basins": int(len(run.solutions)),
        "fun_spread": float(np.ptp(run.table["fun"])),
        "max_start_spread": float(np.max(np.linalg.norm(starts - starts.mean(0), axis=1))),
        "max_dist_between_optima": float(np.max(np.linalg.norm(xs - xs[0], axis=1))),
        "max_dist_to_sklearn": float(np.max(np.linalg.norm(xs - w_ref, axis=1))),
    }
    print(f"logistic regression, {n} samples, {d + 1} parameters, {n_restarts} restarts")
    print(run.solutions[["basin", "fun", "count"]].to_string(index=False))
    for key, value in out.items():
        print(f"{key:>24}: {value:.3g}")
    return out


if __name__ == "__main__":
    main()
