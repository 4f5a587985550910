"""Views of a run built on demand: the per-restart table and the distinct optima.

:class:`BasinMatcher` is the one rule for "two restarts reached the same optimum";
the table's ``basin`` column, ``solutions``, the stopping rules and :mod:`restarts.analysis`
all use it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["BasinMatcher", "assign_basins", "resolve_tolerances", "build_table",
           "build_solutions", "optimum_key", "FTOL_RELATIVE", "FTOL_VALUES_ONLY", "XTOL_FLOOR"]

#: Default ``ftol``: restarts whose values differ by at most this times
#: ``max(1, |best fun|)`` may be the same optimum.
FTOL_RELATIVE = 1e-4
#: Default ``ftol`` when optima cannot be told apart by ``x`` (it is not numeric, e.g. a
#: fitted estimator): values alone decide, so only (nearly) equal values are one optimum.
FTOL_VALUES_ONLY = 1e-6
#: The smallest default ``xtol``: closer optima are always the same.
XTOL_FLOOR = 1e-4
#: A gap between optima larger than this many times the spread below it separates them.
XTOL_JUMP = 30.0


def optimum_key(x: Any, canonical: Callable | None) -> np.ndarray | None:
    """The vector two optima are compared by (``canonical(x)`` when the solver has one)."""
    if canonical is not None:
        x = canonical(x)
    if x is None:
        return None
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        return None
    return arr.ravel()


def resolve_tolerances(restarts: Sequence[Any], ftol: float | None = None,
                       xtol: float | None = None, canonical: Callable | None = None,
                       sample: int = 2000) -> tuple[float, float]:
    """The grouping tolerances of a run: given ones as they are, ``None`` from the data.

    ``ftol=None``: ``FTOL_RELATIVE * max(1, |best fun|)`` (``FTOL_VALUES_ONLY`` when no
    ``x`` is numeric, so values alone decide). ``xtol=None``: the spread
    of the restarts that reached the same optimum, as the local solver left it (SLSQP
    or Nelder-Mead stop farther from an optimum than L-BFGS-B). Among restarts whose
    values agree within ``ftol``, the edges of their minimum spanning tree (in the
    key space) are walked from the shortest up: each edge at most ``XTOL_JUMP`` times
    the longest so far belongs to one optimum's spread; the first larger jump is a
    gap between distinct optima. The spread edges join the restarts of each optimum;
    ``xtol`` is the widest such optimum (twice its radius around its best restart),
    over all values, and at least ``XTOL_FLOOR``. The first ``sample`` successful
    restarts are used.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> from restarts._solutions import resolve_tolerances
    >>> x = [0.0, 0.0005, 0.001, 0.002, 0.004, 1.0, 1.0007]  # two optima, reached sloppily
    >>> rows = [rs.Restart(i, rs.LocalResult(x=[v], fun=0.0), None, 0.0)
    ...         for i, v in enumerate(x)]
    >>> ftol, xtol = resolve_tolerances(rows)
    >>> ftol, round(xtol, 6)
    (0.0001, 0.008)
    """
    if ftol is not None and xtol is not None:
        return float(ftol), float(xtol)
    ok = [r for r in restarts if r.error is None and r.result is not None][:sample]
    funs = np.array([float(r.result.fun) for r in ok])
    keys = [optimum_key(r.result.x, canonical) for r in ok]
    if ftol is None:
        if any(k is not None for k in keys):
            ftol = FTOL_RELATIVE * max(1.0, abs(float(funs.min())))
        else:
            ftol = FTOL_VALUES_ONLY
    if xtol is None:
        xtol = _spread(keys, funs, float(ftol))
    return float(ftol), float(xtol)


def _spread(keys: list, funs: np.ndarray, ftol: float) -> float:
    """The longest edge that belongs to one optimum's spread (see resolve_tolerances)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
    from scipy.spatial import cKDTree

    shapes = [k.shape for k in keys if k is not None]
    if not shapes:
        return XTOL_FLOOR
    shape = max(set(shapes), key=shapes.count)
    idx = np.array([j for j, k in enumerate(keys) if k is not None and k.shape == shape
                    and np.isfinite(k).all()], dtype=np.int64)
    if len(idx) and shape[0] > 20:
        idx = idx[:300]  # high-dimensional keys: a smaller sample keeps this fast
    xtol = XTOL_FLOOR
    if len(idx) < 2:
        return xtol
    order = idx[np.argsort(funs[idx], kind="stable")]
    cuts = np.flatnonzero(np.diff(funs[order]) > ftol) + 1
    for group in np.split(order, cuts):
        m = len(group)
        if m < 2:
            continue
        pts = np.stack([keys[j] for j in group])
        dist, nbr = cKDTree(pts).query(pts, k=min(m, 11))
        rows = np.repeat(np.arange(m), dist.shape[1] - 1)
        weights = np.maximum(dist[:, 1:].ravel(), 1e-300)  # a zero weight is no edge
        graph = coo_matrix((weights, (rows, nbr[:, 1:].ravel())), shape=(m, m))
        tree = minimum_spanning_tree(graph).tocoo()
        top = XTOL_FLOOR
        for e in np.sort(tree.data):
            if e > XTOL_JUMP * top:
                break
            top = max(top, float(e))
        # One optimum's restarts are the tree's components joined by spread edges; a
        # restart joins the first one to arrive, so xtol must span a whole component.
        keep = tree.data <= top
        spread = coo_matrix((tree.data[keep], (tree.row[keep], tree.col[keep])), shape=(m, m))
        n_comp, comp = connected_components(spread, directed=False)
        for c in range(n_comp):
            members = pts[comp == c]
            if len(members) > 1:
                best = members[0]  # the group is sorted by fun: its best restart
                top = max(top, 2 * float(np.max(np.linalg.norm(members - best, axis=1))))
        xtol = max(xtol, top)
    return xtol


