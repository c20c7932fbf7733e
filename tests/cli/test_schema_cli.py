"""`nsdesign schema` prints the shipped JSON Schema; a file `search -o` writes satisfies it."""

from __future__ import annotations

import json

from nsdesign.cli.main import main
from nsdesign.documents import check_document, schema


def test_schema_prints_the_shipped_schedule_schema(capsys):
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == schema("schedule")


def test_a_written_schedule_satisfies_it(tmp_path, capsys):
    path = tmp_path / "s.json"
    assert main(["search", "--min-sigma", "1e-3", "-o", str(path), "--name", "mine"]) == 0
    document = json.loads(path.read_text())
    assert check_document("schedule", document)["name"] == "mine"
    required = schema("schedule")["required"]
    assert all(key in document for key in required)


def test_unknown_kind_is_one_line_exit_2(capsys):
    assert main(["schema", "nonsense"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown document kind" in err[0]
