"""`predict`, `fit`, `recipe`: from a model to its bands and per-layer schedules (nsdesign.laws).

Each handler parses, calls one library function, and prints or writes the result; warnings of a
prediction go to stderr as `nsdesign: warning: …` lines.
"""

from __future__ import annotations

import argparse
import math
import textwrap
from typing import Any

from nsdesign._files import is_stdout, write_json_atomic
from nsdesign.cli._output import check_output, print_json, report_stream, warn
from nsdesign.cli._vocabulary import add_block_arguments, blocks_from_args, deprecated_alias, model_size
from nsdesign.cli._vocabulary import add_normalizer_arguments, normalizer_from_args  # noqa: F401
from nsdesign.cli.main import flag_message
from nsdesign.cli.search_options import add_kernel_arguments, kernel_of
from nsdesign.cli.views.laws import laws_fit
from nsdesign.cli.views.recipe import recipe as show_recipe
from nsdesign.cli.views.recipe import recipe_heads
from nsdesign.core.cost import Shape
from nsdesign.errors import InputError
from nsdesign.laws import predict_band
from nsdesign.laws.marchenko_pastur import MOMENTUM_RATIO, momentum_note
from nsdesign.laws.momentum import fit_file
from nsdesign.laws.normalized import normalized_band
from nsdesign.plans.recipe import CHECK_DTYPES, DEFAULT_RECIPE_MAX_SIGMA, build_recipe, load_config, recipe_knobs


def register(subparsers: argparse._SubParsersAction) -> None:
    predict = subparsers.add_parser(
        "predict", help="predict the band edge σ_q from model size and layer (momentum laws) or a shape (Marchenko–Pastur)"
    )
    predict.add_argument("--model-size", type=model_size, help="parameters, e.g. 70e9 or 70B")
    predict.add_argument("--layer", help="<depth>.<matrix>, e.g. final.o or mid_late.mlp_down")
    predict.add_argument("--shape", help="matrix shape MxN: Marchenko–Pastur band of an i.i.d. matrix")
    add_block_arguments(predict)
    predict.add_argument("--quantile", type=float, default=0.5, help="descending-rank quantile q (default 0.5)")
    predict.add_argument("--laws", help="law file from `nsdesign fit` (default: the shipped arXiv 2606.04058 laws)")
    predict.add_argument("--json", action="store_true", help="print the prediction as JSON")
    add_normalizer_arguments(predict)
    predict.add_argument("--spectrum", help="with --normalize: singular values (1-D .npy) or a matrix (2-D .npy)")
    predict.set_defaults(handler=_predict)

    fit = subparsers.add_parser("fit", help="fit momentum power laws σ_q(M) = C·M^(−α) to a measurement CSV")
    fit.add_argument("measurements", help="CSV with columns depth,matrix,quantile,model_params,sigma (# comments allowed)")
    fit.add_argument("-o", "--output", required=True, help="write the law file (JSON) here")
    fit.add_argument("--label", dest="source", help="short label used in predictions (default: the file name)")
    deprecated_alias(fit, "--source", "--label", dest="source")  # --source names a matrix source elsewhere
    fit.set_defaults(handler=_fit)

    recipe = subparsers.add_parser("recipe", help="per-layer bands and the cheapest schedule per layer for a whole model")
    recipe.add_argument("--model-size", type=model_size, required=True, help="parameters, e.g. 70e9 or 70B")
    recipe.add_argument("--config", help="model JSON: d_model, n_layers, n_heads, n_kv_heads, d_ff or mlp_ratio, gated_mlp")
    recipe.add_argument("--tol", type=float, required=True, help="worst-case error δ every layer must meet on its band")
    recipe.add_argument("--quantile", type=float, default=0.5, help="band edge quantile q (default 0.5)")

    add_kernel_arguments(recipe, "the kernel every layer runs (its cost model and rounding-model check)")
    recipe.add_argument(
        "--dtype", choices=CHECK_DTYPES, default="bf16",
        help="format every schedule is checked in (rounding model, proxy of the layer's aspect ratio); exact: no check",
    )
    recipe.add_argument(
        "--check-margin", type=float, default=None,
        help="accept a mix only if its rounding-model error is ≤ δ·(1 − M) (default 0.15)",
    )
    recipe.add_argument("--laws", help="law file from `nsdesign fit` (default: the shipped arXiv 2606.04058 laws)")
    recipe.add_argument(
        "--band-edge", choices=("point", "lower"), default="lower",
        help="design for the lower end of each law's ~95%% prediction interval (default) or the point prediction σ_q"
    )
    recipe.add_argument(
        "--max-sigma", type=float, help="top of each layer's design band [σ_q, U] (default 1.1: 10%% headroom above 1)"
    )
    deprecated_alias(recipe, "--headroom", "--max-sigma (1 + H)", dest="recipe_headroom", type=float)
    recipe.add_argument(
        "--degree-choices", dest="degrees", help="step degrees to mix (default 3,5,7,9; 5 = quintic only, for torch/optax)"
    )
    deprecated_alias(recipe, "--degrees", "--degree-choices", dest="degrees")
    recipe.add_argument("--cushion", type=float, help="Polar Express cushion λ (needs a single degree)")
    recipe.add_argument("--safety", type=float, help="safety factor s: p(x/s) on all but the last step (needs a single degree)")
    recipe.add_argument(
        "--bf16", action="store_true", help="bf16-safe settings: quintic steps, cushion 0.02, safety 1.02 (see docs/laws.md)"
    )
    add_normalizer_arguments(recipe)  # per-layer bands under it (docs/normalizers.md)
    recipe.add_argument(
        "--heads", nargs="?", const=True, type=int, metavar="H",
        help="attention per head (the config's heads; H must match): compared with the fused recipe",
    )
    recipe.add_argument(
        "--layer-names", metavar="STYLE|FILE",
        help="parameter names: llama, gpt2 (fused c_attn), neox (fused query_key_value) or a JSON file "
        "{role: template with {i}}; default: the model's own",
    )
    recipe.add_argument("-o", "--output", help="write the recipe JSON here")
    recipe.set_defaults(handler=_recipe)


