"""Tests for restarts.problems: known minima are right, shifts are sound, bad input fails."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from restarts.problems import Problem, get, names

# Dimensions tried for the dimension-scalable functions (their minimum dim first).
SCALABLE_DIMS = {
    "ackley": [1, 2, 5, 10],
    "dixon_price": [1, 2, 5, 10],
    "griewank": [1, 2, 5, 10],
    "levy": [1, 2, 5, 10],
    "michalewicz": [1, 2, 5, 10],
    "powell": [4, 8, 12],
    "rastrigin": [1, 2, 5, 10],
    "rosenbrock": [2, 3, 5, 10],
    "schwefel": [1, 2, 5, 10],
    "sphere": [1, 2, 5, 10],
    "styblinski_tang": [1, 2, 5, 10],
    "sum_of_different_powers": [1, 2, 5, 10],
    "trid": [2, 5, 6, 10],
    "zakharov": [1, 2, 5, 10],
}
FIXED_DIM = {
    "beale": 2,
    "bohachevsky": 2,
    "booth": 2,
    "branin": 2,
    "bukin6": 2,
    "cross_in_tray": 2,
    "drop_wave": 2,
    "easom": 2,
    "eggholder": 2,
    "goldstein_price": 2,
    "hartmann3": 3,
    "hartmann6": 6,
    "himmelblau": 2,
    "holder_table": 2,
    "matyas": 2,
    "mccormick": 2,
    "shekel5": 4,
    "shekel7": 4,
    "shekel10": 4,
    "shubert": 2,
    "six_hump_camel": 2,
}
CASES = [(n, d) for n, dims in SCALABLE_DIMS.items() for d in dims] + [
    (n, d) for n, d in FIXED_DIM.items()
]
SHIFTS = [None, 0, 12345]

# Literature values (Surjanovic & Bingham; Jamil & Yang), with the precision published.
LITERATURE = {
    ("branin", 2): (0.397887, 1e-6),
    ("six_hump_camel", 2): (-1.0316, 1e-4),
    ("goldstein_price", 2): (3.0, 0.0),
    ("hartmann3", 3): (-3.86278, 1e-5),
    ("hartmann6", 6): (-3.32237, 1e-5),
    ("shekel5", 4): (-10.1532, 1e-4),
    ("shekel7", 4): (-10.4029, 1e-4),
    ("shekel10", 4): (-10.5364, 1e-4),
    ("easom", 2): (-1.0, 0.0),
    ("eggholder", 2): (-959.6407, 1e-4),
    ("holder_table", 2): (-19.2085, 1e-4),
    ("shubert", 2): (-186.7309, 1e-4),
    ("cross_in_tray", 2): (-2.06261, 1e-5),
    ("mccormick", 2): (-1.9133, 1e-4),
    ("drop_wave", 2): (-1.0, 0.0),
    ("michalewicz", 2): (-1.8013, 1e-4),
    ("michalewicz", 5): (-4.687658, 1e-6),
    ("michalewicz", 10): (-9.66015, 1e-5),
    # the published -39.16599 d is rounded from -39.166166 d
    ("styblinski_tang", 2): (-39.16599 * 2, 2e-4 * 2),
    ("styblinski_tang", 10): (-39.16599 * 10, 2e-4 * 10),
    ("trid", 6): (-50.0, 0.0),
    ("trid", 10): (-210.0, 0.0),
    ("schwefel", 5): (0.0, 1e-4 * 5),
    ("rastrigin", 10): (0.0, 0.0),
}
# Literature minimisers, to the precision published.
LITERATURE_X = {
    "michalewicz": ([[2.20, 1.57]], 5e-3),
    "himmelblau": (
        [[3.0, 2.0], [-2.805118, 3.131312], [-3.779310, -3.283186], [3.584428, -1.848126]],
        1e-6,
    ),
    "holder_table": ([[s1 * 8.05502, s2 * 9.66459] for s1 in (1, -1) for s2 in (1, -1)], 1e-5),
    "eggholder": ([[512.0, 404.2319]], 1e-4),
    "branin": ([[-np.pi, 12.275], [np.pi, 2.275], [9.42478, 2.475]], 1e-5),
    "six_hump_camel": ([[0.0898, -0.7126], [-0.0898, 0.7126]], 1e-4),
    "hartmann6": ([[0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]], 1e-5),
    "cross_in_tray": (
        [[s1 * 1.3491, s2 * 1.3491] for s1 in (1, -1) for s2 in (1, -1)],
        1e-3,
    ),
}


def _case_id(case):
    return f"{case[0]}-{case[1]}"


def _close(value, target):
    # Stricter than the 1e-6 the literature rounding would allow: f_min and x_min are
    # refined to double precision, so a rounded value (-3.32237 for Hartmann 6) fails.
    return abs(value - target) <= 1e-9 * max(1.0, abs(target))


@pytest.fixture(scope="module", params=CASES, ids=_case_id)
def case(request):
    return request.param


# --- the list ------------------------------------------------------------------------


def test_names_are_sorted_and_all_tested():
    all_names = names()
    assert all_names == sorted(all_names)
    assert len(all_names) >= 28
    assert set(all_names) == set(SCALABLE_DIMS) | set(FIXED_DIM)


def test_default_dims():
    for name in SCALABLE_DIMS:
        assert get(name).dim == (4 if name == "powell" else 2)
    for name, d in FIXED_DIM.items():
        assert get(name).dim == d
        assert get(name, dim=d).dim == d


def test_several_known_minimisers():
    counts = {
        "himmelblau": 4,
        "holder_table": 4,
        "cross_in_tray": 4,
        "shubert": 18,
        "branin": 3,
        "six_hump_camel": 2,
        "dixon_price": 2,
    }
    for name, k in counts.items():
        p = get(name)
        assert p.x_mins.shape == (k, p.dim)
        assert np.array_equal(p.x_min, p.x_mins[0])
        # distinct points
        gaps = np.linalg.norm(p.x_mins[:, None] - p.x_mins[None], axis=-1)
        assert np.all(gaps[~np.eye(k, dtype=bool)] > 1e-3)


@pytest.mark.parametrize("key", sorted(LITERATURE), ids=lambda k: f"{k[0]}-{k[1]}")
def test_f_min_matches_literature(key):
    value, tol = LITERATURE[key]
    assert abs(get(key[0], dim=key[1]).f_min - value) <= tol + 1e-12


@pytest.mark.parametrize("name", sorted(LITERATURE_X))
def test_x_min_matches_literature(name):
    expected, tol = LITERATURE_X[name]
    got = get(name).x_mins
    for x in np.asarray(expected):
        assert np.min(np.max(np.abs(got - x), axis=1)) <= tol, x


def test_closed_form_minimisers():
    np.testing.assert_allclose(get("trid", dim=4).x_min, [4, 6, 6, 4])
    d = get("dixon_price", dim=3).x_min
    np.testing.assert_allclose(d, [1, 2**-0.5, 2**-0.75])
    np.testing.assert_allclose(get("rosenbrock", dim=7).x_min, np.ones(7))
    np.testing.assert_allclose(get("easom").x_min, [np.pi, np.pi])


def test_michalewicz_minimum_by_brute_force():
    # Separable: the global minimum is the sum of the per-coordinate minima, each
    # checked here on a fine grid (the grid cannot beat the refined value).
    d = 15
    p = get("michalewicz", dim=d)
    t = np.linspace(0.0, np.pi, 200_001)
    for i in range(1, d + 1):
        grid_min = np.min(-np.sin(t) * np.sin(i * t**2 / np.pi) ** 20)
        term = -np.sin(p.x_min[i - 1]) * np.sin(i * p.x_min[i - 1] ** 2 / np.pi) ** 20
        assert term <= grid_min + 1e-12
        assert grid_min - term < 1e-6
    assert _close(p(p.x_min), p.f_min)


# --- every problem, unshifted and shifted -------------------------------------------


@pytest.mark.parametrize("shift", SHIFTS)
def test_f_at_x_min_is_f_min_and_inside(case, shift):
    name, d = case
    p = get(name, dim=d, shift=shift)
    assert p.dim == d and p.bounds.shape == (d, 2)
    assert p.x_mins.ndim == 2 and p.x_mins.shape[1] == d
    assert np.all(p.x_mins >= p.bounds[:, 0]) and np.all(p.x_mins <= p.bounds[:, 1])
    for x in p.x_mins:
        value = p(x)
        assert isinstance(value, float)
        assert _close(value, p.f_min), (x, value, p.f_min)


@pytest.mark.parametrize("shift", [None, 7])
def test_f_min_is_a_local_minimum(case, shift):
    name, d = case
    p = get(name, dim=d, shift=shift)
    rng = np.random.default_rng(0)
    width = p.bounds[:, 1] - p.bounds[:, 0]
    floor = p.f_min - 1e-6 * max(1.0, abs(p.f_min))
    for x in p.x_mins[:3]:
        x0 = np.clip(x + 1e-3 * width * rng.standard_normal(d), p.bounds[:, 0], p.bounds[:, 1])
        # Nelder-Mead too for the non-smooth ones (Bukin 6, Hölder table); it is slow in 10-d.
        for method in ("L-BFGS-B", "Nelder-Mead")[: 2 if d <= 5 else 1]:
            res = minimize(p, x0, method=method, bounds=p.bounds, options={"maxiter": 400})
            assert res.fun >= floor, (method, res.x, res.fun, p.f_min)


@pytest.mark.parametrize("shift", [None, 3])
def test_random_sample_finds_nothing_below_f_min(case, shift):
    name, d = case
    p = get(name, dim=d, shift=shift)
    rng = np.random.default_rng(1)
    lo, hi = p.bounds[:, 0], p.bounds[:, 1]
    values = p.fun(lo + (hi - lo) * rng.random((20_000, d)))
    assert values.shape == (20_000,)
    assert np.all(np.isfinite(values))
    assert values.min() >= p.f_min - 1e-6 * max(1.0, abs(p.f_min))


def test_vectorised_matches_row_by_row(case):
    name, d = case
    for shift in (None, 5):
        p = get(name, dim=d, shift=shift)
        rng = np.random.default_rng(2)
        lo, hi = p.bounds[:, 0], p.bounds[:, 1]
        xs = lo + (hi - lo) * rng.random((7, d))
        batch = p.fun(xs)
        assert isinstance(batch, np.ndarray) and batch.shape == (7,)
        np.testing.assert_allclose(batch, [p(x) for x in xs], rtol=1e-12, atol=1e-12)


# --- shifting ----------------------------------------------------------------------


def test_shift_moves_minimisers_and_keeps_them_inside(case):
    name, d = case
    base = get(name, dim=d)
    for seed in (1, 2, 3):
        p = get(name, dim=d, shift=seed)
        assert p.name == f"{name}[shifted]" and base.name == name
        assert base.shift is None and p.shift.shape == (d,)
        assert np.any(p.shift != 0)
        assert p.f_min == base.f_min
        np.testing.assert_array_equal(p.bounds, base.bounds)
        assert not np.allclose(p.x_min, base.x_min)
        lo, hi = p.bounds[:, 0], p.bounds[:, 1]
        assert np.all(p.x_mins >= lo) and np.all(p.x_mins <= hi)
        # the listed minimisers are the unshifted ones moved by the offset
        moved = base.x_mins + p.shift
        inside = np.all((moved >= lo - 1e-9) & (moved <= hi + 1e-9), axis=1)
        for x in moved[inside]:
            assert np.min(np.abs(p.x_mins - x).max(axis=1)) < 1e-9


@pytest.mark.parametrize("name", sorted(names()))
def test_no_shift_goes_below_f_min(name):
    # A translation evaluates f outside its box; many offsets cover what it can reach.
    rng = np.random.default_rng(5)
    d = FIXED_DIM.get(name, max(2, min(SCALABLE_DIMS.get(name, [2]))))
    for seed in range(40):
        p = get(name, dim=d, shift=seed)
        lo, hi = p.bounds[:, 0], p.bounds[:, 1]
        values = p.fun(lo + (hi - lo) * rng.random((500, d)))
        assert values.min() >= p.f_min - 1e-6 * max(1.0, abs(p.f_min)), seed


def test_shift_is_deterministic_from_its_seed():
    a = get("rastrigin", dim=5, shift=42)
    b = get("rastrigin", dim=5, shift=42)
    c = get("rastrigin", dim=5, shift=43)
    np.testing.assert_array_equal(a.shift, b.shift)
    np.testing.assert_array_equal(a.x_min, b.x_min)
    assert not np.allclose(a.shift, c.shift)
    seq = get("rastrigin", dim=5, shift=np.random.SeedSequence(42))
    np.testing.assert_array_equal(seq.shift, a.shift)
    g1 = get("rastrigin", dim=5, shift=np.random.default_rng(42))
    g2 = get("rastrigin", dim=5, shift=np.random.default_rng(42))
    np.testing.assert_array_equal(g1.shift, g2.shift)
    x = np.linspace(-1, 1, 5)
    assert a(x) == b(x)


def test_shift_false_or_none_is_unshifted():
    for off in (None, False):
        p = get("ackley", dim=3, shift=off)
        assert p.shift is None and p.name == "ackley"
        np.testing.assert_array_equal(p.x_min, np.zeros(3))


def test_shift_is_off_centre_for_centred_functions():
    # The point of shifting: the centre of the box is no longer optimal.
    for name in ("rastrigin", "ackley", "griewank", "sphere", "zakharov"):
        p = get(name, dim=10, shift=0)
        centre = p.bounds.mean(axis=1)
        assert p(centre) > p.f_min + 1e-3
        assert np.linalg.norm(p.x_min - centre) > 0.05 * np.ptp(p.bounds, axis=1).min()


def test_wrapped_shift_has_exact_values_and_one_minimiser():
    # Schwefel dips below 0 just outside [-500, 500]: the shift wraps around instead.
    p = get("schwefel", dim=2, shift=0)
    base = get("schwefel", dim=2)
    rng = np.random.default_rng(3)
    xs = -500 + 1000 * rng.random((5000, 2))
    values = p.fun(xs)
    lo, width = p.bounds[:, 0], np.ptp(p.bounds, axis=1)
    np.testing.assert_allclose(values, base.fun(lo + np.mod(xs - p.shift - lo, width)))
    assert p.x_mins.shape == (1, 2)


def test_shifted_eggholder_keeps_its_edge_minimiser():
    base = get("eggholder")
    assert base.x_min[0] == 512.0  # on the boundary
    p = get("eggholder", shift=11)
    assert p.x_min[0] < 512.0 * 0.95
    assert _close(p(p.x_min), p.f_min)


def test_shifted_shubert_lists_periodic_copies():
    p = get("shubert", shift=9)
    lo, hi = p.bounds[:, 0], p.bounds[:, 1]
    rng = np.random.default_rng(4)
    xs = lo + (hi - lo) * rng.random((200_000, 2))
    best = xs[np.argsort(p.fun(xs))[:200]]
    # every near-optimal sample lies close to a listed minimiser
    dist = np.linalg.norm(best[:, None] - p.x_mins[None], axis=-1).min(axis=1)
    assert dist.max() < 0.2


def test_problems_pickle():
    for p in (get("hartmann6"), get("rastrigin", dim=4, shift=1), get("schwefel", shift=1)):
        q = pickle.loads(pickle.dumps(p))
        x = p.x_min + 0.01
        assert q(x) == p(x) and q.name == p.name
        np.testing.assert_array_equal(q.x_mins, p.x_mins)


# --- Problem ------------------------------------------------------------------------


def test_problem_for_a_user_function():
    p = Problem(
        "bowl",
        lambda x: np.sum((np.asarray(x) - 1) ** 2),
        [(-5, 5)] * 3,
        f_min=0.0,
        x_min=[1, 1, 1],
    )
    assert p.dim == 3 and p.bounds.dtype == float and p.bounds.shape == (3, 2)
    assert p(p.x_min) == 0.0 and isinstance(p(p.x_min), float)
    assert p.x_mins.shape == (1, 3) and p.shift is None
    assert "bowl" in repr(p)
    q = Problem("two", lambda x: 0.0, [(0, 1), (0, 1)], x_min=[[0.1, 0.2], [0.3, 0.4]])
    np.testing.assert_array_equal(q.x_min, [0.1, 0.2])
    assert q.x_mins.shape == (2, 2) and q.f_min is None
    r = Problem("none", abs, [(-1, 1)])
    assert r.x_min is None and r.x_mins is None and r.f_min is None


def test_problem_is_frozen():
    p = get("branin")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.f_min = 0.0
    with pytest.raises(ValueError, match="read-only"):
        p.bounds[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        p.x_mins[0, 0] = 1.0


def test_problem_accepts_scipy_bounds():
    from scipy.optimize import Bounds

    p = Problem("b", sum, Bounds([0, 0], [1, 2]))
    np.testing.assert_array_equal(p.bounds, [[0, 1], [0, 2]])


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"bounds": [(1, 0)]}, ValueError, "'bounds' parameter of Problem.*low < high"),
        ({"bounds": [(0, np.nan)]}, ValueError, "'bounds' parameter of Problem"),
        ({"bounds": []}, ValueError, "'bounds' parameter of Problem"),
        ({"bounds": [(0, 1, 2)]}, ValueError, "'bounds' parameter of Problem"),
        ({"bounds": None}, TypeError, "'bounds' parameter of Problem"),
        ({"fun": "sum"}, TypeError, "'fun' parameter of Problem\\(\\) must be callable"),
        ({"fun": None}, TypeError, "'fun' parameter of Problem"),
        ({"name": 3}, TypeError, "'name' parameter of Problem\\(\\) must be a str"),
        ({"f_min": np.nan}, ValueError, "'f_min' parameter of Problem"),
        ({"f_min": "0"}, TypeError, "'f_min' parameter of Problem"),
        ({"x_min": [5.0, 0.0]}, ValueError, "'x_min' parameter of Problem.*inside 'bounds'"),
        ({"x_min": [0.0, 0.0, 0.0]}, ValueError, "'x_min' parameter of Problem.*2 coord"),
        ({"x_min": [[[0.0, 0.0]]]}, ValueError, "'x_min' parameter of Problem"),
        ({"shift": [1.0]}, ValueError, "'shift' parameter of Problem"),
    ],
)
def test_problem_bad_input(kwargs, exc, match):
    args = {"name": "p", "fun": sum, "bounds": [(-1, 1), (-1, 1)]} | kwargs
    with pytest.raises(exc, match=match):
        Problem(**args)


# --- get() bad input ----------------------------------------------------------------


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"'name' parameter of get\(\).*'ackley'.*'zakharov'"):
        get("rastrign")
    with pytest.raises(TypeError, match="'name' parameter of get"):
        get(3)


@pytest.mark.parametrize(
    ("name", "dim", "exc", "match"),
    [
        ("branin", 3, ValueError, "'dim' parameter of get\\(\\) must be None or 2 for 'branin'"),
        ("hartmann6", 2, ValueError, "'dim' parameter.*None or 6"),
        ("rastrigin", 0, ValueError, "'dim' parameter of get"),
        ("rastrigin", -3, ValueError, "'dim' parameter of get"),
        ("rosenbrock", 1, ValueError, "'dim' parameter of get\\(\\) must be an int >= 2"),
        ("trid", 1, ValueError, "'dim' parameter.*>= 2"),
        ("powell", 6, ValueError, "'dim' parameter.*multiple of 4"),
        ("rastrigin", 2.0, TypeError, "'dim' parameter of get"),
        ("rastrigin", True, TypeError, "'dim' parameter of get"),
        ("rastrigin", "3", TypeError, "'dim' parameter of get"),
    ],
)
def test_bad_dim(name, dim, exc, match):
    with pytest.raises(exc, match=match):
        get(name, dim=dim)


@pytest.mark.parametrize(
    ("shift", "exc"),
    [(True, TypeError), (-1, ValueError), (1.5, TypeError), ("seed", TypeError)],
)
def test_bad_shift(shift, exc):
    with pytest.raises(exc, match="'shift' parameter of get"):
        get("sphere", dim=2, shift=shift)


# --- property-based -----------------------------------------------------------------


def _dims(name):
    if name in FIXED_DIM:
        return st.just(FIXED_DIM[name])
    if name == "powell":
        return st.integers(1, 4).map(lambda k: 4 * k)
    return st.integers(min(SCALABLE_DIMS[name]), 12)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(names()), shift=st.sampled_from([None, 0, 99]))
def test_values_are_finite_inside_the_bounds(data, name, shift):
    d = data.draw(_dims(name), label="dim")
    p = get(name, dim=d, shift=shift)
    lo, hi = p.bounds[:, 0], p.bounds[:, 1]
    u = data.draw(st.lists(st.floats(0.0, 1.0), min_size=d, max_size=d).map(np.array), label="u")
    x = lo + (hi - lo) * u
    value = p(x)
    assert isinstance(value, float) and np.isfinite(value)
    assert value >= p.f_min - 1e-6 * max(1.0, abs(p.f_min))
