"""The curated public namespace: every name resolves, and importing it (or running the design path) stays light."""

import subprocess
import sys

import pytest

import nsdesign

HEAVY = ("torch", "optuna", "matplotlib", "sympy", "jax")


def test_every_public_name_resolves():
    for name in nsdesign.__all__:
        assert getattr(nsdesign, name) is not None, name


def _loaded_after(code: str, names: tuple[str, ...] = HEAVY) -> list[str]:
    probe = f"{code}\nimport sys\nprint('loaded:' + ','.join(m for m in {names!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("loaded:"), result.stdout
    return [m for m in last[len("loaded:"):].split(",") if m]


@pytest.mark.slow
def test_import_and_search_path_load_no_heavy_library():
    assert _loaded_after("import nsdesign") == []
    search = (
        "import io, contextlib, sys\nsys.argv = ['nsdesign', 'search', '--min-sigma', '1e-3']\n"
        "from nsdesign.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    main()"
    )
    assert _loaded_after(search) == []


@pytest.mark.slow
def test_lazy_names_load_their_layer_on_demand():
    layers = ("nsdesign.search", "nsdesign.design.symbolic", "optuna", "sympy")
    assert _loaded_after("import nsdesign", layers) == []
    # the lazy name loads its layer (and nothing imports it for us: the probe itself imports only nsdesign) …
    assert _loaded_after("import nsdesign\nnsdesign.run_search", layers) == ["nsdesign.search"]
    assert _loaded_after("import nsdesign\nnsdesign.study_config", layers) == ["nsdesign.search"]
    # … and the search layer still leaves optuna until a study runs; symbolic needs sympy at once
    assert _loaded_after("import nsdesign\nnsdesign.symbolic", layers) == ["nsdesign.design.symbolic", "sympy"]
