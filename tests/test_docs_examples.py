"""Every example in the README and docs/*.md runs as shown and prints what the text says.

What counts as an example:

* **shell**: every line of a fenced code block (``` with no language, `text`, `bash`, `sh`, `console`) that is an
  `nsdesign …` command, with or without a `$ ` prompt, environment assignments (`OMP_NUM_THREADS=1 nsdesign …`),
  backslash continuations and `&&` chains (the non-`nsdesign` parts of a chain, such as `pip install`, set up the
  environment the tests already run in and are not run here). A `# comment` ends the command. Lines after a
  `$ nsdesign …` prompt line, up to the next prompt, are the output the text shows: every decimal figure in them
  must appear in what the command prints.
* **python**: every ```python block. The blocks of one document run in order in one namespace (later blocks
  continue earlier ones, as a reader would type them); an expression statement whose trailing comment is a number
  (`ns.min_steps(1e-4, 0.01)  # 8`) must evaluate to that number (a trailing `…` means "starts with").

Each example runs in-process (`nsdesign.cli.main.invoke`, `exec` for python) in a fresh temporary folder that
holds the files it names (`pe5.json`, `recipe.json`, `runs/`, … — see PREREQUISITES, each made by the command
the docs use to make it, or by its quick form). Commands that take minutes run in the quick form given in
QUICK, an explicit table from the documented command to the command run here, with the reason; anything not in
the table runs verbatim. USAGE lists the synopsis lines (placeholders in capitals, optional flags in brackets)
that are not commands. CLAIMS lists figures the prose around an example states about its output.

The tables are checked against the docs: an entry whose command no longer appears in any document fails, so the
quick forms cannot drift from what the reader sees.
"""

from __future__ import annotations

import ast
import re
import shlex
import shutil
import sys

from dataclasses import dataclass
from pathlib import Path

import pytest

from nsdesign.cli.main import invoke