def assign_basins(
    restarts: Sequence[Any], *, ftol: float, xtol: float, canonical: Callable | None = None
) -> np.ndarray:
    """Optimum id of each restart under :class:`BasinMatcher`'s rule; ``-1`` if it failed.

    Restarts are matched in the order given (restart-index order in a run, as the
    stopping rules see them, so both count the same optima); ids are then renumbered
    so that optimum ``0`` is the best and ids rise with the best ``fun`` reached.
    """
    matcher = BasinMatcher(ftol, xtol, canonical)
    matcher.update(restarts)
    return matcher.ranked_labels()


class BasinMatcher:
    """Distinct optima of restarts, grown one restart at a time in the order given.

    The one rule for "same optimum" (used by ``table``/``solutions``, the stopping
    rules and the analysis functions): restart ``r`` joins the earliest-founded
    optimum whose founder ``o`` has ``|fun_r - fun_o| <= ftol`` and
    ``dist(key_r, key_o) <= xtol``, else founds a new optimum. The key is
    ``canonical(x)`` (or ``x``) flattened; ``dist`` is the Euclidean distance over the
    finite entries and is infinite unless both keys have the same shape and the same
    non-finite entries (``nan``, ``inf``, ``-inf``) in the same places, so identical
    optima with non-finite coordinates are one optimum. Restarts whose ``x`` is not
    numeric are compared by ``fun`` alone. Failed restarts get ``-1``.

    Founders are hashed into cells of side ``2 ftol`` in ``fun`` and ``2 xtol`` along
    at most three directions of ``x`` (the coordinates for ``d <= 3``, else fixed
    orthonormal projections, which never increase a distance), so a restart is
    compared only with founders of its own cell: about ``O(1)`` per restart however
    many restarts share one ``fun``.

    Attributes
    ----------
    labels : list of int
        Optimum id of each restart seen, in order (``-1`` for failed ones). Ids count
        founders in order of arrival.
    n : int
        Successful restarts seen.
    counts : list of int
        Restarts per optimum, by id.
    best_funs : list of float
        Lowest ``fun`` reached in each optimum, by id.
    singletons : int
        Optima reached exactly once.
    best : int or None
        Id of the optimum with the lowest ``fun`` (the one reaching it first on ties).
    """

    def __init__(self, ftol: float, xtol: float, canonical: Callable | None = None) -> None:
        self.ftol, self.xtol, self.canonical = float(ftol), float(xtol), canonical
        self.labels: list[int] = []
        self.n = 0
        self.counts: list[int] = []
        self.best_funs: list[float] = []
        self.singletons = 0
        self.best: int | None = None
        self._seen = 0
        self._rep_fun: list[float] = []
        self._rep_key: list[Any] = []
        self._cells: dict[tuple, list[int]] = {}
        self._best_at: list[int] = []  # when each optimum's best fun was first reached

    @property
    def distinct(self) -> int:
        """Number of distinct optima seen."""
        return len(self.counts)

    def update(self, restarts: Sequence[Any]) -> None:
        """Match the restarts of ``restarts`` not seen yet (``restarts`` grows by appending)."""
        new = restarts[self._seen:]
        self._seen = len(restarts)
        labels = [-1] * len(new)
        ok = [k for k, r in enumerate(new) if r.error is None and r.result is not None]
        if ok:
            funs = [float(new[k].result.fun) for k in ok]
            keys = [optimum_key(new[k].result.x, self.canonical) for k in ok]
            for k, label in zip(ok, self._match(funs, keys), strict=True):
                labels[k] = label
        self.labels.extend(labels)

    def _match(self, funs: list[float], keys: list[np.ndarray | None]) -> list[int]:
        out = []
        for f, (sig, vec, point, scale) in zip(funs, _prepare(keys), strict=True):
            cell = (sig, _cell(f, self.ftol)) + tuple(_cell(p, self.xtol) for p in point)
            found = -1
            for b in self._cells.get(cell, ()):
                if abs(self._rep_fun[b] - f) <= self.ftol and (
                        vec is None or _dist(vec, self._rep_key[b]) <= self.xtol):
                    found = b
                    break
            if found < 0:
                found = len(self.counts)
                self._rep_fun.append(f)
                self._rep_key.append(vec)
                self.counts.append(0)
                self.best_funs.append(f)
                self._best_at.append(self.n)
                ranges = [_cells_near(f, self.ftol)] + [_cells_near(p, self.xtol, scale)
                                                        for p in point]
                for c in itertools.product(*ranges):
                    self._cells.setdefault((sig,) + c, []).append(found)
            count = self.counts[found] = self.counts[found] + 1
            self.singletons += 1 if count == 1 else (-1 if count == 2 else 0)
            self.n += 1
            if f < self.best_funs[found]:
                self.best_funs[found], self._best_at[found] = f, self.n - 1
            if self.best is None or self.best_funs[found] < self.best_funs[self.best]:
                self.best = found
            out.append(found)
        return out

    def ranked_labels(self) -> np.ndarray:
        """``labels`` renumbered so that optimum ``0`` is the best (ids rise with best ``fun``).

        Ties go to the optimum whose best ``fun`` was reached first.
        """
        order = sorted(range(len(self.counts)), key=lambda b: (self.best_funs[b], self._best_at[b]))
        rank = np.empty(len(order) + 1, dtype=np.int64)
        rank[np.asarray(order, dtype=np.int64)] = np.arange(len(order))
        rank[-1] = -1  # label -1 indexes the last slot
        return rank[np.asarray(self.labels, dtype=np.int64)]


