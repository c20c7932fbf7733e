"""The first hour: a bare `nsdesign` gives an overview, typos get "did you mean", help fits 80 columns."""

from __future__ import annotations

import pytest

from nsdesign.cli.main import OVERVIEW, build_parser


def test_bare_nsdesign_prints_an_overview_with_the_first_command(cli):
    r = cli()
    assert r.returncode == 0 and r.stderr == ""
    assert "nsdesign search --min-sigma 1e-3" in r.stdout
    assert all(len(line) <= 80 for line in r.stdout.splitlines())


def test_the_overview_lists_every_command():
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert [name for name, _ in OVERVIEW] == sorted(commands, key=[n for n, _ in OVERVIEW].index)
    assert set(commands) == {name for name, _ in OVERVIEW}


@pytest.mark.parametrize(
    "argv, suggestion",
    [
        (["serch"], "did you mean search"),
        (["search", "--min-sigma", "1e-3", "--tl", "0.1"], "did you mean --tol"),
        (["presets", "show", "kelle5"], "did you mean keller5?"),
        (["export", "keller5", "--to", "optx"], "did you mean optax"),
        (["search", "--min-sigma", "1e-3", "--for", "torch_muon"], "did you mean torch-muon"),
        (["predict", "--model-size", "70e9", "--layer", "final.mlp_dwn", "--quantile", "0.9"],
         "did you mean final.mlp_down"),
    ],
)
def test_typos_get_the_closest_name(cli, argv, suggestion):
    r = cli(*argv)
    assert r.returncode == 2 and suggestion in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_flag_typo_points_to_the_command_help(cli):
    r = cli("search", "--min-sigma", "1e-3", "--zzz")  # no close flag: the command's help is the pointer
    assert "see `nsdesign search --help`" in r.stderr
    r = cli("search", "--min-sigma", "1e-3", "--tl", "0.1")  # a close one says it, in 80 columns
    assert "did you mean --tol?" in r.stderr and len(r.stderr.strip()) <= 80


@pytest.mark.parametrize("command", [[], *([name] for name, _ in OVERVIEW)])
def test_help_fits_80_columns(cli, command):
    r = cli(*command, "--help")
    assert r.returncode == 0
    assert all(len(line) <= 80 for line in r.stdout.splitlines()), max(r.stdout.splitlines(), key=len)
