"""Each study script runs end to end in --quick mode (small sizes, seconds) and writes what its README promises."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

REPO = Path(__file__).resolve().parents[2]


# What each study prints on stderr while it runs (studies/_common.progress / note; --quiet silences it).
PROGRESS = {"mp_scaling": "mp_scaling: 3 shapes to run", "preset_comparison": "validate bf16: ",
            "spectral_laws": "capture: training nano", "training": "capturing the band"}


def run_study(name, out):
    result = subprocess.run([sys.executable, str(REPO / "studies" / name / "run.py"), "--quick", "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert PROGRESS[name] in result.stderr, result.stderr  # progress goes to stderr (not a terminal here)
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "QUICK RUN" in readme and f"python studies/{name}/run.py --quick" in readme
    for png in out.glob("*.png"):
        image = imread(png)
        assert image[..., :3].std() > 0.05, png.name  # drawn, not blank
        assert png.name in readme or name == "mp_scaling", png.name
    return json.loads((out / "results.json").read_text()), readme


@pytest.mark.slow  # > 10 s on the 2-core machine (measured with --durations)
def test_preset_comparison_quick(tmp_path):
    results, readme = run_study("preset_comparison", tmp_path)
    assert {p.name for p in tmp_path.glob("*.png")} == {"map_published.png", "map_designed.png", "intervals.png",
                                                         "frontier.png"}
    keller = results["schedules"]["keller5"]["exact"]
    assert keller["worst_error"] == pytest.approx(1 - 0.470544, abs=1e-6)
    assert results["schedules"]["greedy5"]["exact"]["worst_error"] == pytest.approx(0.11345, rel=1e-4)
    rows = results["bf16"]["rows"]
    assert len(rows) == 2 * len(results["schedules"]) and all(r["dtype"] == "bf16" for r in rows)
    assert "| `keller5` | preset | 5 | 15 |" in readme
    assert (tmp_path / "results.csv").read_text().count("\n") == len(results["schedules"]) + 1


@pytest.mark.slow  # > 10 s on the 2-core machine (measured with --durations)
def test_mp_scaling_quick(tmp_path):
    results, readme = run_study("mp_scaling", tmp_path)
    assert len(results["results"]) == 3
    for row in results["results"]:
        measured, predicted = np.array(row["measured_quantiles"]), np.array(row["mp_quantiles"])
        assert np.all(np.abs(measured / predicted - 1) < 0.3)  # tiny matrices: loose, but the right law
        designed = row["after"]["mp5 [l_q, 1]"]
        assert designed["exact_worst_error_on_[l_q,u_MP]"] < 0.2
        assert designed["max_error_above_band_edge"] < 0.2
    assert "Marchenko–Pastur" in readme


@pytest.mark.slow  # > 10 s on the 2-core machine (measured with --durations)
def test_spectral_laws_quick(tmp_path):
    results, readme = run_study("spectral_laws", tmp_path)
    fits = {f["layer"]: f for f in results["fits"]}
    assert fits["final.mlp_down"]["pooled_alpha"] == pytest.approx(0.96, abs=0.03)
    assert fits["mid_late.q"]["pooled_alpha"] == pytest.approx(0.27, abs=0.03)
    hardest = results["schedules_on_bands"]["final.mlp_down q=0.5 (hardest)"]
    assert hardest["edges"] == sorted(hardest["edges"], reverse=True)  # bands widen with size
    k_star = hardest["rows"]["k*: greedy steps for δ=0.1"]
    assert k_star == sorted(k_star)
    assert results["replication"]["done"] and len(results["replication"]["sizes"]) == 3
    assert (tmp_path / "captured_momentum_quantiles.csv").exists()
    ratios = results["replication"]["mp_ratios"]
    assert len(ratios) == 3 * 6 * 2  # sizes × mid-depth matrices × (q = 0.5, 0.9)
    for r in ratios:
        assert r["ratio"] == pytest.approx(r["sigma"] / r["mp_sigma"]) and 0 < r["mp_sigma"] < 1
    assert "Mid-layer ratio to Marchenko–Pastur" in readme
    assert "TODO" not in readme


@pytest.mark.slow
def test_training_quick(tmp_path):
    results, readme = run_study("training", tmp_path)
    assert {p.name for p in tmp_path.glob("*.png")} == {"band_layers.png", "loss_nano_quick.png"}
    assert results["complete"] and len(results["sizes"]) == 1
    (size,) = results["sizes"]
    labels = [r["label"] for r in size["rows"]]
    assert labels == ["keller5", "polar_express_modded5", "deepseek_v4_10", "cubic5_eo", "designed5", "schatten8_4",
                      "muon_triple5"]
    assert {r["lr"] for r in size["rows"]} <= set(size["lr_grid"]) and len(size["tuning"]) == 7 * len(size["lr_grid"])
    assert all(len(v) == len(size["seeds"]) for v in size["finals"].values())
    # the designs were made for the band measured on this model's capture run, matrix by matrix
    assert 0 < size["band"]["edge"] == min(m["edge"] for m in size["band_matrices"].values()) < 1
    assert set(size["predicted"]) == set(size["band_matrices"]) and all(0 < p["mp"] < 1 for p in size["predicted"].values())
    assert size["designs"]["schatten8_4"]["normalizer"] == "schatten8" and size["designs"]["muon_triple5"]["steps"] == 5
    stats = results["statistics"]
    assert stats["family_loss"] == 6 and len(stats["loss"]) == 6
    for d in stats["loss"]:
        assert d["holm_low"] <= d["mean"] <= d["holm_high"] and d["mdd"] > 0
    assert "What the evidence supports" in readme and "Holm" in readme and "MDD" in readme
    # the second view of step size: every update at an exact polar factor's RMS, keller5's lr for all
    view = size["rms_view"]
    assert view["lr"] == size["rows"][0]["lr"] and view["labels"] == labels
    assert all(len(v) == len(size["seeds"]) for v in view["finals"].values())
    assert view["finals"] != size["finals"]  # really different runs (match_rms changes every update)
    assert stats["family_rms"] == 6 and "Second view of step size" in readme
    # --report trains nothing and rewrites the same reports from what is stored
    result = subprocess.run([sys.executable, str(REPO / "studies" / "training" / "run.py"), "--quick", "--report",
                             "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "1 finished size(s), 0 unfinished" in result.stdout, result.stdout + result.stderr
    assert "What the evidence supports" in (tmp_path / "README.md").read_text(encoding="utf-8")
