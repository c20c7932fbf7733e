"""The floors of the house, enforced: no import runs back up the declared order (lazy imports included), torch is
imported in nsdesign/torch/ only, matplotlib in nsdesign/plot/ only, and docs/ARCHITECTURE.md shows the same order.

Floors, bottom to top (docs/ARCHITECTURE.md "Floors"); a module may import its own floor and the ones below:

0. errors, _version, _files, _progress, _memory, _matrices — leaves
1. core/, documents, presets — values, exact metrics, every JSON kind
2. precision/, and torch/'s kernels (kernels, iterations, normalize, crosscheck) — how each kernel rounds
3. laws/ — where a band comes from (no designs)
4. design/ — Remez, greedy, guarded, safe, repeated triple
5. plans/ — pipelines: consumer forms, the normalizer design, recipes
6. search/, torch/ (the runtime), export/
7. plot/
8. cli/
"""

from __future__ import annotations

import ast
import importlib.util
import pathlib

import pytest

_spec = importlib.util.spec_from_file_location("_graph", pathlib.Path(__file__).with_name("test_imports.py"))
_graph = importlib.util.module_from_spec(_spec)  # the import graph lives in test_imports.py (one reader)
_spec.loader.exec_module(_graph)  # type: ignore[union-attr]
PACKAGE, _modules, import_graph = _graph.PACKAGE, _graph._modules, _graph.import_graph

FLOORS: tuple[tuple[str, ...], ...] = (
    ("errors", "_version", "_files", "_progress", "_memory", "_matrices"),
    ("core", "documents", "presets"),
    ("precision", "torch.kernels", "torch.iterations", "torch.normalize", "torch.crosscheck"),
    ("laws",),
    ("design",),
    ("plans",),
    ("search", "torch", "export"),
    ("plot",),
    ("cli", "__main__"),
)


def floor_of(module: str) -> int | None:
    """The floor of a module (the longest declared prefix wins: torch.kernels sits below torch)."""
    if module == "nsdesign":
        return len(FLOORS)  # the curated namespace re-exports from every floor
    name = module.removeprefix("nsdesign.")
    best: tuple[int, int] | None = None
    for floor, prefixes in enumerate(FLOORS):
        for prefix in prefixes:
            if name == prefix or name.startswith(prefix + "."):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), floor)
    return None if best is None else best[1]


def test_every_module_has_a_floor():
    assert [m for m in _modules() if floor_of(m) is None] == []


def test_no_import_runs_back_up():
    graph = import_graph()
    up = sorted(
        f"{a} (floor {floor_of(a)}) → {b} (floor {floor_of(b)})"
        for a, targets in graph.items() for b in targets if floor_of(b) > floor_of(a)  # type: ignore[operator]
    )
    assert up == [], "\n".join(up)


def _imports(path: pathlib.Path) -> set[str]:
    """Top-level package names a module imports anywhere in its body (strings such as generated code are not
    imports: export/ writes `import torch` into the code it generates)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("library, home", [("torch", "torch"), ("matplotlib", "plot")])
def test_heavy_libraries_are_imported_in_their_home_only(library, home):
    outside = sorted(
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
        if library in _imports(path) and path.relative_to(PACKAGE).parts[0] != home
    )
    assert outside == []


def test_architecture_doc_declares_the_same_floors():
    text = (PACKAGE.parent / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text[text.index("## Floors"):]
    for floor, prefixes in enumerate(FLOORS):
        line = next(line for line in section.splitlines() if line.startswith(f"{floor}. "))
        for prefix in prefixes:
            shown = prefix.replace(".", "/") if prefix.startswith("torch.") else prefix
            assert shown.split("/")[0] in line, (floor, prefix, line)
