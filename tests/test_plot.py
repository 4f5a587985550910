"""rs.plot: every plot writes a non-empty PNG of exactly the requested size."""

from __future__ import annotations

import os
import struct
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import restarts as rs  # noqa: E402
from restarts import plot  # noqa: E402


def _png_size(path):
    """Width and height from the PNG header (IHDR), read without matplotlib."""
    with open(path, "rb") as fh:
        head = fh.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def _not_blank(path):
    from matplotlib.image import imread

    img = imread(path)
    return float(img[..., :3].std()) > 0.01


@pytest.fixture(scope="module")
def run():
    def f(x):
        return float(np.sin(3 * x[0]) + 0.1 * x[0] ** 2)

    return rs.multistart(rs.solvers.Minimize(f, bounds=[(-5, 5)]), 30,
                         starts=rs.starts.Sobol([(-5, 5)]), rng=0)


@pytest.fixture(scope="module")
def mlp_run():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    mlp = rs.solvers.MLP(X, [0, 1, 1, 0], hidden=(2,), lr=0.1, epochs=50)
    return rs.multistart(mlp, 4, rng=0)


@pytest.fixture(scope="module")
def compare_table():
    return pd.DataFrame({
        "problem": ["a"] * 4 + ["b"] * 4, "method": ["x", "y"] * 4,
        "repeat": [0, 0, 1, 1] * 2,
        "success": [True, True, True, False, True, True, False, True],
        "nfev": [10, 20, 40, 5, 30, 30, 1, 50],
    })


CASES = {
    "ecdf": lambda r, m, c, **kw: plot.ecdf(r, **kw),
    "ecdf_many": lambda r, m, c, **kw: plot.ecdf({"a": r, "b": r.table}, logx=True, **kw),
    "success_curve": lambda r, m, c, **kw: plot.success_curve(r, **kw),
    "basins": lambda r, m, c, **kw: plot.basins(r, **kw),
    "convergence": lambda r, m, c, **kw: plot.convergence({"a": r, "b": m}, **kw),
    "loss_curves": lambda r, m, c, **kw: plot.loss_curves({"xor": m}, **kw),
    "performance_profile": lambda r, m, c, **kw: plot.performance_profile(c, **kw),
    "data_profile": lambda r, m, c, **kw: plot.data_profile(c, **kw),
    "traces": lambda r, m, c, **kw: plot.traces(_real_compare(), **kw),
}


def _real_compare():
    if not hasattr(_real_compare, "df"):
        _real_compare.df = rs.compare("six_hump_camel", methods=["multistart", "direct"],
                                      budget=300, repeats=2)
    return _real_compare.df


@pytest.mark.parametrize("name", sorted(CASES))
def test_plot_writes_png_of_requested_size(name, run, mlp_run, compare_table, tmp_path):
    path = tmp_path / f"{name}.png"
    ax = CASES[name](run, mlp_run, compare_table, path=path, figsize=(4.0, 3.0), dpi=50)
    assert ax.figure.get_size_inches().tolist() == [4.0, 3.0]
    assert path.stat().st_size > 0
    assert _png_size(path) == (200, 150)
    assert _not_blank(path)
    assert ax.has_data()


def test_plot_draws_on_given_axes(run):
    from matplotlib.figure import Figure

    fig = Figure()
    axes = fig.subplots(1, 2)
    assert plot.ecdf(run, ax=axes[0]) is axes[0]
    assert plot.basins(run, ax=axes[1]) is axes[1]
    assert len(axes[1].patches) == len(run.solutions)


def test_plot_content_matches_analysis(run):
    ax = plot.success_curve(run)
    curve = rs.analysis.success_curve(run)
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), curve["prob"])
    ax = plot.ecdf(run.table)
    x, y = ax.get_lines()[0].get_data()
    assert y[-1] == 1.0 and x[-1] == pytest.approx(run.table["fun"].max())


def test_loss_curves_needs_results_and_reports_missing(run):
    with pytest.raises(TypeError, match="loss_curves"):
        plot.loss_curves(run.table)
    ax = plot.loss_curves(run)  # Minimize records no loss curves: a note, not an error
    assert ax.texts and "no loss curves" in ax.texts[0].get_text()


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"figsize": (0, 3)}, ValueError, "figsize"),
    ({"figsize": "big"}, TypeError, "figsize"),
    ({"dpi": 0}, ValueError, "dpi"),
    ({"ax": "axes"}, TypeError, "'ax' parameter"),
])
def test_plot_bad_input(run, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        plot.ecdf(run, **kwargs)


def test_import_restarts_does_not_import_matplotlib():
    code = ("import sys, restarts as rs; rs.analysis; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(rs.__file__))}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_traces_follow_compare_traces_and_need_them():
    df = _real_compare()
    ax = plot.traces(df)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["direct", "multistart"]
    direct = ax.get_lines()[0]
    x, y = direct.get_data()
    # DIRECT is deterministic: both repeats are the same trace, so the median is it
    tr = np.asarray(df.attrs["traces"][("direct", 0)])
    at = np.searchsorted(tr[:, 0], x[-1], side="right") - 1
    assert y[-1] == pytest.approx(max(tr[at, 1] - df.attrs["f_ref"], 1e-12))
    bare = df.copy()
    bare.attrs = {}  # what a CSV round trip leaves
    with pytest.raises(ValueError, match="attrs"):
        plot.traces(bare)
    with pytest.raises(ValueError, match="'problem' parameter"):
        plot.traces(df, "nope")


def test_success_curve_of_a_long_run_uses_a_log_k_axis():
    # 2,000 restarts, a third of them hit: the curve saturates by k ~ 15; on a linear
    # axis that is a spike at the left edge, on a log axis it is readable
    fun = np.where(np.arange(2000) % 3 == 0, 0.0, 1.0)
    ax = plot.success_curve(pd.DataFrame({"fun": fun}))
    assert ax.get_xscale() == "log" and ax.get_xlim() == pytest.approx((1, 2000))
    k, prob = ax.get_lines()[0].get_data()
    assert prob[list(k).index(10)] == pytest.approx(1 - (2 / 3) ** 10, abs=1e-3)


def test_convergence_is_best_so_far_against_restarts_on_a_log_axis():
    table = pd.DataFrame({"restart": [2, 0, 1, 3], "fun": [0.5, 3.0, 1.0, 2.0],
                          "nfev": [10, 20, 30, 40]})
    ax = plot.convergence(table)
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "restarts"
    x, best = ax.get_lines()[0].get_data()
    assert list(x) == [1, 2, 3, 4] and list(best) == [3.0, 1.0, 0.5, 0.5]  # index order
    ax = plot.convergence(table, x="nfev")
    assert list(ax.get_lines()[0].get_xdata()) == [20, 50, 60, 100]
    with pytest.raises(ValueError, match="'x' parameter of plot.convergence"):
        plot.convergence(table, x="time")
