"""Holm-corrected re-analysis of the committed 3-seed, fixed-lr training study (comparison_*.json).

    python studies/training/holm_old_study.py            # prints a markdown table, writes holm_old_study.json

For every size it reads the committed runs (final validation loss of each schedule × seed: that study had no
test split) and recomputes, against keller5 and paired by seed, the mean difference, the paired t-test p-value,
Holm's adjusted p-value and step-down verdict and the interval at each comparison's Holm level
(`nsdesign.core.paired.paired_differences` and `holm`, the code train-compare now uses), and the minimum
detectable difference MDD = (t(1−α_i/2, 2) + t(0.8, 2))·s_d/√3. Two families: the 7 comparisons of one size
(what train-compare corrects for), and all 21 of the three sizes together. Nothing is trained.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = ("192x6", "tiny", "nano")


def finals(document: dict) -> dict[str, list[float]]:
    """label → final validation loss per seed (in the document's seed order; inf for a diverged run)."""
    by = {(r["label"], r["seed"]): r for r in document["runs"]}
    out = {}
    for label in document["labels"]:
        values = []
        for seed in document["seeds"]:
            run = by[label, seed]
            last = run["val_loss"][-1]
            values.append(math.inf if run.get("diverged_at") is not None or last is None else float(last))
        out[label] = values
    return out


def analyse(folder: Path = HERE) -> dict:
    from nsdesign.core.paired import holm, paired_differences

    per_size, pooled = {}, []
    for size in SIZES:
        document = json.loads((folder / f"comparison_{size}.json").read_text(encoding="utf-8"))
        losses = finals(document)
        base = document["baseline"]
        raw = [paired_differences(label, losses[label], losses[base]) for label in document["labels"] if label != base]
        per_size[size] = {"settings": {k: document["settings"][k] for k in ("model", "train_steps", "muon_lr")},
                          "seeds": document["seeds"], "differences": holm(raw)}
        pooled += [(size, d) for d in raw]
    together = holm([d for _, d in pooled])
    return {"per_size": per_size, "all_21": [(size, d) for (size, _), d in zip(pooled, together)]}


def _row(size: str, d, family: str) -> list[str]:
    return [size, f"`{d.label}`", f"{d.mean:+.4f}", f"[{d.low:+.4f}, {d.high:+.4f}]", f"{d.p_value:.3f}",
            f"{d.p_holm:.3f}", f"[{d.holm_low:+.4f}, {d.holm_high:+.4f}]", f"{d.mdd:.4f}",
            "rejects 0" if d.holm_rejects else "no", family]


def table(result: dict) -> str:
    head = ["size", "schedule", "Δ mean", "95% CI (one by one)", "p", "Holm p (7/size)", "Holm-level CI", "MDD",
            "Holm verdict (7)", "Holm p (all 21)"]
    together = {(size, d.label): d for size, d in result["all_21"]}
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for size, entry in result["per_size"].items():
        for d in entry["differences"]:
            cells = _row(size, d, f"{together[size, d.label].p_holm:.3f}")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _plain(result: dict) -> dict:
    from dataclasses import asdict

    def clean(x):
        if isinstance(x, float):
            return x if math.isfinite(x) else None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x

    return clean({
        "kind": "nsdesign-holm-reanalysis",
        "source": [f"studies/training/comparison_{s}.json" for s in SIZES],
        "loss": "final validation loss (the old study had no test split)",
        "per_size": {s: {**e, "differences": [{**asdict(d), "verdict": d.verdict} for d in e["differences"]]}
                     for s, e in result["per_size"].items()},
        "all_21": [{"size": s, **asdict(d)} for s, d in result["all_21"]],
    })


def main() -> int:
    result = analyse()
    print(table(result))
    survivors = [f"{s}/{d.label}" for s, e in result["per_size"].items() for d in e["differences"] if d.holm_rejects]
    print(f"\nHolm survivors (family of 7 per size): {', '.join(survivors) or 'none'}")
    (HERE / "holm_old_study.json").write_text(json.dumps(_plain(result), indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))
    sys.exit(main())
