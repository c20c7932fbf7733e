"""nsdesign.torch.Muon: torch.optim.Muon's behaviour with keller5, any schedule per group or parameter, training."""

from __future__ import annotations

import copy
import io
import json

import pytest
import torch

from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError
from nsdesign.documents import save_document, schedule_document
from nsdesign.presets import preset
from nsdesign.torch import Muon, newton_schulz
from nsdesign.torch.model import GPT, GPTConfig, muon_parameter_names


def _net(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(24, 48, bias=False), torch.nn.Tanh(), torch.nn.Linear(48, 48, bias=False),
        torch.nn.Tanh(), torch.nn.Linear(48, 16, bias=False),
    )


def _data(seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(64, 24, generator=generator), torch.randn(64, 16, generator=generator)


def _step(model, optimizer, x, y) -> float:
    optimizer.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).detach().norm() / b.detach().norm())


@pytest.mark.parametrize(
    "options",
    [
        dict(lr=0.02),
        dict(lr=0.02, nesterov=False, weight_decay=0.05, momentum=0.9),
        dict(lr=0.01, adjust_lr_fn="match_rms_adamw"),
    ],
)
def test_keller5_matches_torch_optim_muon_step_for_step(options):
    """Same loss, and each step's update equal to torch's up to bf16 round-off.

    "bf16 round-off" is measured, not assumed: a third optimizer runs the same schedule in fp64, and our bf16
    update must be as close to torch's as torch's own is to that exact update (square matrices have σ down
    to ~1e-6, where keller5's slope of 484 at 0 makes every bf16 implementation ~10% off), and no further
    from exact than torch's.
    """
    models = {"ours": _net(), "torch": _net(), "exact": _net()}
    optimizers = {
        "ours": Muon(models["ours"].parameters(), schedule="keller5", **options),
        "torch": torch.optim.Muon(models["torch"].parameters(), **options),
        "exact": Muon(models["exact"].parameters(), schedule="keller5", ns_dtype=torch.float64, **options),
    }
    x, y = _data()
    for _ in range(8):
        # Teacher-forced: every optimizer starts each step from torch's parameters and momentum buffers,
        # so each step's update is compared on its own and round-off cannot compound.
        reference = models["torch"]
        before = [p.detach().clone() for p in reference.parameters()]
        for name in ("ours", "exact"):
            models[name].load_state_dict(reference.state_dict())
            for p, p_ref in zip(models[name].parameters(), reference.parameters()):
                if p_ref in optimizers["torch"].state:
                    optimizers[name].state[p]["momentum_buffer"] = optimizers["torch"].state[p_ref]["momentum_buffer"].clone()
        losses = {name: _step(models[name], optimizers[name], x, y) for name in ("ours", "exact", "torch")}
        assert losses["ours"] == losses["torch"] == losses["exact"]
        for p_ours, p_torch, p_exact, p0 in zip(*(models[n].parameters() for n in ("ours", "torch", "exact")), before):
            ours, theirs, exact = p_ours - p0, p_torch - p0, p_exact - p0
            torch_error = _relative(theirs, exact)
            assert _relative(ours, theirs) <= 1.5 * torch_error + 0.01
            assert _relative(ours, exact) <= 1.1 * torch_error + 0.005


def test_keller5_trajectory_stays_with_torch_optim_muon():
    ours_model, torch_model = _net(), _net()
    ours, theirs = Muon(ours_model.parameters(), lr=0.02), torch.optim.Muon(torch_model.parameters(), lr=0.02)
    x, y = _data()
    for _ in range(8):
        loss_ours, loss_theirs = _step(ours_model, ours, x, y), _step(torch_model, theirs, x, y)
    assert loss_ours == pytest.approx(loss_theirs, rel=2e-3)
    for a, b, p0 in zip(ours_model.parameters(), torch_model.parameters(), _net().parameters()):
        assert _relative(a - p0, b - p0) < 0.1


def test_default_is_torchs_triple_and_equals_keller5():
    models = [_net(), _net()]
    defaults = Muon(models[0].parameters(), lr=0.02)
    keller = Muon(models[1].parameters(), lr=0.02, schedule="keller5")
    x, y = _data()
    for _ in range(3):
        _step(models[0], defaults, x, y), _step(models[1], keller, x, y)
    for a, b in zip(*(m.parameters() for m in models)):
        assert torch.equal(a, b)
    assert defaults.schedule_for(next(models[0].parameters())) == preset("keller5").extended(5)


