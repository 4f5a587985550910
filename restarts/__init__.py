"""restarts — multi-restart (multistart) optimization.

Run any greedy local optimizer from many starts, in parallel and reproducibly, keep
every result, and see how many distinct optima there are.

==========================  ==========================================================
noun                        what it is
==========================  ==========================================================
``multistart``              the verb: run a local solver from many starts
``LocalResult``             one restart's outcome (frozen)
``MultistartResult``        all restarts: ``.best``, ``.table``, ``.solutions``
``solvers``                 built-in local solvers (Minimize, KMeans, ...)
``starts``                  start-point samplers (Uniform, Sobol, ...)
``stop``                    stopping rules (MaxEvaluations, Target, ...)
``problems`` / ``Problem``  test functions with known optima
``compare``                 restart strategies vs SciPy's global methods, one budget
                            (its module, with ``METHODS``: ``comparison``)
``Store``                   a SQLite file of runs: resume, load, delete
``analysis``                success curves, restarts needed, optima estimates, profiles
``plot`` / ``report``       figures (matplotlib) and a self-contained HTML report
==========================  ==========================================================
"""

# Imports are grouped by purpose (the groups mirror __all__), not alphabetically.
from importlib import metadata as _metadata

# The verb and its results
from ._driver import multistart
from ._result import AllRestartsFailedError, LocalResult, MultistartResult, Restart

# Building blocks a run is made of
from . import init, solvers, starts, stop, strategies
from ._symmetry import symmetry  # distinct hidden units per layer

# Test problems with known optima
from . import problems
from .problems import Problem

# Comparing with SciPy's global optimizers: ``rs.compare`` is the function, its
# module (METHODS, default_budget, summarize) is ``rs.comparison``.
from . import comparison
from .comparison import compare

# Front doors for SciPy users (scipy.optimize's names and meanings, with restarts)
from .optimize import curve_fit, least_squares, minimize

# Keeping runs: a SQLite file of runs (resume, load, delete)
from .store import Store
from ._dispatch import shutdown_workers, workers  # the worker processes kept between runs

# Reading runs: analysis (pandas only; compare's tables are summarised with it), and
# plot (matplotlib, an optional extra) and report (the HTML page), which load on first
# use, so ``import restarts`` never imports matplotlib.
from . import analysis

_LAZY = {"plot", "report"}
# Front doors whose module needs an optional extra (BestOf: scikit-learn), by module.
_LAZY_NAMES = {"BestOf": "bestof"}


def __getattr__(name: str):
    if name in _LAZY or name in _LAZY_NAMES:
        import importlib

        module = importlib.import_module(f".{_LAZY_NAMES.get(name, name)}", __name__)
        value = getattr(module, name) if name in _LAZY_NAMES else module
        globals()[name] = value
        return value
    raise AttributeError(f"module 'restarts' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY | set(_LAZY_NAMES))


try:
    __version__: str = _metadata.version("restarts")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"
#: The package's version string (the same as ``__version__``).
version: str = __version__

__all__ = [
    # the verb and its results
    "multistart",
    "LocalResult",
    "MultistartResult",
    "Restart",
    "AllRestartsFailedError",
    # building blocks
    "solvers",
    "starts",
    "stop",
    "strategies",
    "init",
    "symmetry",
    # keeping runs
    "Store",
    "workers",
    "shutdown_workers",
    # test problems
    "problems",
    "Problem",
    # the global comparison
    "compare",
    "comparison",
    # the package's version string
    "version",
    # front doors
    "minimize",
    "least_squares",
    "curve_fit",
    "BestOf",
    # reading runs (loaded lazily)
    "analysis",
    "plot",
    "report",
]
