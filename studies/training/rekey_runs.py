"""One-off migration: give stored runs made under the byte-hash code version the syntax-tree code version.

Run keys used to hash the bytes of `nsdesign/torch/{trainrun,model,muon,kernels}.py`; they now hash each file's
syntax tree without docstrings and with its imports sorted (`nsdesign.torch.runstore.normalized_source`). A run is
moved to the new key only when it is proven to come from code that normalizes to today's: give the folder of
the source files the runs were made with (`--sources`); their byte hash must equal the runs' recorded code
version, and their syntax-tree hash must equal today's. Anything else is left alone (and will be trained again).

    python studies/training/rekey_runs.py --sources SNAPSHOT/nsdesign/torch studies/training/runs/32x2_b2K
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from nsdesign._files import write_json_atomic
from nsdesign._version import __version__
from nsdesign.torch.runstore import RUN_FORMAT, code_version, normalized_source
from nsdesign.torch.trainrun import CODE_FILES


def byte_version(sources: Path) -> str:
    """The former rule: sha256 over the raw bytes of `CODE_FILES`."""
    digest = hashlib.sha256()
    for name in CODE_FILES:
        digest.update(name.encode() + b"\0" + (sources / name).read_bytes())
    return f"{__version__}+{digest.hexdigest()[:16]}"


def tree_version(sources: Path) -> str:
    """Today's rule applied to `sources`."""
    digest = hashlib.sha256()
    for name in CODE_FILES:
        digest.update(name.encode() + b"\0" + normalized_source((sources / name).read_text(encoding="utf-8")).encode())
    return f"{__version__}+ast.{digest.hexdigest()[:16]}"


def rekey(store: Path, old: str, new: str) -> int:
    """Rewrite every run file of `store` recorded under `old` with the key `run_key` gives under `new`."""
    moved = 0
    for path in sorted(store.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != RUN_FORMAT or document.get("code") != old:
            continue
        body = {"format": RUN_FORMAT, "settings": document["settings"], "schedule": document["schedule"],
                "seed": document["run"]["seed"], "code": new}
        key = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        stem = path.name.rsplit("-", 1)[0]
        write_json_atomic(store / f"{stem}-{key[:12]}.json", {**document, "key": key, "code": new})
        path.unlink()
        moved += 1
    return moved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=Path, required=True, help="folder of the torch sources the runs were made with")
    parser.add_argument("stores", type=Path, nargs="+")
    args = parser.parse_args()
    old, new = byte_version(args.sources), tree_version(args.sources)
    if new != code_version():
        print(f"refused: {args.sources} normalizes to {new}, today's code to {code_version()}", file=sys.stderr)
        return 1
    for store in args.stores:
        print(f"{store}: {rekey(store, old, new)} run(s) moved from {old} to {new}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
