"""Property-based checks: any argument either works or raises ValueError/TypeError, quickly."""

from __future__ import annotations

import re

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import restarts as rs

anything = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True),
    st.text(max_size=5), st.lists(st.floats(-3, 3), max_size=3),
    st.lists(st.tuples(st.floats(allow_nan=True), st.floats(allow_nan=True)), max_size=3),
)


def solver(start, rng):
    return (np.zeros(1), float(rng.random()))


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(n_starts=anything, n_jobs=anything, starts=anything, rng=anything, timeout=anything,
       backend=anything, strategy=anything, progress=anything)
def test_multistart_arguments_fail_cleanly(n_starts, n_jobs, starts, rng, timeout, backend,
                                           strategy, progress):
    if isinstance(n_jobs, int) and not isinstance(n_jobs, bool) and n_jobs not in (1, -1, 0):
        n_jobs = 1  # keep the property test from spawning many process pools
    if backend not in (None, "threading", "sequential"):
        backend = backend if not isinstance(backend, str) else backend + "-x"
    given_ = {"n_starts": n_starts, "n_jobs": n_jobs, "starts": starts, "rng": rng,
              "timeout": timeout, "backend": backend, "strategy": strategy,
              "progress": progress}
    try:
        res = rs.multistart(solver, **given_)
    except (ValueError, TypeError) as exc:
        # The message names the argument, in the one template of _validation.fail ...
        named = re.match(r"The '(\w+)' parameter of multistart\(\) ", str(exc))
        assert named, str(exc)
        name = named.group(1)
        assert name in given_, str(exc)
        # ... and the argument it names is wrong: alone (the others valid) it fails too,
        # or with the given n_starts (a clash, e.g. starts with another number of rows).
        wrong = _fails_alone(name, given_[name]) or _fails_alone(
            name, given_[name], n_starts=n_starts)
        assert wrong, (name, str(exc))
        return
    assert 1 <= len(res) <= n_starts


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(["n_starts", "n_jobs", "starts", "rng", "timeout", "backend",
                             "strategy", "progress"]), value=anything)
def test_one_wrong_argument_is_the_one_named(name, value):
    # Every other argument valid: a failure must name exactly this argument.
    if name == "n_jobs" and isinstance(value, int) and not isinstance(value, bool) \
            and value not in (1, -1, 0):
        value = 1
    if name == "backend" and isinstance(value, str):
        value += "-x"
    try:
        res = rs.multistart(solver, **{**_VALID, name: value})
    except (ValueError, TypeError) as exc:
        assert str(exc).startswith(f"The '{name}' parameter of multistart() must "), str(exc)
        return
    assert 1 <= len(res) <= _VALID["n_starts"] if name != "n_starts" else len(res) == value


_VALID = {"n_starts": 2, "n_jobs": 1, "starts": None, "rng": 0, "timeout": None,
          "backend": None, "strategy": "independent", "progress": False}


def _fails_alone(name, value, **also):
    try:
        rs.multistart(solver, **{**_VALID, **also, name: value})
    except (ValueError, TypeError):
        return True
    return False


@settings(max_examples=100, deadline=1000)
@given(bounds=anything)
def test_sampler_bounds_fail_cleanly(bounds):
    try:
        s = rs.starts.Sobol(bounds)
    except (ValueError, TypeError) as exc:
        assert "'bounds' parameter of Sobol()" in str(exc)
        return
    pts = s.draw(4, np.random.default_rng(0))
    assert np.all(np.isfinite(pts))
