"""rs.minimize: SciPy's minimize with restarts, answering as SciPy does."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize
from scipy.optimize import rosen, rosen_der, rosen_hess, rosen_hess_prod

import restarts as rs

BOX4 = [(-2.0, 2.0)] * 4


def test_scipy_tutorial_rosenbrock_nelder_mead():
    # scipy.optimize tutorial: "Unconstrained minimization ... Nelder-Mead Simplex"
    x0 = np.array([1.3, 0.7, 0.8, 1.9, 1.2])
    opts = {"xatol": 1e-8, "disp": False}
    ref = optimize.minimize(rosen, x0, method="nelder-mead", options=opts)
    res = rs.minimize(rosen, x0, method="Nelder-Mead", options=opts, n_starts=4, rng=0)
    assert isinstance(res, optimize.OptimizeResult)
    x, fun, success, nfev, message = res.x, res.fun, res.success, res.nfev, res.message
    np.testing.assert_allclose(x, np.ones(5), atol=1e-6)  # the tutorial's answer
    assert success and fun < 1e-12 and isinstance(message, str)
    # restart 0 started at x0 and is exactly SciPy's run (SciPy counts the same calls)
    assert res.table["fun"][0] == ref.fun and res.table["nfev"][0] == ref.nfev
    np.testing.assert_array_equal(res.multistart.restarts[0].start, x0)
    assert nfev == int(res.table["nfev"].sum()) > ref.nfev
    assert res.status == 0 and res.nit > 0


def test_scipy_tutorial_rosenbrock_newton_cg_and_trust_ncg():
    x0 = np.array([1.3, 0.7, 0.8, 1.9, 1.2])
    res = rs.minimize(rosen, x0, method="Newton-CG", jac=rosen_der, hess=rosen_hess,
                      options={"xtol": 1e-8}, n_starts=3, rng=0)
    np.testing.assert_allclose(res.x, np.ones(5), atol=1e-7)
    assert res.njev > 0
    res = rs.minimize(rosen, x0, method="trust-ncg", jac=rosen_der, hessp=rosen_hess_prod,
                      options={"gtol": 1e-8}, n_starts=3, rng=0)
    np.testing.assert_allclose(res.x, np.ones(5), atol=1e-7)


def test_scipy_tutorial_constrained_slsqp():
    # scipy.optimize tutorial: "Sequential Least SQuares Programming (SLSQP) Algorithm"
    ineq_cons = {"type": "ineq",
                 "fun": lambda x: np.array([1 - x[0] - 2 * x[1], 1 - x[0] ** 2 - x[1],
                                            1 - x[0] ** 2 + x[1]]),
                 "jac": lambda x: np.array([[-1.0, -2.0], [-2 * x[0], -1.0], [-2 * x[0], 1.0]])}
    eq_cons = {"type": "eq", "fun": lambda x: np.array([2 * x[0] + x[1] - 1]),
               "jac": lambda x: np.array([2.0, 1.0])}
    bounds = optimize.Bounds([0, -0.5], [1.0, 2.0])
    x0 = np.array([0.5, 0])
    kw = dict(method="SLSQP", jac=rosen_der, constraints=[eq_cons, ineq_cons],
              options={"ftol": 1e-9}, bounds=bounds)
    ref = optimize.minimize(rosen, x0, **kw)
    res = rs.minimize(rosen, x0, n_starts=6, rng=0, **kw)
    # the tutorial's answer, to SLSQP's precision (restarts agree on fun to 1e-9)
    np.testing.assert_allclose(res.x, [0.41494531, 0.17010937], atol=1e-5)
    assert res.fun == pytest.approx(ref.fun, rel=1e-9)
    assert res.table["fun"][0] == ref.fun  # restart 0 is SciPy's run from x0
    assert res.success and res.maxcv <= 1e-6
    assert (res.table["maxcv"] <= 1e-6).all() and "maxcv" in res.table


HARD = {"Newton-CG": dict(jac=rosen_der, hess=rosen_hess),
        "dogleg": dict(jac=rosen_der, hess=rosen_hess),
        "trust-ncg": dict(jac=rosen_der, hessp=rosen_hess_prod),
        "trust-exact": dict(jac=rosen_der, hess=rosen_hess),
        "trust-krylov": dict(jac=rosen_der, hessp=rosen_hess_prod),
        "CG": dict(jac=rosen_der), "BFGS": dict(jac=rosen_der)}
DISK = {"type": "ineq", "fun": lambda x: 9.0 - float(np.sum(x ** 2))}  # |x| <= 3


@pytest.mark.parametrize("method", [
    "Nelder-Mead", "Powell", "CG", "BFGS", "Newton-CG", "L-BFGS-B", "TNC", "COBYLA",
    "COBYQA", "SLSQP", "trust-constr", "dogleg", "trust-ncg", "trust-exact", "trust-krylov"])
def test_every_method_runs_without_an_error_row(method):
    kw = dict(HARD.get(method, {}))
    if method in ("COBYLA", "COBYQA", "SLSQP", "trust-constr"):
        kw["constraints"] = [DISK]
    options = {"TNC": {"maxfun": 400}, "COBYQA": {"maxfev": 150}}.get(method, {"maxiter": 200})
    res = rs.minimize(rosen, x0=[-1.2, 1.0, -1.2, 1.0], bounds=BOX4, method=method,
                      n_starts=3, rng=0, options=options, **kw)
    table = res.table
    assert table["error"].isna().all(), table["error"].tolist()
    assert len(table) == 3 and np.isfinite(table["fun"]).all()
    assert res.fun < rosen(np.array([-1.2, 1.0, -1.2, 1.0]))  # each method made progress


def test_a_method_that_needs_a_hessian_says_so():
    with pytest.raises(ValueError, match="'hess' parameter of Minimize"):
        rs.minimize(rosen, x0=[0.0, 0.0], method="trust-exact", jac=rosen_der)
    with pytest.raises(ValueError, match="'hess' or 'hessp'"):
        rs.minimize(rosen, x0=[0.0, 0.0], method="trust-krylov", jac=rosen_der)
    with pytest.raises(ValueError, match="handles constraints"):
        rs.minimize(rosen, x0=[0.0, 0.0], method="BFGS", constraints=[DISK])


def test_constrained_best_is_feasible_and_optimal_lagrange():
    # min (x-2)^2 + (y-1)^2 + sin(5x) s.t. x + y <= 1 and x^2 + y^2 <= 4: the
    # unconstrained minima near y = 1, x > 1 are infeasible. Independent references:
    # a 2-d grid over the feasible set (where the optimum is), and on the active line
    # x + y = 1 (Lagrange: the constrained optimum lies on it) a fine 1-d search.
    def f(z):
        return (z[0] - 2) ** 2 + (z[1] - 1) ** 2 + np.sin(5 * z[0])

    cons = [{"type": "ineq", "fun": lambda z: 1 - z[0] - z[1]},
            {"type": "ineq", "fun": lambda z: 4 - z[0] ** 2 - z[1] ** 2}]
    g = np.linspace(-2, 2, 1601)
    gx, gy = np.meshgrid(g, g)
    grid = (gx - 2) ** 2 + (gy - 1) ** 2 + np.sin(5 * gx)
    grid[(gx + gy > 1) | (gx ** 2 + gy ** 2 > 4)] = np.inf
    k = np.unravel_index(np.argmin(grid), grid.shape)
    assert abs(gx[k] + gy[k] - 1) < 0.01  # the grid optimum is on the line
    r = (1 + np.sqrt(7)) / 2  # the line inside the disk: x in [1 - r, r]
    t = np.linspace(1 - r, r, 800001)
    line = (t - 2) ** 2 + t ** 2 + np.sin(5 * t)
    ref_x = t[np.argmin(line)]
    res = rs.minimize(f, bounds=[(-2, 2), (-2, 2)], constraints=cons, n_starts=12, rng=0)
    assert res.success and res.maxcv <= 1e-6
    assert res.x[0] + res.x[1] <= 1 + 1e-6
    np.testing.assert_allclose(res.x, [ref_x, 1 - ref_x], atol=1e-4)
    assert res.fun == pytest.approx(line.min(), abs=1e-8)
    assert res.fun <= grid[k]
    # SLSQP from one start ends in a worse local optimum for some starts
    assert res.table["fun"].max() > res.fun + 1.0


def test_an_infeasible_restart_is_a_failure_and_never_the_best():
    # Few iterations: some restarts stop outside the disk with a lower objective.
    cons = [{"type": "ineq", "fun": lambda z: 1 - z[0] ** 2 - z[1] ** 2}]
    res = rs.minimize(lambda z: -float(z[0] + z[1]), bounds=[(-3, 3), (-3, 3)],
                      constraints=cons, options={"maxiter": 1}, n_starts=30, rng=1)
    table = res.table
    infeasible = table["maxcv"] > 1e-6
    assert infeasible.any() and (~infeasible).any()
    assert not table.loc[infeasible, "success"].any()
    assert all("infeasible" in r.message for r, bad in zip(res.results, infeasible,
                                                          strict=True) if bad)
    assert table.loc[infeasible, "fun"].min() < res.fun  # a lower, infeasible row exists
    assert res.maxcv <= 1e-6
    assert res.fun == table.loc[~infeasible, "fun"].min()


def _counting(f):
    calls = []

    def counted(x):
        calls.append(1)
        return f(x)

    return counted, calls


@pytest.mark.parametrize("strategy", ["auto", "independent"])
def test_max_nfev_is_a_hard_cap_and_nfev_counts_every_call(strategy):
    fun, calls = _counting(lambda x: float(rosen(x)))
    res = rs.minimize(fun, bounds=BOX4, max_nfev=700, strategy=strategy, rng=0)
    assert res.nfev == len(calls) <= 700
    if strategy == "auto":  # finite bounds and a budget: the portfolio; TikTak's sampling counts
        assert res.multistart.config["strategy"] == "auto"
        assert set(res.table["use"]) == {"cma", "local"}
        assert res.nfev > int(res.table["nfev"].sum())
        assert res.nfev >= 650  # it spends the budget
    fun, calls = _counting(lambda x: float(rosen(x)))
    res = rs.minimize(fun, x0=np.zeros(4), max_nfev=500, n_starts=5, rng=0)
    assert res.nfev == len(calls) <= 500  # unbounded: 5 restarts of at most 100 calls


def test_args_jac_true_callback_tol_pass_through():
    seen = []

    def f(x, a, b):
        return float((x[0] - a) ** 2 + (x[1] - b) ** 2), np.array([2 * (x[0] - a),
                                                                    2 * (x[1] - b)])

    res = rs.minimize(f, x0=[0.0, 0.0], args=(1.0, -2.0), jac=True, tol=1e-10,
                      callback=lambda xk: seen.append(1), n_starts=2, rng=0)
    np.testing.assert_allclose(res.x, [1.0, -2.0], atol=1e-8)
    assert seen and res.njev == res.nfev  # jac=True: one call is value and gradient


def test_reproducible_whatever_n_jobs():
    a = rs.minimize(rosen, bounds=BOX4, n_starts=6, rng=5)
    b = rs.minimize(rosen, bounds=BOX4, n_starts=6, rng=5, n_jobs=2)
    cols = ["fun", "nfev", "x0_0", "x0_3"]
    np.testing.assert_array_equal(a.table[cols].to_numpy(), b.table[cols].to_numpy())
    np.testing.assert_array_equal(a.x, b.x)


def test_bounds_forms():
    lb, ub = [-1.0, -2.0, -3.0], [1.0, 2.0, 3.0]
    a = rs.minimize(lambda x: float(x @ x), bounds=optimize.Bounds(lb, ub), n_starts=2, rng=0)
    b = rs.minimize(lambda x: float(x @ x), bounds=list(zip(lb, ub, strict=True)),
                    n_starts=2, rng=0)
    np.testing.assert_array_equal(a.table["x0_2"], b.table["x0_2"])
    with pytest.raises(ValueError, match="looks transposed"):
        rs.minimize(lambda x: float(x @ x), bounds=np.array([lb, ub]))
    c = rs.minimize(lambda x: float((x - 3) @ (x - 3)), x0=[10.0, 1.0],
                    bounds=[(0, None), (None, None)], n_starts=4, rng=0)
    np.testing.assert_allclose(c.x, [3.0, 3.0], atol=1e-5)


@pytest.mark.parametrize(("bounds", "exc", "match"), [
    ([(1, 0)], ValueError, "low <= high.*dimension 0"),
    ([(0, np.nan)], ValueError, "without NaN"),
    ([1, 2, 3], ValueError, "pairs"),
    ("box", TypeError, "pairs"),
    ([], ValueError, "non-empty"),
    ([(0, 1, 2)], ValueError, "shape \\(d, 2\\)"),
])
def test_minimize_bad_bounds(bounds, exc, match):
    with pytest.raises(exc, match=f"'bounds' parameter of Minimize.*{match}"):
        rs.solvers.Minimize(rosen, bounds=bounds)


def test_minimize_scipy_bounds_accepted():
    box = rs.solvers.Minimize(rosen, bounds=[(0, np.inf), (None, 2), (1, 1)]).bounds
    np.testing.assert_array_equal(box, [[0, np.inf], [-np.inf, 2], [1, 1]])
    with pytest.raises(ValueError, match="needs a start point"):  # no uniform start in inf
        rs.solvers.Minimize(rosen, bounds=[(0, np.inf)])(None, np.random.default_rng(0))


def test_bad_input():
    with pytest.raises(TypeError, match="unexpected keyword argument 'maxiter'"):
        rs.minimize(rosen, x0=[0.0, 0.0], maxiter=10)
    with pytest.raises(ValueError, match="'x0' parameter of minimize"):
        rs.minimize(rosen, bounds=[(0, None), (0, 1)])
    with pytest.raises(ValueError, match="'x0' parameter of minimize"):
        rs.minimize(rosen, x0=[0.0], bounds=BOX4)
    with pytest.raises(ValueError, match="'max_nfev' parameter of minimize"):
        rs.minimize(rosen, x0=[0.0, 0.0], max_nfev=5, n_starts=10)
    with pytest.raises(ValueError, match="'x0' parameter of minimize.*chooses its own"):
        rs.minimize(rosen, x0=[0.0, 0.0], bounds=BOX4[:2], strategy="tiktak", max_nfev=100)
    with pytest.raises(ValueError, match="'method' parameter of Minimize"):
        rs.minimize(rosen, x0=[0.0, 0.0], method="newton")


def _rotated_ellipsoid(d=10, cond=1e6, seed=1):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    w = cond ** (np.arange(d) / (d - 1))
    shift = np.linspace(-2.0, 3.0, d)

    def f(x):
        z = q @ (np.asarray(x, dtype=float) - shift)
        return float(w @ z**2)

    return f


def test_default_is_the_bbob_portfolio_and_reaches_1e8_on_a_rotated_ellipsoid():
    """The default of docs/benchmarks-bbob.md: a 1e6-conditioned rotated ellipsoid in
    10-d to f - f* <= 1e-8 within 10,000 calls (1000 d). L-BFGS-B restarts (TikTak,
    the default before) stop near 1e-5 there."""
    fun, calls = _counting(_rotated_ellipsoid())
    res = rs.minimize(fun, bounds=[(-5, 5)] * 10, max_nfev=10_000, rng=0)
    assert res.fun <= 1e-8
    assert res.nfev == len(calls) <= 10_000
    assert res.multistart.config["strategy"] == "auto"


def test_default_x0_is_restart_0_and_the_run_is_reproducible(tmp_path):
    fun = _rotated_ellipsoid(d=4, cond=1e3)
    kw = dict(bounds=[(-5, 5)] * 4, max_nfev=1500, rng=7)
    x0 = [1.0, -1.0, 0.5, 2.0]
    one = rs.minimize(fun, x0=x0, **kw)
    np.testing.assert_array_equal(one.multistart.restarts[0].start, x0)
    assert one.table["use"].iloc[0] == rs.strategies.Auto().members[0][0]
    two = rs.minimize(fun, x0=x0, n_jobs=2, **kw)
    cols = ["fun", "nfev", "use", "max_nfev"]
    assert one.table[cols].equals(two.table[cols])
    assert one.nfev == two.nfev <= 1500
    path = tmp_path / "run.sqlite"
    assert len(one.table) >= 3
    first = rs.minimize(fun, x0=x0, n_starts=2, store=path, **kw)  # a run cut short
    assert len(first.table) == 2
    again = rs.minimize(fun, x0=x0, n_starts=2, store=path, **kw)  # read back
    assert again.table[cols].equals(first.table[cols])
    assert first.table[cols].equals(one.table[cols].iloc[:2])


def test_jac_true_samples_the_value_like_an_analytic_jac():
    """With jac=True, fun returns (value, gradient): TikTak's Sobol' sampling (a member
    of the default) ranks the values, so its starts match a run with jac=callable."""

    def pair(x):
        return float(rosen(x)), rosen_der(x)

    kw = dict(bounds=BOX4, max_nfev=1500, strategy="tiktak", rng=3)
    a = rs.minimize(pair, jac=True, **kw)
    b = rs.minimize(rosen, jac=rosen_der, **kw)
    starts = [c for c in a.table.columns if c.startswith("x0_")]
    assert starts and len(a.table) > 2
    np.testing.assert_array_equal(a.table[starts].to_numpy(), b.table[starts].to_numpy())
    c = rs.minimize(pair, jac=True, bounds=BOX4, max_nfev=1500, rng=3)  # the default
    assert c.fun < 1e-10 and c.nfev <= 1500
