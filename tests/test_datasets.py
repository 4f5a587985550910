"""Named data sets shared by ``restarts run --data`` and ``restarts demo``."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from restarts.datasets import DATASETS, load_data


def test_xor_and_files(tmp_path):
    X, y = load_data("xor")
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and y.tolist() == [0, 1, 1, 0]
    csv = tmp_path / "d.csv"
    csv.write_text("1,2,0\n3,4,1\n")
    X, y = load_data(str(csv))
    assert X.tolist() == [[1, 2], [3, 4]] and y.tolist() == [0, 1]
    np.save(tmp_path / "x.npy", np.eye(2))
    X, y = load_data(str(tmp_path / "x.npy"))
    assert X.tolist() == [[1, 0], [0, 1]] and y is None


def test_sklearn_sets_match_sklearn():
    from sklearn.datasets import load_digits, load_iris

    X, y = load_data("digits")
    assert np.array_equal(X * 16, load_digits().data) and np.array_equal(y, load_digits().target)
    X, _ = load_data("iris")
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=0), 1)
    assert X.shape == load_iris().data.shape and set(DATASETS) >= {"digits", "iris"}


def test_missing_sklearn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now fails
    with pytest.raises(ImportError, match=r"pip install 'restarts\[sklearn\]'.*restarts\[demo\]"):
        load_data("digits")


def test_bad_names(tmp_path):
    with pytest.raises(ValueError, match="unknown data 'nope'"):
        load_data("nope")
    with pytest.raises(ValueError, match="does not exist"):
        load_data(str(tmp_path / "missing.csv"))