def test_update_is_exactly_the_kernel_applied_to_the_nesterov_momentum():
    model = _net()
    schedule = preset("polar_express_paper8")
    optimizer = Muon(model.parameters(), lr=0.1, weight_decay=0.0, schedule=schedule, ns_dtype=torch.float64)
    x, y = _data()
    before = [p.detach().clone() for p in model.parameters()]
    _step(model, optimizer, x, y)
    for p, p0 in zip(model.parameters(), before):
        grad = p.grad
        update = grad.lerp(grad * 0.05, 0.95)  # buf = 0.05·g after one lerp from zero; nesterov blend
        expected = -0.1 * max(1, p.shape[0] / p.shape[1]) ** 0.5 * newton_schulz(update, schedule, dtype=torch.float64)
        assert torch.allclose((p - p0).double(), expected, atol=1e-6)


def test_schedules_per_group_and_per_parameter(tmp_path):
    model = _net()
    first, middle, last = (layer.weight for layer in model if isinstance(layer, torch.nn.Linear))
    grouped = Muon([{"params": [first], "schedule": "cans5_eo"}, {"params": [middle, last]}], schedule="keller5")
    assert grouped.schedule_for(first).name == "cans5_eo" and grouped.schedule_for(last).name == "keller5"

    path = tmp_path / "pe.json"
    save_document(path, schedule_document(preset("polar_express_modded5")))
    recipe = {
        "schema_version": 1,
        "kind": "nsdesign-recipe",
        "schedules": {"early": schedule_document(preset("cans5_eo")), "deep": {"coefficients": [[1.5, -0.5]] * 9}},
        "layers": [{"name": "0.weight", "schedule": "early", "band": [1e-3, 1]}, {"name": "4", "schedule": "deep"}],
    }
    recipe_file = tmp_path / "recipe.json"
    recipe_file.write_text(json.dumps(recipe))
    optimizer = Muon(model.named_parameters(), recipe=recipe_file, schedule=str(path))
    assert optimizer.schedule_for(first).name == "early"
    assert optimizer.schedule_for(last).degrees == (3,) * 9  # "4" matched the module name "4.weight"
    assert optimizer.schedule_for(middle).name == "polar_express_modded5"  # not in the recipe: the group's
    mapping = Muon(model.named_parameters(), recipe={"*.weight": "keller5", "2.weight": preset("su5")})
    assert mapping.schedule_for(middle).name == "su5" and mapping.schedule_for(first).name == "keller5"
    x, y = _data()
    losses = [_step(model, optimizer, x, y) for _ in range(3)]
    assert all(torch.isfinite(torch.tensor(losses)))


def test_recipe_errors():
    model = _net()
    with pytest.raises(InputError, match="match no parameter: 'blocks.0.q'"):
        Muon(model.named_parameters(), recipe={"blocks.0.q": "keller5"})
    with pytest.raises(InputError, match="named_parameters"):
        Muon(model.parameters(), recipe={"0.weight": "keller5"})
    with pytest.raises(InputError, match="kind"):
        Muon(model.named_parameters(), recipe={"kind": "something-else", "layers": []})
    with pytest.raises(InputError, match="not a preset or a schedule"):
        Muon(model.named_parameters(), recipe={"0.weight": "no_such_preset"})


def test_ns_steps_follows_the_extension_rule_and_bad_arguments_are_input_errors():
    model = _net()
    extended = Muon(model.parameters(), schedule="keller5", ns_steps=7)
    assert extended.schedule_for(model[0].weight).num_steps == 7
    with pytest.raises(InputError, match="cannot run 9 steps"):
        Muon(model.parameters(), schedule="polar_express_modded5", ns_steps=9)
    with pytest.raises(InputError, match="2D parameters"):
        Muon([torch.nn.Parameter(torch.ones(3))])
    with pytest.raises(InputError, match="Learning rate"):
        Muon(model.parameters(), lr=-1.0)
    with pytest.raises(InputError, match="form"):
        Muon(model.parameters(), form="fast")
    with pytest.raises(InputError, match="exactly 3"):
        Muon(model.parameters(), ns_coefficients=(1.0, 2.0))
    with pytest.raises(ValueError):  # InputError is a ValueError, like torch's own argument errors
        Muon(model.parameters(), adjust_lr_fn="other")


