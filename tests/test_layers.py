"""The floors of the house, enforced: no import runs back up the declared order (lazy imports included), no two
top-level folders import each other (a folder is one room), torch is imported in nsdesign/torch/ only, matplotlib
in nsdesign/plot/ only, and docs/ARCHITECTURE.md shows the same order.

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


HEAVY = ("torch", "optuna", "matplotlib", "sympy")
"""The libraries that may be imported lazily (inside a function): each takes a second or more to import, and
`nsdesign search` needs none of them."""


def _split_imports(path: pathlib.Path, module: str) -> tuple[set[str], list[tuple[str, int]]]:
    """(names imported at module level, [(name, line) imported inside a function]), absolute and resolved."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    top: set[str] = set()
    lazy: list[tuple[str, int]] = []

    def names(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        assert isinstance(node, ast.ImportFrom)
        base = node.module or ""
        if node.level:
            parts = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join(parts + ([base] if base else []))
        return [base, *(f"{base}.{alias.name}" for alias in node.names)]

    def visit(node: ast.AST, inside: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found = names(child)
                lazy.extend((n, child.lineno) for n in found) if inside else top.update(found)
            visit(child, inside or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return top, lazy


def test_lazy_imports_are_for_heavy_libraries_only():
    """An import inside a function must be of a heavy library, or of a module that imports one at module level
    (itself, through its own module-level imports, or through its package's __init__): anything else belongs
    in the header, where a reader sees what the module depends on."""
    modules = _modules()
    split = {name: _split_imports(path, name) for name, path in modules.items()}
    def heavy(name: str) -> bool:
        """A breadth-first search over module-level imports and parent packages (a search, not a memoised
        recursion: a result cut short by an import cycle is never reused)."""
        todo, seen = [name], {name}
        while todo:
            current = todo.pop()
            if current.split(".")[0] in HEAVY:
                return True
            if current not in modules:
                continue
            parent = current.rsplit(".", 1)[0] if "." in current else None
            for nxt in [*split[current][0], *([parent] if parent else [])]:
                if nxt not in seen and (nxt in modules or nxt.split(".")[0] in HEAVY):
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    light = sorted(
        f"{modules[m].relative_to(PACKAGE.parent)}:{line} imports {target} inside a function"
        for m, (_, lazy) in split.items() for target, line in lazy
        if target.split(".")[0] == "nsdesign" and target in modules and not heavy(target)
    )
    assert light == [], "\n".join(light)


def test_the_lazy_import_rule_can_fail(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import os\n\ndef f():\n    from nsdesign.core import band\n    import torch\n")
    top, lazy = _split_imports(module, "nsdesign.m")
    assert "os" in top and ("nsdesign.core.band", 4) in lazy and ("torch", 5) in lazy


MAX_FUNCTION_LINES = 80  # issue 23's goal: a function reads at once (docstring included)


def _long_functions(root: pathlib.Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if lines > MAX_FUNCTION_LINES:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_no_function_in_the_package_is_longer_than_80_lines():
    assert _long_functions(PACKAGE) == []


def test_the_function_length_rule_can_fail(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "long.py").write_text(f"def long():\n{body}\n", encoding="utf-8")
    assert _long_functions(tmp_path) == [f"long.py:1 long ({MAX_FUNCTION_LINES + 1} lines)"]


def _room(module: str) -> str:
    """The top-level folder or file of the package a module lives in (core, documents, torch, …)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def room_cycles(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Pairs of rooms that import each other, through any modules: a folder drawn as one room cannot sit on one
    floor then (precision/ reaching into torch/crosscheck, core/ into documents.py were such pairs)."""
    edges = {(_room(a), _room(b)) for a, targets in graph.items() for b in targets if _room(a) != _room(b)}
    reach: dict[str, set[str]] = {}
    for a, b in edges:
        reach.setdefault(a, set()).add(b)
    changed = True
    while changed:  # transitive closure; a few dozen rooms
        changed = False
        for a, targets in reach.items():
            more = set().union(*(reach.get(b, set()) for b in targets)) - targets
            if more:
                targets |= more
                changed = True
    return sorted((a, b) for a, targets in reach.items() for b in targets
                  if a < b and a in reach.get(b, set()) and "__init__" not in (a, b))


def test_no_two_rooms_import_each_other():
    assert room_cycles(import_graph()) == []


def test_room_cycles_are_found():
    graph = {"nsdesign.core.metrics": {"nsdesign.documents"}, "nsdesign.documents": {"nsdesign.core.band"}}
    assert room_cycles(graph) == [("core", "documents")]


def _header_gaps(root: pathlib.Path) -> list[str]:
    """Modules whose docstring has a 'Depends on:' line that omits an nsdesign module imported at the top."""
    import re

    gaps = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        doc = ast.get_docstring(tree) or ""
        match = re.search(r"Depends on:(.*?)(?:\n\n|\Z)", doc, re.S)
        if match is None:
            continue
        named = " ".join(match.group(1).split())
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nsdesign."):
                module = node.module.removeprefix("nsdesign.")
                if not re.search(rf"(?<![\w.]){re.escape(module)}(?![\w])", named):
                    gaps.append(f"{path.relative_to(root)}: {module}")
    return gaps


def test_a_modules_depends_on_line_names_every_module_it_imports():
    """The import block is a module's header; a prose 'Depends on:' beside it must not drift from it."""
    assert _header_gaps(PACKAGE) == []


def test_the_header_rule_can_fail(tmp_path):
    (tmp_path / "m.py").write_text('"""M.\n\nDepends on: core.band.\n"""\nfrom nsdesign.core.cost import Shape\n')
    assert _header_gaps(tmp_path) == ["m.py: core.cost"]
