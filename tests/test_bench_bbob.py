"""benchmarks/bench_bbob.py --quick runs and its numbers are consistent."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def load_bench():
    path = ROOT / "benchmarks" / "bench_bbob.py"
    spec = importlib.util.spec_from_file_location("bench_bbob", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_bbob"] = module  # worker processes unpickle one_run from it
    spec.loader.exec_module(module)
    return module


def test_quick_mode_writes_consistent_numbers(tmp_path, monkeypatch):
    bench = load_bench()
    monkeypatch.chdir(tmp_path)
    csv = tmp_path / "runs.csv"
    methods = bench.METHODS
    assert bench.main(["--quick", "--jobs", "2", "--csv", str(csv),
                       "--methods", ",".join(methods)]) == 0
    df = pd.read_csv(csv)
    assert set(df["method"]) == set(methods)
    assert (df["error"].isna()).all(), df.loc[df["error"].notna(), "error"].tolist()
    assert (df["budget"] == df["mult"] * df["dim"]).all()
    assert (df["nfev"] <= df["budget"]).all()  # the one counter never lets a peer past B
    hits = bench.hits(df)
    finite = np.where(np.isfinite(hits), hits, np.inf)
    assert (finite[:, 1:] >= finite[:, :-1]).all()  # a harder target is never reached earlier
    assert (np.nan_to_num(hits, posinf=0) <= df["nfev"].to_numpy()[:, None]).all()
    for mult in (100, 500):
        table = bench.shares(df[df["mult"] == mult])
        values = table.to_numpy(dtype=float)
        assert np.all((values[~np.isnan(values)] >= 0) & (values[~np.isnan(values)] <= 1))
        for m in table.index:
            a = bench.auc(df[(df["mult"] == mult) & (df["method"] == m)], mult)
            assert 0 <= a <= table.loc[m, "all"] + 1e-12  # the ECDF only grows to the share
    text = (tmp_path / "bbob-quick.md").read_text()
    assert "## B = 500 · d, instance 1 (tuning)" in text
    assert (tmp_path / "img" / "bbob-ecdf-500d-tune-quick.png").stat().st_size > 1000
    assert "targets for `auto`" not in text  # 100 d and 500 d: measured, not judged
    # Rebuilt from the table, a slice at one of the budgets gets its verdict.
    relabelled = df.assign(mult=df["mult"].replace({500: 1000}))
    relabelled.to_csv(tmp_path / "r.csv", index=False)
    assert bench.main(["--from-csv", str(tmp_path / "r.csv"),
                       "--out", str(tmp_path / "page.md")]) == 0
    page = (tmp_path / "page.md").read_text()
    at_100, at_1000 = page.split("## B = 1000 · d")
    assert "targets for `auto`" not in at_100 and "targets for `auto`" in at_1000


def test_auto_variants_are_what_the_options_say():
    """--auto '{...}' builds the tuning variants of docs/benchmarks-bbob.md."""
    bench = load_bench()
    rs = bench.rs
    default = bench.auto_strategy({"ratio": 0.3})
    assert [k for k, _ in default.members] == ["local", "cma", "coord"]
    assert default.ratio == 0.3 and default.uncapped == ("cma",)
    variant = bench.auto_strategy({"order": ["local", "cma"], "cma": "ipop", "polish": 0.1,
                                   "uncapped": []})
    assert [k for k, _ in variant.members] == ["local", "cma"]
    assert isinstance(variant.members[1][1], rs.strategies.IPOP)
    assert variant.polish == 0.1 and variant.uncapped == ()
    limited = bench.auto_strategy({"coord_restarts": 2})
    assert dict(limited.members)["coord"].max_restarts == 2
    assert not dict(limited.members)["coord"].separable  # the variant before the probe
    probed = bench.auto_strategy({"separable": True, "cma": "bipop"})
    assert dict(probed.members)["coord"].separable
    assert isinstance(dict(probed.members)["cma"], rs.strategies.BIPOP)


def test_seeds_are_runs_of_their_own_and_the_page_pools_them(tmp_path):
    bench = load_bench()
    one = bench.run(["tiktak", "dual_annealing"], [21], [1], [2], [100], 1, 0)
    two = bench.run(["tiktak", "dual_annealing"], [21], [1], [2], [100], 1, [0, 1])
    assert sorted(two["seed"]) == [0, 0, 1, 1] and (one["seed"] == 0).all()
    cols = ["method", "nfev", "gap"] + [f"t{j}" for j in range(51)]
    # seed 0 of a pooled run is the single-seed run; seed 1 is another run
    pd.testing.assert_frame_equal(two[two["seed"] == 0][cols].reset_index(drop=True),
                                  one[cols].reset_index(drop=True))
    first, second = (two[two["seed"] == s].set_index("method") for s in (0, 1))
    assert (first["gap"] != second["gap"]).any()
    # A table from before seeds were a column counts as seed 0; both seeds are kept.
    one.drop(columns="seed").to_csv(tmp_path / "old.csv", index=False)
    two[two["seed"] == 1].to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "page.md"
    assert bench.main(["--from-csv", f"{tmp_path / 'old.csv'},{tmp_path / 'new.csv'}",
                       "--out", str(out)]) == 0
    assert "2 methods, seeds 0, 1 pooled, 4 runs" in out.read_text()
