"""The ``restarts`` command: ``demo``, ``run``, ``compare``, ``report``.

Every subcommand has ``--help``. A bad argument ends with exit code 2 and one line on
standard error, never a traceback (set ``RESTARTS_TRACEBACK=1`` to see one).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from ._format import fmt, short_x, text_table
from .datasets import DATASETS, load_data

__all__ = ["main", "build_parser", "load_target", "load_data"]

_SOLVERS = {"minimize": "Minimize", "kmeans": "KMeans", "gmm": "GaussianMixture",
            "mlp": "MLP"}
_STARTS = {"uniform": "Uniform", "sobol": "Sobol", "lhs": "LatinHypercube",
           "halton": "Halton"}


class UsageError(ValueError):
    """A problem with the command line itself (reported with exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (argparse prints the whole usage)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# -- helpers shared by subcommands -----------------------------------------------------
def _progress(flag: bool | None) -> bool:
    """Progress bars: on when stderr is a terminal, unless forced either way."""
    if flag is not None:
        return flag
    return sys.stderr.isatty()


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        low = text.lower()
        if low in ("true", "false"):
            return low == "true"
        if low in ("none", "null"):
            return None
        return text


def _options(pairs: Sequence[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"option {pair!r} must look like KEY=VALUE")
        out[key.strip()] = _literal(value.strip())
    return out


def _import(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise UsageError(f"{spec!r} must look like 'module:callable'")
    cwd = os.getcwd()
    if cwd not in sys.path:  # like `python -m`: the user's own modules are importable
        sys.path.insert(0, cwd)
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot import module {module_name!r}: {exc}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(f"module {module_name!r} has no attribute {attr!r}") from None
    return obj


def _bounds(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return [tuple(float(v) for v in pair.split(",")) for pair in text.split(";")]
    except ValueError:
        raise UsageError(f"--bounds {text!r} must look like 'LOW,HIGH;LOW,HIGH'") from None


def load_target(target: str, options: dict[str, Any], *, problem: str | None = None,
                dim: int | None = None, data: str | None = None,
                bounds: Any = None) -> tuple[Any, Any]:
    """Build ``(solver, bounds or None)`` from a ``run`` target.

    ``target`` is ``module:callable`` (the solver itself; called with ``options``
    first when options are given; a returned problem with ``fun`` and ``bounds`` is
    minimised with :class:`~restarts.solvers.Minimize`), a built-in solver name
    (``minimize``, ``kmeans``, ``gmm``, ``mlp``), or a problem name from
    :func:`restarts.problems.names`.

    Examples
    --------
    >>> from restarts.cli import load_target
    >>> solver, bounds = load_target("six_hump_camel", {})
    >>> type(solver).__name__, bounds.shape
    ('Minimize', (2, 2))
    """
    import numpy as np

    from . import problems, solvers

    def minimize(prob: Any) -> tuple[Any, Any]:
        b = np.asarray(prob.bounds if bounds is None else bounds, dtype=float)
        return solvers.Minimize(prob.fun, bounds=b, **options), b

    if ":" in target and not target.lower().endswith(".toml"):
        obj = _import(target)
        if options:
            obj = obj(**options)
            options = {}
        if hasattr(obj, "fun") and hasattr(obj, "bounds") and not hasattr(obj, "solve_batch"):
            return minimize(obj)
        if not callable(obj):
            raise UsageError(f"{target!r} is not callable")
        return obj, None if bounds is None else np.asarray(bounds, dtype=float)
    key = target.lower()
    if key in _SOLVERS:
        cls = getattr(solvers, _SOLVERS[key], None)
        if cls is None:
            raise UsageError(f"solver {target!r} is not available in this version")
        if key == "minimize":
            if problem is None and "fun" not in options:
                raise UsageError("'run minimize' needs --problem NAME or -o fun=module:callable")
            if problem is not None:
                return minimize(problems.get(problem, dim=dim))
            if isinstance(options["fun"], str):
                options["fun"] = _import(options["fun"])
            b = None if bounds is None else np.asarray(bounds, dtype=float)
            return cls(bounds=b, **options), b
        if data is None:
            raise UsageError(f"'run {key}' needs --data ({', '.join(DATASETS)} or a file)")
        X, y = load_data(data)
        if key == "mlp":
            if y is None:
                raise UsageError("'run mlp' needs labelled data (a .csv or a named data set)")
            return cls(X, y, **options), None
        if "n_clusters" not in options and "n_components" not in options and y is not None:
            options["n_clusters" if key == "kmeans" else "n_components"] = int(
                len(np.unique(y)))
        return cls(X, **options), None
    if key in problems.names():
        return minimize(problems.get(key, dim=dim))
    raise UsageError(
        f"unknown target {target!r}: give module:callable, a .toml file, a solver from "
        f"{sorted(_SOLVERS)} or a problem from restarts.problems.names()"
    )


# -- run ------------------------------------------------------------------------------
_RUN_DEFAULTS = {"n_starts": 100, "seed": None, "n_jobs": 1, "backend": None, "store": None,
                 "name": None, "timeout": None, "progress": None, "strategy": "independent",
                 "starts": None, "problem": None, "dim": None, "data": None, "bounds": None,
                 "table": None, "top": 10}


def _read_toml(path: str) -> dict[str, Any]:
    if sys.version_info < (3, 11):
        raise UsageError("TOML run files need Python 3.11 or newer (tomllib)")
    import tomllib

    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        raise UsageError(f"TOML file {path!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"TOML file {path!r} is invalid: {exc}") from None
    run = dict(doc.get("run", {}))
    solver = dict(doc.get("solver", {}))
    unknown = set(run) - set(_RUN_DEFAULTS)
    if unknown:
        raise UsageError(f"unknown [run] keys in {path!r}: {sorted(unknown)}")
    if "target" not in solver and "name" not in solver:
        raise UsageError(f"{path!r} needs [solver] with 'name' (or 'target')")
    out = {k: v for k, v in run.items()}
    out["target"] = solver.pop("target", None) or solver.pop("name")
    for key in ("problem", "dim", "data", "bounds"):
        if key in solver:
            out[key] = solver.pop(key)
    if isinstance(out.get("bounds"), list):
        out["bounds"] = ";".join(",".join(str(v) for v in pair) for pair in out["bounds"])
    out["options"] = dict(solver.pop("options", {}), **solver)
    return out


def _cmd_run(args: argparse.Namespace) -> int:
    import numpy as np

    from . import multistart, starts
    from .report import run_summary

    cfg: dict[str, Any] = {}
    options: dict[str, Any] = {}
    target = args.target
    if target.lower().endswith(".toml"):
        cfg = _read_toml(target)
        target = cfg.pop("target")
        options = cfg.pop("options")
    options.update(_options(args.option))
    for key, default in _RUN_DEFAULTS.items():
        value = getattr(args, key)
        if value is not None:
            cfg[key] = value
        cfg.setdefault(key, default)
    solver, bounds = load_target(target, options, problem=cfg["problem"], dim=cfg["dim"],
                                 data=cfg["data"], bounds=_bounds(cfg["bounds"]))
    sampler = None
    if cfg["starts"] not in (None, "none"):
        if cfg["starts"] not in _STARTS:
            raise UsageError(f"--starts must be one of {sorted(_STARTS)} or none")
        if bounds is None:
            raise UsageError(f"--starts {cfg['starts']} needs bounds (--bounds or a problem)")
        sampler = getattr(starts, _STARTS[cfg["starts"]])(bounds)
    res = multistart(solver, cfg["n_starts"], starts=sampler, rng=cfg["seed"],
                     n_jobs=cfg["n_jobs"], backend=cfg["backend"], strategy=cfg["strategy"],
                     store=cfg["store"], name=cfg["name"], timeout=cfg["timeout"],
                     progress=_progress(cfg["progress"]))
    s = run_summary(res)
    print(f"restarts: {s['restarts']} ({s['failed']} failed)"
          + (f", stopped by {res.stopped_by}" if res.stopped_by else ""))
    if not np.isfinite(s["best_fun"]):
        print("every restart failed: see the 'error' column (--table FILE saves it)")
        _save_table(res, cfg["table"])
        return 1

    print(f"best value: {fmt(s['best_fun'])}  at x = {short_x(res.x)}")
    print(f"distinct optima: {s.get('distinct_optima')}   restarts reaching the best: "
          f"{s['hit_rate']:.1%}")
    print(f"restarts needed for 95% chance of the best: {fmt(s['restarts_95'])} "
          f"(interval {fmt(s['restarts_95_low'])}-{fmt(s['restarts_95_high'])})")
    if "expected_optima" in s:
        print(f"estimated number of optima: {fmt(s['expected_optima'])}   "
              f"P(best found): {fmt(s['p_best_found'])}   "
              f"chance of a new optimum next: {fmt(s['missing_mass'])}")
    from .analysis import basin_stats

    stats = basin_stats(res).head(cfg["top"])
    print(text_table(stats[["basin", "fun", "count", "share", "mean_nfev"]], digits=6))
    if cfg["store"]:
        print(f"stored in {cfg['store']} as {cfg['name'] or 'default'!r}")
    _save_table(res, cfg["table"])
    return 0


def _save_table(res: Any, path: str | None) -> None:
    if path:
        res.table.to_csv(path, index=False)
        print(f"table written to {path}")


# -- report, demo ---------------------------------------------------------------------
def _cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    page, md = write_report(list(args.sources), args.out, title=args.title, stem=args.stem)
    print(f"HTML report: {page}")
    print(f"Markdown summary: {md}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    run_demo(out=args.out, quick=args.quick, n_jobs=args.n_jobs,
             progress=_progress(args.progress), report=args.report)
    return 0


def _cli_number(text: str, kind: type, ok: Any, expected: str) -> Any:
    """Parse ``text`` as ``kind``; argparse turns the error into one line and exit 2."""
    try:
        value = kind(text)
    except ValueError:
        noun = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    return _cli_number(text, int, lambda v: v >= 1, "an integer >= 1")


def _n_jobs(text: str) -> int:
    return _cli_number(text, int, lambda v: v != 0, "a non-zero integer (-1 = all cores)")


def _positive_float(text: str) -> float:
    return _cli_number(text, float, lambda v: v > 0, "a number > 0")


def build_parser() -> argparse.ArgumentParser:
    """The ``restarts`` argument parser (subcommands ``demo``, ``run``, ``compare``, ``report``).

    Examples
    --------
    >>> from restarts.cli import build_parser
    >>> args = build_parser().parse_args(["demo", "--quick"])
    >>> args.command, args.quick
    ('demo', True)
    """
    from . import __version__

    parser = _Parser(
        prog="restarts",
        description="Multi-restart optimisation: run a local solver from many starts, "
        "reproducibly and in parallel, and read what the restarts found.",
    )
    parser.add_argument("--version", action="version", version=f"restarts {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = sub.add_parser(
        "demo", help="the 'why random restarts' tour (about a minute)",
        description="Why random initialisation and restarts matter: an MLP on XOR and on "
        "digits with zero / constant / Xavier / He initial weights, k-means restarts on "
        "digits, a multimodal function, and a small comparison with SciPy's global "
        "optimizers. Prints tables, stores every run in restarts-demo.db and writes an "
        "HTML report.")
    demo.add_argument("--quick", action="store_true",
                      help="fewer restarts and smaller problems (under 20 s)")
    demo.add_argument("--out", default=".", help="output directory (default: current)")
    demo.add_argument("--n-jobs", type=_n_jobs, default=1, dest="n_jobs",
                      help="parallel workers (-1 = all cores; default 1)")
    demo.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                      help="progress bars (default: when stderr is a terminal)")
    demo.add_argument("--report", action=argparse.BooleanOptionalAction, default=True,
                      help="write the HTML report (default: --report)")
    demo.set_defaults(func=_cmd_demo)

    run = sub.add_parser(
        "run", help="run a solver from many starts and summarise the optima",
        description="Run TARGET from many starts. TARGET is module:callable (a solver "
        "solver(start, rng); with -o options it is called with them first), a built-in "
        f"solver ({', '.join(sorted(_SOLVERS))}), a problem name from "
        "restarts.problems.names() (minimised with L-BFGS-B), or a .toml file with "
        "[solver] (name/target, options, problem, dim, data, bounds) and [run] "
        "(n_starts, seed, n_jobs, ...; command-line flags win).",
        epilog="examples: restarts run six_hump_camel --n-starts 50 --starts sobol; "
        "restarts run kmeans --data digits -o n_clusters=10; "
        "restarts run mymodule:my_solver --seed 1")
    run.add_argument("target", help="module:callable, solver name, problem name or .toml")
    run.add_argument("-o", "--option", action="append", metavar="KEY=VALUE",
                     help="solver option (Python literal or string); repeatable")
    run.add_argument("--problem", help="problem for 'minimize'")
    run.add_argument("--dim", type=_positive_int, help="dimension of a scalable problem")
    run.add_argument("--data", help=f"data for kmeans/gmm/mlp: {', '.join(DATASETS)}, "
                     "or a .npy/.csv file")
    run.add_argument("--bounds", help="box as 'LOW,HIGH;LOW,HIGH' (overrides the problem's); "
                     "write --bounds=-5,5 when LOW is negative")
    run.add_argument("--starts", choices=[*_STARTS, "none"],
                     help="start-point sampler over the bounds (default: the solver's own)")
    run.add_argument("--n-starts", type=_positive_int, dest="n_starts",
                     help="number of restarts (default 100)")
    run.add_argument("--seed", type=int, help="seed of the run (default: fresh entropy)")
    run.add_argument("--n-jobs", type=_n_jobs, dest="n_jobs",
                     help="parallel workers (-1 = all cores; default 1)")
    run.add_argument("--backend", help="joblib backend (loky, threading, dask, ...)")
    run.add_argument("--strategy", choices=["independent", "tiktak", "mlsl"],
                     help="restart strategy (default independent)")
    run.add_argument("--store", help="SQLite file to save every restart (resumable)")
    run.add_argument("--name", help="the run's name inside --store")
    run.add_argument("--timeout", type=_positive_float,
                     help="seconds a restart may take before it is recorded as failed")
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="progress bar (default: when stderr is a terminal)")
    run.add_argument("--table", help="also write the per-restart table to this CSV file")
    run.add_argument("--top", type=_positive_int, help="optima to list (default 10)")
    run.set_defaults(func=_cmd_run)

    try:
        from .comparison import add_cli
    except ImportError:  # pragma: no cover - compare is part of the package
        add_cli = None
    if add_cli is not None:
        add_cli(sub)

    report = sub.add_parser(
        "report", help="write an HTML report and a Markdown summary",
        description="Write one self-contained HTML page (figures embedded) and a Markdown "
        "summary from stores (.db/.sqlite files written with --store), saved run tables "
        "(.csv from 'run --table') and comparison tables (.csv from 'compare --out').")
    report.add_argument("sources", nargs="+", help="store files and/or CSV tables")
    report.add_argument("--out", default=".", help="output directory (default: current)")
    report.add_argument("--title", default="restarts report", help="page title")
    report.add_argument("--stem", default="report",
                        help="file name without extension (default: report)")
    report.set_defaults(func=_cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``restarts`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("restarts: interrupted", file=sys.stderr)
        return 130
    except (UsageError, ValueError, TypeError, ImportError, OSError) as exc:
        if os.environ.get("RESTARTS_TRACEBACK"):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"restarts {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
