"""nsdesign.torch.training (`train_compare`): the statistics on synthetic numbers, determinism per seed, NS timing, resuming."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsdesign.errors import InputError
from nsdesign.core.paired import first_reach, paired_differences, summarize
from nsdesign.torch import runstore
from nsdesign.torch.training import analyse, ns_share, time_to_target, train_compare
from nsdesign.torch.trainrun import RunResult, ScheduleSpec

TEXT = (b"def f(x):\n    return [i * x for i in range(10) if i % 3]\n\nclass A:\n    pass\n" * 400)
TINY = dict(model="nano", train_steps=6, eval_every=3, eval_batches=2, batch=4, seq_len=32)


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "corpus.py"
    path.write_bytes(TEXT)
    return path


# -- statistics on synthetic data ---------------------------------------------------------------


def test_summary_mean_and_sample_std():
    s = summarize("x", [1.0, 2.0, 4.0])
    assert s.mean == pytest.approx(7 / 3)
    assert s.std == pytest.approx(math.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 2))
    assert math.isnan(summarize("x", [1.0]).std)
    diverged = summarize("x", [1.0, math.inf])
    assert diverged.mean == math.inf and diverged.diverged == 1


def test_paired_difference_matches_hand_computed_t_interval():
    base = [2.00, 2.10, 1.95]
    other = [1.98, 2.07, 1.94]  # d = −0.02, −0.03, −0.01: mean −0.02, sd 0.01
    d = paired_differences("o", other, base)
    half = 4.302652729911275 * 0.01 / math.sqrt(3)  # t_{0.975, 2}
    assert d.mean == pytest.approx(-0.02)
    assert d.std == pytest.approx(0.01)
    assert (d.low, d.high) == pytest.approx((-0.02 - half, -0.02 + half))
    assert d.high == pytest.approx(0.004841, abs=1e-6)  # −0.02 ± 0.0248: three seeds do not resolve it
    assert not d.excludes_zero


def test_paired_difference_pairs_by_seed_not_by_pooling():
    # A large seed-to-seed spread but a constant per-seed gain: pairing resolves it, pooling would not.
    base = [1.0, 2.0, 3.0, 4.0]
    other = [b - 0.01 + e for b, e in zip(base, (0.001, -0.001, 0.0005, -0.0005))]
    d = paired_differences("o", other, base)
    assert d.high < 0 and d.excludes_zero
    shuffled = paired_differences("o", other[::-1], base)
    assert not shuffled.excludes_zero


def test_paired_difference_single_seed_and_mismatch():
    d = paired_differences("o", [1.0], [2.0])
    assert d.mean == -1.0 and math.isnan(d.low) and not d.excludes_zero
    with pytest.raises(InputError):
        paired_differences("o", [1.0, 2.0], [1.0])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=2, max_size=8), st.floats(-3, 3), st.floats(0.5, 0.99))
def test_interval_properties(noise, shift, confidence):
    base = np.linspace(1.0, 2.0, len(noise))
    other = base + shift + np.asarray(noise) * 1e-2
    d = paired_differences("o", other, base, confidence)
    assert d.low <= d.mean <= d.high
    moved = paired_differences("o", other + 7.0, base + 7.0, confidence)  # a common offset changes nothing
    assert moved.mean == pytest.approx(d.mean, abs=1e-9) and moved.high - moved.low == pytest.approx(d.high - d.low, abs=1e-8)
    wider = paired_differences("o", other, base, min(confidence + 0.009, 0.999))
    assert wider.high - wider.low >= d.high - d.low - 1e-12


def test_first_reach_interpolates_and_reports_never():
    steps, losses = [0, 10, 20, 30], [5.0, 3.0, 2.0, 1.5]
    assert first_reach(steps, losses, 2.5) == pytest.approx(15.0)
    assert first_reach(steps, losses, 3.0) == pytest.approx(10.0)
    assert first_reach(steps, losses, 1.0) is None
    assert first_reach(steps, [5.0, math.inf], 1.0) is None


def _run(label, seed, losses, flops=1e9, wall_per_step=0.1, cpu_per_step=0.05):
    steps = tuple(range(0, 10 * len(losses), 10))
    return RunResult(label, seed, steps, tuple(losses), tuple(s * wall_per_step for s in steps),
                     tuple(s * wall_per_step / 10 for s in steps), flops, (), (),
                     cpu_seconds=tuple(s * cpu_per_step for s in steps), ns_cpu_seconds=tuple(s * cpu_per_step / 10 for s in steps))


def test_time_to_target_and_analyse_use_the_same_seed_baseline():
    fast = _run("fast", 0, [5.0, 2.0, 1.0], flops=2e9)
    step, ns_flops, wall, ns, cpu = time_to_target(fast, 1.5)
    assert step == pytest.approx(15.0) and ns_flops == pytest.approx(3e10) and wall == pytest.approx(1.5)
    assert ns == pytest.approx(0.15) and cpu == pytest.approx(0.75)
    runs = [_run("keller5", 0, [5.0, 3.0, 2.0]), _run("keller5", 1, [5.0, 3.5, 2.5]),
            _run("fast", 0, [5.0, 2.0, 1.9]), _run("fast", 1, [5.0, 3.0, 2.6])]
    summaries, differences, reach = analyse(runs, ["keller5", "fast"], [0, 1], "keller5")
    assert [s.mean for s in summaries] == pytest.approx([2.25, 2.25])
    assert differences[0].mean == pytest.approx(0.0)
    fast_reach = reach[1]
    assert fast_reach.steps[0] == pytest.approx(10.0)  # seed 0 target 2.0 reached at step 10
    assert fast_reach.steps[1] is None  # seed 1 ends at 2.6 > 2.5
    assert fast_reach.reached == 1 and fast_reach.mean("steps") is None
    assert reach[0].steps == (20.0, 20.0)
    assert fast_reach.cpu_seconds[0] == pytest.approx(0.5) and fast_reach.cpu_seconds[1] is None


def test_ns_share_reads_cpu_time_when_every_run_recorded_it_else_wall_time():
    runs = [_run("a", 0, [5.0, 2.0]), _run("a", 1, [5.0, 2.0], wall_per_step=0.3, cpu_per_step=0.2)]
    for r in runs:  # NS CPU is a tenth of CPU, NS wall a tenth of wall (see _run)
        assert r.ns_cpu_seconds[-1] == pytest.approx(r.cpu_seconds[-1] / 10)
    assert ns_share(runs) == pytest.approx(0.1)
    old = RunResult.from_dict({k: v for k, v in _run("a", 2, [5.0, 2.0], wall_per_step=0.2).to_dict().items()
                               if k not in ("cpu_seconds", "ns_cpu_seconds")})
    slow_ns = replace(runs[0], ns_cpu_seconds=tuple(2 * v for v in runs[0].ns_cpu_seconds))
    assert ns_share([slow_ns, runs[1]]) == pytest.approx((0.1 + 0.2) / (0.5 + 2.0))  # summed, not averaged
    assert ns_share([slow_ns, old]) == pytest.approx(0.1)  # one run without CPU time: wall time for all
    assert ns_share([]) is None


def test_a_run_file_without_cpu_seconds_still_reads_and_reaches_with_no_cpu_time():
    d = _run("old", 0, [5.0, 2.0, 1.0]).to_dict()
    del d["cpu_seconds"], d["ns_cpu_seconds"]  # a run file written before CPU time was recorded
    old = RunResult.from_dict(d)
    assert old.cpu_seconds == () and old.ns_cpu_seconds == ()
    step, *_, cpu = time_to_target(old, 1.5)
    assert step == pytest.approx(15.0) and cpu is None


# -- real (tiny) training -------------------------------------------------------------------------


def test_same_seed_same_schedule_is_bit_identical_and_ns_is_timed(text_file):
    c = train_compare(["keller5", "keller5", "cubic5_eo"], seeds=1, text=text_file, **TINY)
    a, b, cubic = c.runs
    assert a.label == "keller5" and b.label == "keller5#2"
    assert a.val_loss == b.val_loss and a.train_loss == b.train_loss  # same init and data order per seed
    assert cubic.val_loss[0] == a.val_loss[0]  # same initialization
    assert cubic.val_loss[-1] != a.val_loss[-1]  # only the schedule differs, and it matters
    assert 0 < a.ns_seconds[-1] < a.wall_seconds[-1]
    assert len(a.cpu_seconds) == len(a.eval_steps) and 0 < a.ns_cpu_seconds[-1] < a.cpu_seconds[-1]
    assert list(a.cpu_seconds) == sorted(a.cpu_seconds)  # cumulative
    assert cubic.ns_flops_per_step < a.ns_flops_per_step  # 10 matmuls vs 15
    assert a.eval_steps == (0, 3, 6) and len(a.band) == 3
    entry = a.band[-1]
    assert all(0 < m["quantiles"][-1] <= m["quantiles"][0] <= m["sigma_max"] <= 1 + 1e-9 for m in entry["matrices"].values())


def test_seeds_differ(text_file):
    c = train_compare(["keller5"], seeds=2, text=text_file, **TINY)
    assert c.runs[0].val_loss[0] != c.runs[1].val_loss[0]


@pytest.mark.slow
def test_resume_skips_finished_runs(text_file, tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    first = train_compare(["keller5", "polar_express_modded5"], seeds=2, text=text_file, runs_dir=runs, **TINY)
    assert first.skipped == 0 and len(list(runs.glob("*.json"))) == 4

    def refuse(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(runstore, "train_one", refuse)
    again = train_compare(["keller5", "polar_express_modded5"], seeds=2, text=text_file, runs_dir=runs, **TINY)
    assert again.skipped == 4
    assert [r.val_loss for r in again.runs] == [r.val_loss for r in first.runs]
    monkeypatch.undo()
    # A corrupt run file is trained again; other settings (more steps) are different runs.
    victim = sorted(runs.glob("keller5-seed0-*.json"))[0]
    victim.write_text("{not json")
    repaired = train_compare(["keller5", "polar_express_modded5"], seeds=2, text=text_file, runs_dir=runs, **TINY)
    assert repaired.skipped == 3 and json.loads(victim.read_text())["kind"] == "nsdesign-train-run"
    longer = train_compare(["keller5"], seeds=1, text=text_file, runs_dir=runs, **{**TINY, "train_steps": 7})
    assert longer.skipped == 0


def test_recipe_is_accepted_and_checked(text_file, tmp_path):
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"schema_version": 1, "kind": "nsdesign-recipe", "schedules": {},
                                  "layers": [{"name": "blocks.*.mlp_*", "schedule": "cubic5_eo"}]}))
    c = train_compare(["keller5", str(recipe)], seeds=1, text=text_file, **TINY)
    keller, mixed = c.runs
    assert mixed.label == "recipe" and mixed.ns_flops_per_step < keller.ns_flops_per_step
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"schema_version": 1, "kind": "nsdesign-recipe", "schedules": {},
                                 "layers": [{"name": "blocks.9.q", "schedule": "keller5"}]}))
    with pytest.raises(InputError, match="match no parameter"):
        train_compare([str(wrong)], seeds=1, text=text_file, **TINY)


@pytest.mark.parametrize("kwargs, message", [
    ({"seeds": 0}, "`seeds`"), ({"train_steps": 0}, "`train_steps`"), ({"train_steps": -3}, "`train_steps`"),
    ({"baseline": "nope"}, "baseline"), ({"band_at": [99]}, "band steps"), ({"model": "huge"}, "unknown model size"),
])
def test_bad_input(text_file, kwargs, message):
    with pytest.raises(InputError, match=message):
        train_compare(["keller5"], text=text_file, **{**TINY, **kwargs})


def test_unknown_schedule_and_missing_text(text_file, tmp_path):
    with pytest.raises(InputError, match="not a preset or a schedule"):
        train_compare(["no_such_schedule"], text=text_file, **TINY)
    with pytest.raises(InputError, match="not found"):
        train_compare(["keller5"], text=tmp_path / "missing.txt", **TINY)


def test_a_recorded_normalizer_is_run_and_keyed(text_file, tmp_path):
    from nsdesign.cli.main import main
    from nsdesign.torch.runstore import run_key
    from nsdesign.torch.training import resolve_spec
    from nsdesign.torch.trainrun import CompareSettings

    path = tmp_path / "s8.json"
    assert main(["search", "--min-sigma", "1e-3", "--steps", "4", "--normalize", "schatten8", "-o", str(path)]) == 0
    spec = resolve_spec(str(path))
    assert spec.normalizer == {"name": "schatten8"}
    plain = ScheduleSpec("s8", schedule=spec.schedule)
    assert run_key(CompareSettings(), spec, 0) != run_key(CompareSettings(), plain, 0)
    c = train_compare([spec, plain], seeds=1, text=text_file, **TINY)
    assert c.runs[0].val_loss[0] == c.runs[1].val_loss[0]
    assert c.runs[0].val_loss[-1] != c.runs[1].val_loss[-1]  # the normalizer is applied, not dropped
    # NS FLOPs count the normalizer's own work (‖A²‖_F, rescaling) on every hidden matrix, from core.normalizers
    from nsdesign.core.cost import Shape
    from nsdesign.core.normalizers import Normalizer
    from nsdesign.torch.model import GPT, GPTConfig, muon_parameter_names

    cfg = c.settings
    model = GPT(GPTConfig(cfg.width, cfg.n_layer, cfg.seq_len))
    named = dict(model.named_parameters())
    extra = sum(Normalizer("schatten8").extra_flops(Shape(*named[n].shape)) for n in muon_parameter_names(model))
    assert extra > 0
    assert c.runs[0].ns_flops_per_step - c.runs[1].ns_flops_per_step == pytest.approx(extra)


def test_train_compare_is_the_function_on_nsdesign_torch():
    """`nsdesign.torch.train_compare` is the function (its module is nsdesign.torch.training), also after the
    module has been imported: no submodule of that name can shadow it."""
    import importlib

    import nsdesign.torch as nt

    importlib.import_module("nsdesign.torch.training")
    assert nt.train_compare is train_compare and callable(nt.train_compare)
    from nsdesign.torch import train_compare as imported

    assert imported is train_compare
