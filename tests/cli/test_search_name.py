"""`search --name` names the schedule in its file, so that `compare` can tell two designs apart."""

from __future__ import annotations

import json

from nsdesign.cli.main import main


def test_named_designs_are_told_apart_by_compare(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["search", "--min-sigma", "1e-3", "--exact", "-o", str(a), "--name", "bare5"]) == 0
    assert main(["search", "--min-sigma", "1e-3", "--steps", "5", "--cushion", "0.02", "--safety", "1.02",
                 "-o", str(b), "--name", "pe5"]) == 0
    assert json.loads(a.read_text())["name"] == "bare5"
    capsys.readouterr()
    assert main(["compare", str(a), str(b), "--min-sigma", "1e-3"]) == 0
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.split()[:1] in (["bare5"], ["pe5"])]
    assert rows == ["bare5", "pe5"]
