"""Numbers and points as text: the one place the report, the CLI and the demo format.

``fmt`` turns a table cell into short text (``yes``/``no``, integers without a
decimal point, 6 significant digits, ``–`` for NaN, ``∞``), ``short_x`` a point into
its first coordinates, ``text_table`` a DataFrame into aligned console text, and
``md_escape`` an untrusted string (a run name, an error message) into inert Markdown.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["fmt", "short_x", "text_table", "md_escape"]


def fmt(v: Any) -> str:
    """One cell as short text.

    Examples
    --------
    >>> from restarts._format import fmt
    >>> [fmt(v) for v in (None, True, 3, 2.0, 1 / 3, float("nan"), float("-inf"))]
    ['', 'yes', '3', '2', '0.333333', '–', '-∞']
    """
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v):
            return "–"
        if math.isinf(v):
            return "∞" if v > 0 else "-∞"
        if v == int(v) and abs(v) < 1e9:
            return str(int(v))
        return f"{v:.6g}"
    return str(v)


def short_x(x: Any, n: int = 8) -> str:
    """A point as its first ``n`` coordinates and its size.

    Examples
    --------
    >>> from restarts._format import short_x
    >>> short_x([1.0, 0.5, 1e-9]), short_x(range(10), n=2)
    ('[1, 0.5, 1e-09] (3 values)', '[0, 1, …] (10 values)')
    """
    try:
        arr = np.asarray(x, dtype=float).ravel()
    except (TypeError, ValueError):
        return type(x).__name__
    text = ", ".join(f"{v:.6g}" for v in arr[:n])
    return f"[{text}{', …' if arr.size > n else ''}] ({arr.size} values)"


def text_table(df: pd.DataFrame, digits: int = 4) -> str:
    """A DataFrame as console text, floats with ``digits`` significant digits.

    Examples
    --------
    >>> import pandas as pd
    >>> from restarts._format import text_table
    >>> print(text_table(pd.DataFrame({"method": ["a"], "gap": [0.000123456]})))
    method       gap
         a 0.0001235
    """
    return df.to_string(index=False, float_format=lambda v: f"{v:.{digits}g}")


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#~])")


def md_escape(text: Any) -> str:
    """Untrusted text as inert Markdown: one line, no HTML, no emphasis, links or cells.

    Markdown passes raw HTML through (MkDocs and most viewers render it), so ``<``,
    ``>`` and ``&`` become entities; the characters that start emphasis, code, links,
    headings or table cells are backslash-escaped; line breaks become spaces.

    Examples
    --------
    >>> from restarts._format import md_escape
    >>> md_escape("<script>alert(1)</script>")
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> print(md_escape("a|b [x](javascript:y) *em*\\n# h"))
    a\\|b \\[x\\](javascript:y) \\*em\\* \\# h
    """
    one_line = " ".join(str(text).split())
    return _MD_SPECIAL.sub(r"\\\1", html.escape(one_line, quote=False))
