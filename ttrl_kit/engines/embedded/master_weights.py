"""AdamW over fp32 master copies of a bf16 model (``train.bf16_weights``).

Why: with fp32 weights under bf16 autocast, every forward re-casts every weight to bf16 and
every backward casts the weight gradients back to fp32; on a CPU that is a measurable share
of a small model's update (benchmarks/engine_step).  Keeping the model itself in bf16 and
the fp32 weights only in the optimizer removes those casts while the update still
accumulates in fp32 (small updates are not lost to bf16 rounding).

TRL/HF ``Trainer`` takes the optimizer as given (``optimizers=(opt, None)``), clips the bf16
gradients, and steps this optimizer; the learning-rate scheduler sees ordinary param groups.
The master copies are rebuilt from the model's bf16 weights when a run is resumed (the
optimizer's moments are restored from the checkpoint as usual).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


class MasterWeightsAdamW(torch.optim.AdamW):
    """``torch.optim.AdamW`` whose parameters are fp32 copies of ``model_params``; ``step``
    moves the model's gradients onto the copies, steps, and writes the copies back."""

    def __init__(self, model_params: Iterable[torch.nn.Parameter], **adamw: Any) -> None:
        self.model_params = [p for p in model_params if p.requires_grad]
        masters = [p.detach().float().clone() for p in self.model_params]
        for m in masters:
            m.requires_grad_(True)
        super().__init__(masters, **adamw)
        self.masters = masters
        self._synced = False

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        if not self._synced:  # the model's weights may have been loaded (resume) after __init__
            self.sync_from_model()
        for p, m in zip(self.model_params, self.masters):
            m.grad = None if p.grad is None else p.grad.float()
        loss = super().step(closure)
        for p, m in zip(self.model_params, self.masters):
            p.copy_(m)
            m.grad = None
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.model_params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()
        super().zero_grad(set_to_none=set_to_none)

    @torch.no_grad()
    def sync_from_model(self) -> None:
        """Start the masters from the model's current (e.g. resumed) weights."""
        for p, m in zip(self.model_params, self.masters):
            m.copy_(p)
        self._synced = True
