"""The API reference (mkdocstrings over docs/api.md) shows the defaults the code has.

mkdocstrings reads each parameter's default from the numpydoc docstring as griffe parses
it. Two numpydoc forms mislead it: a combined entry (``ftol, xtol : float``) gives every
name the first one's default, and a braces choice (``{"sgd", "adam"}``) means "the first
is the default". So this test parses every documented object the way the docs build
does and compares each documented default with the signature's.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

griffe = pytest.importorskip("griffe")

ROOT = Path(__file__).resolve().parents[1]


def _value(text):
    text = str(text).strip()
    try:
        return eval(text, {"__builtins__": {}},  # noqa: S307 - literals from our own source
                    {"dict": dict, "tuple": tuple, "list": list, "inf": math.inf, "np": np})
    except Exception:
        return text.strip("'\"")


def _documented(obj, seen):
    if obj.path in seen:
        return
    seen.add(obj.path)
    yield obj
    if obj.is_module or obj.is_class:
        for name, member in obj.members.items():
            if name.startswith("_") or (member.is_alias
                                        and not member.target_path.startswith("restarts")):
                continue
            try:
                target = member.final_target if member.is_alias else member
            except Exception:  # an alias griffe cannot resolve: not rendered either
                continue
            yield from _documented(target, seen)


def _mismatches():
    package = griffe.load("restarts", search_paths=[str(ROOT)], docstring_parser="numpy")
    names = re.findall(r"^::: restarts\.([\w.]+)", (ROOT / "docs" / "api.md").read_text(),
                       flags=re.M)
    assert len(names) > 10
    seen: set[str] = set()
    bad, checked = [], 0
    for name in names:
        for obj in _documented(package[name], seen):
            if not (obj.is_function or obj.is_class) or not obj.docstring:
                continue
            signature = obj.members.get("__init__") if obj.is_class else obj
            if signature is None:
                continue
            defaults = {p.name: p.default for p in signature.parameters}
            for section in obj.docstring.parse("numpy"):
                if section.kind.value != "parameters":
                    continue
                for p in section.value:
                    if defaults.get(p.name) is None or p.default is None:
                        continue
                    checked += 1
                    if _value(p.default) != _value(defaults[p.name]):
                        bad.append(f"{obj.path}({p.name}): docs {p.default}, code "
                                   f"{defaults[p.name]}")
    return bad, checked


def test_every_documented_default_is_the_signatures():
    bad, checked = _mismatches()
    assert checked > 100  # the reference really was read
    assert not bad, "\n".join(bad)
