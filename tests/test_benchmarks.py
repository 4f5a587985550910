"""The benchmark scripts still run (their --quick mode) and print same-run ratios.

Speed itself is never asserted here: the scripts measure it, on a quiet machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ["bench_driver", "bench_store", "bench_kmeans", "bench_gmm", "bench_mlp",
           "bench_global"]


@pytest.mark.parametrize("name", SCRIPTS)
def test_quick_mode_runs_and_prints_ratios(name, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), "--quick"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    if name == "bench_global":  # a smoke run writes its report here, never into docs/
        assert "solved" in (tmp_path / "benchmarks-global-quick.md").read_text()
    else:
        assert "ratio" in proc.stdout or "speedup" in proc.stdout
    assert "Traceback" not in proc.stderr
