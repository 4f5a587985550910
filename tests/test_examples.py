"""Every example runs (quick mode) and its numbers say what its docstring claims."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import restarts as rs

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
ALL = sorted(p.stem for p in EXAMPLES.glob("*.py"))


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(name: str, **kw) -> dict:
    # One BLAS thread: the machine is shared and the examples run restarts in parallel.
    with threadpool_limits(1):
        return load(name).main(quick=True, **kw)


def _tested_examples() -> dict[str, list[str]]:
    """``{example: [tests of this module that run or load it]}``, read from this file."""
    tree = ast.parse(Path(__file__).read_text())
    found: dict[str, list[str]] = {}
    for fn in tree.body:
        if not (isinstance(fn, ast.FunctionDef) and fn.name.startswith("test_")):
            continue
        for node in ast.walk(fn):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("run", "load") and node.args
                    and isinstance(node.args[0], ast.Constant)):
                found.setdefault(node.args[0].value, []).append(fn.name)
    return found


@pytest.mark.parametrize("name", ALL)
def test_example_is_documented_and_its_claims_tested(name):
    module = load(name)
    summary, _, body = (module.__doc__ or "").strip().partition("\n\n")
    # a one-line summary, then what the example does and shows
    assert "\n" not in summary and summary.endswith((".", ":")), summary
    assert body.strip(), f"{name}: the docstring says nothing beyond its summary"
    assert callable(module.main)
    # its own heading on the examples page of the docs
    assert re.search(rf"^### `{name}\.py` — ", (ROOT / "docs" / "examples.md").read_text(),
                     flags=re.M), name
    # and a test here that runs it and checks its numbers (not only this one)
    assert _tested_examples().get(name), f"{name} has no test of its claims"


def test_symmetry_breaking(tmp_path):
    out = run("symmetry_breaking", figure=str(tmp_path / "unused.png"))
    for equal in ("zeros", "constant 0.5"):
        assert out[equal]["distinct_units"] == [1] * 5  # one unit, all through training
        assert out[equal]["success_rate"] == 0.0
        assert out[equal]["final_loss"] == pytest.approx(np.log(2), abs=1e-3)
    for random in ("small uniform", "xavier", "he"):
        assert out[random]["distinct_units"] == [16] * 5
        assert out[random]["success_rate"] >= 0.8
        assert out[random]["final_loss"] < 0.1
    assert not (tmp_path / "unused.png").exists()  # quick mode writes no figure


def test_symmetry_breaking_figure(tmp_path, monkeypatch):
    # The full-size path draws the figure; run it on a cut-down budget.
    module = load("symmetry_breaking")
    monkeypatch.setattr(module, "INITS", {"zeros": ("zeros", {}), "he": ("he_normal", {})})
    path = tmp_path / "fig.png"
    with threadpool_limits(1):
        module.main(quick=False, figure=str(path))
    assert path.stat().st_size > 1000


def test_kmeans_restarts():
    out = run("kmeans_restarts")
    rand, pp = out["random"], out["k-means++"]
    assert rand["distinct"] > 1  # random init: more than one clustering of the digits
    assert rand["spread"] > 0.01  # worst restart at least 1% worse than the best
    assert pp["median"] < rand["median"]  # k-means++ seeds better ...
    assert pp["distinct"] > 1  # ... but still lands in different optima
    assert 1 <= pp["restarts_needed"] <= rand["restarts_needed"]
    # independent reference: scikit-learn's best of 10 random inits is no better
    from sklearn.cluster import KMeans
    from sklearn.datasets import load_digits

    sk = KMeans(10, init="random", n_init=10, random_state=0).fit(load_digits().data)
    assert min(rand["best"], pp["best"]) <= sk.inertia_ * (1 + 1e-3)


def test_convex_one_basin():
    out = run("convex_one_basin")
    assert out["n_basins"] == 1  # exactly one optimum
    assert out["fun_spread"] < 1e-8
    assert out["max_start_spread"] > 5  # the starts really were spread out
    assert out["max_dist_between_optima"] < 1e-4
    assert out["max_dist_to_sklearn"] < 1e-3  # and it is scikit-learn's solution


def test_init_depth():
    out = run("init_depth")
    he = out[("relu", "he_normal")]["var"]
    assert max(he) / min(he) < 3  # He keeps ReLU's scale through 20 layers
    small = out[("relu", "uniform")]["var"]
    assert small[-1] / small[0] < 1e-12  # small uniform: collapses by orders of magnitude
    xav = out[("relu", "xavier_normal")]["var"]
    assert 1e-8 < xav[-1] / xav[0] < 1e-4  # Xavier halves it per ReLU layer: ~2^-19
    # tanh: Xavier's 1/n keeps a usable signal; small uniform does not
    assert out[("tanh", "xavier_normal")]["var"][-1] > 1e-2
    assert out[("tanh", "uniform")]["var"][-1] < 1e-10
    # backward: gradients reaching layer 1 vanish with small init, not with He
    back_he = out[("relu", "he_normal")]["back"]
    back_small = out[("relu", "uniform")]["back"]
    assert 1 / 3 < back_he[0] / back_he[-1] < 3
    assert back_small[0] / back_small[-1] < 1e-6


def test_init_depth_against_theory():
    # Independent check of the forward recursion: for a linear network with
    # Var(w) = s / n the variance is multiplied by s per layer.
    module = load("init_depth")
    module.ACTIVATIONS["identity"] = (lambda z: z, lambda z, h: np.ones_like(z))
    try:
        var = module.signal("lecun_normal", "identity", 10, 256, 512)["var"]
    finally:
        del module.ACTIVATIONS["identity"]
    assert var[-1] / var[0] == pytest.approx(1.0, rel=0.5)


def test_zero_init_claims():
    out = run("zero_init_claims")
    assert max(out["1_grad_gap"].values()) <= 1e-12  # same update for 0, 0.5 and -0.3
    assert set(out["1_units_after_training"].values()) == {1}
    assert out["2_loss_equal_init"] == pytest.approx(out["2_loss_as_one_unit"], abs=1e-9)
    assert out["2_best_loss_random_init"] < out["2_loss_equal_init"] - 0.3
    assert out["3_tanh_max_abs_hidden_weight"] == 0.0
    assert out["3_relu_max_abs_hidden_weight"] == 0.0
    assert out["3_sigmoid_max_abs_hidden_weight"] > 1e-3
    assert out["3_sigmoid_distinct_units"] == 1
    assert out["4_linear_loss_zeros"] == pytest.approx(out["4_linear_loss_random_best"], abs=1e-3)
    assert out["5_rastrigin_gap"] > 1  # restarts did not reach the global optimum ...
    assert out["5_rastrigin_gap"] <= out["5_best_of_first_10"]  # ... but more of them helped
    assert out["6_det_init_distinct_units"] == 8
    assert out["6_det_init_accuracy"] >= 0.95
    assert out["verdicts"] == {
        "1 equal init: same function and update, any value": "supported",
        "2 the layer is no better than one unit": "supported",
        "3 zeros: tanh/relu frozen, sigmoid moves": "supported",
        "4 zeros are fine without hidden layers": "supported",
        "5 restarts reach the global optimum": "not supported",
        "6 randomness itself makes training work": "not supported",
    }


def test_an_example_runs_as_a_script(tmp_path):
    # `python examples/x.py` works from any directory (the fastest example).
    env = {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, str(EXAMPLES / "init_depth.py")], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "he_normal" in proc.stdout


def test_gmm_local_optima():
    out = run("gmm_local_optima")
    assert out["n_distinct"] > 1  # EM from different starts: different mixtures
    ll = out["loglik"]
    assert ll == sorted(ll, reverse=True) and ll[0] - ll[-1] > 1e-3
    assert sum(out["counts"]) == out["n_restarts"]
    # scikit-learn agrees on the likelihoods and its EM does not leave those optima
    assert max(out["sklearn_agree"]) < 1e-6
    assert max(out["sklearn_moved"]) < 1e-5


def test_restarts_vs_global():
    out = run("restarts_vs_global")
    table, summary, profile = out["table"], out["summary"], out["profile"]
    assert (table["nfev"] <= out["budget"]).all()  # one budget for every method
    rate = summary.set_index(["problem", "method"])["success_rate"]
    # L-BFGS-B restarts solve the smooth few-basin problems on this budget
    assert rate.xs("multistart", level="method").min() >= 0.5
    # the profile is a distribution function in tau ...
    assert (profile.diff(axis=1).fillna(0) >= 0).all().all()
    # ... whose right end is each method's share of solved instances
    solved = table.groupby("method")["success"].mean()
    assert profile[100.0].to_dict() == pytest.approx(solved.to_dict())


def test_wrap_your_optimizer(tmp_path):
    out = run("wrap_your_optimizer", store=str(tmp_path / "runs.sqlite"))
    assert out["n_distinct"] == 4  # Himmelblau's four global minima
    assert max(out["minima_funs"]) < 1e-12
    assert out["jobs_equal"]  # n_jobs=2 table == n_jobs=1 table
    assert (out["n_cut"], out["n_resumed"]) == (3, 6)
    assert out["loaded_from_store"] and out["resumed_equals_fresh"]
    assert out["mlp_loss_spread"] > 0  # the estimator's restarts differ
    assert out["stored_runs"] == ["compass", "mlp"]


def test_compass_search_is_a_local_method():
    # The hand-written solver converges to the minimum of a convex quadratic.
    module = load("wrap_your_optimizer")
    res = module.compass_search([4.0, -3.0], np.random.default_rng(0),
                                fun=lambda x: float((x[0] - 1) ** 2 + 2 * (x[1] + 0.5) ** 2))
    assert np.allclose(res.x, [1.0, -0.5], atol=1e-8) and res.fun < 1e-15


def test_dask_cluster():
    out = run("dask_cluster")
    assert out["equal"]  # the cluster's table equals the local one, row for row
    assert out["workers"] == 2 and out["n"] == 16
    assert out["best"] == out["best_local"]


def test_racing_initialisations():
    out = run("racing_initialisations")
    km, net = out["k-means (random init), blobs"], out["64-32-10 network, digits"]
    # k-means: the early ranking is the final one; racing keeps the full run's best
    assert km["safe"] and km["share_within"] >= 0.9 and km["verdict"].startswith("safe: ")
    assert min(km["spearman"]) > 0.9 and all(km["winner_kept"])
    assert km["race_best"] == pytest.approx(km["full_best"], rel=1e-12)
    assert km["compute"] < 0.5
    # the network: early losses say little; the pilot says so, and racing loses the best
    assert not net["safe"] and net["verdict"].startswith("not safe: early ranking")
    assert net["spearman"][0] < 0.8 and not all(net["winner_kept"])
    assert net["race_best"] > net["full_best"] and net["compute"] < 0.2
    # independent check: the pilot's final losses are the plain full run's
    module = load("racing_initialisations")
    with threadpool_limits(1):
        for name, (solver, _, n) in module.problems(quick=True).items():
            full = rs.multistart(solver, n, rng=0)
            assert full.fun == pytest.approx(out[name]["full_best"], rel=1e-12), name