def test_state_dict_is_plain_data():
    model = _net()
    optimizer = Muon(model.named_parameters(), schedule=preset("cans5_eo"), recipe={"0.weight": "keller5"}, form="gram")
    x, y = _data()
    _step(model, optimizer, x, y)
    buffer = io.BytesIO()
    torch.save(optimizer.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    clone = Muon(copy.deepcopy(model).named_parameters(), schedule="keller5")
    clone.load_state_dict(state)
    assert clone.param_groups[0]["schedule"]["name"] == "cans5_eo"
    assert Schedule.from_dict(clone.param_groups[0]["param_schedules"][0]).name == "keller5"


def test_gram_form_optimizer_tracks_the_standard_form_in_fp32():
    models = [_net(), _net()]
    standard = Muon(models[0].parameters(), lr=0.02, schedule="polar_express_modded5", ns_dtype="fp32")
    gram = Muon(models[1].parameters(), lr=0.02, schedule="polar_express_modded5", ns_dtype="fp32", form="gram")
    x, y = _data()
    for _ in range(4):
        _step(models[0], standard, x, y), _step(models[1], gram, x, y)
    for a, b in zip(*(m.parameters() for m in models)):
        assert torch.allclose(a, b, atol=1e-4)


@pytest.mark.slow
def test_muon_trains_the_capture_model():
    torch.manual_seed(0)
    model = GPT(GPTConfig(width=32, n_layer=2, seq_len=32))
    named = dict(model.named_parameters())
    hidden = muon_parameter_names(model)
    muon = Muon([(n, named[n]) for n in hidden], lr=0.02, weight_decay=0.0, schedule="polar_express_modded5", ns_dtype="fp32")
    adam = torch.optim.AdamW([p for n, p in named.items() if n not in hidden], lr=3e-3)
    text = torch.tensor(list(b"def f(x):\n    return x + 1\n" * 40))
    generator = torch.Generator().manual_seed(0)

    def batch() -> torch.Tensor:
        starts = torch.randint(0, text.numel() - 33, (8,), generator=generator)
        return text[starts[:, None] + torch.arange(33)]

    held_out = batch()
    with torch.no_grad():
        before = float(model.loss(held_out))
    for _ in range(30):
        loss = model.loss(batch())
        muon.zero_grad(), adam.zero_grad()
        loss.backward()
        muon.step(), adam.step()
    with torch.no_grad():
        after = float(model.loss(held_out))
    assert after < 0.6 * before
    assert all(muon.state[named[n]]["momentum_buffer"].abs().sum() > 0 for n in hidden)


def test_nan_gradient_skips_that_update_and_warns_once():
    import warnings

    torch.manual_seed(0)
    a, b = torch.nn.Parameter(torch.randn(8, 16)), torch.nn.Parameter(torch.randn(8, 16))
    opt = Muon([a, b], lr=0.1)
    a0, b0 = a.detach().clone(), b.detach().clone()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            a.grad = torch.full_like(a, float("nan"))
            b.grad = torch.randn_like(b)
            opt.step()
    nonfinite = [w for w in caught if "NaN/Inf gradient" in str(w.message)]
    assert len(nonfinite) == 1  # once, not once per step
    assert torch.equal(a.detach(), a0) and "momentum_buffer" not in opt.state[a]  # untouched
    assert not torch.equal(b.detach(), b0) and torch.isfinite(b).all()  # the healthy one still trains
    assert sum(opt.skipped_updates.values()) == 2
    a.grad = torch.randn_like(a)
    opt.step()
    assert torch.isfinite(a).all() and not torch.equal(a.detach(), a0)  # recovers at the next finite step


def test_zero_and_tiny_gradients():
    torch.manual_seed(1)
    p = torch.nn.Parameter(torch.randn(8, 16))
    opt = Muon([p], lr=0.1, momentum=0.0, nesterov=False, weight_decay=0.0)
    p0 = p.detach().clone()
    p.grad = torch.zeros_like(p)
    opt.step()
    assert torch.equal(p.detach(), p0)  # zero update: no NaN, no change
    g = torch.randn(8, 16)
    q = torch.nn.Parameter(p0.clone())
    big = Muon([q], lr=0.1, momentum=0.0, nesterov=False, weight_decay=0.0)
    q.grad = g
    big.step()
    p.grad = g * 1e-20  # far below torch.optim.Muon's eps = 1e-7: same step (scale-invariant)
    opt.step()
    assert torch.allclose(p.detach(), q.detach(), atol=1e-6)


def test_a_schedule_without_headroom_warns_once_in_half_precision():
    import warnings

    from nsdesign.torch import muon as muon_module
    from nsdesign.torch.muon import Muon

    muon_module._WARNED.clear()
    weight = torch.nn.Parameter(torch.zeros(8, 16))
    with pytest.warns(RuntimeWarning, match="no headroom"):
        Muon([weight], schedule="cans5_eo")  # max F on [0, 1.02] overflows: bf16 runs diverge
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Muon([weight], schedule="cans5_eo")  # once per schedule
        Muon([weight], schedule="keller5")  # headroom: no warning
        muon_module._WARNED.clear()
        Muon([weight], schedule="cans5_eo", ns_dtype=torch.float32)  # fp32 does not blow up
