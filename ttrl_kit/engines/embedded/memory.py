"""``train.micro_batch_size: auto``: the largest micro-batch whose update fits in memory (on a
CPU: and that is still fast).

Why not a constant: the samples one forward + backward can hold depend on the model and on
the memory the machine has free *now* (a shared machine's other jobs hold some of it).  Too
small wastes speed (smaller matmuls, more passes); too large kills the run.  So ``auto`` takes
the largest divisor of the step's samples (per process) whose worst-case activations fit in a
budget, and a user-set integer is used as it is.

The estimate (bytes for ONE sample of ``s`` tokens, ``c`` of them completion, worst case
``s`` = the longest prompt of the run's data (``generation.max_prompt_length`` where it is not
known) + ``max_completion_length``, ``c = max_completion_length``):

    layers * s * (34 * hidden + 8 * intermediate + 256) saved per token and layer
  + layers * heads * s**2 * 6                          eager attention probabilities
  + 12 * vocab * c                                     LM head on completion positions

* Per token and layer: under bf16 autocast with fp32 weights a decoder layer keeps the fp32
  residual stream and RMSNorm intermediates (~16 bytes x hidden), the bf16 inputs of the
  q/k/v/o projections and the rotated/repeated q, k, v (~16-18 bytes x hidden) and the bf16
  MLP intermediates (gate, silu, up, product: 8 bytes x intermediate), plus ~256 bytes that
  do not grow with the width (rotary tables, norms' statistics).  Measured with
  ``torch.autograd.graph.saved_tensors_hooks``: SmolLM2-135M (hidden 576, intermediate 1536)
  keeps 32,066 bytes per token and layer, the formula says 32,128; the tiny CI model
  (hidden 32, intermediate 64) 1,835 against 1,856 (tests/engine/test_memory.py measures it).
* Attention: eager attention keeps the softmax output in fp32 and its bf16 cast for every
  head and key position (6 bytes); measured 1,620 bytes per (query, key) pair over SmolLM2's
  30 layers x 9 heads = exactly 6 bytes.
* LM head: the fp32 logits of each scored position are kept (4 bytes x vocab, measured 196.6 KB
  per completion token for a 49,152 vocabulary); ``logsumexp``'s exponentials in the forward
  and the logits' gradient in the backward are as large again each: 12 bytes x vocab.
* ``model.dtype: fp32`` (no autocast) keeps fp32 where autocast keeps bf16: x 2.

On a CPU the size is also capped for speed: at most ``CPU_MICRO_BATCH_TOKENS`` worst-case
tokens per micro-batch.  Bigger is not faster there: the matmuls of a 16-sample micro-batch
(~1,300 tokens) already fill the cores, and beyond that the activations only outgrow the
caches.  Measured on the demo's batch, 2 idle cores, side by side in one process
(benchmarks/results/engine_step.md section 0): one pass of 64 samples took 29.9 s, four
passes of 16 took 16.6 s.  On a GPU the largest size that fits is the fast one, so no cap.

The budget is half of what the machine has available (``MemAvailable``; the cgroup limit where
one is set; free device memory on a GPU) after what the update has not allocated yet when the
choice is made: the gradients and AdamW's two moments (12 bytes per trainable parameter), the
bf16 sampling copy and autocast's bf16 weight cache (2 + 2 bytes per parameter).  The other
half is headroom: a shared machine's other jobs grow, and the allocator fragments.
benchmarks/engine_step measures the update at several micro-batch sizes side by side.  The size
is chosen per process, so a ``--resume`` may pick another one; the update is the same up to
rounding, since the micro-batches of a step are equal and TRL normalises the loss over the step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

#: Share of the available memory (after the reserve) the update's activations may use.
BUDGET_FRACTION = 0.5
#: On a CPU, at most this many worst-case tokens per micro-batch (speed, module docstring).
CPU_MICRO_BATCH_TOKENS = 2048


@dataclass(frozen=True)
class ModelShape:
    """The numbers of a decoder's config that the activation estimate needs."""

    layers: int
    hidden: int
    intermediate: int
    heads: int
    vocab: int
    params: int
    trainable: int

    @classmethod
    def of(cls, model: Any) -> ModelShape:
        cfg = getattr(model, "config", None)
        cfg = getattr(cfg, "text_config", None) or cfg  # a vision-language model: its text decoder
        hidden = int(getattr(cfg, "hidden_size", 0) or 0)
        params = sum(p.numel() for p in model.parameters())
        return cls(
            layers=int(getattr(cfg, "num_hidden_layers", 0) or 0),
            hidden=hidden,
            intermediate=int(getattr(cfg, "intermediate_size", 0) or 4 * hidden),
            heads=int(getattr(cfg, "num_attention_heads", 0) or 0),
            vocab=int(getattr(cfg, "vocab_size", 0) or 0),
            params=params,
            trainable=sum(p.numel() for p in model.parameters() if p.requires_grad),
        )


