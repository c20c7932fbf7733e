"""`nsdesign search --for TARGET`: the journey ends in the user's optimizer."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_search_for_torch_muon_prints_the_lines_to_paste(cli, tmp_path):
    path = tmp_path / "t.json"
    r = cli("search", "--min-sigma", "1e-3", "--for", "torch-muon", "-o", "t.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    text = r.stdout + r.stderr
    assert "torch.optim.Muon(params, ns_steps=5, ns_coefficients=(" in text
    assert "checks (all passed)" in text and "keller5" in text
    assert all(len(line) <= 80 for line in text.splitlines()), max(text.splitlines(), key=len)
    document = json.loads(path.read_text())
    triple = document["consumer"]["kwargs"]["ns_coefficients"]
    assert document["consumer"]["target"] == "torch-muon" and len(triple) == 3
    assert f"{triple[0]!r}" in text
    exported = cli("export", "t.json", "--to", "torch-muon", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert "ns_steps=5" in exported.stdout and "muon_kwargs" in exported.stdout


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--exact"], "drop --exact"),
        (["--cushion", "0.02"], "drop --cushion"),
        (["--degrees", "7"], "drop --degrees"),
        (["--steps", "3-6"], "a range LO-HI is a study"),
        (["--steps", "5", "--tol", "0.1"], "not both"),
    ],
)
def test_search_for_refuses_what_the_consumer_cannot_take(cli, flags, message):
    r = cli("search", "--min-sigma", "1e-3", "--for", "torch-muon", *flags)
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_unknown_consumer_lists_the_consumers(cli):
    r = cli("search", "--min-sigma", "1e-3", "--for", "sgd")
    assert r.returncode == 2 and "see docs/consumers.md" in r.stderr and len(r.stderr.strip()) <= 80


def test_search_for_a_list_consumer_names_the_export(cli):
    r = cli("search", "--min-sigma", "1e-3", "--for", "optax", "--steps", "5")
    assert r.returncode == 0, r.stderr
    assert "nsdesign export schedule.json --to optax" in r.stdout


@pytest.mark.slow
def test_search_for_with_a_normalizer_the_consumer_offers(cli, tmp_path):
    r = cli("search", "--shape", "1024x4096", "--quantile", "0.99", "--normalize", "schatten4", "--for", "optax",
            "--steps", "3", "-o", "s.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "nsdesign export s.json --to optax --normalize schatten4" in r.stdout
    exported = cli("export", "s.json", "--to", "optax", cwd=tmp_path)
    assert exported.returncode == 0 and 'PRECONDITIONING = "schatten"' in exported.stdout


def test_search_for_refuses_a_normalizer_the_consumer_lacks(cli):
    r = cli("search", "--min-sigma", "1e-3", "--normalize", "schatten8", "--for", "torch-muon")
    assert r.returncode == 2 and "offers: frobenius" in r.stderr


@pytest.mark.slow
def test_frobenius_is_every_consumers_own_normalizer(cli):
    r = cli("search", "--min-sigma", "1e-3", "--for", "torch-muon", "--normalize", "frobenius")
    assert r.returncode == 0, r.stderr
    assert "torch.optim.Muon(params, ns_steps=5, ns_coefficients=(" in r.stdout  # still one triple
