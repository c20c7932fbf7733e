import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError

rows = st.lists(st.lists(st.floats(-50, 50, allow_nan=False), min_size=3, max_size=3), min_size=1, max_size=12)


@given(rows, st.sampled_from([1.0, 1.01, 1.02, None]), st.sampled_from(["exact", "repeat_last"]))
def test_json_round_trip(coefficients, norm_div, extension):
    schedule = Schedule.from_coefficients(coefficients, norm_div, extension, "x")
    again = Schedule.from_dict(json.loads(json.dumps(schedule.to_dict())))
    assert again == schedule
    assert hash(again) == hash(schedule)


def test_immutable_and_hashable():
    s = Schedule.from_coefficients([[3.4445, -4.775, 2.0315]])
    with pytest.raises(AttributeError):
        s.norm_div = 2.0  # type: ignore[misc]
    assert len({s, Schedule.from_coefficients([[3.4445, -4.775, 2.0315]])}) == 1


def test_map_applies_norm_div_then_steps_in_order():
    s = Schedule.from_coefficients([[2.0, 0.0, 0.0], [1.0, -0.1, 0.0]], norm_div=2.0)
    x = 0.8 / 2.0
    x = 2.0 * x
    assert s(0.8) == pytest.approx(x - 0.1 * x**3)


def test_extension_rules():
    s = Schedule.from_coefficients([[3.0, -3.0, 1.0], [2.0, -1.5, 0.5]], extension="repeat_last")
    assert s.extended(4).steps[2:] == (s.steps[-1], s.steps[-1])
    with pytest.raises(InputError, match="exact"):
        Schedule.from_coefficients([[3.0, -3.0, 1.0]], extension="exact").extended(2)


def test_mixed_degrees_pad_to_common_width():
    s = Schedule.from_coefficients([[1.5, -0.5], [3.0, -3.0, 1.0, 0.1]])
    assert s.degrees == (3, 7)
    assert s.coefficients() == [[1.5, -0.5, 0.0, 0.0], [3.0, -3.0, 1.0, 0.1]]


@pytest.mark.parametrize(
    "data, message",
    [
        ([1, 2], "JSON object"),
        ({"coefficients": []}, "non-empty"),
        ({"coefficients": [[1, "a", 2]]}, "row 0"),
        ({"coefficients": [[1, 2, 3]], "norm_div": -1}, "norm_div"),
        ({"coefficients": [[1, 2, 3]], "extension": "cycle"}, "extension"),
        ({"coefficients": [[1.0] * 40]}, "degree"),
    ],
)
def test_malformed_documents(data, message):
    with pytest.raises(InputError, match=message):
        Schedule.from_dict(data)
