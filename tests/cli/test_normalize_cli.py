"""`--normalize` on predict (and later search, evaluate, validate) through the real entry point."""

from __future__ import annotations

import pytest


def test_predict_prints_both_bands(cli):
    result = cli("predict", "--shape", "1024x4096", "--quantile", "0.99", "--normalize", "schatten8")
    assert result.returncode == 0, result.stderr
    assert "frobenius  [σ_q, σ_max] = [0.01645, 0.04688]" in result.stdout
    assert "schatten8  [σ_q, σ_max] = [0.1938, 0.5523]" in result.stdout
    assert "guaranteed bound 1" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["predict", "--shape", "64x64", "--normalize", "schatten6"], "unknown normalizer"),
        (["predict", "--shape", "64x64", "--normalize", "spectral", "--power-iterations", "0"], "power iterations"),
        (["predict", "--shape", "64x64", "--normalize", "spectral", "--power-iterations", "-2"], "power iterations"),
        (["predict", "--shape", "64x64", "--power-iterations", "3"], "--normalize spectral"),
        (["predict", "--shape", "64x64", "--normalize", "schatten4", "--power-iterations", "3"], "spectral"),
        (["predict", "--model-size", "1e9", "--layer", "final.o", "--normalize", "aol"], "matrix"),
    ],
)
def test_normalize_bad_input_is_one_line_exit_2(cli_error, cli, args, fragment):
    assert fragment in cli_error(cli(*args))
