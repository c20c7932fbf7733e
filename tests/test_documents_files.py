import json

import pytest

from nsdesign.design.recommend import recommend
from nsdesign.errors import InputError
from nsdesign.documents import SCHEDULE_VERSION as SCHEMA_VERSION, load_schedule, read_schedule_file, save_document


def test_document_round_trip(tmp_path):
    result = recommend(1e-3, steps=6, safety=1.02, cushion=0.02)
    path = save_document(tmp_path / "s.json", result.document())
    data = json.loads(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["band"] == {"min_sigma": 1e-3, "max_sigma": 1.0}
    assert data["params"]["safety"] == 1.02 and data["params"]["certified"] is True
    assert data["metrics"]["worst_error"] == result.metrics.worst_error
    schedule, document = read_schedule_file(path)
    assert schedule == result.schedule
    assert load_schedule(str(path)).name == "greedy"


def test_reads_polar_express_json(tmp_path):
    path = tmp_path / "pe.json"
    path.write_text(json.dumps({"degree": 5, "params": {"l": 1e-3}, "coefficients": [[8.2, -22.9, 16.4]]}))
    schedule, _ = read_schedule_file(path)
    assert schedule.steps[0].coefficients == (8.2, -22.9, 16.4)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ('{"schema_version": 3, "coefficients": [[1, 2, 3]]}', "schema_version"),
        ('{"schema_version": 1, "coefficients": "abc"}', "coefficients"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_malformed_files(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        read_schedule_file(path)


def test_missing_file_and_unknown_name(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_schedule(str(tmp_path / "missing.json"))
    with pytest.raises(InputError, match="not a preset or a schedule"):
        load_schedule("no_such_schedule")



def test_a_preset_typo_suggests_the_preset():
    with pytest.raises(InputError, match="did you mean keller5"):
        load_schedule("keler5")
    with pytest.raises(InputError) as caught:
        load_schedule("zzzzzz")
    assert "did you mean" not in str(caught.value)
