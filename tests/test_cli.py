"""The ``restarts`` command, end to end in subprocesses (``python -m restarts ...``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, cwd=None, timeout=120):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + str(cwd or ROOT),
           "MPLBACKEND": "Agg"}
    env.pop("RESTARTS_TRACEBACK", None)
    return subprocess.run([sys.executable, "-m", "restarts", *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)


def assert_usage_error(proc, *fragments):
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def main(args, capsys):
    """In-process run of the command (argument handling needs no subprocess)."""
    from restarts.cli import main as cli_main

    try:
        code = cli_main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_in_a_subprocess():
    proc = cli("--help")
    assert proc.returncode == 0, proc.stderr
    assert "usage: restarts" in proc.stdout and "demo" in proc.stdout


@pytest.mark.parametrize("args", [[], ["demo"], ["run"], ["compare"], ["report"]])
def test_help_everywhere(args, capsys):
    code, out, _ = main([*args, "--help"], capsys)
    assert code == 0
    assert "usage: restarts" in out


def test_run_problem_by_name(tmp_path):
    proc = cli("run", "six_hump_camel", "--n-starts", 20, "--starts", "sobol", "--seed", 0,
               "--table", tmp_path / "t.csv", "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "best value: -1.03163" in proc.stdout
    assert "distinct optima" in proc.stdout and "restarts needed" in proc.stdout
    table = pd.read_csv(tmp_path / "t.csv")
    assert len(table) == 20 and table["fun"].min() == pytest.approx(-1.0316, abs=1e-4)


def test_run_module_callable_with_store_then_report(tmp_path):
    (tmp_path / "mysolver.py").write_text(textwrap.dedent("""
        import numpy as np

        def solver(start, rng):
            x = rng.uniform(-2, 2)
            x = 1.0 if x > 0 else -1.0  # two optima
            return np.array([x]), float((x - 1) ** 2 + 0.5 * (x < 0))

        def make(shift=0.0):
            def solve(start, rng):
                return np.array([shift]), float(shift ** 2)
            return solve
    """))
    db = tmp_path / "runs.db"
    proc = cli("run", "mysolver:solver", "--n-starts", 12, "--seed", 3, "--store", db,
               "--name", "two", "--n-jobs", 2, "--backend", "threading", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "distinct optima: 2" in proc.stdout and "stored in" in proc.stdout
    proc = cli("run", "mysolver:make", "-o", "shift=0.5", "--n-starts", 3, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "best value: 0.25" in proc.stdout
    proc = cli("report", db, "--out", tmp_path / "rep", "--title", "mine", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    page = tmp_path / "rep" / "report.html"
    assert f"HTML report: {page}" in proc.stdout
    assert "two" in page.read_text() and (tmp_path / "rep" / "report.md").exists()


def test_run_toml_file_and_flags_override(tmp_path):
    (tmp_path / "run.toml").write_text(textwrap.dedent("""
        [solver]
        name = "minimize"
        problem = "branin"
        options = {method = "L-BFGS-B"}

        [run]
        n_starts = 15
        seed = 1
        starts = "lhs"
    """))
    proc = cli("run", tmp_path / "run.toml", "--n-starts", 6, "--table", tmp_path / "t.csv")
    assert proc.returncode == 0, proc.stderr
    assert "restarts: 6 (0 failed)" in proc.stdout
    assert "best value: 0.397887" in proc.stdout
    (tmp_path / "bad.toml").write_text("[run]\nbogus = 1\n[solver]\nname='minimize'\n")
    assert_usage_error(cli("run", tmp_path / "bad.toml"), "unknown [run] keys", "bogus")


def test_run_builtin_solver_on_named_data():
    proc = cli("run", "kmeans", "--data", "iris", "-o", "n_clusters=3", "--n-starts", 5,
               "--seed", 0, "--top", 2)
    assert proc.returncode == 0, proc.stderr
    assert "best value: 13" in proc.stdout  # standardised iris, 3 clusters: ~139.8 / 10
    proc = cli("run", "mlp", "--data", "xor", "-o", "hidden=(3,)", "-o", "epochs=50",
               "--n-starts", 3, "--seed", 0)
    assert proc.returncode == 0, proc.stderr


def test_compare_subcommand_and_report_on_its_csv(tmp_path):
    out = tmp_path / "cmp.csv"
    proc = cli("compare", "--problem", "booth", "--methods", "multistart,direct",
               "--budget", 200, "--repeats", 2, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "multistart" in proc.stdout and out.exists()
    proc = cli("report", out, "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Performance profile" in (tmp_path / "report.html").read_text()


def test_demo_quick(tmp_path):
    proc = cli("demo", "--quick", "--out", tmp_path, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    # every section runs (scikit-learn is in the README's install line): none skipped
    assert "skipping" not in out
    for number, heading in enumerate(("XOR", "handwritten digits", "k-means", "Rastrigin",
                                      "global optimizers"), start=1):
        assert f"{number}. " in out and heading in out.split(f"{number}. ", 1)[1]
    assert "zeros" in out and "he_normal" in out
    page = tmp_path / "restarts-demo.html"
    assert f"HTML report: {page.resolve()}" in out
    assert (tmp_path / "restarts-demo.db").exists()
    import restarts as rs

    names = rs.Store(tmp_path / "restarts-demo.db").names()
    assert {"xor/zeros", "digits/he_normal", "kmeans/k-means++", "rastrigin-2d"} <= set(names)
    summary = (tmp_path / "restarts-demo.md").read_text()
    assert "Comparison on rastrigin, six\\_hump\\_camel" in summary  # escaped Markdown
    # a second run resumes every stored run instead of recomputing
    again = cli("demo", "--quick", "--out", tmp_path, "--no-report", cwd=tmp_path,
                timeout=300)
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("args, fragments", [
    (["bogus"], ["invalid choice"]),
    (["run", "six_hump_camel", "--n-starts", "0"], ["--n-starts", ">= 1"]),
    (["run", "six_hump_camel", "--n-jobs", "x"], ["--n-jobs", "expected an integer"]),
    (["run", "six_hump_camel", "--n-starts", "1.5"], ["--n-starts", "expected an integer"]),
    (["run", "six_hump_camel", "--timeout", "0"], ["--timeout", "a number > 0"]),
    (["run", "six_hump_camel", "--timeout", "soon"], ["--timeout", "expected a number"]),
    (["run", "six_hump_camel", "--starts", "grid"], ["--starts"]),
    (["run", "no_such_thing"], ["unknown target"]),
    (["run", "no_such_module:f"], ["cannot import module"]),
    (["run", "six_hump_camel", "-o", "method"], ["KEY=VALUE"]),
    (["run", "six_hump_camel", "--backend", "nope"], ["'backend' parameter"]),
    (["run", "kmeans"], ["needs --data"]),
    (["demo", "--n-jobs", "0"], ["--n-jobs"]),
    (["report", "missing.db"], ["does not exist"]),
    (["compare", "--problem", "booth", "--methods", "nope"], ["nope"]),
])
def test_bad_arguments_exit_2_with_one_line(args, fragments, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RESTARTS_TRACEBACK", raising=False)
    code, _, err = main(args, capsys)
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0]


def test_bad_argument_in_a_subprocess_has_no_traceback(tmp_path):
    assert_usage_error(cli("run", "six_hump_camel", "--n-starts", "-3", cwd=tmp_path),
                       "--n-starts")
    assert_usage_error(cli("run", "six_hump_camel", "--backend", "nope", cwd=tmp_path),
                       "'backend' parameter")
