"""The comparison protocol of `train_compare`: Holm-corrected paired statistics with a minimum detectable
difference, steps to a fixed target, per-schedule lr tuning on a validation split separate from the test split,
Muon's match_rms, and a run store whose key holds every setting and the code version."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nsdesign.errors import InputError
from nsdesign.core.paired import PairedDifference, holm, minimum_detectable, paired_differences
from nsdesign.torch import runstore
from nsdesign.torch import training as tc
from nsdesign.torch.runstore import run_key
from nsdesign.torch.training import LrTuning, analyse, reach_target, train_compare
from nsdesign.torch.trainrun import CompareSettings, RunResult, ScheduleSpec, split_text

torch = pytest.importorskip("torch")

# Not periodic: the validation and test halves must hold different bytes.
TEXT = "".join(f"x{i} = [{i * i % 97}, {i % 13}]  # {'abcdefgh'[i % 8] * (i % 5)}\n" for i in range(3000)).encode()
TINY = dict(model="nano", train_steps=4, eval_every=2, eval_batches=2, batch=4, seq_len=32)


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "corpus.py"
    path.write_bytes(TEXT)
    return path


# -- statistics ----------------------------------------------------------------------------------


def _diff(label, p, std=0.01, n=5, mean=-0.01):
    return PairedDifference(label, n, mean, std, math.nan, math.nan, p_value=p)


def test_holm_adjusts_steps_down_and_stops_at_the_first_acceptance():
    # m = 4, α = 0.05: thresholds 0.0125, 0.0167, 0.025, 0.05 in ascending-p order.
    ds = holm([_diff("a", 0.03), _diff("b", 0.001), _diff("c", 0.014), _diff("d", 0.04)])
    by = {d.label: d for d in ds}
    assert by["b"].p_holm == pytest.approx(0.004) and by["b"].holm_rejects  # 4·0.001
    assert by["c"].p_holm == pytest.approx(0.042) and by["c"].holm_rejects  # 3·0.014 ≤ 0.05
    assert by["a"].p_holm == pytest.approx(0.06) and not by["a"].holm_rejects  # 2·0.03 > 0.05: stop here
    assert by["d"].p_holm == pytest.approx(0.06) and not by["d"].holm_rejects  # monotone: max(0.06, 0.04)
    assert [by[k].holm_confidence for k in "bcad"] == pytest.approx([1 - 0.05 / 4, 1 - 0.05 / 3, 1 - 0.05 / 2, 0.95])
    assert by["b"].verdict == "better" and by["a"].verdict == "unresolved"


def test_holm_rejects_nothing_after_a_failure_even_when_a_later_threshold_passes():
    # p(1) = 0.03 > 0.05/2 fails; p(2) = 0.045 ≤ 0.05 would pass alone, but Holm has stopped.
    ds = holm([_diff("a", 0.03), _diff("b", 0.045)])
    assert not any(d.holm_rejects for d in ds)


def test_holm_interval_and_mdd_are_at_the_comparisons_level():
    from scipy import stats

    base = [2.00, 2.10, 1.95, 2.05]
    a = paired_differences("a", [1.98, 2.07, 1.94, 2.02], base)
    b = paired_differences("b", [2.01, 2.10, 1.96, 2.05], base)
    ds = holm([a, b])
    first = min(ds, key=lambda d: d.p_value)
    half = stats.t.ppf(1 - 0.025 / 2, 3) * first.std / 2  # level 0.05/2 for the smaller p, √n = 2
    assert (first.holm_low, first.holm_high) == pytest.approx((first.mean - half, first.mean + half))
    assert first.mdd == pytest.approx((stats.t.ppf(1 - 0.025 / 2, 3) + stats.t.ppf(0.8, 3)) * first.std / 2)
    assert first.holm_high - first.holm_low > first.high - first.low  # wider than the one-by-one 95% interval
    assert a.p_value == pytest.approx(stats.ttest_rel([1.98, 2.07, 1.94, 2.02], base).pvalue)


def test_minimum_detectable_difference_formula():
    from scipy import stats

    assert minimum_detectable(0.02, 8, 0.05) == pytest.approx(
        (stats.t.ppf(0.975, 7) + stats.t.ppf(0.8, 7)) * 0.02 / math.sqrt(8))
    assert math.isnan(minimum_detectable(0.02, 1, 0.05))
    assert minimum_detectable(0.02, 16, 0.05) < minimum_detectable(0.02, 4, 0.05)


def _run(label, seed, losses, test):
    steps = tuple(range(0, 10 * len(losses), 10))
    return RunResult(label, seed, steps, tuple(losses), tuple(0.1 * s for s in steps), tuple(0.01 * s for s in steps),
                     1e9, (), (), cpu_seconds=tuple(0.05 * s for s in steps),
                     ns_cpu_seconds=tuple(0.005 * s for s in steps), test_loss=test)


def test_analyse_reports_the_test_loss_and_reach_target_a_fixed_loss():
    runs = [_run("keller5", 0, [5.0, 3.0, 2.0], 2.2), _run("keller5", 1, [5.0, 3.5, 2.5], 2.6),
            _run("x", 0, [5.0, 2.0, 1.9], 2.0), _run("x", 1, [5.0, 3.0, 2.4], 2.5)]
    summaries, differences, _ = analyse(runs, ["keller5", "x"], [0, 1], "keller5")
    assert [s.mean for s in summaries] == pytest.approx([2.4, 2.25])  # test, not validation, losses
    assert differences[0].mean == pytest.approx(-0.15) and math.isfinite(differences[0].p_holm)
    reach = {r.label: r for r in reach_target(runs, ["keller5", "x"], [0, 1], 3.0)}
    assert reach["keller5"].steps == pytest.approx((10.0, 15.0))  # 5→3.5 crosses 3.0 at step 10 + 10·(0.5/1.5)·…
    assert reach["x"].steps[0] == pytest.approx(20 / 3)  # 5.0 → 2.0 between steps 0 and 10
    assert reach["x"].target == (3.0, 3.0)


def test_lr_tuning_settings_are_checked():
    with pytest.raises(InputError, match="at least 4"):
        LrTuning((0.01, 0.02, 0.04)).checked([0])
    with pytest.raises(InputError, match="at least 4"):
        LrTuning((0.01, 0.02, 0.04, -1.0)).checked([0])
    with pytest.raises(InputError, match="comparison seeds"):
        LrTuning(seeds=(1, 1000)).checked([0, 1])
    with pytest.raises(InputError, match="tune_steps"):
        LrTuning(steps=0).checked([0])
    assert LrTuning((0.04, 0.005, 0.02, 0.01)).checked([0]).grid == (0.005, 0.01, 0.02, 0.04)


def test_the_held_out_text_splits_into_disjoint_validation_and_test_halves():
    tokens = torch.arange(1000)
    train, validation, test = split_text(tokens)
    assert len(train) == 900 and len(validation) == 50 and len(test) == 50
    assert int(validation[-1]) + 1 == int(test[0]) and int(train[-1]) + 1 == int(validation[0])


# -- the run store key ------------------------------------------------------------------------------


def test_the_run_key_holds_every_setting_the_coefficients_and_the_code_version(monkeypatch):
    from dataclasses import replace

    from nsdesign.core.schedule import Schedule

    spec = tc.resolve_spec("keller5")
    key = run_key(CompareSettings(), spec, 0)
    for change in ({"muon_lr": 0.01}, {"batch": 8}, {"seq_len": 64}, {"train_steps": 9}, {"width": 32},
                   {"ns_dtype": "bf16"}, {"match_rms": True}, {"text_sha256": "x"}, {"text_source": "y"}):
        assert run_key(replace(CompareSettings(), **change), spec, 0) != key, change
    assert run_key(CompareSettings(), spec, 1) != key
    moved = Schedule.from_dict({**spec.schedule.to_dict()})
    steps = [list(s.coefficients) for s in moved.steps]
    steps[0][0] += 1e-9  # same name, other coefficients
    other = ScheduleSpec("keller5", schedule=Schedule.from_coefficients(steps, name="keller5"))
    assert run_key(CompareSettings(), other, 0) != key
    assert runstore.code_version().startswith(tc.__version__ + "+")
    monkeypatch.setattr(runstore, "code_version", lambda: "0+other")
    assert run_key(CompareSettings(), spec, 0) != key


def test_old_runs_are_not_reused_and_a_note_says_so(text_file, tmp_path):
    store = tmp_path / "runs"
    store.mkdir()
    (store / "keller5-seed0-000000000000.json").write_text(json.dumps(
        {"kind": "nsdesign-train-run", "format": "nsdesign-train-run/1", "key": "old", "run": {}}))
    c = train_compare(["keller5"], seeds=1, text=text_file, runs_dir=store, **TINY)
    assert c.skipped == 0
    assert any("1 stored run(s)" in n and "not reused" in n for n in c.notes), c.notes
    stored = [json.loads(p.read_text()) for p in store.glob("*.json")]
    assert any(d.get("code") == runstore.code_version() and d["format"] == runstore.RUN_FORMAT for d in stored)


# -- training with tuning, bf16 NS and match_rms ------------------------------------------------------


@pytest.mark.slow
def test_lr_is_tuned_per_schedule_on_validation_and_the_comparison_uses_it(text_file, tmp_path):
    grid = (0.001, 0.01, 0.05, 0.2)
    c = train_compare(["keller5", "cubic5_eo"], seeds=2, text=text_file, runs_dir=tmp_path / "r",
                      lr_tuning=LrTuning(grid, steps=3), target_loss=5.4, **TINY)
    assert len(c.tuning) == 2 * len(grid)
    for label in c.labels:
        rows = [t for t in c.tuning if t.label == label]
        best = min(rows, key=lambda t: t.val_loss)
        assert best.chosen and sum(t.chosen for t in rows) == 1 and c.lrs[label] == best.lr
    stored = [json.loads(p.read_text()) for p in (tmp_path / "r").glob("*.json")]
    comparison_runs = [d for d in stored if d["settings"]["train_steps"] == TINY["train_steps"]]
    assert len(comparison_runs) == 4 and len(stored) == 4 + 2 * len(grid)
    for d in comparison_runs:
        assert d["settings"]["muon_lr"] == c.lrs[d["run"]["label"]]
    for run in c.runs:  # the reported loss is on the test half, not the validation curve's last point
        assert math.isfinite(run.test_loss) and run.test_loss != run.val_loss[-1]
    assert [s.mean for s in c.summaries] == pytest.approx(
        [np.mean([r.test_loss for r in c.runs_of(label)]) for label in c.labels])
    assert c.target_loss == 5.4 and len(c.target_reach) == 2
    document = c.to_dict()
    assert document["lrs"] == c.lrs and len(document["lr_tuning"]) == 8 and document["target_loss"] == 5.4
    assert "reach_baseline_final" not in document and "reach_baseline_final_secondary" in document
    again = train_compare(["keller5", "cubic5_eo"], seeds=2, text=text_file, runs_dir=tmp_path / "r",
                          lr_tuning=LrTuning(grid, steps=3), target_loss=5.4, **TINY)
    assert again.skipped == 4 + 2 * len(grid) and again.lrs == c.lrs


def test_bf16_newton_schulz_runs_on_the_cpu_and_match_rms_changes_the_run(text_file):
    plain = train_compare(["keller5"], seeds=1, text=text_file, ns_dtype="bf16", **TINY)
    matched = train_compare(["keller5"], seeds=1, text=text_file, ns_dtype="bf16", match_rms=True, **TINY)
    assert plain.settings.ns_dtype == "bf16" and matched.settings.match_rms
    assert plain.runs[0].val_loss[0] == matched.runs[0].val_loss[0]
    assert plain.runs[0].val_loss[-1] != matched.runs[0].val_loss[-1]


@pytest.mark.parametrize("kwargs, message", [
    ({"lr_tuning": [0.01, 0.02]}, "at least 4"), ({"lr_tuning": "0.01"}, "list of learning rates"),
    ({"target_loss": -1.0}, "target_loss"), ({"target_loss": math.nan}, "target_loss"),
    ({"match_rms": "yes"}, "match_rms"), ({"muon_lr": math.inf}, "learning rates"),
])
def test_bad_protocol_input(text_file, kwargs, message):
    with pytest.raises(InputError, match=message):
        train_compare(["keller5"], text=text_file, **{**TINY, **kwargs})


def test_match_rms_gives_every_update_the_rms_of_an_exact_polar_factor():
    from nsdesign.torch.muon import Muon, match_polar_rms, polar_rms

    torch.manual_seed(0)
    for shape in ((16, 48), (48, 16), (24, 24)):
        p = torch.nn.Parameter(torch.randn(*shape))
        before = p.detach().clone()
        opt = Muon([p], lr=1.0, weight_decay=0.0, momentum=0.0, nesterov=False, schedule="keller5",
                   ns_dtype="fp32", match_rms=True)
        p.grad = torch.randn(*shape)
        opt.step()
        ratio = math.sqrt(max(1, shape[0] / shape[1]))  # torch's adjust_lr "original"
        update = (before - p.detach()) / ratio
        rms = float(update.pow(2).mean().sqrt())
        assert rms == pytest.approx(polar_rms(shape), rel=1e-5) == pytest.approx(1 / math.sqrt(max(shape)))
    x = torch.randn(8, 20)
    assert float(torch.linalg.vector_norm(match_polar_rms(x))) == pytest.approx(math.sqrt(8), rel=1e-6)
    assert Muon([torch.nn.Parameter(torch.randn(4, 4))]).param_groups[0]["match_rms"] is False


def test_the_code_version_ignores_comments_docstrings_and_import_order_but_not_code():
    from nsdesign.torch.runstore import normalized_source

    base = '"""Doc."""\nimport os\nfrom a import b, c\n\n\ndef f(x):\n    """Why."""\n    return x * 2  # twice\n'
    cosmetic = 'from a import (\n    c,\n    b,\n)\nimport os  # the os\n\n\ndef f(x):\n    return x * 2\n'
    assert normalized_source(base) == normalized_source(cosmetic)
    for changed in (base.replace("x * 2", "x * 3"), base.replace("return x * 2", "return 2 * x"),
                    base.replace("from a import b, c", "from a import b")):
        assert normalized_source(changed) != normalized_source(base)
    assert runstore.code_version().startswith(tc.__version__ + "+ast.")
