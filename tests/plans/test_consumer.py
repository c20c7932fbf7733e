"""Consumer-constrained designs (plans.consumer.design_for): each answer is in the consumer's form, checked
in its kernel and dtype, better than its default, and goes through its public interface."""

from __future__ import annotations

import numpy as np
import pytest

from nsdesign.core.consumers import CONSUMER_FORMS, consumer_form
from nsdesign.documents import read_schedule_document
from nsdesign.errors import InputError
from nsdesign.export import export
from nsdesign.plans import design_for


@pytest.fixture(scope="module")
def muon():
    return design_for("torch-muon", 1e-3)


@pytest.mark.slow
def test_torch_muon_gets_one_triple_better_than_keller(muon):
    assert muon.form.takes == "triple" and muon.triple is not None
    assert len(set(muon.schedule.steps)) == 1 and muon.ns_steps == 5
    assert muon.passed
    assert muon.metrics.worst_error < 0.75 * muon.default_metrics.worst_error
    assert muon.lower_bound <= muon.per_step_error <= muon.metrics.worst_error
    kinds = [(c.kernel, c.dtype) for c in muon.checks]
    assert ("fused", "bf16") in kinds and ("torch-fused", "bf16") in kinds


@pytest.mark.slow
def test_torch_muon_document_exports_to_muon_kwargs(muon):
    document = muon.document()
    assert document["consumer"]["kwargs"]["ns_coefficients"] == list(muon.triple.triple)
    assert document["kernel"] == "fused" and document["dtype"] == "bf16"
    schedule = read_schedule_document(document)
    namespace: dict = {}
    exec(export(schedule, "torch-muon").text, namespace)
    kwargs = namespace["muon_kwargs"]
    assert kwargs["ns_coefficients"] == muon.triple.triple and kwargs["ns_steps"] == 5


@pytest.mark.slow
def test_the_triple_runs_in_torch_optim_muon(muon):
    torch = pytest.importorskip("torch")
    from torch.optim._muon import _zeropower_via_newtonschulz

    rng = np.random.default_rng(0)
    u, _ = np.linalg.qr(rng.standard_normal((64, 64)))
    v, _ = np.linalg.qr(rng.standard_normal((256, 64)))
    sigma = np.geomspace(1.0, 0.05, 64)
    grad = torch.tensor((u * sigma) @ v.T, dtype=torch.float32)
    out = _zeropower_via_newtonschulz(grad, muon.triple.triple, muon.ns_steps, 1e-7).double().numpy()
    got = np.sort(np.linalg.svd(out, compute_uv=False))
    expected = np.sort([muon.schedule(s / np.linalg.norm(sigma)) for s in sigma])
    assert np.max(np.abs(got - expected)) < 0.05  # bf16 kernel against the exact map


def test_list_consumers_get_a_checked_list():
    optax = design_for("optax", 1e-3, steps=5)
    assert optax.triple is None and optax.passed
    assert ("unfused", "fp32") in [(c.kernel, c.dtype) for c in optax.checks]
    assert optax.metrics.worst_error < optax.default_metrics.worst_error


def test_gram_consumer_gets_a_restart_plan():
    gram = design_for("gram-newton-schulz", 1e-3, steps=5)
    assert gram.restarts is not None and gram.restarts.met
    assert gram.document()["consumer"]["restarts"] == list(gram.restarts.restarts)
    assert ("gram", "fp16") in [(c.kernel, c.dtype) for c in gram.checks]


@pytest.mark.slow
def test_tolerance_picks_the_fewest_repeats():
    design = design_for("torch-muon", 1e-3, tol=0.13, torch_check=False)
    assert design.ns_steps == 6 and design.metrics.worst_error <= 0.13


def test_every_consumer_form_names_an_export_target():
    from nsdesign.export import target_names

    assert {f.target for f in CONSUMER_FORMS} <= set(target_names())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"target": "sgd"}, "unknown consumer 'sgd'"),
        ({"steps": 5, "tol": 0.1}, "not both"),
        ({"steps": 0}, "steps must be an integer"),
        ({"steps": True}, "steps must be an integer"),
        ({"target": "deepspeed"}, "exposes no coefficient"),
    ],
)
def test_bad_requests_are_refused(kwargs, message):
    target = kwargs.pop("target", "torch-muon")
    with pytest.raises(InputError, match=message):
        design_for(target, 1e-3, **kwargs)


def test_consumer_form_lookup():
    assert consumer_form("torch-muon").takes == "triple"
    with pytest.raises(InputError, match="consumers:"):
        consumer_form("nope")
