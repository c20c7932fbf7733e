"""Spectral-shaping targets (nsdesign.core.targets): parsing, refusals, and the exact error bracket checked against
dense sampling, an SVD of a real matrix, and the engine's own worst error for the sign target."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsdesign.core.metrics import worst_error
from nsdesign.core.schedule import Schedule
from nsdesign.core.targets import (
    CompositionMap,
    callable_target,
    error_bracket,
    extreme_bracket,
    parse_target,
    table_target,
    target_error,
)
from nsdesign.errors import InputError
from nsdesign.presets import preset


def _dense(target, schedule, lo, hi, n=400_001):
    x = np.unique(np.concatenate([np.geomspace(lo, hi, n), np.linspace(lo, hi, n)]))
    f, g = CompositionMap(schedule).values(x), target.values(x)
    return float(np.max(np.abs(f - g) if target.error == "absolute" else np.abs(f / g - 1)))


def _at(target, schedule, bracket):
    x = np.array([bracket.at])
    f, g = CompositionMap(schedule).values(x)[0], target.values(x)[0]
    return abs(f - g) if target.error == "absolute" else abs(f / g - 1)


@pytest.mark.parametrize(
    "text, kind, param, error",
    [("sign", "sign", None, "absolute"), ("sigma^0.25", "power", 0.25, "relative"), ("σ^-0.5", "power", -0.5, "relative"),
     ("clip:0.5", "clip", 0.5, "absolute"), ("soft:0.01", "soft", 0.01, "absolute"), ("sigma^0", "sign", None, "absolute")],
)
def test_parse(text, kind, param, error):
    t = parse_target(text)
    assert (t.kind, t.param, t.error) == (kind, param, error)
    assert parse_target(t.name) == t  # the name spells the target again


@pytest.mark.parametrize(
    "text, words",
    [("sigma^1", r"p in \[-0.5, 1\)"), ("sigma^-0.6", "p in"), ("clip:0", "X > 0"), ("soft:-1", "X > 0"),
     ("clip:abc", "not a number"), ("cube", "unknown target"), ("", "a target is one of")],
)
def test_bad_targets_are_one_line_input_errors(text, words):
    with pytest.raises(InputError, match=words) as info:
        parse_target(text)
    assert "\n" not in str(info.value)


def test_tables_and_callables_refuse_what_no_odd_map_can_follow():
    with pytest.raises(InputError, match="not odd-extendable"):
        table_target([0.0, 0.5, 1.0], [0.3, 0.5, 1.0])
    with pytest.raises(InputError, match="not odd-extendable"):
        callable_target(lambda s: 1.0 + s, 1e-3, 1.0)  # g(0) = 1
    with pytest.raises(InputError, match="discontinuous inside the band near σ = 0.3"):
        callable_target(lambda s: 0.2 * s if s < 0.3 else 0.9, 1e-3, 1.0)
    with pytest.raises(InputError, match="negative"):
        table_target([0.1, 1.0], [-0.1, 1.0])
    with pytest.raises(InputError, match="not the band"):
        target_error(table_target([0.1, 1.0], [0.1, 1.0]), preset("keller5"), 1e-3, 1.0)
    sign = callable_target(lambda s: s / abs(s), 1e-3, 1.0)  # sign's own g(0+) = 1 is fine when g(0) is undefined…
    assert sign(0.5) == 1.0
    smooth = callable_target(math.tanh, 1e-3, 1.0)  # …and a continuous g with g(0) = 0 passes
    assert smooth(0.5) == pytest.approx(math.tanh(0.5), abs=1e-4)  # the tabled interpolant (257 knots)


def test_sign_bracket_is_the_engines_exact_worst_error():
    for name in ("keller5", "polar_express_modded5", "polar_express_eo8"):
        s = preset(name)
        b = target_error("sign", s, 1e-3, 1.0)
        assert b.upper == pytest.approx(worst_error(s, 1e-3, 1.0), rel=1e-9)
        assert b.lower <= b.upper


@pytest.mark.parametrize("text", ["sigma^0.25", "sigma^-0.25", "clip:0.5", "soft:0.01", "clip:0.03"])
@pytest.mark.parametrize("name", ["keller5", "polar_express_modded5"])
def test_bracket_contains_dense_sampling(text, name):
    t, s = parse_target(text), preset(name)
    b = target_error(t, s, 1e-3, 1.0)
    dense = _dense(t, s, 1e-3, 1.0)
    assert _at(t, s, b) == pytest.approx(b.lower, rel=1e-12)  # the lower end is a value the error takes
    assert dense <= b.upper * (1 + 1e-12)  # the upper end bounds every σ
    assert b.lower >= dense * (1 - 2e-6)  # so a closed bracket is at least what sampling sees
    assert b.upper <= b.lower * (1 + 2e-6)  # and the bracket is closed


@settings(max_examples=25, deadline=None)
@given(
    a=st.floats(1.2, 3.5), b=st.floats(-3.0, -0.3), c=st.floats(0.0, 1.5),
    lo=st.floats(1e-3, 0.3), p=st.sampled_from(["sigma^0.5", "sigma^-0.4", "clip:0.4", "soft:0.05", "sign"]),
)
def test_bracket_never_below_dense_sampling(a, b, c, lo, p):
    s = Schedule.from_coefficients([(a, b, c), (a, b, c)])
    t = parse_target(p)
    bracket = target_error(t, s, lo, 1.0)
    dense = _dense(t, s, lo, 1.0, 50_001)
    assert _at(t, s, bracket) == pytest.approx(bracket.lower, rel=1e-12, abs=1e-15)
    assert dense <= bracket.upper * (1 + 1e-9) + 1e-15


def test_bracket_against_an_svd_reference():
    """A matrix with known singular values: F applied by matrix products vs U g(Σ) Vᵀ from an SVD."""
    rng = np.random.default_rng(0)
    m, n = 24, 48
    sigmas = np.geomspace(1e-2, 1.0, m)
    u, _ = np.linalg.qr(rng.standard_normal((m, m)))
    v, _ = np.linalg.qr(rng.standard_normal((n, m)))
    x = (u * sigmas) @ v.T
    s = preset("polar_express_modded5")
    y = x / s.norm_div
    for step in s.steps:
        a = y @ y.T
        acc = np.zeros_like(a)
        for coef in reversed(step.coefficients[1:]):
            acc = acc @ a + coef * a
        y = step.coefficients[0] * y + acc @ y
    uu, ss, vt = np.linalg.svd(x, full_matrices=False)
    for text in ("sigma^0.25", "clip:0.3", "soft:0.05"):
        t = parse_target(text)
        reference = (uu * t.values(ss)) @ vt
        diag = np.einsum("ij,ij->j", uu, (y - reference) @ vt.T)  # u_iᵀ (Y − Y_ref) v_i
        measured = np.max(np.abs(diag) if t.error == "absolute" else np.abs(diag / t.values(ss)))
        bracket = target_error(t, s, 1e-2, 1.0)
        assert measured <= bracket.upper * (1 + 1e-6) + 1e-12
        assert measured >= 0.2 * bracket.lower  # the matrix's σ sample the band densely enough to come close


def test_unclosed_bracket_is_reported_open():
    t = parse_target("clip:0.5")
    b = error_bracket(t, CompositionMap(preset("keller5")), 1e-3, 1.0, max_nodes=70)
    assert b.lower <= b.upper


def test_extreme_bracket_matches_exact_range():
    s = preset("keller5")
    top_seen, top = extreme_bracket(CompositionMap(s), 0.0, 1.02)
    from nsdesign.core.metrics import value_range

    exact = value_range(s, 0.0, 1.02)[1]
    assert top_seen <= exact * (1 + 1e-12) and exact <= top * (1 + 1e-12)
    low_seen, low = extreme_bracket(CompositionMap(s), 0.0, 1.0, largest=False)
    assert low <= 0.0 <= low_seen + 1e-15
