"""K-means clustering by Lloyd's algorithm, as a local solver.

Owns :class:`KMeans` (seeding, batched restarts, the incremental protocol) and
:class:`LloydState`, where a run stands between two ``advance`` calls.

Lloyd (1982), "Least squares quantization in PCM"; k-means++ seeding from Arthur &
Vassilvitskii (2007), "k-means++: the advantages of careful seeding", in its greedy
variant (``2 + int(log k)`` candidates per centre) as in scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._result import LocalResult
from .._validation import check_array, check_choice, check_int, check_real, check_shaped
from ._base import Resumable, one_blas_thread

__all__ = ["KMeans", "one_blas_thread"]

_OWNER = "KMeans()"
_INITS = ("k-means++", "random")
# Bound on the distance block held in memory at once (bytes); also keeps it cache-sized.
_BLOCK_BYTES = 8 * 2**20
# Hard bound on any temporary, whatever the number of restarts batched together.
_MAX_BYTES = 256 * 2**20
# Temporaries meant to stay in cache.
_CACHE_BYTES = 256 * 2**10
# Below this many samples, a full batched assignment is cheaper than bookkeeping bounds.
_PRUNE_MIN_SAMPLES = 8192


@dataclass(eq=False)
class LloydState:
    """Where Lloyd's iteration of R restarts stands (it pickles).

    ``centres`` (R, k, d) are centred on the data mean; ``active`` lists the
    restarts still iterating, and ``lab``, ``ub``, ``lb``, ``lab_old``, ``shift`` and
    ``sums`` hold one row per active restart (labels, distance bounds, the previous
    labels, the last centre shifts, per-cluster sums); ``it`` counts the iterations
    run; ``out[r]`` is restart ``r``'s final ``(centres, labels, inertia, nit,
    converged)`` once it finished.
    """

    centres: np.ndarray
    active: np.ndarray
    lab: np.ndarray
    ub: np.ndarray
    lb: np.ndarray
    lab_old: np.ndarray
    shift: np.ndarray | None
    sums: np.ndarray
    todo: np.ndarray
    out: list
    it: int = 0
    #: the iteration whose assignment step :meth:`KMeans.current` already ran (-1: none)
    assigned: int = -1


class KMeans(Resumable):
    """K-means (Lloyd's algorithm) on a fixed data set, restartable.

    Each call runs one k-means from initial centres chosen with the restart's
    generator and returns the inertia (sum of squared distances of the samples to
    their closest centre) as ``fun``.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
        The data, numeric and finite.
    n_clusters : int
        Number of clusters, in ``[1, n_samples]``.
    init : {"k-means++", "random"} or array_like of shape (n_clusters, n_features), \
default="k-means++"
        How a restart chooses its initial centres: greedy k-means++ seeding
        (``2 + int(log(n_clusters))`` candidates per centre, as scikit-learn),
        ``n_clusters`` distinct samples drawn uniformly, or fixed centres. A start
        point passed by :func:`restarts.multistart` (``starts=``) overrides it: it is
        read as initial centres of shape ``(n_clusters, n_features)`` (or flat).
    max_iter : int, default=300
        Maximum number of Lloyd iterations.
    tol : float, default=1e-4
        Convergence tolerance, relative to the mean per-feature variance of ``X``:
        a run stops when the sum of squared centre shifts is ``<= tol * mean(var(X,
        axis=0))``, or at once when no label changed ("strict convergence").

    Attributes
    ----------
    n_samples, n_features : int
        Shape of ``X``.

    Notes
    -----
    The iteration mirrors scikit-learn's ``_kmeans_single_lloyd``: data centred on
    its mean, labels from the dot-product form of the squared distance, empty
    clusters re-seeded from the samples farthest from their centre, a final
    assignment step when the run stopped on the shift tolerance (so labels match
    centres), and the inertia computed exactly as ``sum(||x - c||^2)``. Two
    shortcuts give the same labels as the plain iteration (up to distance ties at
    rounding level): the k-means++ seeding already knows each sample's closest seed,
    which serves as the first assignment step; and on large data (``n_samples >=
    8192``) Hamerly's distance bounds (Hamerly 2010, "Making k-means even faster")
    let samples whose label cannot change skip the distance computation, and the
    cluster sums are updated with the samples that moved rather than summed again.
    Labels are numpy's ``argmax`` (first index of the best score) computed by
    vectorised passes over blocks of scores laid out (centres, samples).

    The result's ``x`` is the array of centres, shape ``(n_clusters, n_features)``,
    sorted in a canonical (lexicographic) order, so that the same clustering found
    with permuted labels is the same point; :meth:`canonical` gives that order for
    any array of centres. ``extra`` holds ``counts`` (cluster sizes, same order)
    and ``converged``.

    The solver's matrix products are small (chunked to stay in cache), so it runs
    them on one BLAS thread whatever the surrounding limit; use
    :func:`restarts.multistart`'s ``n_jobs`` to use several cores.

    :meth:`solve_batch` advances several restarts together: the centres of all
    active restarts are stacked so that each Lloyd step is one matrix product
    (``X @ C.T``) and one sparse one-hot product for the centre sums. Each
    restart's arithmetic is unchanged by the batching (the same BLAS column blocks
    and the same summation order), so results equal single runs. Batching pays most
    on small data, where per-call overhead dominates (digits: about half the time of
    single runs); on large data the work per sample dominates and the gain is small.

    Examples
    --------
    >>> import numpy as np
    >>> import restarts as rs
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    >>> km = rs.solvers.KMeans(X, n_clusters=2)
    >>> res = km(None, np.random.default_rng(0))
    >>> res.fun, res.x.tolist()
    (1.0, [[0.0, 0.5], [10.0, 0.5]])
    """

    _data_attrs = ("_X", "_mean")

    def __init__(
        self,
        X: Any,
        n_clusters: int,
        init: str | Any = "k-means++",
        max_iter: int = 300,
        tol: float = 1e-4,
    ) -> None:
        X = check_array(X, "X", _OWNER, ndim=2, min_cols=1)
        n, d = X.shape
        self.n_clusters = check_int(n_clusters, "n_clusters", _OWNER, low=1, high=n)
        self.max_iter = check_int(max_iter, "max_iter", _OWNER, low=1)
        self.tol = check_real(tol, "tol", _OWNER, low=0.0)
        self.n_samples, self.n_features = n, d
        if isinstance(init, str):
            self.init = check_choice(init, "init", _OWNER, _INITS)
            init_centres = None
        else:
            init_centres = self._check_centres(init, "init")
            self.init = "array"

        # Everything that depends on X alone is computed once, not per restart.
        self._mean = X.mean(axis=0)
        # [x, 1, ||x||^2] for centred x: one GEMM gives x.c - ||c||^2/2 (assignment,
        # rows [c, -|c|^2/2, 0]) or ||x - c||^2 (seeding, rows [-2c, |c|^2, 1]).
        self._Xk = np.empty((n, d + 2))
        np.subtract(X, self._mean, out=self._Xk[:, :d])
        self._Xk[:, d] = 1.0
        xsq = np.einsum("ij,ij->i", self._Xk[:, :d], self._Xk[:, :d])
        self._Xk[:, d + 1] = xsq
        self._X = self._Xk[:, :d]  # a view: the data is held once
        self._tol_abs = float(np.mean(np.var(X, axis=0)) * self.tol) if self.tol > 0 else 0.0
        self._init_centres = None if init_centres is None else init_centres - self._mean
        scale = float(np.max(np.abs(X))) if X.size else 1.0
        self._round = 1e-8 * (scale if scale > 0 else 1.0)
        # Rounding bound for the distance bounds (expanded-form distances lose up to
        # ~sqrt(eps) * max ||x||); far below any gap that decides a label.
        self._margin = 1e-6 * float(np.sqrt(xsq.max())) if n else 0.0
        # Bounds pay once the per-sample work dominates the per-call overhead.
        self._prune = n >= _PRUNE_MIN_SAMPLES
        self._ones: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __getstate__(self) -> dict:
        # pickled for worker processes: send the data once, not the view and caches
        state = self.__dict__.copy()
        del state["_X"]
        state["_ones"] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._X = self._Xk[:, : self.n_features]

    # -- public --------------------------------------------------------------
    budget_unit = "iterations"

    @property
    def max_budget(self) -> int:
        """The full budget of a restart: ``max_iter`` Lloyd iterations."""
        return self.max_iter

    def begin(self, start: Any, rng: np.random.Generator) -> LloydState:
        """Choose one restart's initial centres (``start``, or ``init`` with ``rng``)."""
        return self._begin_group([start], [rng])

    def _advance(self, state: LloydState, budget: int) -> None:
        with one_blas_thread():
            self._lloyd_steps(state, budget)

    def finished(self, state: LloydState) -> bool:
        """Whether the run converged or used ``max_iter`` iterations."""
        return not state.active.size

    def current(self, state: LloydState) -> LocalResult:
        """The clustering so far: the current centres with their labels.

        After ``k`` iterations this is what ``KMeans(..., max_iter=k)`` returns (the
        labels of the current centres). For a running state this is the next
        iteration's assignment step, kept in the state so that ``advance`` does not
        repeat it: the iterations and their results are the same as without the call.
        """
        return self.current_stack(state)[0]


    def stack(self, states: Sequence[LloydState]) -> LloydState:
        """One state iterating the one-restart ``states`` together (copies; all still
        running, at one iteration). Racing advances a chunk this way: the assignment
        steps of all restarts share one batched product, as in :meth:`solve_batch`."""
        first = states[0]
        if any(s.centres.shape[0] != 1 or s.active.size != 1 for s in states) or len(
                {(s.it, s.assigned, s.shift is None) for s in states}) != 1:
            raise ValueError(
                "The 'states' parameter of KMeans.stack() must hold running one-restart "
                "states at one iteration.")

        def cat(name: str) -> np.ndarray:
            return np.concatenate([getattr(s, name) for s in states])

        return LloydState(
            centres=cat("centres"), active=np.arange(len(states)), lab=cat("lab"),
            ub=cat("ub"), lb=cat("lb"), lab_old=cat("lab_old"),
            shift=None if first.shift is None else cat("shift"), sums=cat("sums"),
            todo=np.array([i for i, s in enumerate(states) if s.todo.size], dtype=np.int64),
            out=[None] * len(states), it=first.it, assigned=first.assigned)

    def unstack(self, state: LloydState) -> list[LloydState]:
        """The restarts of a stacked ``state``, one state each (copies)."""
        pos = {int(r): p for p, r in enumerate(state.active)}
        out = []
        for r in range(state.centres.shape[0]):
            rows = [pos[r]] if r in pos else []
            out.append(LloydState(
                centres=state.centres[r : r + 1].copy(), active=np.arange(len(rows)),
                lab=state.lab[rows], ub=state.ub[rows], lb=state.lb[rows],
                lab_old=state.lab_old[rows],
                shift=None if state.shift is None else state.shift[rows],
                sums=state.sums[rows], todo=np.array([0] if rows and r in state.todo else [],
                                                     dtype=np.int64),
                out=[state.out[r]], it=state.it, assigned=state.assigned if rows else -1))
        return out

    def current_stack(self, state: LloydState) -> list[LocalResult]:
        """``current`` of every restart of a stacked ``state``; the assignment steps of
        the running ones are one batched step (kept, as :meth:`current` keeps it)."""
        active = state.active
        with one_blas_thread():
            if active.size and state.it > 0 and state.assigned != state.it:
                self._estep(state.centres, active, state.shift, state.lab, state.ub,
                            state.lb, np.arange(active.size))
                state.assigned = state.it
            results = []
            pos = {int(r): p for p, r in enumerate(active)}
            for r in range(state.centres.shape[0]):
                if r not in pos:
                    results.append(self._result(*state.out[r]))
                    continue
                lab = state.lab[pos[r]]
                if state.it == 0:  # not assigned yet: labels of the initial centres, on copies
                    lab, ub, lb = (a[pos[r] : pos[r] + 1].copy()
                                   for a in (state.lab, state.ub, state.lb))
                    self._estep(state.centres[r : r + 1], np.arange(1), None, lab, ub, lb,
                                np.arange(1))
                    lab = lab[0]
                centres = state.centres[r]
                results.append(self._result(centres, lab.copy(), self._inertia(centres, lab),
                                            state.it, False))
        return results

    def solve_batch(
        self, starts: Sequence[Any] | None, rngs: Sequence[np.random.Generator]
    ) -> list[LocalResult]:
        """Run several restarts together; identical to calling the solver on each.

        Parameters
        ----------
        starts : sequence of (array_like or None), or None
            Initial centres per restart (``None`` entries use ``init``).
        rngs : sequence of numpy.random.Generator
            One generator per restart.

        Returns
        -------
        list of LocalResult
        """
        rngs = list(rngs)
        starts = [None] * len(rngs) if starts is None else list(starts)
        if len(starts) != len(rngs):
            raise ValueError(
                f"solve_batch() needs one rng per start. Got {len(starts)} starts and "
                f"{len(rngs)} rngs instead."
            )
        # Lloyd keeps ~8 arrays of shape (restarts, n_samples): bound them in memory.
        per = max(1, _MAX_BYTES // (64 * self.n_samples))
        out: list[LocalResult] = []
        for g in range(0, len(rngs), per):
            out += self._solve_group(starts[g : g + per], rngs[g : g + per])
        return out

    def _begin_group(self, starts: list[Any], rngs: list[np.random.Generator]
                     ) -> LloydState:
        C0 = np.empty((len(rngs), self.n_clusters, self.n_features))
        seeded = []
        for r, (start, rng) in enumerate(zip(starts, rngs, strict=True)):
            if start is not None:
                C0[r] = self._check_centres(start, "start") - self._mean
            elif self._init_centres is not None:
                C0[r] = self._init_centres
            elif self.init == "random":
                C0[r] = self._X[rng.choice(self.n_samples, self.n_clusters, replace=False)]
            else:
                seeded.append(r)
        # k-means++ restarts are seeded together too (one GEMM per seeding step).
        step = max(1, _MAX_BYTES // (8 * self.n_samples * (2 + int(np.log(self.n_clusters)))))
        first = (np.zeros(len(rngs), dtype=bool), np.zeros((len(rngs), self.n_samples),
                 dtype=np.int64), np.zeros((len(rngs), self.n_samples)))
        # The GEMMs here are small and chunked: a second BLAS thread only adds
        # synchronisation (and spinning when cores are shared). Restarts, not BLAS
        # calls, are the unit of parallelism (multistart's n_jobs).
        with one_blas_thread():
            for g in range(0, len(seeded), step):
                group = seeded[g : g + step]
                ids, first[1][group], first[2][group] = self._kmeanspp(
                    [rngs[r] for r in group], with_labels=True)
                C0[group] = self._X[ids]
                first[0][group] = True
        return self._lloyd_begin(C0, first)

    def _solve_group(self, starts: list[Any], rngs: list[np.random.Generator]
                     ) -> list[LocalResult]:
        state = self.advance(self._begin_group(starts, rngs), self.max_iter)
        return [self._result(*out) for out in state.out]

    def canonical(self, x: Any) -> np.ndarray:
        """Centres sorted in the canonical (lexicographic) order, flattened.

        Two sets of centres that differ by a permutation give the same array.

        Parameters
        ----------
        x : array_like of shape (n_clusters, n_features) or (n_clusters * n_features,)

        Returns
        -------
        numpy.ndarray of shape (n_clusters * n_features,)
        """
        centres = np.asarray(x, dtype=float).reshape(-1, self.n_features)
        return centres[self._order(centres)].ravel()

    def predict(self, x: Any, X: Any = None) -> np.ndarray:
        """Labels of the samples of ``X`` (default: the training data) for centres ``x``."""
        centres = np.asarray(x, dtype=float).reshape(-1, self.n_features)
        data = self._X + self._mean if X is None else check_array(X, "X", "KMeans.predict()")
        d2 = (
            np.einsum("ij,ij->i", centres, centres)[None, :] - 2.0 * data @ centres.T
        )
        return np.argmin(d2, axis=1)

    # -- internals -----------------------------------------------------------
    def _check_centres(self, value: Any, name: str) -> np.ndarray:
        return check_shaped(value, name, _OWNER, (self.n_clusters, self.n_features),
                            "initial centres of shape (n_clusters, n_features)")

    def _order(self, centres: np.ndarray) -> np.ndarray:
        # Rounded keys, so that rounding noise cannot reorder equal optima.
        keys = np.round(centres / self._round)
        return np.lexsort(keys.T[::-1])

    def _onehot(self, idx: np.ndarray, R: int) -> sp.csc_array:
        """One-hot (R*k, n) matrix; column j holds rows ``idx[j*R:(j+1)*R]``.

        ``onehot @ [X, 1, ||x||^2]`` sums each cluster's samples in sample order,
        the order of a plain loop, whatever R. The values and column pointers depend
        on R only and are kept (read-only); the row indices are this call's ``idx``,
        so concurrent restarts (threads) never share a matrix they write.
        """
        n, k = self.n_samples, self.n_clusters
        fixed = self._ones.get(R)
        if fixed is None:
            fixed = (np.ones(n * R), np.arange(0, n * R + 1, R, dtype=np.int64))
            for a in fixed:
                a.flags.writeable = False
            self._ones[R] = fixed
        return sp.csc_array((fixed[0], idx, fixed[1]), shape=(R * k, n))

    def _assign(self, centres: np.ndarray, rows: np.ndarray, lab: np.ndarray,
                ub: np.ndarray | None = None, lb: np.ndarray | None = None) -> None:
        """Closest centres for R sets of centres (R, k, d), all samples, in place.

        Writes rows ``rows`` of ``lab`` (labels) and, when given, of ``ub`` and ``lb``:
        the distance of each sample to its centre plus ``self._margin``, and to its
        second closest centre (the bounds of :meth:`_reassign`). Everything is
        computed block by block while the block is in cache.
        """
        R, k, d = centres.shape
        n = self.n_samples
        bounds = ub is not None
        if k == 1:
            lab[rows] = 0
            if bounds:
                ub[rows], lb[rows] = self._margin, np.inf
            return
        weights = self._rows(centres)
        chunk = int(min(n, max(256, _BLOCK_BYTES // (8 * R * k))))
        buf = np.empty((R * k, chunk))
        labels = np.empty((R, chunk), dtype=np.int64)
        best = np.empty((R, chunk))
        second = np.empty((R, chunk)) if bounds else None
        for s in range(0, n, chunk):
            e = min(n, s + chunk)
            m = e - s
            # scores laid out (R, k, samples): the reductions over k then run along
            # contiguous rows of samples (vectorised), not over k-long rows
            block = np.matmul(weights, self._Xk[s:e].T, out=buf[:, :m]).reshape(R, k, m)
            self._top(block, labels[:, :m], best[:, :m], second[:, :m] if bounds else None)
            lab[rows, s:e] = labels[:, :m]
            if bounds:
                xsq = self._Xk[s:e, d + 1]
                ub[rows, s:e] = self._dist(best[:, :m], xsq) + self._margin
                lb[rows, s:e] = self._dist(second[:, :m], xsq)

    @staticmethod
    def _top(scores: np.ndarray, labels: np.ndarray, best: np.ndarray,
             second: np.ndarray | None = None) -> None:
        """Best score, its index and the second best over axis 1 of (R, k, m) ``scores``.

        Writes into ``labels``, ``best`` and ``second`` (R, m); ``scores`` is
        overwritten when ``second`` is asked for. Same values as ``argmax`` (first
        index of the maximum), ``max`` and the max with the argmax entry removed, but
        every pass is a vectorised elementwise operation over samples: numpy's
        reductions along a short last axis (k values per sample) cost ~40 ns a row.
        """
        R, k, m = scores.shape
        np.max(scores, axis=1, out=best)
        # argmax's first index of the maximum, exactly: the smallest j with
        # scores[:, j] == best is the min over j of j + k * (scores[:, j] < best),
        # computed on small integers (one byte per entry for k < 128)
        kind = np.min_scalar_type(2 * k)
        key = np.less(scores, best[:, None, :])
        key = key.view(kind) if kind == np.uint8 else key.astype(kind)
        key *= kind.type(k)
        key += np.arange(k, dtype=kind)[:, None]
        labels[...] = key.min(axis=1)
        if second is not None:
            # remove exactly one entry (the argmax) per sample, so that a tie for the
            # best still gives second == best
            flat = scores.reshape(-1)
            flat[(np.arange(R)[:, None] * k + labels) * m + np.arange(m)] = -np.inf
            np.max(scores, axis=1, out=second)

    @staticmethod
    def _rows(centres: np.ndarray) -> np.ndarray:
        """Rows [c, -||c||^2 / 2, 0]: ``[x, 1, ||x||^2] @ rows.T`` scores every centre."""
        d = centres.shape[-1]
        flat = centres.reshape(-1, d)
        rows = np.zeros((flat.shape[0], d + 2))
        rows[:, :d] = flat
        rows[:, d] = -0.5 * np.einsum("ij,ij->i", flat, flat)
        return rows

    @staticmethod
    def _dist(score: np.ndarray, xsq: np.ndarray) -> np.ndarray:
        """Distances from scores ``x.c - ||c||^2 / 2`` (in place); ``xsq``: ``||x||^2``."""
        np.multiply(score, -2.0, out=score)
        score += xsq
        np.maximum(score, 0.0, out=score)
        return np.sqrt(score, out=score)

    def _reassign(self, centres: np.ndarray, shift: np.ndarray, lab: np.ndarray,
                  ub: np.ndarray, lb: np.ndarray) -> bool:
        """Update one restart's labels in place after its centres moved by ``shift``.

        Hamerly's bounds (Hamerly 2010, "Making k-means even faster"): ``ub`` bounds
        the distance of a sample to its centre from above (it includes the rounding
        margin, see :meth:`_estep`), ``lb`` the distance to its second closest centre
        from below. A sample with ``ub`` below both ``lb`` and half the distance from
        its centre to the nearest other one keeps its label; the others are scored
        against every centre. Labels are Lloyd's, at a fraction of the cost once
        clusters settle. Returns True, leaving labels alone, when most samples would
        need checking (a full assignment is then cheaper).
        """
        k, d = centres.shape
        ub += shift[lab]
        if k == 1:
            return False
        # the second closest centre moved by at most the largest shift, or by the
        # second largest for samples of the cluster that moved most
        j1 = int(np.argmax(shift))
        dec = np.full(k, shift[j1])
        dec[j1] = np.max(np.delete(shift, j1))
        lb -= dec[lab]
        gap = np.sqrt(((centres[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2))
        np.fill_diagonal(gap, np.inf)
        z = (0.5 * gap.min(axis=1))[lab]
        np.maximum(z, lb, out=z)
        cand = np.flatnonzero(ub > z)
        if cand.size > self.n_samples // 2:
            return True
        # Scoring the candidates directly is cheaper than first tightening their upper
        # bound with the exact distance (one more gather of X each).
        weights = self._rows(centres)
        step = max(256, _BLOCK_BYTES // (8 * k))
        for s in range(0, cand.size, step):
            part = cand[s : s + step]
            Xc = np.take(self._Xk, part, axis=0)
            m = part.size
            new = np.empty((1, m), dtype=np.int64)
            best, second = np.empty((1, m)), np.empty((1, m))
            self._top((weights @ Xc.T)[None], new, best, second)
            lab[part] = new[0]
            xsq = Xc[:, d + 1]
            ub[part] = self._dist(best[0], xsq) + self._margin
            lb[part] = self._dist(second[0], xsq)
        return False

    def _estep(self, centres: np.ndarray, active: np.ndarray, shift: np.ndarray | None,
               lab: np.ndarray, ub: np.ndarray, lb: np.ndarray, which: np.ndarray) -> None:
        """Labels for restarts ``which`` (positions in ``active``), in place.

        Without ``shift`` (first iteration) every sample is assigned; otherwise
        restarts whose bounds settle most samples are updated incrementally, and the
        rest share one batched full assignment. The upper bounds ``ub`` hold the
        distance plus ``self._margin``, a bound on the rounding of the expanded-form
        distances: a looser upper bound, so that comparing it with the lower bounds
        needs no extra pass.
        """
        if shift is None or not self._prune:
            full = which
        else:
            full = np.array([i for i in which
                             if self._reassign(centres[active[i]], shift[i], lab[i], ub[i],
                                               lb[i])],
                            dtype=np.int64)
        # restarts per batched assignment: bounded so that a block keeps >= 256 samples
        group = max(1, _BLOCK_BYTES // (8 * 256 * self.n_clusters))
        for g in range(0, full.size, group):
            part = full[g : g + group]
            if self._prune:
                self._assign(centres[active[part]], part, lab, ub, lb)
            else:
                self._assign(centres[active[part]], part, lab)

    def _kmeanspp(self, rngs: list[np.random.Generator], with_labels: bool = False):
        """Greedy k-means++ seeding of len(rngs) restarts at once; sample indices (R, k).

        With ``with_labels``, also the closest seed of every sample and its distance
        (R, n) each, which the seeding computes anyway: they stand in for the first
        assignment step of Lloyd's iteration.

        Every per-restart quantity is computed with the same operations whatever R
        (GEMM column blocks, fixed row chunks, contiguous row sums), so seeding a
        batch gives the same centres as seeding each restart alone.
        """
        X, Xk = self._X, self._Xk
        n, d = X.shape
        k, R = self.n_clusters, len(rngs)
        t = 2 + int(np.log(k))
        ids = np.empty((R, k), dtype=np.int64)
        closest = np.empty((R, n))
        for r, rng in enumerate(rngs):
            ids[r, 0] = rng.integers(n)
            np.subtract(Xk[:, d + 1], 2.0 * (X @ X[ids[r, 0]]), out=closest[r])
            closest[r] += Xk[ids[r, 0], d + 1]
        np.maximum(closest, 0.0, out=closest)
        cum = np.cumsum(closest, axis=1)
        labels = np.zeros((R, n), dtype=np.int64)
        rows = np.zeros((R * t, d + 2))
        rows[:, d + 1] = 1.0
        dist = np.empty((R, t, n))
        chunk = 2048  # fixed, independent of R: the same GEMM blocks for every batch size
        buf = np.empty((R * t, chunk))
        arange_r = np.arange(R)
        for c in range(1, k):
            cand = np.empty((R, t), dtype=np.int64)
            for r, rng in enumerate(rngs):
                cand[r] = np.searchsorted(cum[r], rng.uniform(size=t) * cum[r, -1])
            np.clip(cand, None, n - 1, out=cand)
            flat = cand.ravel()
            rows[:, :d] = -2.0 * X[flat]
            rows[:, d] = Xk[flat, d + 1]
            for s in range(0, n, chunk):
                e = min(n, s + chunk)
                # laid out (candidates, samples): the later passes run on contiguous rows
                block = np.matmul(rows, Xk[s:e].T, out=buf[:, : e - s])
                np.minimum(block.reshape(R, t, e - s), closest[:, None, s:e],
                           out=dist[:, :, s:e])
            best = np.argmin(dist.sum(axis=2), axis=1)
            ids[:, c] = cand[arange_r, best]
            for r in range(R):
                chosen = dist[r, best[r]]  # a view: no (R, n) copy
                # strictly closer only: on a tie the earlier centre keeps the sample, as
                # Lloyd's argmin (first index) would
                np.putmask(labels[r], chosen < closest[r], c)
                np.maximum(chosen, 0.0, out=closest[r])
            np.cumsum(closest, axis=1, out=cum)
        if with_labels:
            return ids, labels, np.sqrt(closest, out=closest)
        return ids

    def _relocate(self, r_labels: np.ndarray, old: np.ndarray, sums: np.ndarray,
                  counts: np.ndarray) -> None:
        """Re-seed empty clusters of one restart from the farthest samples (in place).

        Mirrors scikit-learn's ``_relocate_empty_clusters_dense``.
        """
        empty = np.flatnonzero(counts == 0)
        X = self._X
        n, d = X.shape
        dist = np.empty(n)
        chunk = int(max(1, min(n, _CACHE_BYTES // (8 * d))))
        for s in range(0, n, chunk):  # in cache-sized chunks; each row sum is unchanged
            diff = X[s : s + chunk] - old[r_labels[s : s + chunk]]
            np.sum(np.square(diff, out=diff), axis=1, out=dist[s : s + chunk])
        if dist.max() == 0:  # more clusters than distinct samples: nothing to move
            return
        m = empty.size
        far = np.argpartition(dist, -m)[: -m - 1 : -1]
        for new_id, j in zip(empty, far, strict=True):
            old_id = r_labels[j]
            sums[old_id, :d] -= X[j]
            sums[new_id, :d] = X[j]
            counts[new_id] = 1.0
            counts[old_id] -= 1.0

    def _lloyd(self, C0: np.ndarray, first: tuple | None = None):
        """Run Lloyd from R initial centres; list of (centres, labels, inertia, nit, ok).

        ``first = (known, labels, dist)``: restarts with ``known`` start from these
        labels (and distances to their centre) instead of a first assignment step.
        """
        state = self._lloyd_begin(C0, first)
        self._lloyd_steps(state, self.max_iter)
        return state.out

    def _lloyd_begin(self, C0: np.ndarray, first: tuple | None = None) -> LloydState:
        """The state of Lloyd's iteration from R initial centres (see :meth:`_lloyd`)."""
        R, k, d = C0.shape
        n = self.n_samples
        lab = np.zeros((R, n), dtype=np.int64)
        ub = np.zeros((R, n))
        todo = np.arange(R)
        if first is not None:
            known = first[0]
            lab[known], ub[known] = first[1][known], first[2][known] + self._margin
            todo = np.flatnonzero(~known)
        return LloydState(
            centres=C0.copy(), active=np.arange(R), lab=lab, ub=ub,
            lb=np.zeros((R, n)),  # 0: no lower bound known yet
            lab_old=np.full((R, n), -1, dtype=np.int64), shift=None,
            sums=np.zeros((R, k, d + 2)), todo=todo, out=[None] * R)

    def _lloyd_steps(self, st: LloydState, budget: int) -> None:
        """Up to ``budget`` more Lloyd iterations of the active restarts, in place."""
        centres, active, shift = st.centres, st.active, st.shift
        lab, ub, lb, lab_old, state = st.lab, st.ub, st.lb, st.lab_old, st.sums
        k, d = centres.shape[1:]
        n = self.n_samples
        offsets = (np.arange(centres.shape[0]) * k)[:, None]
        # per-cluster [sum x, count, sum ||x||^2] of the current labels: ``state``
        for it in range(st.it, min(self.max_iter, st.it + budget)):
            if not active.size:
                break
            if it != st.assigned:  # else current() ran this assignment step already
                self._estep(centres, active, shift, lab, ub, lb,
                            st.todo if it == 0 else np.arange(active.size))
            changed = lab != lab_old
            n_changed = changed.sum(axis=1)
            strict = n_changed == 0
            # Few labels changed (large data): update the sums with the moved samples
            # only; small data is summed again, in one batched product.
            few = (n_changed <= n // 4) & (it > 0) & self._prune
            full = np.flatnonzero(~few)
            if full.size:
                idx = (lab[full] + offsets[: full.size]).T.ravel()
                state[full] = (self._onehot(idx, full.size) @ self._Xk).reshape(
                    full.size, k, d + 2)
            for i in np.flatnonzero(few & ~strict):
                moved = np.flatnonzero(changed[i])
                m = moved.size
                step = sp.csc_array(
                    (np.tile([1.0, -1.0], m), np.stack([lab[i, moved], lab_old[i, moved]],
                                                       axis=1).ravel(),
                     np.arange(0, 2 * m + 1, 2)), shape=(k, m))
                state[i] += step @ self._Xk[moved]
            sums = state
            counts = state[:, :, d].copy()
            old = centres[active]
            empty_any = np.flatnonzero((counts == 0).any(axis=1))
            if empty_any.size:
                sums = state.copy()  # relocation adjusts this step's centres only
            for i in empty_any:
                self._relocate(lab[i], old[i], sums[i], counts[i])
            with np.errstate(divide="ignore"):
                alpha = np.where(counts > 0, 1.0 / counts, 0.0)
            new = sums[:, :, :d] * alpha[:, :, None]
            for i in np.flatnonzero((counts <= 0).any(axis=1)):
                # scikit-learn places a cluster that stays empty on the biggest one
                empty = counts[i] <= 0
                new[i, empty] = new[i, np.argmax(counts[i])]
            shift = np.sqrt(((new - old) ** 2).sum(axis=2))
            shift_tot = (shift**2).sum(axis=1)
            centres[active] = new
            converged = strict | (shift_tot <= self._tol_abs)
            done = converged | (it == self.max_iter - 1)
            finished = np.flatnonzero(done)
            rerun = finished[~strict[finished]]
            if rerun.size:  # final assignment so that labels match the centres
                self._estep(centres, active, shift, lab, ub, lb, rerun)
            for i in finished:
                r = active[i]
                st.out[r] = (centres[r], lab[i].copy(), self._inertia(centres[r], lab[i]),
                             it + 1, bool(converged[i]))
            if finished.size:  # drop them (copies of (R, n) arrays: only when needed)
                keep = ~done
                active, shift = active[keep], shift[keep]
                lab, ub, lb, state = lab[keep], ub[keep], lb[keep], state[keep]
                lab_old = lab.copy()
            else:
                np.copyto(lab_old, lab)
            st.it = it + 1
        st.active, st.shift = active, shift
        st.lab, st.ub, st.lb, st.lab_old, st.sums = lab, ub, lb, lab_old, state

    def _inertia(self, centres: np.ndarray, labels: np.ndarray) -> float:
        n, d = self._X.shape
        chunk = int(max(1, min(n, _CACHE_BYTES // (8 * d))))
        total = 0.0
        for s in range(0, n, chunk):
            diff = self._X[s : s + chunk] - centres[labels[s : s + chunk]]
            total += float(np.einsum("ij,ij->", diff, diff))
        return total

    def _result(self, centres: np.ndarray, labels: np.ndarray, inertia: float, nit: int,
                converged: bool) -> LocalResult:
        x = centres + self._mean
        order = self._order(x)
        counts = np.bincount(labels, minlength=self.n_clusters)[order]
        return LocalResult(
            x=x[order],
            fun=inertia,
            success=converged,
            nit=nit,
            nfev=None,
            message="converged" if converged else f"max_iter={self.max_iter} reached"
            if nit >= self.max_iter else f"stopped after {nit} of max_iter={self.max_iter}",
            extra={"counts": tuple(int(c) for c in counts), "converged": converged},
        )
