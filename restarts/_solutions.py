"""Views of a run built on demand: the per-restart table and the distinct optima."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["assign_basins", "build_table", "build_solutions", "optimum_key"]


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


def assign_basins(
    restarts: Sequence[Any], *, ftol: float, xtol: float, canonical: Callable | None = None
) -> np.ndarray:
    """Group successful restarts into distinct optima; ``-1`` for failed restarts.

    Two restarts share an optimum when ``|Δfun| <= ftol`` and ``‖Δkey‖ <= xtol``
    (the key is ``canonical(x)``, or ``x``; restarts whose ``x`` is not numeric are
    compared by ``fun`` alone). Restarts are visited best first and each joins the
    first existing optimum it matches, else founds a new one, so optimum ``0`` is
    the best and ids increase with ``fun``. Only optima within ``ftol`` in ``fun`` are
    candidates, found by bisection, so the cost stays near ``O(n log n)`` when the
    optima are spread out in value.
    """
    n = len(restarts)
    basins = np.full(n, -1, dtype=np.int64)
    ok = [k for k, r in enumerate(restarts) if r.error is None and r.result is not None]
    if not ok:
        return basins
    funs = np.array([restarts[k].result.fun for k in ok])
    order = np.argsort(funs, kind="stable")
    rep_fun: list[float] = []
    rep_key: list[np.ndarray | None] = []
    for j in order:
        k = ok[j]
        f = float(funs[j])
        key = optimum_key(restarts[k].result.x, canonical)
        lo = bisect.bisect_left(rep_fun, f - ftol)
        found = -1
        for b in range(lo, len(rep_fun)):
            if abs(rep_fun[b] - f) > ftol:
                continue
            other = rep_key[b]
            if key is None or other is None or other.shape != key.shape:
                same = key is None and other is None
            else:
                same = float(np.linalg.norm(key - other)) <= xtol
            if same:
                found = b
                break
        if found < 0:
            # Visiting in ascending fun keeps rep_fun sorted: append is an insort.
            rep_fun.append(f)
            rep_key.append(key)
            found = len(rep_fun) - 1
        basins[k] = found
    return basins


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
