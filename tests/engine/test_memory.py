"""``train.micro_batch_size: auto``: the micro-batch comes from the memory available and a
per-sample activation estimate (memory.py); a user's integer wins."""

from __future__ import annotations

import pytest
import torch

from ttrl_kit.core.errors import ConfigError
from ttrl_kit.engines.embedded import memory
from ttrl_kit.engines.embedded.config import from_mapping
from ttrl_kit.engines.embedded.trainer import grpo_config

GiB, MiB = 2**30, 2**20


def test_the_largest_divisor_that_fits_half_of_what_is_left():
    # 64 samples, 282 MiB each; 10 GiB available, 2 GiB still to be allocated: budget 4 GiB -> 14 fit -> 8
    c = memory.choose_micro_batch(64, 282 * MiB, 10 * GiB, 2 * GiB)
    assert (c.size, c.budget_bytes) == (8, 4 * GiB)
    assert memory.choose_micro_batch(64, 282 * MiB, 40 * GiB, 2 * GiB).size == 64
    assert memory.choose_micro_batch(48, 282 * MiB, 40 * GiB, 2 * GiB).size == 48
    assert memory.choose_micro_batch(64, 282 * MiB, 20 * GiB, 2 * GiB).size == 32  # 9 GiB: 32.7 samples fit
    # not even one sample fits, or memory unknown: the smallest
    assert memory.choose_micro_batch(64, 282 * MiB, 2 * GiB, 2 * GiB).size == 1
    unknown = memory.choose_micro_batch(64, 282 * MiB, None, 2 * GiB)
    assert unknown.size == 1 and "unknown" in unknown.describe()
    # two processes on the machine share the budget
    assert memory.choose_micro_batch(32, 282 * MiB, 10 * GiB, 1 * GiB, processes=2).size == 4
    # the CPU's speed cap: the largest divisor that fits AND is at most the cap
    capped = memory.choose_micro_batch(64, 161 * MiB, 20 * GiB, 1 * GiB, max_size=17)
    assert (capped.size, capped.speed_cap) == (16, 17) and "for speed" in capped.describe()
    loose = memory.choose_micro_batch(64, 282 * MiB, 10 * GiB, 2 * GiB, max_size=17)
    assert (loose.size, loose.speed_cap) == (8, None)  # memory is the tighter bound: no cap reported


