"""design.checks: the one guard check, and the record every schedule file carries of what it was checked for."""

from __future__ import annotations

import math

import pytest

from nsdesign.cli.main import invoke
from nsdesign.core.band import Band
from nsdesign.core.limits import MAX_OVERSHOOT
from nsdesign.core.metrics import overshoot
from nsdesign.design.checks import exact_check, log_sigma, record_checks, rounding_check
from nsdesign.design.greedy import greedy
from nsdesign.documents import read_schedule_file, schedule_document
from nsdesign.presets import preset


def test_exact_check_is_the_interval_overshoot_against_the_table_limit():
    s = preset("keller5")
    check = exact_check(s, 1.0, 1.02)
    assert check.value == overshoot(s, 1.0, guard_sigma=1.02) and check.limit == MAX_OVERSHOOT and check.passed
    bare = greedy(1e-3, 1.0, 5).schedule
    assert not exact_check(bare, 1.0, 1.02).passed  # the bare optimum blows up just above the band


def test_rounding_check_labels_torch_runs_and_fails_on_divergence():
    bare = greedy(1e-3, 1.0, 5).schedule
    run = rounding_check(bare, log_sigma(1e-3, 1.02), 1.25)
    assert run.kernel == "fused" and run.dtype == "bf16" and not run.passed
    assert math.isinf(run.value) or run.value > 1.25


def test_record_checks_fills_what_an_engine_left_out_and_keeps_what_it_wrote():
    bare = greedy(1e-3, 1.0, 5).schedule
    recorded = record_checks(schedule_document(bare, (1e-3, 1.0)), bare)
    assert recorded["band"]["guard_sigma"] == pytest.approx(1.02)
    assert recorded["dtype"] == "exact" and recorded["kernel"] is None
    [check] = recorded["checked_for"]
    assert check["kernel"] == "exact" and check["passed"] is False and check["max_f"] > 1e100
    mine = schedule_document(bare, (1e-3, 1.0), kernel="gram", dtype="fp16",
                             checked_for=[{"kernel": "gram", "dtype": "fp16", "passed": True}])
    kept = record_checks(mine, bare)
    assert kept["kernel"] == "gram" and kept["dtype"] == "fp16" and len(kept["checked_for"]) == 2
    guarded = schedule_document(bare, Band(1e-3, 0.5, 1.0), checked_for=[{"kernel": "fused", "dtype": "bf16"}])
    assert [c["kernel"] for c in record_checks(guarded, bare)["checked_for"]] == ["fused"]  # its own guard


@pytest.mark.slow
@pytest.mark.parametrize(
    "flags",
    [(), ("--exact",), ("--guard-tol", "0.3"), ("--for", "torch-muon"),
     ("--objective", "worst", "--trials", "2", "--steps", "4", "--storage", "memory")],
)
def test_every_search_route_records_kernel_dtype_and_guard(flags, tmp_path):
    out = tmp_path / "s.json"
    proc = invoke(("search", "--min-sigma", "1e-3", *flags, "-o", str(out)))
    assert proc.returncode == 0, proc.stderr
    _, document = read_schedule_file(out)
    assert {"kernel", "dtype", "checked_for"} <= document.keys()
    assert document["dtype"] in ("exact", "bf16") and document["band"]["guard_sigma"] >= 1.0
    assert document["checked_for"], document
