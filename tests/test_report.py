"""The HTML report: parses, embeds every figure, states the best value, renders in a browser."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import restarts as rs  # noqa: E402
from restarts._format import fmt  # noqa: E402
from restarts.report import load_sources, write_report  # noqa: E402


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.tags, self.text = [], [], []
        self.stack = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag not in ("meta", "br", "img"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}>"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _parse(path):
    p = _Collect()
    p.feed(path.read_text(encoding="utf-8"))
    p.close()
    assert not p.stack, f"unclosed tags {p.stack}"
    return p


def _f(x):
    return float(np.sin(3 * x[0]) + 0.1 * x[0] ** 2)


@pytest.fixture(scope="module")
def run():
    return rs.multistart(rs.solvers.Minimize(_f, bounds=[(-5, 5)]), 25,
                         starts=rs.starts.Sobol([(-5, 5)]), rng=1)


@pytest.fixture(scope="module")
def compare_table():
    return rs.compare("booth", methods=["multistart", "direct"], budget=300, repeats=2)


def test_report_parses_embeds_every_figure_and_states_best(run, compare_table, tmp_path):
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    group = {f"xor/{init}": rs.multistart(
        rs.solvers.MLP(X, [0, 1, 1, 0], hidden=(2,), init=init, lr=0.1, epochs=40), 3, rng=0)
        for init in ("zeros", "he_normal")}
    page, md = write_report([{"wave": run, **group}, compare_table], tmp_path, title="T")
    parsed = _parse(page)
    assert parsed.tags[0] == "html"
    # every figure is an embedded PNG (no external file, no network)
    assert parsed.images
    for img in parsed.images:
        src = img["src"]
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
        assert img["alt"]
    # run: basins, ECDF, success curve, convergence; group: ECDF, convergence, loss curves;
    # comparison: convergence traces (one problem), performance and data profiles
    assert len(parsed.images) == 4 + 3 + 3
    text = " ".join(parsed.text)
    assert f"{len(parsed.images)} figures" in text
    assert fmt(run.fun) in text
    assert "Performance profile" in text and "direct" in text
    assert "could not be drawn" not in text
    assert "http://" not in page.read_text() and "https://" not in page.read_text()
    summary = md.read_text()
    assert summary.startswith("# T")
    assert fmt(run.fun) in summary and "| basin |" in summary


def test_report_from_store_and_csv_tables(run, compare_table, tmp_path):
    db = tmp_path / "runs.db"
    stored = rs.multistart(rs.solvers.Minimize(_f, bounds=[(-5, 5)]), 10,
                           starts=rs.starts.Uniform([(-5, 5)]), rng=2, store=db, name="wave")
    run.table.to_csv(tmp_path / "table.csv", index=False)
    compare_table.to_csv(tmp_path / "cmp.csv", index=False)
    runs, compares, configs = load_sources([db, tmp_path / "table.csv", tmp_path / "cmp.csv"])
    assert sorted(runs) == ["table", "wave"]
    assert len(compares) == 1 and "solver" in configs["wave"]
    page, _ = write_report([str(db), str(tmp_path / "cmp.csv")], tmp_path / "out")
    text = " ".join(_parse(page).text)
    assert fmt(stored.fun) in text and "Configuration" in text


@pytest.mark.parametrize("sources, out, exc, match", [
    ([], ".", ValueError, "sources"),
    ([42], ".", TypeError, "sources"),
    (["/no/such/file.db"], ".", ValueError, "does not exist"),
    ([pd.DataFrame({"a": [1]})], ".", ValueError, "neither a run table"),
])
def test_report_bad_input(sources, out, exc, match, tmp_path):
    with pytest.raises(exc, match=match):
        write_report(sources, tmp_path)


def test_report_out_must_be_a_directory(run, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ValueError, match="'out' parameter"):
        write_report({"a": run}, f)


def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.skipif(_browser() is None,
                    reason="no Chromium/Chrome binary on PATH (CI installs chromium)")
def test_report_renders_in_headless_chromium(run, tmp_path):
    page, _ = write_report({"wave": run}, tmp_path)
    shot = tmp_path / "shot.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [_browser(), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--no-first-run", "--hide-scrollbars",
             f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1000,1400",
             page.resolve().as_uri()],
            check=True, timeout=120, capture_output=True)
    from matplotlib.image import imread

    img = imread(shot)[..., :3]
    assert img.shape[:2] == (1400, 1000)
    # not blank: many non-white pixels and several distinct colours (text, plots, table)
    non_white = np.mean(img.min(axis=2) < 0.9)
    assert non_white > 0.02
    assert len(np.unique((img * 255).astype(np.uint8).reshape(-1, 3), axis=0)) > 50


HOSTILE = "<script>alert(1)</script>"
HOSTILE_ERROR = "<img src=x onerror=alert(2)> | [link](javascript:alert(3)) *x*"


def _hostile_solver(start, rng):
    if start[0] > 0:
        raise ValueError(HOSTILE_ERROR)
    return start, float(start[0] ** 2)


def test_hostile_names_and_messages_are_inert_in_both_files(tmp_path, monkeypatch):
    from restarts import plot

    run = rs.multistart(_hostile_solver, 12, starts=rs.starts.Uniform([(-1, 1)]), rng=0)
    assert run.table["error"].notna().any()

    def broken(*args, **kwargs):
        raise RuntimeError(HOSTILE + "\n# heading")

    monkeypatch.setattr(plot, "ecdf", broken)  # a figure fails with a hostile message
    # a run of its own (errors table) and a group member (the group's table)
    page, md = write_report({HOSTILE: run, f"x/{HOSTILE}": run, "x/b": run}, tmp_path,
                            title=HOSTILE)
    html_text, md_text = page.read_text(), md.read_text()
    for text in (html_text, md_text):
        assert "<script" not in text and "<img src=x" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # shown, as text
        assert "&lt;img src=x onerror=alert(2)&gt;" in text  # the error message, as text
    # Markdown: no link, no heading, no extra table cell from the message
    assert "](javascript:" not in md_text.replace("\\](javascript:", "")
    assert "\n# heading" not in md_text and "\\# heading" in md_text
    row = next(line for line in md_text.splitlines() if "onerror" in line)
    assert len(re.findall(r"(?<!\\)\|", row)) == 3  # two cells: error, restarts
    # HTML: parsed, the hostile strings are text nodes, never tags
    parsed = _parse(page)
    assert "script" not in parsed.tags and "img" in parsed.tags  # figures only
    assert all(img["src"].startswith("data:image/png;base64,") for img in parsed.images)
    assert any(HOSTILE in t for t in parsed.text)
