"""A flag's default is the library's default. argparse needs each default spelled in the CLI (for --help, and
to keep torch out of the parser), so this table holds every pair and fails when a library default moves
without its flag."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
from typing import Any, Callable

import pytest

from nsdesign.cli.main import build_parser


def _flag_default(path: tuple[str, ...], dest: str) -> Any:
    parser = build_parser()
    for name in path:
        (choices,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        parser = choices.choices[name]
    return parser.get_default(dest)


def _parameter(function: Callable[..., Any], name: str) -> Any:
    return inspect.signature(function).parameters[name].default


def _field(cls: type, name: str) -> Any:
    return {f.name: f.default for f in dataclasses.fields(cls)}[name]


def _request(name: str) -> Any:
    from nsdesign.plans.request import DesignRequest

    return _field(DesignRequest, name)


def _recipe(name: str) -> Any:
    from nsdesign.plans.recipe import build_recipe

    return _parameter(build_recipe, name)


def _plot(function: str, name: str) -> Any:
    import nsdesign.plot

    return _parameter(getattr(nsdesign.plot, function), name)


def _torch(module: str, function: str, name: str) -> Any:
    pytest.importorskip("torch")
    import importlib

    target = getattr(importlib.import_module(f"nsdesign.torch.{module}"), function)
    return _field(target, name) if dataclasses.is_dataclass(target) else _parameter(target, name)


def _front(name: str) -> Any:
    from nsdesign.search.run import run_front

    return _parameter(run_front, name)


def _limit(name: str) -> Any:
    from nsdesign.core import limits

    return getattr(limits, name)


def _numbers(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(","))


CASES = [
    (("search",), "max_steps", lambda: _request("max_steps"), None),
    (("search",), "norm_div", lambda: _request("norm_div"), None),
    (("search",), "max_sigma", lambda: _request("max_sigma"), None),
    (("recipe",), "quantile", lambda: _recipe("quantile"), None),
    (("recipe",), "dtype", lambda: _recipe("dtype"), None),
    (("recipe",), "band_edge", lambda: _recipe("edge"), None),
    (("pareto",), "dtype", lambda: _front("dtype"), None),
    (("pareto",), "degrees", lambda: _limit("FRONT_DEGREES"), _numbers),
    (("plot", "histogram"), "bins", lambda: _plot("histogram_figure", "bins"), None),
    (("plot", "histogram"), "dpi", lambda: _plot("histogram_figure", "dpi"), None),
    (("plot", "map"), "ymax", lambda: _plot("map_figure", "ylim")[1], None),
    (("plot", "frontier"), "max_steps", lambda: _plot("frontier_points", "max_steps"), None),
    (("plot", "laws"), "quantile", lambda: _plot("laws_figure", "quantile"), None),
    (("plot", "laws"), "sizes", lambda: _plot("laws_figure", "sizes"), _numbers),
    (("validate",), "dtype", lambda: _torch("validate", "validate", "dtype"), None),
    (("validate",), "repeats", lambda: _torch("validate", "validate", "repeats"), None),
    (("validate",), "seed", lambda: _torch("validate", "validate", "seed"), None),
    (("capture",), "steps", lambda: _torch("capture", "TrainSettings", "steps"), None),
    (("capture",), "batch", lambda: _torch("capture", "TrainSettings", "batch"), None),
    (("capture",), "seq_len", lambda: _torch("capture", "TrainSettings", "seq_len"), None),
    (("capture",), "schedule", lambda: _torch("capture", "TrainSettings", "schedule"), None),
    (("train-compare",), "batch", lambda: _torch("training", "train_compare", "batch"), None),
    (("train-compare",), "seq_len", lambda: _torch("training", "train_compare", "seq_len"), None),
    (("train-compare",), "lr", lambda: _torch("training", "train_compare", "muon_lr"), None),
]


def _params(cases):
    """The torch cases import torch (about a second): slow, so the inner loop skips them."""
    torch_commands = {"validate", "capture", "train-compare"}
    return [pytest.param(*c, id=f"{' '.join(c[0])} {c[1]}", marks=[pytest.mark.slow] if c[0][0] in torch_commands else [])
            for c in cases]


@pytest.mark.parametrize(("path", "dest", "library", "parse"), _params(CASES))
def test_a_flag_defaults_to_what_the_library_defaults_to(path, dest, library, parse):
    flag = _flag_default(path, dest)
    assert flag is not None, f"{' '.join(path)} has no default for {dest}"
    assert (parse(flag) if parse else flag) == library()


def test_the_table_can_fail():
    assert _flag_default(("search",), "max_steps") != _request("norm_div")


@pytest.mark.slow
@pytest.mark.parametrize(("dest", "parameter"), [("seeds", "seeds"), ("train_steps", "train_steps"), ("model", "model")])
def test_train_compare_help_states_the_library_default(dest, parameter):
    """These flags default to None (so --quick can fill them); their help states train_compare's own default."""
    (choices,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    (action,) = [a for a in choices.choices["train-compare"]._actions if a.dest == dest]
    assert action.default is None
    assert f"({_torch('training', 'train_compare', parameter)};" in action.help
