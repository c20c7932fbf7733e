"""Each JSON kind: written documents satisfy their shipped schema (checked by the reference jsonschema package and by
the reader's own validator), old versions still read, bad documents get one clear error."""

import json
import math

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsdesign import documents
from nsdesign.core.band import Band
from nsdesign.design.recommend import recommend
from nsdesign.errors import InputError
from nsdesign.presets import preset


@pytest.mark.parametrize("kind", sorted(documents.KINDS))
def test_each_kind_ships_a_valid_schema(kind):
    schema = documents.schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert documents.schema_path(kind).is_file()
    name, version = documents.KINDS[kind]
    assert documents.header(kind) == {"schema_version": version, "kind": name}


def test_schedule_document_is_version_2_and_satisfies_its_schema():
    doc = recommend(1e-3, steps=5).document()
    assert doc["schema_version"] == 2 and doc["kind"] == "nsdesign-schedule"
    jsonschema.validate(doc, documents.schema("schedule"))
    assert documents.read_schedule_document(doc) == recommend(1e-3, steps=5).schedule


def test_optional_version_2_fields_are_written_only_when_given():
    s = preset("keller5")
    plain = documents.schedule_document(s, Band(1e-3))
    assert not set(documents.OPTIONAL_SCHEDULE_FIELDS) & plain.keys()
    full = documents.schedule_document(
        s, Band(1e-3, 1.0, 1.05), normalizer="frobenius", kernel="fused", dtype="bf16",
        checked_for=[{"kernel": "fused", "dtype": "bf16", "shape": [64, 256], "passed": True}],
    )
    assert full["band"]["guard_sigma"] == 1.05 and full["dtype"] == "bf16"
    jsonschema.validate(full, documents.schema("schedule"))
    assert documents.read_schedule_document(full) == s
    assert documents.document_band(full) == Band(1e-3, 1.0, 1.05)


def test_version_1_files_still_read(tmp_path):
    v1 = {"schema_version": 1, "name": "old", "coefficients": [[3.4445, -4.775, 2.0315]], "degree": 5,
          "norm_div": 1.0, "extension": "repeat_last", "band": {"min_sigma": 1e-3, "max_sigma": 1.0},
          "params": {}, "metrics": None, "nsdesign_version": "0.1.0"}
    jsonschema.validate(v1, documents.schema("schedule"))
    path = tmp_path / "old.json"
    path.write_text(json.dumps(v1))
    schedule, document = documents.read_schedule_file(path)
    assert schedule.extension == "repeat_last" and document["schema_version"] == 1


@pytest.mark.parametrize(
    "change, message",
    [
        ({"schema_version": 3}, "schema_version"),
        ({"band": {"min_sigma": 1e-3}}, "band needs the field 'max_sigma'"),
        ({"band": {"min_sigma": -1.0, "max_sigma": 1.0}}, r"band.min_sigma must be > 0"),
        ({"extension": "loop"}, "extension must be one of"),
        ({"kernel": 3}, "kernel must be string or null"),
        ({"checked_for": ["bf16"]}, r"checked_for\[0\] must be object"),
        ({"params": []}, "params must be object or null"),
    ],
)
def test_bad_schedule_documents_name_the_field(change, message):
    doc = recommend(1e-3, steps=3).document()
    doc.update(change)
    with pytest.raises(InputError, match=message):
        documents.read_schedule_document(doc, "x.json")
    with pytest.raises(jsonschema.ValidationError):  # the reference validator refuses it too
        jsonschema.validate(doc, documents.schema("schedule"))


@pytest.mark.slow
@settings(max_examples=50, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-2, 2) | st.text(max_size=3),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(["min_sigma", "max_sigma", "guard_sigma"]), c, max_size=3),
                    max_leaves=6))
def test_own_validator_agrees_with_jsonschema_on_the_band(band):
    doc = recommend(1e-3, steps=3).document()
    doc["band"] = band
    try:
        jsonschema.validate(doc, documents.schema("schedule"))
        reference_ok = True
    except jsonschema.ValidationError:
        reference_ok = False
    try:
        documents.check_document("schedule", doc)
        ours_ok = True
    except InputError:
        ours_ok = False
    assert ours_ok == reference_ok


def test_one_inf_encoder():
    assert [documents.json_number(v) for v in (math.inf, -math.inf, 1.5, "x")] == ["inf", "-inf", 1.5, "x"]
    assert documents.json_number(math.nan) == "nan"
    assert documents.read_number("inf") == math.inf and documents.read_number("-inf") == -math.inf
    from nsdesign.core.schedule import Schedule
    from nsdesign.core.metrics import evaluate

    blows_up = Schedule.from_coefficients([[1e150, 1e150, 1e150]] * 3)  # F overflows just above the band
    assert evaluate(blows_up, 1e-3).to_dict()["f_max"] == "inf"


def test_other_kinds_are_checked_on_reading():
    with pytest.raises(InputError, match="expected kind 'nsdesign-pareto'"):
        documents.check_kind("pareto", {"kind": "nsdesign-recipe"}, "p.json")
    with pytest.raises(InputError, match="schema_version must be 1"):
        documents.check_kind("pareto", {"kind": "nsdesign-pareto", "schema_version": 2, "front": []}, "p.json")
    with pytest.raises(InputError, match="front must be array"):
        documents.check_kind("pareto", {"kind": "nsdesign-pareto", "schema_version": 1, "front": {}}, "p.json")
    manifest = {"kind": "nsdesign-capture", "format": "nsdesign-capture/1", "sizes": []}  # written before version 1
    assert documents.check_kind("capture", manifest, "capture.json") is manifest


def test_the_old_io_shim_is_gone_and_documents_is_the_one_home():
    import importlib.util

    assert importlib.util.find_spec("nsdesign.io") is None  # removed (issue 23: dead shims)
    assert documents.SCHEDULE_VERSION == 2 and callable(documents.schedule_document)
