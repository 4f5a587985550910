"""Weight initialisers: moments against the published formulas, orthogonality, registry."""

from __future__ import annotations

import numpy as np
import pytest

from restarts import init

# Shapes with very different fan_in and fan_out, so that formulas depending on
# fan_in only (He, LeCun) and on fan_in + fan_out (Glorot) are told apart.
SHAPES = [(100, 2000), (2000, 100)]


def expected_variance(name: str, fan_in: int, fan_out: int) -> float:
    """Variances written out from the papers (not from the module's code)."""
    return {
        # Glorot & Bengio (2010), eq. 16: Var = 2 / (n_in + n_out); U(-a, a) has a^2 / 3.
        "xavier_uniform": (np.sqrt(6 / (fan_in + fan_out))) ** 2 / 3,
        "xavier_normal": 2 / (fan_in + fan_out),
        # He et al. (2015), eq. 10: Var = 2 / n_in.
        "he_uniform": 2 / fan_in,
        "he_normal": 2 / fan_in,
        # LeCun et al. (1998): Var = 1 / n_in.
        "lecun_normal": 1 / fan_in,
    }[name]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "name", ["xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "lecun_normal"]
)
def test_variance_matches_formula(name, shape):
    w = init.get(name)(shape, np.random.default_rng(1))
    assert w.shape == shape and w.dtype == np.float64
    var = expected_variance(name, *shape)
    # 200,000 draws: the standard error of the sample variance is <= 0.32 % of it
    # (normal), so 3 % is ~9 standard errors; the formulas differ by far more.
    assert w.var() == pytest.approx(var, rel=0.03)
    assert abs(w.mean()) < 5 * np.sqrt(var / w.size)


@pytest.mark.parametrize("name", ["xavier_uniform", "he_uniform"])
def test_uniform_limits(name):
    fan_in, fan_out = 300, 200
    w = init.get(name)((fan_in, fan_out), np.random.default_rng(2))
    a = np.sqrt(6 / (fan_in + fan_out)) if name == "xavier_uniform" else np.sqrt(6 / fan_in)
    assert np.abs(w).max() <= a
    assert np.abs(w).max() > 0.99 * a


def test_xavier_gain_scales_std():
    rng = np.random.default_rng(3)
    w = init.xavier_normal((500, 500), rng, gain=2.0)
    assert w.std() == pytest.approx(2.0 * np.sqrt(2 / 1000), rel=0.02)


def test_uniform_and_normal_parameters():
    u = init.uniform((400, 500), np.random.default_rng(4), low=1.0, high=3.0)
    assert u.min() >= 1.0 and u.max() < 3.0
    assert u.var() == pytest.approx(4 / 12, rel=0.02)
    n = init.normal((400, 500), np.random.default_rng(5), mean=2.0, std=0.5)
    assert n.mean() == pytest.approx(2.0, abs=0.01)
    assert n.std() == pytest.approx(0.5, rel=0.01)


def test_zeros_and_constant_are_exact():
    assert np.array_equal(init.zeros((3, 4)), np.zeros((3, 4)))
    assert np.array_equal(init.constant((3, 4), value=0.7), np.full((3, 4), 0.7))
    assert np.array_equal(init.constant(5, value=-1.0), np.full(5, -1.0))


@pytest.mark.parametrize("shape", [(50, 30), (30, 50), (40, 40)])
def test_orthogonal(shape):
    w = init.orthogonal(shape, np.random.default_rng(6), gain=1.5)
    small = min(shape)
    gram = w.T @ w if shape[0] >= shape[1] else w @ w.T
    np.testing.assert_allclose(gram, 1.5**2 * np.eye(small), atol=1e-12)


def test_orthogonal_is_haar_distributed():
    # Without the sign correction of diag(R) (Mezzadri 2007), LAPACK's QR makes
    # Q[0, 0] always of one sign; Haar-distributed Q has mean 0 there (sd ~ 1/2).
    first = [init.orthogonal((4, 4), np.random.default_rng(s))[0, 0] for s in range(400)]
    assert abs(np.mean(first)) < 0.1


@pytest.mark.parametrize("name", init.names())
def test_reproducible_from_seed(name):
    a = init.get(name)((20, 10), np.random.default_rng(7))
    b = init.get(name)((20, 10), np.random.default_rng(7))
    assert np.array_equal(a, b)
    if name not in ("zeros", "constant"):
        c = init.get(name)((20, 10), np.random.default_rng(8))
        assert not np.array_equal(a, c)


def test_registry():
    assert init.names() == (
        "zeros", "constant", "uniform", "normal", "xavier_uniform", "xavier_normal",
        "he_uniform", "he_normal", "lecun_normal", "orthogonal",
    )
    for name in init.names():
        assert init.get(name) is getattr(init, name)

    def mine(shape, rng):
        return np.ones(shape)

    assert init.get(mine) is mine


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"'name' parameter of get\(\).*he_normal.*'glorot'"):
        init.get("glorot")
    with pytest.raises(TypeError, match="'name' parameter"):
        init.get(3)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: init.he_normal((0, 3)), ValueError, "'shape'"),
        (lambda: init.he_normal((3, 3, 3)), ValueError, "'shape'"),
        (lambda: init.xavier_uniform("ab"), TypeError, "'shape'"),
        (lambda: init.zeros((2.5, 3)), TypeError, "'shape'"),
        (lambda: init.uniform((2, 2), low=1.0, high=0.0), ValueError, "'high'"),
        (lambda: init.normal((2, 2), std=-1.0), ValueError, "'std'"),
        (lambda: init.constant((2, 2), value=float("nan")), ValueError, "'value'"),
        (lambda: init.he_normal((2, 2), rng="seed"), TypeError, "'rng'"),
    ],
)
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