def bytes_per_sample(shape: ModelShape, seq_len: int, completion_len: int, fp32: bool = False) -> int:
    """Worst-case activation bytes of one sample's forward + backward (module docstring)."""
    s, m = seq_len, shape
    body = m.layers * s * (34 * m.hidden + 8 * m.intermediate + 256)
    attention = m.layers * m.heads * s * s * 6
    head = 12 * m.vocab * completion_len
    return int((body + attention) * (2 if fp32 else 1) + head)


def reserve_bytes(shape: ModelShape, lora: bool) -> int:
    """What the step will still allocate besides activations (module docstring)."""
    trainable = shape.trainable if not lora else 0  # LoRA's adapters are tiny next to the model
    return 12 * trainable + 4 * shape.params


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as fh:
            text = fh.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def available_bytes(meminfo: str = "/proc/meminfo", cgroup: str = "/sys/fs/cgroup") -> int | None:
    """Memory a new allocation can get now: ``MemAvailable``, lowered to the cgroup's headroom
    where the process runs under a limit; ``None`` where neither can be read."""
    avail: int | None = None
    try:
        with open(meminfo, encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        avail = None
    if avail is None and hasattr(os, "sysconf"):  # no /proc: free pages, where the OS reports them
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError):
            avail = None
    limit, used = _read_int(os.path.join(cgroup, "memory.max")), _read_int(os.path.join(cgroup, "memory.current"))
    if limit is not None and used is not None:
        room = max(limit - used, 0)
        avail = room if avail is None else min(avail, room)
    return avail


def device_available_bytes() -> int | None:
    """Free memory on the current CUDA device, ``None`` without one."""
    import torch

    if not torch.cuda.is_available():
        return None
    return int(torch.cuda.mem_get_info()[0])


@dataclass(frozen=True)
class MicroBatchChoice:
    """The chosen size and the numbers behind it (logged; the size goes to run.json).
    ``auto`` false: the user's integer, taken as it is."""

    size: int
    auto: bool = True
    bytes_per_sample: int = 0
    budget_bytes: int | None = None
    available_bytes: int | None = None
    speed_cap: int | None = None  # the CPU's cap, when it was lower than what memory allows

    def describe(self) -> str:
        if not self.auto:
            return f"{self.size} (set in the config)"
        if self.budget_bytes is None or self.available_bytes is None:
            return f"{self.size} (auto: available memory unknown, the smallest)"
        cap = f", capped at {self.speed_cap} samples for speed on a CPU" if self.speed_cap is not None else ""
        return (
            f"{self.size} (auto: {self.bytes_per_sample / 2**20:.0f} MiB per sample worst case, budget "
            f"{self.budget_bytes / 2**30:.1f} GiB of {self.available_bytes / 2**30:.1f} GiB available{cap})"
        )


def choose_micro_batch(
    samples: int,
    per_sample: int,
    available: int | None,
    reserve: int,
    processes: int = 1,
    max_size: int | None = None,
) -> MicroBatchChoice:
    """The largest divisor of ``samples`` (one process's samples per step) whose activations
    fit ``BUDGET_FRACTION`` of ``available`` minus ``reserve`` (shared by ``processes`` on this
    machine) and, given ``max_size`` (the CPU's speed cap), is at most that; 1 when memory
    cannot be read or not even one sample fits."""
    if available is None:
        return MicroBatchChoice(size=1, bytes_per_sample=per_sample)
    budget = max(int((available - reserve * processes) * BUDGET_FRACTION) // max(processes, 1), 0)
    fits = [d for d in range(1, samples + 1) if samples % d == 0 and d * per_sample <= budget]
    size = max(fits, default=1)
    capped = None
    if max_size is not None and size > max_size:
        size = max((d for d in fits if d <= max_size), default=1)
        capped = max_size
    return MicroBatchChoice(
        size=size, bytes_per_sample=per_sample, budget_bytes=budget, available_bytes=available, speed_cap=capped
    )


def resolve_micro_batch(cfg: Any, model: Any, longest_prompt: int | None = None) -> MicroBatchChoice:
    """``train.micro_batch_size`` as a number: the user's integer, or ``auto`` from memory
    (``longest_prompt``: tokens of the data's longest prompt, a tighter bound than the config's)."""
    from ttrl_kit.engines.embedded.config import world_size

    per_rank = cfg.train.prompts_per_step * cfg.ttrl.n_train // world_size()
    setting = cfg.train.micro_batch_size
    if setting != "auto":
        return MicroBatchChoice(size=int(setting), auto=False)
    shape = ModelShape.of(model)
    g = cfg.generation
    seq_len = min(longest_prompt or g.max_prompt_length, g.max_prompt_length) + g.max_completion_length
    per_sample = bytes_per_sample(shape, seq_len, g.max_completion_length, fp32=cfg.model.dtype == "fp32")
    on_device = device_available_bytes()
    avail = on_device if on_device is not None else available_bytes()
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1) if on_device is None else 1
    cap = None if on_device is not None else max(1, CPU_MICRO_BATCH_TOKENS // max(seq_len, 1))
    return choose_micro_batch(per_rank, per_sample, avail, reserve_bytes(shape, bool(cfg.model.lora)), local, cap)