REPO = Path(__file__).resolve().parents[1]
DOCS = (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")))
SHELL_LANGS = {"", "text", "bash", "sh", "console", "shell"}

# Documented command → the command run here, and why. Study sizes shrink (trials, the bf16 proxy, no SciPy
# refinement: the greedy seeds of a study are its first trials, so 2 trials still return a feasible schedule),
# torch runs use smaller matrices and the CPU.
QUICK: dict[str, tuple[str, str]] = {
    "nsdesign validate s8.json --source gaussian:1024x4096": (
        "nsdesign validate s8.json --source gaussian:128x512",
        "a 1024x4096 SVD per schedule takes ~30 s on 2 cores",
    ),
    "nsdesign validate keller5 pe5.json --source spectrum:logu:1e-3:512x2048 --dtype bf16 -o report.json": (
        "nsdesign validate keller5 pe5.json --source spectrum:logu:1e-3:128x512 --dtype bf16 -o report.json",
        "a smaller matrix",
    ),
    "nsdesign validate pe5.json --source file:weights.safetensors --match mlp --dtype bf16 --device cuda": (
        "nsdesign validate pe5.json --source file:weights.safetensors --match mlp --dtype bf16 --device cpu",
        "the test machine has no GPU",
    ),
    "nsdesign capture --out-dir runs/ --train-steps 200": (
        "nsdesign capture --out-dir runs/ --train-steps 2 --sizes nano --batch 2 --seq-len 16",
        "training three GPTs for 200 steps takes minutes",
    ),
    "nsdesign search --min-sigma 1e-3 --steps 7 --objective bf16 --trials 60 --seed 0 -o s.json": (
        "nsdesign search --min-sigma 1e-3 --steps 7 --objective bf16 --trials 2 --seed 0 --proxy-shape 32x128"
        " --refine none -o s.json",
        "60 refined bf16 trials take minutes",
    ),
    "nsdesign search --min-sigma 1e-3 --steps 6 --objective worst=1,bf16=0.5 --trials 40": (
        "nsdesign search --min-sigma 1e-3 --steps 6 --objective worst=1,bf16=0.5 --trials 2 --proxy-shape 32x128"
        " --refine none",
        "40 refined bf16 trials take minutes",
    ),
    "nsdesign search --min-sigma 5e-3 --shape 4096x16384 --objective weighted --spectrum mp --trials 40": (
        "nsdesign search --min-sigma 5e-3 --shape 4096x16384 --objective weighted --spectrum mp --trials 2"
        " --refine none",
        "40 refined trials take a minute",
    ),
    "nsdesign search --steps 5 --tol 0.1 --objective capture --trials 30": (
        "nsdesign search --steps 5 --tol 0.1 --objective capture --trials 3",
        "fewer trials",
    ),
    "nsdesign train-compare keller5 polar_express_modded5 pe5.json --seeds 3 --train-steps 300 --model tiny"
    " -o cmp.json --plot cmp.png": (
        "nsdesign train-compare keller5 polar_express_modded5 pe5.json --quick --train-steps 4 --batch 4"
        " --seq-len 32 -o cmp.json --plot cmp.png",
        "9 tiny runs of 300 steps take about 5 minutes",
    ),
    "nsdesign pareto --min-sigma 1e-3 --shape 4096x16384 --dtype bf16 --trials 80 -o front.json": (
        "nsdesign pareto --min-sigma 1e-3 --shape 4096x16384 --dtype bf16 --trials 3 -o front.json",
        "fewer trials",
    ),
}

# Synopsis lines (docs/runtime.md's usage of validate and capture): placeholders, not commands.
USAGE = (
    "nsdesign validate SCHEDULE_OR_PRESET...",
    "nsdesign capture --out-dir DIR [",
)

# (document, command as written, text its output must contain): figures the prose states about an example.
CLAIMS = (
    ("README.md", "nsdesign search --min-sigma 1e-3", "0.1328"),  # "error 0.1328 at 5 steps on [1e-3, 1]"
    ("README.md", "nsdesign search --min-sigma 1e-3 --exact", "0.1134"),  # "the bare optimum (0.1134, …)"
    ("README.md", "nsdesign search --min-sigma 1e-3 --tol 0.01", "steps 6"),  # "fewest steps … (6)"
    ("README.md", "nsdesign search --min-sigma 1e-3", "next:"),  # "`search` ends with the command to run next"
)


def _make_pe5(folder: Path) -> None:
    _run_ok("nsdesign search --min-sigma 1e-3 --steps 5 --cushion 0.02 --safety 1.02 -o pe5.json --name pe5", folder)


def _make_weights(folder: Path) -> None:
    import numpy as np
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    save_file({"layers.0.mlp.up": rng.standard_normal((64, 256)).astype(np.float32),
               "layers.0.attn.q": rng.standard_normal((64, 64)).astype(np.float32)}, str(folder / "weights.safetensors"))


def _make_measurements(folder: Path) -> None:
    import nsdesign.laws

    shipped = Path(nsdesign.laws.__file__).parent / "data" / "momentum_quantiles_2606.04058.csv"
    shutil.copy(shipped, folder / "measurements.csv")


# Files the examples name without making them first, and how the docs make them (or their quick form).
PREREQUISITES = {
    "pe5.json": _make_pe5,  # README: nsdesign search … -o pe5.json --name pe5
    "s8.json": lambda d: _run_ok("nsdesign search --normalize schatten8 --shape 1024x4096 --steps 3 -o s8.json", d),
    "recipe.json": lambda d: _run_ok("nsdesign recipe --model-size 70e9 --tol 0.3 -o recipe.json", d),
    "keller5_muon.py": lambda d: _run_ok("nsdesign export keller5 --to torch-muon -o keller5_muon.py", d),
    "t.json": lambda d: _run_ok("nsdesign search --min-sigma 1e-3 --for torch-muon -o t.json", d),  # docs/consumers.md
    "runs/": lambda d: _run_ok(QUICK["nsdesign capture --out-dir runs/ --train-steps 200"][0], d),
    "weights.safetensors": _make_weights,  # any safetensors file with an MLP matrix
    "measurements.csv": _make_measurements,  # the shipped measurements, in the format `fit` reads
}
WRITES = {"-o", "--output", "--out-dir"}


@dataclass(frozen=True)
class Example:
    doc: str
    line: int
    commands: tuple[tuple[str, ...], ...]  # an `&&` chain's nsdesign commands, each as argv with "nsdesign"
    shown: tuple[str, ...] = ()  # the output lines the text shows after a `$ ` prompt

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def _blocks(path: Path):
    """(first line number of the body, language, body) of every fenced block."""
    text = path.read_text(encoding="utf-8")
    for match in re.finditer(r"^( *)```(\w*)[^\n]*\n(.*?)^\1```", text, re.S | re.M):
        yield text[:match.start()].count("\n") + 2, match.group(2), match.group(3)


def _split_command(line: str) -> tuple[tuple[str, ...], ...]:
    """The nsdesign commands of one shell line, without prompt, environment assignments and comment."""
    tokens = shlex.split(line.removeprefix("$ "), comments=True)
    chains: list[list[str]] = [[]]
    for token in tokens:
        if token == "&&":
            chains.append([])
        else:
            chains[-1].append(token)
    commands = []
    for chain in chains:
        while chain and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", chain[0]):
            chain = chain[1:]
        if chain and chain[0] == "nsdesign":
            commands.append(tuple(chain))
    return tuple(commands)


def shell_examples() -> list[Example]:
    found = []
    for path in DOCS:
        for first, lang, body in _blocks(path):
            if lang not in SHELL_LANGS:
                continue
            lines, positions = [], []
            for k, raw in enumerate(body.splitlines()):
                if lines and lines[-1].endswith("\\"):
                    lines[-1] = lines[-1][:-1] + " " + raw.strip()
                else:
                    lines.append(raw)
                    positions.append(first + k)
            i = 0
            while i < len(lines):
                line = lines[i].strip()
                bare = re.sub(r"^(\$ )?([A-Z_][A-Z0-9_]*=\S*\s+)*", "", line)
                if not (bare.startswith("nsdesign ") or " && nsdesign " in line):
                    i += 1
                    continue
                if any(bare.startswith(usage) for usage in USAGE):
                    i += 1
                    continue
                shown: list[str] = []
                j = i + 1
                if line.startswith("$ "):
                    while j < len(lines) and not lines[j].startswith("$ "):
                        shown.append(lines[j])
                        j += 1
                commands = _split_command(line)
                if commands:
                    found.append(Example(path.name if path.parent == REPO else f"docs/{path.name}",
                                         positions[i], commands, tuple(shown)))
                i = j if shown else i + 1
    return found


def python_examples() -> dict[str, list[tuple[int, str]]]:
    found: dict[str, list[tuple[int, str]]] = {}
    for path in DOCS:
        name = path.name if path.parent == REPO else f"docs/{path.name}"
        for first, lang, body in _blocks(path):
            if lang == "python":
                found.setdefault(name, []).append((first, body))
    return found


SHELL = shell_examples()
PYTHON = python_examples()

# The inner loop (`pytest -m "not slow"`) skips the examples that take half a second or more here: those that
# import torch, run an Optuna study, build a bf16-checked recipe, design for a consumer (`--for`: checked in real
# torch), a normalizer's band or a shaping target, and those whose input file is made by one of these
# (SLOW_PREREQUISITES). The README's test command runs them all.
TORCH_COMMANDS = {"validate", "capture", "train-compare", "recipe", "pareto"}
SLOW_FLAGS = {"--objective", "--for", "--normalize", "--target"}
SLOW_PREREQUISITES = {"t.json", "s8.json", "recipe.json", "runs/"}


def _is_slow_shell(example: Example) -> bool:
    slow = any(c[1:2] and (c[1] in TORCH_COMMANDS or SLOW_FLAGS & set(c)) for c in example.commands)
    return slow or any(SLOW_PREREQUISITES & set(c) for c in example.commands)


def _is_slow_python(doc: str) -> bool:
    return any("nsdesign.torch" in body or "import torch" in body for _, body in PYTHON[doc])


def _params(examples, ids, slow):
    return [pytest.param(e, id=i, marks=[pytest.mark.slow] if slow(e) else []) for e, i in zip(examples, ids)]


def _key(command: tuple[str, ...]) -> str:
    return " ".join(command)


def _run_ok(command: str, folder: Path):
    result = invoke(shlex.split(command)[1:], cwd=folder)
    assert result.returncode == 0, f"`{command}` failed:\n{result.stderr}"
    return result


def _prepare(folder: Path, text: str, commands=()) -> None:
    """Make the files `text` names that it does not write itself."""
    written = {c[i + 1] for c in commands for i, t in enumerate(c[:-1]) if t in WRITES}
    code = re.sub(r"#.*", "", text)  # a file a comment mentions is not one the example reads
    for name, make in PREREQUISITES.items():
        whole = re.escape(name)  # the whole name: "t.json" is not named by "report.json"
        named = re.search(rf"(?<![\w.-]){whole}(?![\w])", code) is not None or (
            name.endswith(".py") and re.search(rf"(?:from|import) {re.escape(name[:-3])}\b", code) is not None)
        if named and name not in written and name.rstrip("/") not in written:
            make(folder)


FIGURE = re.compile(r"(?<![\w.])\d+\.\d+(?:e[-+]?\d+)?")


def test_the_examples_are_found():
    """The extraction sees the documented commands (it cannot silently find nothing)."""
    keys = {_key(c) for example in SHELL for c in example.commands}
    assert "nsdesign search --min-sigma 1e-3" in keys
    assert "nsdesign export s4.json --to optax" in keys  # the second half of an `&&` chain
    assert any(c[0:2] == ("nsdesign", "validate") and "polar_express_modded5" in c for c in
               (c for e in SHELL for c in e.commands))  # a backslash-continued, env-prefixed command
    assert len(SHELL) >= 30 and set(PYTHON) >= {"README.md", "docs/runtime.md"}


def test_every_table_entry_is_still_in_the_docs():
    keys = {_key(c) for example in SHELL for c in example.commands}
    assert set(QUICK) <= keys, set(QUICK) - keys
    text = "\n".join(path.read_text(encoding="utf-8") for path in DOCS)
    for usage in USAGE:
        assert usage in text and "[" in text[text.index(usage):].splitlines()[0]
    for doc, command, figure in CLAIMS:
        assert command in keys, command
        assert figure.split()[-1].rstrip(":") in (REPO / doc).read_text(encoding="utf-8") or figure == "next:"


@pytest.mark.parametrize("example", _params(SHELL, [e.id for e in SHELL], _is_slow_shell))
def test_shell_example_runs_and_prints_what_the_text_shows(example, tmp_path, shared_recipes):
    _prepare(tmp_path, " ".join(_key(c) for c in example.commands), example.commands)
    outputs = []
    for command in example.commands:
        run = QUICK.get(_key(command), (_key(command), ""))[0]
        result = invoke(shlex.split(run)[1:], cwd=tmp_path)
        assert result.returncode == 0, f"{example.id}: `{run}` exited {result.returncode}:\n{result.stderr}"
        # an example passes its own checks: the docs never show a design that fails them
        assert "NOT passed" not in result.stdout + result.stderr, f"{example.id}: `{run}` fails its own checks"
        outputs.append(result.stdout)
        for doc, claimed, figure in CLAIMS:
            if doc == example.doc and claimed == _key(command):
                assert figure in result.stdout, f"{example.id}: `{run}` does not print {figure!r}"
    shown_figures = [f for line in example.shown for f in FIGURE.findall(line)]
    missing = [f for f in shown_figures if f not in outputs[-1]]
    assert not missing, f"{example.id}: the text shows {missing}, the command printed:\n{outputs[-1]}"


def _claimed_value(comment: str):
    text = comment.strip()
    match = re.fullmatch(r"(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)(…)?", text)
    return (match.group(1), bool(match.group(2))) if match else None


@pytest.mark.parametrize("doc", _params(sorted(PYTHON), sorted(PYTHON), _is_slow_python))
def test_python_examples_run_and_return_what_the_comments_say(doc, tmp_path, monkeypatch):
    blocks = PYTHON[doc]
    _prepare(tmp_path, "\n".join(body for _, body in blocks))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace: dict = {"__name__": "__docs_example__"}
    checked = 0
    for first, body in blocks:
        lines = body.splitlines()
        for statement in ast.parse(body).body:
            where = f"{doc}:{first + statement.lineno - 1}"
            source = ast.get_source_segment(body, statement)
            code = compile(ast.Module([statement], []) if not isinstance(statement, ast.Expr)
                           else ast.Expression(statement.value), where, "exec" if not isinstance(statement, ast.Expr)
                           else "eval")
            try:
                value = eval(code, namespace) if isinstance(statement, ast.Expr) else exec(code, namespace)
            except Exception as exc:  # the failing line, for the reader
                pytest.fail(f"{where}: `{source}` raised {type(exc).__name__}: {exc}")
            line = lines[statement.end_lineno - 1]
            if isinstance(statement, ast.Expr) and "#" in line:
                claim = _claimed_value(line.split("#", 1)[1])
                if claim is not None:
                    figure, prefix = claim
                    printed = str(value)
                    assert (printed.startswith(figure) if prefix else printed == figure), (
                        f"{where}: the comment says {figure}{'…' if prefix else ''}, it returns {printed}")
                    checked += 1
    sys.modules.pop("keller5_muon", None)
    if doc == "README.md":
        assert checked >= 2  # ns.min_steps(…) # 8 and .f_min # 0.470544…
