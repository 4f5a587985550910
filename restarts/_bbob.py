"""COCO's BBOB functions (through ``cocoex``) as :class:`~restarts.problems.Problem`.

BBOB (Hansen et al., "Real-parameter black-box optimization benchmarking 2009") is the
suite black-box optimizers are compared on: 24 functions in five groups, each with
seeded instances (a shifted optimum ``x_opt`` in ``[-4, 4]^d``, rotations and an
offset ``f_opt``), searched in ``[-5, 5]^d``. ``cocoex``'s ``BareProblem`` evaluates a
function without COCO's observers or logging; ``f_min`` and ``x_min`` are the
instance's own ``f_opt`` and ``x_opt`` (``fun(x_min) == f_min`` exactly, checked for
every function in d = 2, 5, 10, 20 and instances 1, 6, 15).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import check_int, fail

__all__ = ["bbob_spec", "BBOBFunction", "FUNCTIONS", "GROUPS", "import_cocoex"]

#: Function number -> short name (Hansen et al., 2009).
FUNCTIONS: dict[int, str] = {
    1: "sphere", 2: "ellipsoid", 3: "rastrigin", 4: "bueche_rastrigin", 5: "linear_slope",
    6: "attractive_sector", 7: "step_ellipsoid", 8: "rosenbrock", 9: "rosenbrock_rotated",
    10: "ellipsoid_rotated", 11: "discus", 12: "bent_cigar", 13: "sharp_ridge",
    14: "different_powers", 15: "rastrigin_rotated", 16: "weierstrass", 17: "schaffer_f7",
    18: "schaffer_f7_ill", 19: "griewank_rosenbrock", 20: "schwefel", 21: "gallagher_101",
    22: "gallagher_21", 23: "katsuura", 24: "lunacek",
}

#: The five function groups of BBOB, as COCO reports them.
GROUPS: dict[str, tuple[int, ...]] = {
    "separable": (1, 2, 3, 4, 5),
    "moderate": (6, 7, 8, 9),
    "ill-conditioned": (10, 11, 12, 13, 14),
    "multimodal": (15, 16, 17, 18, 19),
    "weakly structured": (20, 21, 22, 23, 24),
}

_OWNER = "bbob()"


def import_cocoex(owner: str) -> Any:
    """``cocoex.bare_problem``, or an ``ImportError`` naming the extra to install."""
    try:
        from cocoex import bare_problem
    except ImportError as exc:
        raise ImportError(
            f"{owner} needs COCO's 'cocoex' (package coco-experiment): "
            "pip install 'restarts[bbob]' (or coco-experiment)."
        ) from exc
    return bare_problem


class BBOBFunction:
    """One BBOB function instance: ``fun(x)`` for ``x`` of shape ``(d,)`` or ``(n, d)``.

    Picklable (the C object is rebuilt after unpickling), so it runs in worker
    processes.
    """

    def __init__(self, function: int, instance: int, dim: int) -> None:
        self.function, self.instance, self.dim = function, instance, dim
        self._bare: Any = None

    @property
    def bare(self) -> Any:
        if self._bare is None:
            self._bare = import_cocoex(_OWNER).BareProblem("bbob", self.function, self.dim,
                                                           self.instance)
        return self._bare

    def __getstate__(self) -> dict:
        return {"function": self.function, "instance": self.instance, "dim": self.dim}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["function"], state["instance"], state["dim"])

    def __call__(self, x: Any) -> Any:
        x = np.asarray(x, dtype=float)
        if x.ndim == 2:
            bare = self.bare
            return np.array([bare(row) for row in x], dtype=float)
        return float(self.bare(np.ascontiguousarray(x.ravel())))

    def __repr__(self) -> str:
        return f"BBOBFunction({self.function}, {self.instance}, {self.dim})"


def bbob_spec(function: int, instance: int, dim: int) -> dict:
    """``Problem`` arguments of BBOB function ``function`` (1-24), instance ``instance``
    (>= 1), in ``dim`` (2-640): ``name, fun, bounds, f_min, x_min``."""
    function = check_int(function, "function", _OWNER, low=1, high=24)
    instance = check_int(instance, "instance", _OWNER, low=1)
    dim = check_int(dim, "dim", _OWNER, low=2, high=640)
    fun = BBOBFunction(function, instance, dim)
    try:
        bare = fun.bare
    except ImportError:
        raise
    except Exception as exc:  # pragma: no cover - cocoex refuses what we did not check
        raise fail("function", _OWNER, "a BBOB function cocoex knows",
                   (function, instance, dim)) from exc
    x_opt = np.array(bare.best_parameter(), dtype=float)
    name = f"bbob_f{function:03d}_i{instance:02d}_d{dim:02d}"
    return {"name": name, "fun": fun, "bounds": [(-5.0, 5.0)] * dim,
            "f_min": float(bare.best_value()), "x_min": x_opt}