def _recipe_max_sigma(args: argparse.Namespace) -> float:
    """--max-sigma U designs on [σ_q, U] (the old --headroom h gave U = 1 + h)."""
    if args.max_sigma is not None and args.recipe_headroom is not None:
        raise InputError("give --max-sigma (the design band's top) or the old --headroom, not both")
    if args.max_sigma is not None:
        if not (math.isfinite(args.max_sigma) and args.max_sigma >= 1.0):
            raise InputError(f"--max-sigma must be a number ≥ 1 (the band top of a Frobenius-normalized matrix), got {args.max_sigma}")
        return args.max_sigma
    return DEFAULT_RECIPE_MAX_SIGMA if args.recipe_headroom is None else 1.0 + args.recipe_headroom


def _degrees(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--degree-choices takes odd integers like 3,5,7,9 or 5, got {text!r}") from None


def _warn(warnings: Any) -> None:
    for warning in warnings:
        warn(flag_message(warning))


# --------------------------------------------------------------------------------------------------
# Handlers
# --------------------------------------------------------------------------------------------------


def _predict(args: argparse.Namespace) -> int:
    if any(v is not None for v in (args.normalize, args.spectrum, args.power_iterations, args.spectral_safety)):
        return _predict_normalized(args)

    prediction = predict_band(
        args.quantile, model_size=args.model_size, layer=args.layer, shape=args.shape, laws_path=args.laws,
        heads=args.heads, block=args.block,
    )
    _warn(prediction.warnings)
    if args.json:
        print_json(prediction.to_dict())
        return 0
    lo, hi = prediction.interval
    print(f"band edge σ_q = {prediction.min_sigma:.6g}  (q = {args.quantile:g}: a fraction q of the spectrum is above)")
    if lo != hi:
        print(f"~95% interval [{lo:.6g}, {hi:.6g}]")

    print(textwrap.fill(f"source: {prediction.source}", 80, subsequent_indent="  "))
    if prediction.source.startswith("Marchenko"):
        print(textwrap.fill(momentum_note(prediction.min_sigma), 80, subsequent_indent="  "))
        print(f"next: nsdesign search --min-sigma {prediction.min_sigma * MOMENTUM_RATIO[0]:.2g} --for torch-muon")
    else:  # search predicts the same edge from the same flags
        laws = f" --laws {args.laws}" if args.laws else ""
        size = f"{args.model_size:.4g}".replace("e+", "e")
        print(f"next: nsdesign search --model-size {size} --layer {args.layer} --quantile {args.quantile:g}{laws}")
    return 0


def _predict_normalized(args: argparse.Namespace) -> int:
    blocks = blocks_from_args(args)
    shape = blocks.shape if blocks is not None else Shape.parse(args.shape) if args.shape is not None else None
    band = normalized_band(
        normalizer_from_args(args), args.quantile, shape, args.model_size, args.layer, args.laws, args.spectrum
    )
    _warn(band.warnings)
    if args.json:
        print_json(band.to_dict())
        return 0
    (f_lo, f_hi), (n_lo, n_hi) = band.frobenius, band.normalized
    name = band.normalizer.name
    print(f"q = {band.quantile:g} (a fraction q of the spectrum lies above σ_q)")
    print(f"{'frobenius':>10}  [σ_q, σ_max] = [{f_lo:.4g}, {f_hi:.4g}]")
    print(f"{name:>10}  [σ_q, σ_max] = [{n_lo:.4g}, {n_hi:.4g}]   σ_q ×{band.lift:.3g}")
    kind = "guaranteed bound" if band.guaranteed else "no guaranteed bound; modelled"
    print(f"σ_max after {band.normalizer.label()}: {kind} {band.bound:.4g}")

    print(textwrap.fill(f"source: {band.source}", 80, subsequent_indent="  "))
    if band.assumption:
        print(textwrap.fill(f"assumes: {band.assumption}", 80, subsequent_indent="  "))
    print("next: nsdesign search with the same flags designs for this band")
    return 0


def _fit(args: argparse.Namespace) -> int:
    check_output(args.output)
    table = fit_file(args.measurements, source=args.source)
    write_json_atomic(args.output, table.document())
    with report_stream(args.output):
        laws_fit(table, args.measurements, args.output)
        if not is_stdout(args.output):
            print(f"next: nsdesign predict --laws {args.output} --model-size 1e9 --layer {table.layers()[0]}")
    return 0


def _recipe(args: argparse.Namespace) -> int:
    check_output(args.output)
    config = load_config(args.config) if args.config else None
    knobs = recipe_knobs(
        bf16=args.bf16,
        degrees=None if args.degrees is None else _degrees(args.degrees),
        cushion=args.cushion,
        safety=args.safety,
    )
    settings: dict[str, Any] = dict(
        quantile=args.quantile,
        config=config,
        kernel=kernel_of(args),
        dtype=args.dtype,
        **({} if args.check_margin is None else {"check_margin": args.check_margin}),
        laws_path=args.laws,
        edge=args.band_edge,
        names=args.layer_names,
        max_sigma=_recipe_max_sigma(args),
        normalizer=normalizer_from_args(args) if args.normalize or args.power_iterations or args.spectral_safety else None,
        **knobs,
    )
    per_head = False if args.heads is None else args.heads
    recipe = build_recipe(args.model_size, args.tol, per_head=per_head, **settings)
    # --heads: the fused-matrix recipe too, for the comparison (its warnings are the per-head one's)
    fused = build_recipe(args.model_size, args.tol, **settings) if recipe.per_head else None
    if args.output is not None:
        write_json_atomic(args.output, recipe.document())
    _warn(recipe.warnings)

    with report_stream(args.output):
        show_recipe(recipe, written_to=args.output)
        if fused is not None:
            recipe_heads(recipe, fused)
    return 0
