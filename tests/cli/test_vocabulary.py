"""One CLI vocabulary (docs/cli.md): new spellings parse, old ones still parse into the same values but are
hidden from --help, and library errors come out with flag names. All in-process through main(argv)."""


import numpy as np
import pytest

from nsdesign import __version__
from nsdesign.cli.main import build_parser, flag_message, main
from nsdesign.plot.matrices import load_matrix


def _parse(*argv):
    return build_parser().parse_args(list(argv))


def _help(capsys, *command):
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    return capsys.readouterr().out


def test_short_and_long_version(capsys):
    for flag in ("-V", "--version"):
        with pytest.raises(SystemExit) as stop:
            main([flag])
        assert stop.value.code == 0
        assert capsys.readouterr().out.strip() == f"nsdesign {__version__}"


@pytest.mark.parametrize(
    "new, old, dest",
    [
        (["search", "--degrees", "3,5,5,7"], ["search", "--degree", "3,5,5,7"], "degree"),
        (["search", "--degree-choices", "3,5"], ["search", "--search-degrees", "3,5"], "search_degrees"),
        (["pareto", "--min-sigma", "1e-3", "--shape", "8x8", "--degree-choices", "3,5"],
         ["pareto", "--min-sigma", "1e-3", "--shape", "8x8", "--degrees", "3,5"], "degrees"),
        (["recipe", "--model-size", "7e9", "--tol", "0.1", "--degree-choices", "5"],
         ["recipe", "--model-size", "7e9", "--tol", "0.1", "--degrees", "5"], "degrees"),
        (["capture", "--out-dir", "d"], ["capture", "--out", "d"], "out"),
        (["fit", "m.csv", "-o", "l.json", "--label", "x"], ["fit", "m.csv", "-o", "l.json", "--source", "x"], "source"),
        (["plot", "laws", "-o", "l.png", "--model-sizes", "7e9"], ["plot", "laws", "-o", "l.png", "--sizes", "7e9"], "sizes"),
    ],
)
def test_old_spellings_parse_into_the_same_value(new, old, dest):
    assert getattr(_parse(*new), dest) == getattr(_parse(*old), dest)


@pytest.mark.parametrize(
    "command, visible, hidden",
    [
        (["search"], ["--degrees", "--degree-choices", "--steps"], ["--degree ", "--search-degrees", "--step-range"]),
        (["pareto"], ["--steps", "--degree-choices"], ["--min-steps", "--max-steps", "--degrees"]),
        (["recipe"], ["--max-sigma", "--degree-choices"], ["--headroom", "--degrees"]),
        (["capture"], ["--out-dir"], ["--out "]),
        (["fit"], ["--label"], ["--source"]),
        (["plot", "laws"], ["--model-sizes"], ["--sizes"]),
    ],
)
def test_help_lists_only_the_new_spellings(capsys, command, visible, hidden):
    text = _help(capsys, *command)
    for flag in visible:
        assert flag in text
    for flag in hidden:
        assert flag not in text


def test_step_ranges_are_spelled_with_steps():
    assert _parse("search", "--steps", "4-8").steps == (4, 8)
    assert _parse("search", "--steps", "6").steps == 6
    assert _parse("pareto", "--min-sigma", "1e-3", "--shape", "8x8").steps == (1, 10)
    with pytest.raises(Exception, match="1 ≤ LO ≤ HI"):
        _parse("search", "--steps", "8-4")


def _study_config(args):
    """The StudyConfig `search` runs for these flags on [1e-3, --max-sigma] (what search.run_study builds)."""
    from nsdesign.cli import search_options
    from nsdesign.search import study_config_for

    return study_config_for(*search_options.study_request(args, 1e-3))


def test_a_step_range_starts_a_study_with_the_same_space_as_the_old_flag():
    from nsdesign.cli import search_options

    new = _parse("search", "--min-sigma", "1e-3", "--steps", "4-6")
    old = _parse("search", "--min-sigma", "1e-3", "--step-range", "4-6")
    assert search_options.study_options(new) and search_options.study_options(old)
    a, b = _study_config(new), _study_config(old)
    assert a.settings() == b.settings() and (a.space.min_steps, a.space.max_steps) == (4, 6)