_PROJECTIONS: dict[int, np.ndarray] = {}
_SMALL = 16  # keys up to this size are compared as tuples (math.dist), larger as arrays


def _projection(size: int) -> np.ndarray:
    """Three fixed orthonormal directions in ``R^size`` (deterministic, cached by size)."""
    proj = _PROJECTIONS.get(size)
    if proj is None:
        gauss = np.random.default_rng(size).standard_normal((size, 3))
        proj = _PROJECTIONS[size] = np.linalg.qr(gauss)[0].T.copy()
    return proj


def _prepare(keys: list[np.ndarray | None]) -> list[tuple]:
    """``(signature, finite part, projected point, its rounding scale)`` per key."""
    out: list[tuple] = [(None, None, (), 0.0)] * len(keys)
    by_shape: dict[tuple, list[int]] = {}
    for j, key in enumerate(keys):
        if key is not None:
            by_shape.setdefault(key.shape, []).append(j)
    for shape, idx in by_shape.items():
        mat = np.stack([keys[j] for j in idx]).reshape(len(idx), -1)
        bad = ~np.isfinite(mat)
        finite = np.where(bad, 0.0, mat)
        size = mat.shape[1]
        points = finite if size <= 3 else finite @ _projection(size).T
        codes = None
        if bad.any():
            codes = np.where(np.isnan(mat), 1, np.where(mat > 0, 2, 3)).astype(np.int8)
            codes[~bad] = 0
        point_rows = points.tolist()
        scales = np.linalg.norm(finite, axis=1).tolist() if size > 3 else [0.0] * len(idx)
        vecs = finite.tolist() if size <= _SMALL else list(finite)
        for r, j in enumerate(idx):
            sig = shape if codes is None or not bad[r].any() else (shape, codes[r].tobytes())
            out[j] = (sig, vecs[r], point_rows[r], scales[r])
    return out


_FINE = float(2**50)


def _cell(v: float, tol: float) -> float:
    """The cell holding ``v``: ``floor(v / 2 tol)``, or ``v`` itself when ``tol`` is 0.

    Any non-decreasing step function works (a value within ``tol`` of ``v`` lies in a
    cell between those of ``v - tol`` and ``v + tol``); beyond ``2**50`` cells the
    steps grow geometrically so that such a span stays a few cells long.
    """
    if tol <= 0 or v != v:
        return v
    q = v / (2 * tol)
    if abs(q) < _FINE:
        return math.floor(q)
    step = _FINE + math.floor(math.log2(min(abs(q), 2.0**1000)))
    return step if q > 0 else -step - 1


