"""The benchmark scripts still run (their --quick mode) and print consistent same-run ratios.

Speed itself is never asserted here: the scripts measure it, on a quiet machine. What is
asserted is that every printed ratio is a finite positive number that agrees with the
times printed next to it (to their rounding), and that the correctness columns the
scripts print (loaded == run, batch == singles) hold.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ["bench_driver", "bench_store", "bench_kmeans", "bench_gmm", "bench_mlp",
           "bench_global", "bench_basins", "bench_racing"]
NUM = r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?"


def close(printed: float, a: float, b: float, digits: int) -> bool:
    """``printed`` equals ``a / b`` up to the rounding of ``a`` and ``b`` to ``digits``."""
    half = 0.5 * 10.0**-digits
    lo, hi = (a - half) / (b + half), (a + half) / max(b - half, 1e-12)
    return lo * 0.995 - 0.001 <= printed <= hi * 1.005 + 0.001


def rows(text: str, pattern: str) -> list[tuple[str, ...]]:
    return [m.groups() for m in re.finditer(pattern, text, flags=re.M)]


def check_driver(out: str, _: Path) -> None:
    found = rows(out, rf"^(overhead|speedup) .*?\s({NUM})\s+({NUM})\s+({NUM})\s*$")
    assert len(found) >= 3, out
    for kind, ref_s, ours_s, ratio in found:
        ref_s, ours_s, ratio = float(ref_s), float(ours_s), float(ratio)
        assert math.isfinite(ratio) and ratio > 0
        if kind == "overhead":
            assert close(ratio, ours_s, ref_s, 3), (ratio, ours_s, ref_s)
        else:
            assert close(ratio, ref_s, ours_s, 3), (ratio, ref_s, ours_s)


def check_store(out: str, _: Path) -> None:
    found = rows(out, rf"^(\S+)\s+(no store|store)\s+({NUM})\s+({NUM})\s")
    assert len(found) >= 2, out
    base = {}
    for solver, case, wall, ratio in found:
        if case == "no store":
            base[solver] = float(wall)
            assert float(ratio) == 1.0
        else:
            assert close(float(ratio), float(wall), base[solver], 2)
    checks = re.findall(r"load\(\) == run: (\w+)", out)
    assert checks and set(checks) == {"True"}, out


def check_against_sklearn(n_tail: int, at_time: int, at_fun: int):
    """Rows end in ``n_tail`` tokens; ``ours_s sklearn_s time_ratio`` start at token
    ``at_time`` of them, ``fun_ours fun_sklearn fun_ratio`` at ``at_fun``."""

    def check(out: str, _: Path) -> None:
        found = 0
        for line in out.splitlines():
            tokens = line.split()
            if len(tokens) <= n_tail or not re.fullmatch(r"\d+/\d+", tokens[-1]):
                continue
            tail = tokens[-n_tail:]
            ours_s, sk_s, time_ratio = map(float, tail[at_time:at_time + 3])
            f_ours, f_sk, f_ratio = map(float, tail[at_fun:at_fun + 3])
            assert close(time_ratio, ours_s, sk_s, 3), line
            assert f_ratio == pytest.approx(f_ours / f_sk, rel=1e-4), line
            found += 1
        assert found >= 2, out

    return check


def check_mlp(out: str, _: Path) -> None:
    found = rows(out, rf"^\s+(\d+|full)\s+(float32|float64)\s.*\s({NUM})\s*$")
    assert len(found) >= 2, out
    for _batch, dtype, diff in found:  # batch == singles, to the dtype's precision
        assert float(diff) <= (1e-12 if dtype == "float64" else 1e-5), (dtype, diff)
    xor = re.search(rf"\d+/\d+\s+(True|False)\s+({NUM})\s*$", out, flags=re.M)
    assert xor and xor.group(1) == "True" and float(xor.group(2)) <= 1e-12, out


def check_global(_: str, page: Path) -> None:
    text = page.read_text()
    shifted = text.split("## Solved problems (shifted)", 1)[1].split("## Success rate", 1)[0]
    solved = rows(shifted, rf"^\| (\w+) \| (\d+) \| ({NUM}) \| (\d+) \|$")
    assert len(solved) == 8, text
    share = {}
    for method, n_solved, mean_rate, n_problems in solved:
        assert 0 <= int(n_solved) <= int(n_problems) and 0 <= float(mean_rate) <= 1
        share[method] = float(mean_rate)
    profile = rows(shifted, rf"^\| (\w+)((?: \| {NUM}){{6}}) \|$")
    assert {m for m, _ in profile} >= set(share), text
    for method, cells in profile:
        if method not in share:
            continue
        values = [float(v) for v in cells.split("|")[1:]]
        assert values == sorted(values)  # a data profile never decreases
        # within the whole budget = succeeded: the last column is the success rate
        assert values[-1] == pytest.approx(share[method], abs=1e-3)
    assert text.rstrip().endswith("Kept by hand.")  # hand-written sections survive


def check_basins(out: str, _: Path) -> None:
    found = rows(out, rf"^(one optimum|ring)\s+(\d+)\s+({NUM})\s+(\S+)\s+(\S+)\s+{NUM}\s+(\d+)\s*$")
    assert len(found) >= 4, out
    for case, _n, new_s, old_s, ratio, optima in found:
        assert int(optima) == 1 if case == "one optimum" else 1 < int(optima) <= 4000
        if old_s != "-":  # the old matcher ran too: the ratio is old / new, each rounded
            a, b, half = float(old_s), float(new_s), 0.5e-4
            lo, hi = (a - half) / (b + half) - 0.005, (a + half) / max(b - half, 1e-12) + 0.005
            assert lo <= float(ratio) <= hi, (ratio, old_s, new_s)


def check_racing(out: str, _: Path) -> None:
    found = rows(out, rf"^(.+?)\s+({NUM})\s+({NUM})\s+({NUM})\s+(\d+)/(\d+)\s+(\d+)/(\d+)"
                      rf"\s+({NUM})\s+({NUM})\s+({NUM})\s+({NUM})\s+(True|False)\s*$")
    assert len(found) == 6, out
    for (_name, spread, gap_med, gap_max, within, seeds, same, seeds2, compute, full_s, race_s,
         wall, checks) in found:
        assert checks == "True"  # pilot's final losses == full run; replay == race
        assert float(spread) >= 0 and 0 <= float(gap_med) <= float(gap_max)
        assert int(same) <= int(within) <= int(seeds) == int(seeds2)
        assert 0 < float(compute) <= 1.0 and float(full_s) > 0 and float(race_s) > 0
        assert math.isfinite(float(wall)) and float(wall) > 0
    rungs = rows(out, rf"^\s+rung\s+(\d+): spearman\s+({NUM})\s+winner rank\s+({NUM})\s+"
                      r"winner kept (\d+)/(\d+)\s*$")
    assert len(rungs) >= 5, out
    for _b, rho, rank, kept, seeds in rungs:
        assert -1 <= float(rho) <= 1 and float(rank) >= 1 and 0 <= int(kept) <= int(seeds)


CHECKS = {"bench_driver": check_driver, "bench_store": check_store,
          "bench_kmeans": check_against_sklearn(9, 1, 5),
          "bench_gmm": check_against_sklearn(11, 2, 6),
          "bench_mlp": check_mlp, "bench_global": check_global, "bench_basins": check_basins,
          "bench_racing": check_racing}


@pytest.mark.parametrize("name", SCRIPTS)
def test_quick_mode_runs_and_prints_consistent_ratios(name, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), "--quick"]
    page = tmp_path / "page.md"
    if name == "bench_global":  # a smoke run writes here, never into docs/
        from importlib.util import module_from_spec, spec_from_file_location

        spec = spec_from_file_location("bench_global", ROOT / "benchmarks" / "bench_global.py")
        module = module_from_spec(spec)
        spec.loader.exec_module(module)
        page.write_text(f"old generated text\n\n{module.KEEP}\n## Notes\n\nKept by hand.\n")
        args += ["--out", str(page)]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    CHECKS[name](proc.stdout, page)