def test_a_step_range_with_a_normalizer_starts_a_study_on_its_band():
    from nsdesign.cli import search_options

    args = _parse("search", "--min-sigma", "0.2", "--max-sigma", "0.5", "--steps", "3-5", "--normalize", "schatten4")
    assert search_options.study_options(args, normalized=True)
    from nsdesign.cli._vocabulary import band_source_from_args
    from nsdesign.search.run import plan_study

    config, source = plan_study(*search_options.study_request(args, normalized=True), band_source_from_args(args))
    assert source is None and (config.objective.min_sigma, config.objective.max_sigma) == (0.2, 0.5)
    assert (config.space.min_steps, config.space.max_steps) == (3, 5) and config.objective.guard_sigma == 1.0
    spectrum = _parse("search", "--normalize", "schatten8", "--spectrum", "m.npy", "--steps", "3")
    assert not search_options.study_options(spectrum, normalized=True)  # there --spectrum is the band's source


def test_recipe_design_top_old_and_new(capsys):
    from nsdesign.cli.laws_commands import _recipe_max_sigma

    assert _recipe_max_sigma(_parse("recipe", "--model-size", "7e9", "--tol", "0.1", "--max-sigma", "1.25")) == 1.25
    assert _recipe_max_sigma(_parse("recipe", "--model-size", "7e9", "--tol", "0.1", "--headroom", "0.25")) == 1.25
    assert _recipe_max_sigma(_parse("recipe", "--model-size", "7e9", "--tol", "0.1")) == 1.1
    assert main(["recipe", "--model-size", "7e9", "--tol", "0.1", "--max-sigma", "1.2", "--headroom", "0.2"]) == 2
    assert "not both" in capsys.readouterr().err


def test_dtype_names_are_shared():
    assert _parse("plot", "histogram", "keller5", "--source", "gaussian:4x4", "-o", "x.png").dtype == "fp32"
    assert _parse("plot", "histogram", "keller5", "--source", "gaussian:4x4", "-o", "x.png", "--dtype", "bfloat16").dtype == "bf16"
    assert _parse("pareto", "--min-sigma", "1e-3", "--shape", "8x8", "--dtype", "exact").dtype == "exact"
    assert _parse("pareto", "--min-sigma", "1e-3", "--shape", "8x8", "--dtype", "fp8").dtype == "fp8"  # emulated
    with pytest.raises(Exception):
        _parse("pareto", "--min-sigma", "1e-3", "--shape", "8x8", "--dtype", "fp4")


def test_one_matrix_source_syntax():
    new, _ = load_matrix("spectrum:logu:0.01:20x30", seed=3)
    old, _ = load_matrix("logspace:20x30:0.01", seed=3)
    np.testing.assert_array_equal(new, old)


