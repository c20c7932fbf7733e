"""studies/training/gpu_protocol.py --dry-run: the whole GPU protocol (warm-up, lr grid per schedule, seeds
round-robin under a budget, Holm statistics over complete seeds, JSON with the device name) on the CPU."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # ≈ 25 s on the 2-core machine: imports, the triple design, 26 nano runs of 1–2 steps
def test_dry_run_on_the_cpu_writes_the_protocol_json(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "studies" / "training" / "gpu_protocol.py"), "--dry-run",
                             "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gpu_protocol: warm-up" in result.stderr and "resolves ±0.01: no" in result.stdout
    assert all(len(line) <= 80 for line in result.stdout.splitlines() if not line.startswith("wrote ")), result.stdout
    document = json.loads((tmp_path / "gpu_protocol.json").read_text())
    assert document["kind"] == "nsdesign-gpu-protocol" and document["dry_run"] and "CPU" in document["device"]
    assert document["complete_seeds"] == [0] and document["plan"]["steps"] == 2
    comparison = document["comparison"]
    assert comparison["labels"] == ["keller5", "polar_express_modded5", "deepseek_v4_10", "cubic5_eo",
                                    "designed_triple5"]
    assert comparison["settings"]["ns_dtype"] == "bf16" and comparison["settings"]["batch"] == 4
    assert set(comparison["lrs"]) == set(comparison["labels"]) and len(comparison["lr_tuning"]) == 5 * 4
    assert len(comparison["runs"]) == 5 and {r["seed"] for r in comparison["runs"]} == {0}
    assert document["resolution"]["n_seeds"] == 1 and document["resolution"]["resolved"] is False
    # lr grid (5 × 4, seed 1000) and one comparison round (seed 0) are stored; the warm-up run is not.
    assert len(list((tmp_path / "gpu_protocol.runs").glob("*.json"))) == 25
