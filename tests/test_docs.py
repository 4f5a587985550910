"""The documentation cannot rot: it builds strictly and every code in it runs.

* ``mkdocs build --strict`` (warnings are errors: broken links, missing pages,
  docstrings mkdocstrings cannot parse);
* every ```` ```python ```` block of ``docs/*.md`` and ``README.md`` is executed, the
  blocks of one page in order in one namespace, in a fresh temporary directory. A block
  directly followed by a ```` ```text ```` block must print exactly that text (the
  "real output" shown in the docs). A block preceded by ``<!-- no-run -->`` is not run
  (only for things that need outside resources, such as a cluster address);
* the numpydoc ``Examples`` sections of every module of the package run as doctests.
"""

from __future__ import annotations

import contextlib
import doctest
import importlib
import io
import math
import os
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

import restarts  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md")) + [ROOT / "README.md"]
NO_RUN = "<!-- no-run -->"

_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)


def code_blocks(text: str) -> list[tuple[str, str, str | None, int]]:
    """``(kind, code, expected_output, line)`` for every runnable python block.

    ``kind`` is ``"run"`` or ``"skip"`` (preceded by ``<!-- no-run -->``);
    ``expected_output`` is the body of a ```` ```text ```` block that follows the python
    block with only blank lines in between, else ``None``.
    """
    fences = list(_FENCE.finditer(text))
    out = []
    for i, m in enumerate(fences):
        if m.group(1) != "python":
            continue
        before = text[: m.start()].rstrip()
        kind = "skip" if before.endswith(NO_RUN) else "run"
        expected = None
        if i + 1 < len(fences):
            nxt = fences[i + 1]
            if nxt.group(1) == "text" and not text[m.end() : nxt.start()].strip():
                expected = nxt.group(2)
        out.append((kind, m.group(2), expected, text[: m.start()].count("\n") + 1))
    return out


def _normalise(s: str) -> str:
    return "\n".join(line.rstrip() for line in s.strip("\n").splitlines())


_NUMBER = re.compile(r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")


def same_output(printed: str, shown: str, rel: float = 1e-3) -> bool:
    """Equal text, numbers equal to ``rel`` (last digits may differ between CPUs/BLAS).

    Runs of whitespace count as one space, so a column that gets one character
    wider does not fail the comparison; words, signs and the number of numbers must
    match exactly.
    """
    a = _NUMBER.split(" ".join(printed.split()))
    b = _NUMBER.split(" ".join(shown.split()))
    if len(a) != len(b):
        return False
    for k, (x, y) in enumerate(zip(a, b, strict=True)):
        if k % 2 == 0:
            if x != y:
                return False
        elif not math.isclose(float(x), float(y), rel_tol=rel, abs_tol=1e-12):
            return False
    return True


def test_same_output():
    shown = "   basin       fun  count\n0      0 -0.973180      7\n"
    assert same_output(shown, shown)
    assert same_output("basin fun count\n0 0 -0.9731801 7", shown)  # spacing, last digit
    assert not same_output(shown.replace("7", "8"), shown)  # a count
    assert not same_output(shown.replace("-0.97", "0.97"), shown)  # a sign
    assert not same_output(shown.replace("basin", "basins"), shown)  # a word
    assert not same_output(shown + " 1", shown)  # one more number
    assert not same_output("1.0011", "1.0")


def test_code_blocks_parser():
    # The parser itself can fail: a block, its output, a skipped one, another language.
    text = (
        "# t\n```python\nprint(1)\n```\n\n```text\n1\n```\n"
        "<!-- no-run -->\n```python\nx = 2\n```\n```bash\nls\n```\n"
    )
    blocks = code_blocks(text)
    assert [(k, c, e) for k, c, e, _ in blocks] == [
        ("run", "print(1)\n", "1\n"),
        ("skip", "x = 2\n", None),
    ]


def _nav_files(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [f for v in node.values() for f in _nav_files(v)]
    return [f for item in node for f in _nav_files(item)]


def test_nav_pages_exist():
    # A clearer message than the build's when a page someone else writes is missing.
    import yaml

    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    files = _nav_files(nav)
    missing = [f for f in files if not (DOCS / f).is_file()]
    assert not missing, (
        f"pages in mkdocs.yml's nav are missing from docs/: {missing} "
        "(docs/benchmarks-global.md is written by `python benchmarks/bench_global.py`)"
    )
    # and every page in docs/ is in the nav
    assert sorted(p.name for p in DOCS.glob("*.md")) == sorted(files)


@pytest.mark.timeout(120)
def test_mkdocs_build_strict(tmp_path):
    mkdocs = shutil.which("mkdocs")
    cmd = [mkdocs] if mkdocs else [sys.executable, "-m", "mkdocs"]
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [*cmd, "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=110,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    # mkdocstrings rendered the docstrings, not just the headings.
    assert "Run a local solver from many starts" in api


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_code_runs(page, tmp_path, monkeypatch):
    blocks = code_blocks(page.read_text())
    if page.name in {"index.md", "getting-started.md", "README.md"}:
        assert blocks, f"{page.name} should show runnable code"
    monkeypatch.chdir(tmp_path)  # blocks may write stores and figures
    namespace: dict = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for kind, code, expected, line in blocks:
        if kind == "skip":
            continue
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf):
                exec(compile(code, f"{page.name}:{line}", "exec"), namespace)
        except Exception as exc:  # the block and its page in the message
            raise AssertionError(f"{page.name}, block at line {line} failed:\n{code}") from exc
        if expected is not None:
            assert same_output(buf.getvalue(), expected), (
                f"{page.name}, block at line {line} printed\n{buf.getvalue()}\n"
                f"but the page shows\n{expected}"
            )


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    first = _FENCE.search(text)
    assert first.group(1) == "bash"
    assert first.group(2).splitlines() == ["pip install '.[demo]' && restarts demo",
                                           "pip install '.[test]' && pytest"]
    assert text[: first.start()].strip() == "# restarts"  # nothing before them but the title


def test_readme_first_command_installs_what_the_demo_needs():
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    first = _FENCE.search((ROOT / "README.md").read_text()).group(2).splitlines()[0]
    extra = re.search(r"\.\[(\w+)\]", first).group(1)
    names = {re.split(r"[<>=\[ ]", req)[0] for req in extras[extra]}
    # the demo's digits sections need scikit-learn, its report's figures matplotlib
    assert {"scikit-learn", "matplotlib"} <= names
    ci = {re.split(r"[<>=\[ ]", req)[0] for req in extras["test"]}
    assert names <= ci  # CI installs '.[test]': the demo's needs are tested there


def test_no_run_is_rare():
    # Skipping is for outside resources only; most blocks run.
    kinds = [k for p in PAGES for k, *_ in code_blocks(p.read_text())]
    assert kinds.count("run") >= 10
    assert kinds.count("skip") <= 3


def _modules() -> list[str]:
    names = [restarts.__name__]
    for info in pkgutil.walk_packages(restarts.__path__, prefix="restarts."):
        if info.name.rsplit(".", 1)[-1] != "__main__":  # importing it runs the CLI
            names.append(info.name)
    return sorted(names)


MODULES = _modules()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    runner = doctest.DocTestRunner(optionflags=flags)
    report = io.StringIO()
    for test in finder.find(module, name, globs={}):
        runner.run(test, out=report.write)
    assert runner.failures == 0, report.getvalue()


def test_public_functions_have_examples():
    # Every public callable exported at the top level shows a runnable example.
    for name in ("multistart", "symmetry"):
        doc = getattr(restarts, name).__doc__ or ""
        assert "Examples" in doc and ">>>" in doc, name