def test_available_memory_reads_meminfo_and_a_cgroup_limit(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   12000000 kB\n")
    cg = tmp_path / "cg"
    cg.mkdir()
    assert memory.available_bytes(str(meminfo), str(cg)) == 12000000 * 1024
    (cg / "memory.max").write_text("8000000000\n")
    (cg / "memory.current").write_text("3000000000\n")
    assert memory.available_bytes(str(meminfo), str(cg)) == 5_000_000_000  # the limit's headroom is lower
    (cg / "memory.max").write_text("max\n")  # no limit
    assert memory.available_bytes(str(meminfo), str(cg)) == 12000000 * 1024


def _cfg(smoke_dict, micro):
    d = {**smoke_dict, "train": {**smoke_dict["train"], "micro_batch_size": micro}}
    return from_mapping(d, "smoke.yaml")


def test_auto_resolves_from_memory_and_an_integer_wins(smoke_dict, tmp_path, monkeypatch):
    from ttrl_kit.engines.embedded import models

    model = models.load_model("tiny-random").model
    shape = memory.ModelShape.of(model)
    cfg = _cfg(smoke_dict, "auto")
    per_step = cfg.train.prompts_per_step * cfg.ttrl.n_train
    g = cfg.generation
    fp32 = cfg.model.dtype == "fp32"  # the smoke config trains in fp32: activations twice as large
    per_sample = memory.bytes_per_sample(shape, g.max_prompt_length + g.max_completion_length, g.max_completion_length, fp32)
    reserve = memory.reserve_bytes(shape, lora=False)
    monkeypatch.setattr(memory, "device_available_bytes", lambda: None)
    # room for exactly 2 samples (budget = half of what is left after the reserve)
    monkeypatch.setattr(memory, "available_bytes", lambda: reserve + 2 * (2 * per_sample + 1))
    choice = memory.resolve_micro_batch(cfg, model)
    assert choice.auto and choice.size == 2 and choice.bytes_per_sample == per_sample
    args = grpo_config(cfg, tmp_path, choice.size)
    assert (args.per_device_train_batch_size, args.gradient_accumulation_steps) == (2, per_step // 2)
    monkeypatch.setattr(memory, "available_bytes", lambda: 100 * GiB)
    monkeypatch.setattr(memory, "CPU_MICRO_BATCH_TOKENS", 10**9)
    assert memory.resolve_micro_batch(cfg, model).size == per_step  # plenty, no speed cap: one pass
    # on a CPU the speed cap binds once a micro-batch would exceed CPU_MICRO_BATCH_TOKENS tokens
    seq = g.max_prompt_length + g.max_completion_length
    monkeypatch.setattr(memory, "CPU_MICRO_BATCH_TOKENS", 2 * seq)
    capped = memory.resolve_micro_batch(cfg, model)
    assert capped.size == 2 and capped.speed_cap == 2
    monkeypatch.setattr(memory, "device_available_bytes", lambda: 100 * GiB)  # a GPU: no cap
    assert memory.resolve_micro_batch(cfg, model).size == per_step
    monkeypatch.setattr(memory, "device_available_bytes", lambda: None)
    # a user-set integer is taken as it is, whatever the memory says
    monkeypatch.setattr(memory, "available_bytes", lambda: 1)
    fixed = memory.resolve_micro_batch(_cfg(smoke_dict, 4), model)
    assert (fixed.size, fixed.auto) == (4, False) and "config" in fixed.describe()


def test_auto_is_the_default_and_bad_values_are_config_errors(smoke_dict):
    d = {**smoke_dict, "train": {k: v for k, v in smoke_dict["train"].items() if k != "micro_batch_size"}}
    assert from_mapping(d, "smoke.yaml").train.micro_batch_size == "auto"
    for bad in ("big", 0, 3):
        with pytest.raises(ConfigError, match="'train.micro_batch_size'"):
            _cfg(smoke_dict, bad)


def _saved_bytes(model, rows: int, seq: int, comp: int) -> int:
    """Bytes autograd keeps for the backward of the engine's lean log-prob computation."""
    from ttrl_kit.engines.embedded.lean_step import compact_logps

    seen: dict[tuple[int, torch.dtype], int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        st = t.untyped_storage()
        seen[(st.data_ptr(), t.dtype)] = st.nbytes()
        return t

    torch.manual_seed(0)
    ids = torch.randint(3, model.config.vocab_size, (rows, seq))
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), torch.autocast("cpu", dtype=torch.bfloat16):
        compact_logps(model.model, model.lm_head, ids, torch.ones_like(ids), comp)
    params = {(p.untyped_storage().data_ptr(), p.dtype) for p in model.parameters()}
    return sum(v for k, v in seen.items() if k not in params)


def test_the_estimate_bounds_what_autograd_really_keeps_per_sample():
    """Measured, not assumed: the difference between 3 samples and 1 sample of the real
    forward (constants such as autocast's weight cache cancel) is what one sample keeps;
    the estimate must cover it (it adds the LM head's transient exp and gradient) without
    being far above it."""
    from ttrl_kit.engines.embedded import models

    model = models.load_model("tiny-random").model
    model.set_attn_implementation("eager")
    model.train()
    shape = memory.ModelShape.of(model)
    for seq, comp in ((48, 16), (96, 32)):
        per_sample = (_saved_bytes(model, 3, seq, comp) - _saved_bytes(model, 1, seq, comp)) / 2
        est = memory.bytes_per_sample(shape, seq, comp)
        saved_part = est - 8 * shape.vocab * comp  # the estimate without the head's transients
        assert 0.85 * per_sample <= saved_part <= 1.15 * per_sample, (seq, per_sample, saved_part)
        assert per_sample <= est <= 1.5 * per_sample
