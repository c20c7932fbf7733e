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
