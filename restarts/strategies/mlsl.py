"""MLSL: multi-level single linkage (Rinnooy Kan & Timmer).

Sample the box in rounds of ``N`` uniform points. After round ``k`` (``kN`` points
in all), a local search starts from a sample point ``x`` only if

- ``x`` is among the best ``gamma`` fraction of all points sampled so far (the
  "reduced sample");
- no sample point with a lower value lies within the critical distance
  ``r_k = π^{-1/2} (Γ(1 + d/2) m(S) σ log(kN) / (kN))^{1/d}``;
- no local search has started from ``x`` before, and ``x`` is not in a known basin:
  no local minimum found so far that is no higher than ``x`` lies within ``r_k``
  of it (a point below a minimum cannot lie in that minimum's basin, so lower
  minima nearby do not count; the paper's test ignores the values).

Distances are measured in the box scaled to the unit cube, so ``m(S) = 1`` and
every coordinate counts alike. With ``σ > 4`` the expected number of local searches
stays finite even if sampling goes on forever, while every local minimum is found
with probability 1 [1]_. Candidates of a round are searched best first, one after
another, and the known-basin test is re-applied after each search, so one basin is
not searched twice within a round.

With an evaluation budget (a stopping rule with ``max_nfev``), sampling and searches
share it: a round samples at most what is left and each search is capped at what is
left. ``first_round`` sets the size of the first round alone (one point starts a
local search at once), and coordinate probes (``coordinate_share``) spend a share of
each round on points along coordinate lines through the best minimum found, which
join the sample only if they are better than it: uniform points almost never land in
the global basin of a lattice of minima such as Rastrigin's, while the neighbouring
basin lies within ``r_k``. The measurements behind these settings:
``docs/benchmarks-global.md``, "How TikTak's and MLSL's settings were chosen".

References
----------
.. [1] A. H. G. Rinnooy Kan and G. T. Timmer, "Stochastic global optimization
   methods part II: Multi level methods", Mathematical Programming 39, 57-78, 1987.
"""

from __future__ import annotations

import math
from collections.abc import Generator

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import gammaln

from .._validation import check_int, check_real
from ._base import Strategy, StrategyContext, Task, evaluate, finished, objective_of, remaining

__all__ = ["MLSL", "critical_distance", "in_known_basin"]


def critical_distance(n_points: int, dim: int, sigma: float = 4.0, volume: float = 1.0) -> float:
    """Rinnooy Kan & Timmer's ``r_k`` for ``n_points = kN`` points in ``dim`` dimensions.

    ``r_k = π^{-1/2} (Γ(1 + d/2) m(S) σ log(kN) / (kN))^{1/d}``.

    Examples
    --------
    >>> from restarts.strategies.mlsl import critical_distance
    >>> round(critical_distance(100, 2, sigma=4.0), 4)  # sqrt(4 log(100) / (100 pi))
    0.2421
    """
    n = max(int(n_points), 2)
    log_inner = gammaln(1 + dim / 2) + math.log(volume * sigma * math.log(n) / n)
    return math.exp(log_inner / dim) / math.sqrt(math.pi)


def in_known_basin(x: np.ndarray, fx: float, minima: np.ndarray, minima_f: np.ndarray,
                   r_k: float) -> bool:
    """Whether ``x`` (value ``fx``) lies in the basin of a local minimum found so far.

    True when a minimum no higher than ``fx`` lies within ``r_k`` of ``x``. A point
    *below* a minimum cannot lie in that minimum's basin (descent from it could never
    climb to the minimum), so such minima do not count, however near.

    Examples
    --------
    >>> import numpy as np
    >>> from restarts.strategies.mlsl import in_known_basin
    >>> minima, values = np.array([[0.5, 0.5]]), np.array([1.0])
    >>> in_known_basin(np.array([0.52, 0.5]), 2.0, minima, values, r_k=0.1)
    True
    >>> in_known_basin(np.array([0.52, 0.5]), 0.5, minima, values, r_k=0.1)  # lower
    False
    """
    if not len(minima):
        return False
    near = ((minima - x) ** 2).sum(-1) <= r_k**2
    return bool(np.any(near & (minima_f <= fx)))