def test_file_prefix_reads_the_same_file(tmp_path):
    path = tmp_path / "m.npy"
    np.save(path, np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(load_matrix(f"file:{path}")[0], load_matrix(str(path))[0])


def test_library_parameter_names_become_flags():
    assert flag_message("the band needs 0 < min_sigma < max_sigma") == "the band needs 0 < --min-sigma < --max-sigma"
    assert flag_message("`degree` auto needs `tol` and `shape`") == "--degrees auto needs --tol and --shape"
    assert flag_message("x.json: 'min_sigma' must be a number; run `nsdesign fit`") == (
        "x.json: 'min_sigma' must be a number; run `nsdesign fit`"
    )
    # A boolean switch is named with its value; an unknown `name=value` is left alone.
    assert flag_message("disable the guard (`guard=False`)") == "disable the guard (--no-guard)"
    assert flag_message("use `patch=True` or `other=1`") == "use --patch or `other=1`"


def test_library_error_messages_name_parameters_not_flags():
    """Errors and warnings raised below the CLI say `tol` or min_sigma; only the CLI knows they are --tol and
    --min-sigma (`flag_message`). A message naming a flag would be wrong for a library caller."""
    import ast
    import pathlib
    import re

    import nsdesign

    flag = re.compile(r"(?<![\w-])--[a-z]")
    root = pathlib.Path(nsdesign.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if "cli" in path.relative_to(root).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                texts = [node] if name.endswith("Error") or name in ("append", "warn") else []
            elif isinstance(node, ast.keyword) and node.arg == "hint":
                texts = [node.value]
            else:
                continue
            for text in texts:
                for part in ast.walk(text):
                    if isinstance(part, ast.Constant) and isinstance(part.value, str) and flag.search(part.value):
                        offenders.append(f"{path.relative_to(root)}:{part.lineno}: {part.value[:60]}")
    assert not offenders, offenders


def test_bad_input_through_main_is_one_line_with_flags(capsys):
    assert main(["search", "--min-sigma", "2", "--max-sigma", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--min-sigma" in err and "Traceback" not in err
    assert main(["search", "--min-sigma", "1e-3", "--degrees", "auto"]) == 2
    assert "--degrees auto needs --tol and --shape" in capsys.readouterr().err


# -- one guard concept: --guard-sigma G, the old --headroom H (= G (1 + H)·U) and --guard-limit hidden ----------


def _json_out(capsys, *argv):
    import json

    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("max_sigma, h", [(1.0, 0.05), (0.5, 0.1)])
def test_old_headroom_is_the_guard_sigma_it_implies(capsys, max_sigma, h):
    band = ["--min-sigma", "1e-3", "--max-sigma", str(max_sigma)]
    g = str((1 + h) * max_sigma)
    old = _json_out(capsys, "evaluate", "keller5", *band, "--headroom", str(h), "--json")["metrics"]
    new = _json_out(capsys, "evaluate", "keller5", *band, "--guard-sigma", g, "--json")
    assert new["metrics"]["overshoot"] == pytest.approx(old["overshoot"])
    assert new["metrics"]["headroom"] == pytest.approx(h)
    assert new["guard"]["guard_sigma"] == pytest.approx(float(g))  # the new flag also reports the guard band
    old_rows = _json_out(capsys, "compare", "keller5", "su5", *band, "--headroom", str(h), "--json")
    new_rows = _json_out(capsys, "compare", "keller5", "su5", *band, "--guard-sigma", g, "--json")
    assert [r["overshoot"] for r in new_rows] == pytest.approx([r["overshoot"] for r in old_rows])


def test_defaults_keep_the_two_percent_guard(capsys):
    metrics = _json_out(capsys, "evaluate", "keller5", "--min-sigma", "1e-3", "--json")["metrics"]
    assert metrics["headroom"] == pytest.approx(0.02)
    wider = _json_out(capsys, "evaluate", "keller5", "--min-sigma", "1e-3", "--guard-sigma", "1.2", "--json")
    assert wider["metrics"]["overshoot"] >= metrics["overshoot"] and wider["metrics"]["headroom"] == pytest.approx(0.2)


def test_search_guard_sigma_is_the_old_headroom(capsys):
    base = ["search", "--min-sigma", "1e-3", "--steps", "5"]
    assert main([*base, "--headroom", "0.05"]) == 0
    old = capsys.readouterr().out
    assert main([*base, "--guard-sigma", "1.05"]) == 0
    assert capsys.readouterr().out == old
    assert main(base) == 0
    assert capsys.readouterr().out != old  # the guard band's top is used: a wider guard changes the design


@pytest.mark.parametrize("command", [["search"], ["evaluate", "keller5"], ["compare", "keller5"], ["pareto"]])
def test_guard_sigma_is_listed_and_headroom_hidden(capsys, command):
    text = _help(capsys, *command)
    assert "--guard-sigma" in text and "--headroom" not in text and "--guard-limit" not in text


def test_guard_sigma_and_headroom_together_are_refused(capsys):
    assert main(["evaluate", "keller5", "--min-sigma", "1e-3", "--guard-sigma", "1.05", "--headroom", "0.05"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["compare", "keller5", "--min-sigma", "1e-3", "--guard-sigma", "0.9"]) == 2
    assert "above the accuracy band" in capsys.readouterr().err


def test_study_guard_flags_reach_the_objective():
    new = _parse("search", "--min-sigma", "1e-3", "--steps", "4-6", "--guard-sigma", "1.05", "--guard-tol", "0.4")
    objective = _study_config(new).objective
    assert (objective.guard_sigma, objective.guard_tol) == (1.05, 0.4)
    old = _parse("search", "--min-sigma", "1e-3", "--steps", "4-6", "--headroom", "0.05", "--guard-limit", "3")
    objective = _study_config(old).objective
    assert objective.guard_sigma == pytest.approx(1.05) and objective.guard_limit == 3
    plain = _study_config(_parse("search", "--min-sigma", "1e-3", "--steps", "4-6"))
    assert plain.objective.guard_sigma is None and plain.objective.guard_headroom == pytest.approx(0.02)
    pareto = _parse("pareto", "--min-sigma", "1e-3", "--shape", "8x8", "--headroom", "0.05")
    from nsdesign.cli._vocabulary import guard_sigma_of

    assert guard_sigma_of(pareto, 1.0) == pytest.approx(1.05)


# -- docs/cli.md lists every flag of every command ----------------------------------------------------------


def _visible_flags(parser=None, path=()):
    """(command, long flag) for every flag --help shows, subcommands included (hidden aliases are not listed)."""
    import argparse

    parser = build_parser() if parser is None else parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _visible_flags(sub, (*path, name))
        elif action.help != argparse.SUPPRESS:
            for flag in action.option_strings:
                if flag.startswith("--") and flag not in ("--help", "--version"):
                    yield " ".join(path), flag


def _vocabulary_rows():
    """(flags cell, commands cell) of every row of docs/cli.md's tables."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) == 5 and cells[0] not in ("concept", "---"):
            rows.append((set(re.findall(r"`(--[a-z0-9-]+)", cells[1])), cells[3]))
    return rows


def test_docs_cli_lists_every_flag_of_every_command():
    import re

    rows = _vocabulary_rows()
    assert len(rows) > 20
    missing = []
    for command, flag in _visible_flags():
        top = command.split()[0]
        if not any(flag in flags and (re.search(rf"\b{re.escape(top)}\b", commands) or commands == "every command")
                   for flags, commands in rows):
            missing.append(f"{command} {flag}")
    assert not missing, "docs/cli.md does not list: " + ", ".join(missing)


def test_the_flag_walk_sees_hidden_aliases_as_hidden():
    flags = set(_visible_flags())
    assert ("search", "--degrees") in flags and ("plot map", "--dpi") in flags
    assert ("search", "--step-range") not in flags and ("capture", "--out") not in flags


def test_no_two_cli_modules_import_each_other():
    """Shared parsers live in _vocabulary and output policy in _output, so command modules import those, not each
    other back and forth (lazy imports inside functions count too)."""
    import ast
    import pathlib

    import nsdesign.cli

    folder = pathlib.Path(nsdesign.cli.__file__).parent
    imports = {}
    for path in folder.glob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("nsdesign.cli."):
                    found.add(node.module.split(".")[2])
                elif node.module == "nsdesign.cli":
                    found.update(alias.name for alias in node.names)
        imports[path.stem] = found - {path.stem}
    mutual = sorted({tuple(sorted((a, b))) for a in imports for b in imports[a] if a in imports.get(b, ())})
    assert not mutual, mutual


def test_every_old_spelling_warns_once_the_command_succeeds(capsys):
    """A hidden alias still works for one release and says what replaces it, after the work (so an error on the
    same line stays one line)."""
    assert main(["evaluate", "keller5", "--min-sigma", "1e-3", "--headroom", "0.02"]) == 0
    err = capsys.readouterr().err
    assert "--headroom is the old spelling of --guard-sigma" in err
    assert main(["evaluate", "keller5", "--min-sigma", "-1", "--headroom", "0.02"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "old spelling" not in err


def test_the_flag_table_has_no_repeated_keys():
    import ast
    import inspect

    import nsdesign.cli.main as cli_main

    tree = ast.parse(inspect.getsource(cli_main))
    tables = [node.value for node in ast.walk(tree) if isinstance(node, ast.AnnAssign)
              and getattr(node.target, "id", "") == "PARAMETER_FLAGS"]
    keys = [key.value for key in tables[0].keys]
    assert len(keys) == len(set(keys)), sorted({k for k in keys if keys.count(k) > 1})
