"""Property-based checks: any argument either works or raises ValueError/TypeError, quickly."""

from __future__ import annotations

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
    try:
        res = rs.multistart(solver, n_starts, n_jobs=n_jobs, starts=starts, rng=rng,
                            timeout=timeout, backend=backend, strategy=strategy,
                            progress=progress)
    except (ValueError, TypeError) as exc:
        assert "parameter of" in str(exc) or "must" in str(exc)
        return
    assert 1 <= len(res) <= n_starts


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