class MLSL(Strategy):
    """Multi-level single linkage (see the module docstring).

    The solver must expose ``fun`` and ``bounds`` (as
    :class:`~restarts.solvers.Minimize` does) and, under a budget, accept
    ``max_nfev``. ``n_starts`` of :func:`~restarts.multistart` bounds the number of
    local searches. Without a budget the run also ends after ``max_rounds`` rounds.
    Restart ``i`` depends only on ``(rng, i)`` and the earlier restarts, hence is the
    same whatever ``n_jobs``.

    Parameters
    ----------
    n_sample : int, optional
        Points per round, ``N``; default ``20 * d``.
    gamma : float in (0, 1], default=0.1
        Fraction of the sample eligible as start points (the reduced sample).
    sigma : float > 0, default=4.0
        The ``σ`` of the critical distance (larger: fewer searches).
    max_rounds : int, default=50
        Sampling rounds when there is no evaluation budget.
    first_round : int, optional
        Points in the first round; default ``N``.
    coordinate_share : float in [0, 1], default=0.0
        Share of each round (after the first minimum is found) spent on probes along
        coordinate lines through the best minimum found; a probe joins the sample only
        if it is better than that minimum. 0 is the paper's uniform sampling;
        :func:`restarts.compare` uses 0.5 (module docstring).

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> f = lambda x: float((x[0] ** 2 - 1) ** 2 + 0.3 * x[0] + x[1] ** 2)
    >>> solver = rs.solvers.Minimize(f, bounds=[(-2, 2)] * 2)
    >>> res = rs.multistart(solver, 10, strategy="mlsl", rng=0,
    ...                     stop=rs.stop.MaxEvaluations(1000))
    >>> round(res.fun, 4), len(res.table) < 10
    (-0.3054, True)
    """

    name = "mlsl"

    def __init__(self, n_sample: int | None = None, gamma: float = 0.1, sigma: float = 4.0,
                 max_rounds: int = 50, first_round: int | None = None,
                 coordinate_share: float = 0.0) -> None:
        self.n_sample = check_int(n_sample, "n_sample", "MLSL()", low=1, allow_none=True)
        self.gamma = check_real(gamma, "gamma", "MLSL()", low=0, high=1, strict_low=True)
        self.sigma = check_real(sigma, "sigma", "MLSL()", low=0, strict_low=True)
        self.max_rounds = check_int(max_rounds, "max_rounds", "MLSL()", low=1)
        self.first_round = check_int(first_round, "first_round", "MLSL()", low=1,
                                     allow_none=True)
        self.coordinate_share = check_real(coordinate_share, "coordinate_share", "MLSL()",
                                           low=0, high=1)

    def tasks(self, ctx: StrategyContext) -> Generator[list[Task], list, None]:
        fun, bounds = objective_of(ctx, self.name)
        d = bounds.shape[0]
        lo, width = bounds[:, 0], bounds[:, 1] - bounds[:, 0]
        n_round = self.n_sample or 20 * d
        units = np.empty((0, d))          # all sample points, unit-cube coordinates
        values = np.empty(0)
        started = np.zeros(0, dtype=bool)
        minima = np.empty((0, d))         # local minima found, unit-cube coordinates
        minima_f = np.empty(0)            # ... and their values
        index, rounds, probed = 0, 0, 0
        while index < ctx.n_starts:
            left = remaining(ctx)
            if left is None and rounds >= self.max_rounds:
                return
            size = n_round if rounds or self.first_round is None else self.first_round
            size = size if left is None else min(size, left)
            if size < 1:
                return
            rounds += 1
            new = ctx.rng.random((size, d))
            n_probe = int(self.coordinate_share * size) if len(minima) else 0
            joined, joined_values = np.empty((0, d)), np.empty(0)
            if n_probe:
                # Probes: the best minimum with one coordinate (cycling) taken from a fresh
                # uniform point; only those below that minimum join the sample.
                b = int(np.argmin(minima_f))
                coords = (probed + np.arange(n_probe)) % d
                probed += n_probe
                probes = np.tile(minima[b], (n_probe, 1))
                probes[np.arange(n_probe), coords] = new[np.arange(n_probe), coords]
                probe_values = evaluate(ctx, fun, lo + probes * width)
                better = probe_values < minima_f[b]
                joined, joined_values = probes[better], probe_values[better]
            uniform = new[n_probe:]
            new = np.vstack([joined, uniform])
            units = np.vstack([units, new])
            values = np.concatenate([values, joined_values,
                                     evaluate(ctx, fun, lo + uniform * width)])
            started = np.concatenate([started, np.zeros(len(new), dtype=bool)])
            total = len(values)
            r_k = critical_distance(total, d, self.sigma)
            n_reduced = max(1, math.ceil(self.gamma * total))
            reduced = np.argsort(values, kind="stable")[:n_reduced]
            reduced = reduced[np.isfinite(values[reduced])]
            # Points with a lower value than a reduced point are reduced points too, so
            # "no better point within r_k" only needs distances inside the reduced sample.
            linked = np.zeros(len(reduced), dtype=bool)
            pairs = cKDTree(units[reduced]).query_pairs(r_k, output_type="ndarray")
            if len(pairs):
                a, b = pairs[:, 0], pairs[:, 1]
                worse = np.where(values[reduced][a] < values[reduced][b], b, a)
                ties = values[reduced][a] == values[reduced][b]
                linked[worse[~ties]] = True
            for j in np.flatnonzero(~linked):
                i = reduced[j]
                if started[i]:
                    continue
                if in_known_basin(units[i], values[i], minima, minima_f, r_k):
                    continue
                left = remaining(ctx)
                if left is not None and left < 1:
                    return
                if index >= ctx.n_starts:
                    return
                started[i] = True
                records = yield [Task(index, lo + units[i] * width,
                                      {} if left is None else {"max_nfev": left})]
                index += 1
                for x, f_x, _nfev in finished(records):
                    if x is not None:
                        minima = np.vstack([minima, (x - lo) / width])
                        minima_f = np.append(minima_f, f_x)
