"""The public surface: names in ``restarts`` are what API.md says they are."""

from __future__ import annotations

import importlib
import types

import numpy as np

import restarts as rs
from restarts._seeding import child_seed, restart_seed


def test_version_is_the_package_version_string():
    assert isinstance(rs.version, str) and rs.version == rs.__version__
    assert rs.version.count(".") >= 1 and not callable(rs.version)


def test_compare_is_the_function_and_its_module_is_reachable():
    assert callable(rs.compare) and isinstance(rs.comparison, types.ModuleType)
    module = importlib.import_module("restarts.comparison")
    assert module is rs.comparison and module.compare is rs.compare
    import restarts.comparison as by_import

    assert by_import is module and "tiktak" in by_import.METHODS
    assert module.summarize is rs.analysis.summarize_comparison  # one summary


def test_child_seed_is_spawn():
    root = np.random.SeedSequence(42, spawn_key=(3,))
    spawned = root.spawn(5)[4]
    assert child_seed(root, 4).state == spawned.state == restart_seed(42, (3,), 4).state
    grand = spawned.spawn(3)[2]
    assert child_seed(root, 4, 2).state == grand.state
