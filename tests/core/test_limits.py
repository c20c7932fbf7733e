import math

import pytest

from nsdesign.core import limits
from nsdesign.core.cost import FORMS as COST_FORMS
from nsdesign.core.schedule import MAX_DEGREE, Schedule
from nsdesign.design.greedy import greedy
from nsdesign.design.remez import minimax_odd
from nsdesign.errors import InputError


def test_one_home_for_each_limit():
    # the modules that used to hold their own copies now hand out the same objects
    assert MAX_DEGREE is limits.MAX_DEGREE == 31
    assert COST_FORMS is limits.FORMS
    from nsdesign.laws.momentum import DEPTHS
    from nsdesign.search.space import ALLOWED_DEGREES

    assert DEPTHS is limits.DEPTHS and ALLOWED_DEGREES is limits.ALLOWED_DEGREES


@pytest.mark.parametrize("degree, ok", [(3, True), (31, True), (33, False), (4, False), (1, False), (True, False), (5.0, False)])
def test_check_degree(degree, ok):
    if ok:
        assert limits.check_degree(degree) == degree
    else:
        with pytest.raises(InputError, match="odd integer from 3 to 31"):
            limits.check_degree(degree)


def test_the_degree_limit_is_the_same_everywhere():
    with pytest.raises(InputError, match="31"):
        Schedule.from_coefficients([[1.0] * 17])  # degree 33
    with pytest.raises(InputError, match="from 1 to 31"):
        minimax_odd(0.1, 1.0, 33)
    with pytest.raises(InputError, match="from 3 to 31"):
        greedy(1e-3, degree=33)
    assert minimax_odd(0.5, 1.0, limits.MAX_DEGREE).polynomial.degree == limits.MAX_DEGREE


@pytest.mark.parametrize(
    "knobs, name",
    [((-0.1, 1.0, 1.0), "cushion"), ((1.0, 1.0, 1.0), "cushion"), ((0.0, 0.99, 1.0), "safety"),
     ((0.0, 2.01, 1.0), "safety"), ((0.0, 1.0, 0.4), "norm_div"), ((0.0, 1.0, math.nan), "norm_div")],
)
def test_check_knobs_names_the_parameter(knobs, name):
    with pytest.raises(InputError, match=name):
        limits.check_knobs(*knobs)
    limits.check_knobs(0.0, 1.0, 1.0)
    limits.check_knobs(0.99, 2.0, 4.0)


def test_the_guard_table_is_the_one_source_of_every_guard_threshold():
    """Every engine's threshold is the table's object, and docs/ARCHITECTURE.md shows the same table."""
    import pathlib

    from nsdesign.design import checks, guarded, safe
    from nsdesign.search import objectives

    assert safe.MAX_OVERSHOOT is limits.MAX_OVERSHOOT and safe.MAX_OUTPUT_SIGMA is limits.MAX_OUTPUT_SIGMA
    assert guarded.GUARD_TOL is limits.GUARD_TOL and guarded.MODEL_ALLOWANCE is limits.MODEL_ALLOWANCE
    assert objectives.Objective.__dataclass_fields__["guard_limit"].default is limits.STUDY_GUARD_LIMIT
    assert checks.PROXY_SHAPE is limits.PROXY_SHAPE and safe.PROXY_SHAPE is limits.PROXY_SHAPE
    doc = (pathlib.Path(limits.__file__).parents[2] / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for name, value, where in limits.GUARD_TABLE:
        assert getattr(limits, name) == value
        assert f"| `{name}` | {value:g} | {where} |" in doc, name


def _own_guard_constants(root) -> list[str]:
    """Module-level `NAME = <number>` outside core/limits.py whose name says it is a guard threshold (GUARD,
    HEADROOM, OVERSHOOT): a second copy of the guard table."""
    import ast

    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "limits.py" and path.parent.name == "core":
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            targets = [node.target] if isinstance(node, ast.AnnAssign) else targets
            value = getattr(node, "value", None)
            numeric = isinstance(value, ast.Constant) and isinstance(value.value, (int, float))
            for target in targets:
                name = getattr(target, "id", "")
                if numeric and any(word in name for word in ("GUARD", "HEADROOM", "OVERSHOOT")):
                    found.append(f"{path.relative_to(root)}: {name}")
    return found


def test_no_engine_keeps_its_own_copy_of_a_guard_threshold(tmp_path):
    import pathlib

    assert _own_guard_constants(pathlib.Path(limits.__file__).parents[1]) == []
    (tmp_path / "engine.py").write_text("GUARD_MAX = 1.25\nOTHER = 2\n")  # the rule can fail
    assert _own_guard_constants(tmp_path) == ["engine.py: GUARD_MAX"]
