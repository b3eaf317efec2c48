"""A copy of a trained model must run its own weights (the snapshot evaluations, the bf16
sampling copy and the bf16 evaluation copy all rely on it).  TRL's GRPOTrainer patches the
model's forward with a closure over the original module, and accelerate wraps that again: a
plain ``copy.deepcopy`` of such a model runs the original's weights."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from accelerate import Accelerator
from trl.trainer.utils import add_fused_lm_head

from ttrl_kit.engines.embedded.models import build_tiny_model, independent_copy
from ttrl_kit.engines.embedded.selection import load_snapshot, save_snapshot


@pytest.fixture(autouse=True)
def _fresh_accelerator_state():
    """accelerate keeps one process-wide state; leave none behind for the other tests."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


def _trained_like(mixed_precision: str):
    """A tiny model patched the way GRPOTrainer patches the policy: its fused LM head, then
    (bf16) accelerate's mixed-precision prepare."""
    model = build_tiny_model(seed=0)[0]
    add_fused_lm_head(model)
    if mixed_precision == "no":
        return model
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    return Accelerator(mixed_precision=mixed_precision, cpu=True).prepare(model)


def _logits(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits.float()


def _halve(model):
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(0.5)


@pytest.mark.parametrize("mixed_precision", ["bf16", "no"])
def test_a_copy_runs_its_own_weights_not_the_originals(mixed_precision):
    ids = torch.tensor([[1, 2, 3, 4]])
    model = _trained_like(mixed_precision)
    plain = copy.deepcopy(model)
    before = _logits(plain, ids)
    _halve(model)
    assert not torch.equal(_logits(plain, ids), before)  # the trap: the plain copy follows the original

    model = _trained_like(mixed_precision)
    copied = independent_copy(model)
    before = _logits(copied, ids)
    _halve(model)  # the original trains on; the copy must not notice
    assert torch.equal(_logits(copied, ids), before)
    assert not torch.allclose(_logits(independent_copy(model), ids), before)


def test_a_snapshot_of_an_earlier_step_evaluates_as_that_step(tmp_path: Path):
    """What the summary's pick and gold-best rows measure: snapshot step 1, keep training,
    load the snapshot back into a copy of the trained model: the copy computes step 1."""
    model = _trained_like("bf16")
    ids = torch.tensor([[5, 6, 7]])
    save_snapshot(model, tmp_path, 1, "fp32")
    step1 = _logits(independent_copy(model), ids)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    assert torch.equal(_logits(load_snapshot(model, tmp_path, 1), ids), step1)
    assert not torch.allclose(_logits(independent_copy(model), ids), step1)
