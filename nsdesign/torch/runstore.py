"""The run store of `nsdesign train-compare`: one JSON file per finished run, found again by its key.

Why: a comparison of schedules × seeds × learning rates trains for minutes to hours; a killed one re-run must
skip what it finished, and a changed setup must never reuse an old result silently. The key (`run_key`) holds
every setting (lr, batch, seq_len, steps, model size, NS dtype, match_rms, data source and checksum…), the
schedule documents with their coefficients, the seed, the run format and the code version (`code_version`:
nsdesign's version and a hash of the syntax trees of the sources that train, `nsdesign.torch.trainrun.CODE_FILES`). Each file is
written atomically, so a killed process leaves either the whole run or nothing.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Mapping

from nsdesign._files import read_json, write_json_atomic
from nsdesign._version import __version__
from nsdesign.errors import InputError
from nsdesign.torch.trainrun import CODE_FILES, CompareSettings, RunResult, ScheduleSpec, train_one

RUN_KIND = "nsdesign-train-run"
RUN_FORMAT = "nsdesign-train-run/3"  # /3: the training code hashed is trainrun.py (the loop and the run)


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """nsdesign's version + the first 16 hex digits of sha256 over the sources that train (`CODE_FILES`), each
    as its syntax tree without docstrings and with its top-level imports sorted (`normalized_source`), read once
    per process: the key names the code this process imported, even if the files change while it runs.

    Why the syntax tree: in a tree several people edit, comments, docstrings, line breaks and the order of
    imports change often and change nothing a run computes; hashing bytes made every such edit retrain every
    stored run. Any change to what the code does (a statement, an expression, a constant) still changes the key."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in CODE_FILES:
        digest.update(name.encode() + b"\0" + normalized_source((here / name).read_text(encoding="utf-8")).encode())
    return f"{__version__}+ast.{digest.hexdigest()[:16]}"


def normalized_source(text: str) -> str:
    """The module's syntax tree as text (`ast.dump`: no comments, no formatting), docstrings dropped, top-level
    imports sorted and the names within each import sorted."""
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            node.names.sort(key=lambda alias: (alias.name, alias.asname or ""))
    imports = sorted(ast.dump(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))
    return "\n".join(imports + [ast.dump(n) for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom))])


def run_key(settings: CompareSettings, spec: ScheduleSpec, seed: int) -> str:
    """sha256 of what determines a run: every setting, the schedule documents (coefficients included), the
    seed, the run format and the code version."""
    body = {"format": RUN_FORMAT, "settings": asdict(settings), "schedule": spec.documents(), "seed": seed,
            "code": code_version()}
    payload = json.dumps(body, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def run_path(store: Path, spec: ScheduleSpec, seed: int, key: str) -> Path:
    return store / f"{_slug(spec.label)}-seed{seed}-{key[:12]}.json"


def load_run(path: Path, key: str) -> RunResult | None:
    """The stored run at `path` when its key is `key`; None when missing, unreadable or another key."""
    try:
        document = read_json(path, "run file")  # guarded: a FIFO or device in the cache must not hang the run
    except InputError:
        return None  # unreadable: train again and overwrite it atomically
    if not isinstance(document, dict) or document.get("key") != key:
        return None
    try:
        return RunResult.from_dict(document["run"])
    except (KeyError, TypeError, ValueError):
        return None


def obtain(spec: ScheduleSpec, seed: int, settings: CompareSettings, tokens: Any, device: Any, store: Path | None,
           say: Callable[[Mapping[str, Any]], None], what: str = "") -> tuple[RunResult, bool]:
    """The run of `spec` × `seed` under `settings`: loaded from the store when its key matches, else trained (and
    stored). Returns (run, loaded)."""
    key = run_key(settings, spec, seed)
    path = None if store is None else run_path(store, spec, seed, key)
    label = spec.label + what
    if path is not None and path.is_file():
        found = load_run(path, key)
        if found is not None:
            say({"event": "skip", "label": label, "seed": seed, "path": str(path)})
            return found, True
    run = train_one(spec, seed, settings, tokens, device)
    if path is not None:
        write_json_atomic(path, {"kind": RUN_KIND, "format": RUN_FORMAT, "key": key, "code": code_version(),
                                 "settings": asdict(settings), "schedule": spec.documents(), "run": run.to_dict()})
    say({"event": "run", "label": label, "seed": seed, "final": run.final_val_loss,
         "seconds": run.wall_seconds[-1], "ns_seconds": run.ns_seconds[-1], "cpu_seconds": run.cpu_seconds[-1]})
    return run, False


def stale_runs(store: Path) -> int:
    """Run files in `store` from another run format or code version (never reused: their keys differ)."""
    version, count = code_version(), 0
    for path in store.glob("*.json"):
        try:
            document = read_json(path, "run file")
        except InputError:
            continue
        if isinstance(document, dict) and document.get("kind") == RUN_KIND and (
                document.get("format") != RUN_FORMAT or document.get("code") != version):
            count += 1
    return count


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label)[:60] or "schedule"
