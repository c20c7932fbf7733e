"""The README's commands are the ones that run: CI's script is the README's test command, verbatim."""

from __future__ import annotations

import re

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _readme_block_after(marker: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    after = text[text.index(marker):]
    return re.search(r"```bash\n(.*?)\n```", after, re.S).group(1).strip()


def test_ci_runs_exactly_the_readme_test_command():
    command = _readme_block_after("**Test it**")
    script = [line for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
              if line.strip() and not line.startswith("#")]
    assert command in script, (command, script)
    assert not any("apt-get" in line for line in script)


def test_the_modded_nanogpt_claim_says_what_differs(tmp_path, capsys):
    """README: the design has modded-nanogpt's coefficients to 4e-15; only the divisor (1.0 vs 1.02) differs."""
    import json

    from nsdesign.cli.main import main
    from nsdesign.core.metrics import worst_error
    from nsdesign.documents import load_schedule
    from nsdesign.presets import preset

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "--steps 5 --cushion 0.02 --safety 1.02 -o pe5.json" in readme
    assert "to 4e-15 relative" in readme and "0.141" in readme and "0.153" in readme
    path = tmp_path / "pe5.json"
    assert main(["search", "--min-sigma", "1e-3", "--steps", "5", "--cushion", "0.02", "--safety", "1.02",
                 "-o", str(path), "--name", "pe5"]) == 0
    designed, published = load_schedule(str(path)), preset("polar_express_modded5")
    rel = max(abs(a - b) / abs(b) for r, q in zip(designed.coefficients(), published.coefficients())
              for a, b in zip(r, q))
    assert rel <= 4e-15
    assert json.loads(path.read_text())["norm_div"] == 1.0 and published.norm_div == 1.02
    assert round(worst_error(designed, 1e-3, 1.0), 3) == 0.141
    assert round(worst_error(published, 1e-3, 1.0), 3) == 0.153
