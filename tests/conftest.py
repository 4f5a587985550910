"""Tiny problems with known answers, shared by the test modules."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (CI must not pass or fail by the
# draw); HYPOTHESIS_PROFILE=hunt draws fresh ones to look for new failures, and a
# failure found that way becomes an explicit @example.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("hunt", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


def double_well(x):
    """Two minima in 1-d: f(-1) = -0.3 (global) and f(+1) = +0.3 (local)."""
    x = float(np.asarray(x).ravel()[0])
    return (x * x - 1.0) ** 2 + 0.3 * x


def quadratic_solver(start, rng):
    """Closed-form 'local search': the minimum of (x - start_sign)^2, one of two basins."""
    target = np.where(np.asarray(start) >= 0, 1.0, -1.0)
    fun = float(np.sum(target)) * 0.5  # basin +1 is worse than basin -1
    return (target, fun + float(rng.random()) * 0.0)


class NoisySolver:
    """Uses its rng: returns the start plus a draw, so reproducibility is observable."""

    def __call__(self, start, rng):
        x = np.asarray(start, dtype=float) + rng.normal(size=np.shape(start))
        return (x, float(np.sum(x**2)))


class BatchNoisySolver(NoisySolver):
    """The same as NoisySolver with a vectorised solve_batch that must agree with it."""

    def __init__(self):
        self.batch_calls = 0

    def solve_batch(self, starts, rngs):
        self.batch_calls += 1
        return [self(s, r) for s, r in zip(starts, rngs, strict=True)]


class Counted:
    """An independent evaluation counter around a function (picklable); with
    ``record=True`` it also keeps a copy of every point, in call order."""

    def __init__(self, fun, record=False):
        self.fun, self.n = fun, 0
        self.points = [] if record else None

    def __call__(self, x):
        self.n += 1
        if self.points is not None:
            self.points.append(np.array(x, dtype=float))
        return self.fun(x)


@pytest.fixture
def noisy():
    return NoisySolver()


def alive(pid):
    """Whether process ``pid`` runs (a zombie waiting for its reaper does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
