"""Tiny problems with known answers, shared by the test modules."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from hypothesis import settings

import restarts as rs

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


def child_env():
    """The environment of a child Python process that imports this checkout's
    ``restarts`` (its directory first on ``PYTHONPATH``)."""
    import restarts

    root = os.path.dirname(os.path.dirname(os.path.abspath(restarts.__file__)))
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        [root] + [p for p in [os.environ.get("PYTHONPATH")] if p]))


def wait_for(predicate, limit=120.0, poll=0.01):
    """Poll ``predicate`` until it holds; fail if it does not within ``limit`` seconds."""
    t0 = time.monotonic()
    while not predicate():
        assert time.monotonic() - t0 < limit, "the child made no progress"
        time.sleep(poll)


class Decay:
    """A resumable toy solver (racing's tests): the loss falls from a random height
    towards a random floor at a random rate, with noise from the restart's own
    generator. ``converge`` finishes restarts early once their gap is below it;
    ``slow`` plants a late winner (bad early, best at the end) at the start whose first
    coordinate equals it; ``scramble`` makes the early ranking unrelated to the final
    one (every restart decays at one rate from a huge random height)."""

    budget_unit = "steps"

    def __init__(self, max_budget=27, converge=None, slow=None, scramble=False):
        self.max_budget, self.converge = max_budget, converge
        self.slow, self.scramble = slow, scramble

    def begin(self, start, rng):
        floor, height, rate = rng.uniform(0, 1), rng.uniform(1, 2), rng.uniform(0.3, 0.9)
        if self.slow is not None and start is not None and start[0] == self.slow:
            floor, height, rate = -1.0, 5.0, 0.95
        if self.scramble:
            height, rate = floor + rng.uniform(5, 50), 0.6
        return {"floor": floor, "gap": height - floor, "rate": rate, "t": 0, "rng": rng,
                "noise": 0.0}

    def advance(self, state, budget):
        for _ in range(int(budget)):
            if self.finished(state):
                break
            state["gap"] *= state["rate"]
            state["noise"] = 1e-3 * state["rng"].standard_normal()
            state["t"] += 1
        return state

    def current(self, state):
        fun = state["floor"] + state["gap"] + state["noise"]
        return rs.LocalResult(x=[state["floor"]], fun=fun, nit=state["t"],
                              success=self.finished(state))

    def finished(self, state):
        return state["t"] >= self.max_budget or (
            self.converge is not None and state["gap"] < self.converge)

    def __call__(self, start, rng):
        return self.current(self.advance(self.begin(start, rng), self.max_budget))
