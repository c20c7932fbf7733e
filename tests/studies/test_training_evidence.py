"""studies/training/holm_old_study.py: the Holm re-analysis of the committed 3-seed, fixed-lr study that
studies/training/README.md quotes (no comparison survives; the three one-by-one exclusions have the p-values
the README states)."""

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _module():
    spec = importlib.util.spec_from_file_location("holm_old_study", REPO / "studies" / "training" / "holm_old_study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_comparison_of_the_old_study_survives_holm():
    result = _module().analyse()
    by = {(size, d.label): d for size, e in result["per_size"].items() for d in e["differences"]}
    assert len(by) == 21 and not any(d.holm_rejects for d in by.values())
    for key, p, holm_p in ((("192x6", "cubic5_eo"), 0.017, 0.119), (("192x6", "recipe"), 0.025, 0.149),
                           (("tiny", "polar_express_modded5"), 0.024, 0.166)):
        assert by[key].excludes_zero  # one by one at 95% it did exclude 0
        assert by[key].p_value == pytest.approx(p, abs=5e-4) and by[key].p_holm == pytest.approx(holm_p, abs=5e-4)
    assert by["192x6", "cubic5_eo"].mean == pytest.approx(0.0225, abs=5e-5)  # the README's table, from the runs
    pooled = {(size, d.label): d for size, d in result["all_21"]}
    assert not any(d.holm_rejects for d in pooled.values())
    mdds = sorted(d.mdd for d in by.values())
    assert mdds[0] == pytest.approx(0.007, abs=5e-4) and mdds[-1] == pytest.approx(0.114, abs=5e-4)