def _cells_near(v: float, tol: float, scale: float = 0.0) -> Any:
    """Every cell holding a value within ``tol`` of ``v`` (a margin covers rounding)."""
    if tol <= 0 or v != v:
        return (v,)
    margin = tol * (1 + 1e-9) + 1e-15 * abs(v) + 1e-12 * scale
    return range(int(_cell(v - margin, tol)), int(_cell(v + margin, tol)) + 1)


def _dist(a: Any, b: Any) -> float:
    if isinstance(a, list):
        return math.dist(a, b)
    return float(np.linalg.norm(a - b))


def build_table(result: Any, basins: np.ndarray) -> pd.DataFrame:
    """One row per restart, scalar columns, failures included."""
    rows = result.restarts
    n = len(rows)
    nan = np.nan

    def res_attr(r: Any, name: str) -> Any:
        return None if r.result is None else getattr(r.result, name)

    data: dict[str, Any] = {
        "restart": np.array([r.index for r in rows], dtype=np.int64),
        "fun": np.array([r.result.fun if (r.result is not None and r.error is None) else nan
                         for r in rows], dtype=float),
        "success": np.array([bool(r.error is None and r.result is not None and r.result.success)
                             for r in rows], dtype=bool),
        "nit": pd.array([res_attr(r, "nit") for r in rows], dtype="Int64"),
        "nfev": pd.array([res_attr(r, "nfev") for r in rows], dtype="Int64"),
        "time_s": np.array([r.time_s for r in rows], dtype=float),
        "error": pd.array([r.error for r in rows], dtype=object),
        "basin": pd.array([None if b < 0 else int(b) for b in basins], dtype="Int64"),
        "attempts": np.array([r.attempts for r in rows], dtype=np.int64),
    }
    entropy = result.seed_entropy
    data["seed_entropy"] = pd.array([str(entropy)] * n, dtype=object)
    data["seed_spawn_key"] = pd.array(
        [str(tuple(result.seed_spawn_key) + (r.index,)) for r in rows], dtype=object
    )
    for key, column in _info_columns(rows).items():
        if key not in data:
            data[key] = column
    starts = [r.start for r in rows]
    if n and all(s is not None for s in starts):
        try:
            mat = np.asarray(starts, dtype=float).reshape(n, -1)
        except (TypeError, ValueError):
            mat = None
        if mat is not None and mat.shape[1] <= 1000:
            for j in range(mat.shape[1]):
                data[f"x0_{j}"] = mat[:, j]
    return pd.DataFrame(data)


def _info_columns(rows: Sequence[Any]) -> dict[str, Any]:
    """A column per scalar entry of the restarts' ``info`` (task options, racing's rung)."""
    keys: dict[str, None] = {}
    for r in rows:
        for k, v in (r.info or {}).items():
            if isinstance(v, (int, float, str, bool, np.integer, np.floating)):
                keys[k] = None
    out = {}
    for k in keys:
        values = [(r.info or {}).get(k) for r in rows]
        present = [v for v in values if v is not None]
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in present):
            out[k] = pd.array(values, dtype="Int64")
        elif all(isinstance(v, (int, float, np.integer, np.floating)) for v in present):
            out[k] = np.array([np.nan if v is None else v for v in values], dtype=float)
        else:
            out[k] = pd.array(values, dtype=object)
    return out


def build_solutions(result: Any, basins: np.ndarray) -> pd.DataFrame:
    """Distinct optima, best first: ``basin``, ``fun``, ``count``, ``share``, ``x``, ``restart``."""
    rows = result.restarts
    n_ok = int(np.sum(basins >= 0))
    out: dict[int, dict[str, Any]] = {}
    for r, b in zip(rows, basins, strict=True):
        if b < 0:
            continue
        entry = out.get(int(b))
        if entry is None:
            out[int(b)] = {"basin": int(b), "fun": r.result.fun, "count": 1, "x": r.result.x,
                           "restart": r.index}
        else:
            entry["count"] += 1
            if r.result.fun < entry["fun"]:
                entry["fun"], entry["x"], entry["restart"] = r.result.fun, r.result.x, r.index
    df = pd.DataFrame(
        [out[b] for b in sorted(out)], columns=["basin", "fun", "count", "x", "restart"]
    )
    df.insert(3, "share", df["count"] / n_ok if n_ok else [])
    return df.reset_index(drop=True)
