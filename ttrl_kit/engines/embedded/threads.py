"""``train.threads: auto``: pick the torch thread count by timing it, not by guessing.

Why measure: on a shared 2-core machine neither choice is always right.  With the cores
otherwise idle, 2 threads are ~1.4x faster than 1.  With the cores oversubscribed (load
average ~10 on 2 cores, other jobs running), every OpenMP parallel region waits at its barrier
for a thread the scheduler has parked, and sampling with 2 threads measured 6-9x SLOWER than
with 1 while burning 15x the CPU time (benchmarks/results/engine_step.md).  The load average
or /proc/stat cannot tell these cases apart reliably (moderate load: 2 threads still win), a
timing can: :func:`probe` runs the kind of work that suffers (many small ops, each one
parallel region, as in a decode step) with each candidate count, and the fastest wins;
within 15 % the default (every usable core) wins, so ``auto`` is never slower than not
setting it by more than the probe's noise.  The choice is re-made at each optimizer step
(:class:`ThreadsCallback`), because other jobs start and stop during a run.
"""

from __future__ import annotations

import os
import time

#: A choice within this factor of the default's time keeps the default.
MARGIN = 1.15


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _time_small_ops(threads: int, ops: int) -> float:
    import torch

    prev = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        x = torch.randn(64, 576, dtype=torch.bfloat16)  # one MLP matmul of a 64-row decode step
        w = torch.randn(576, 1536, dtype=torch.bfloat16)
        t0 = time.perf_counter()
        for _ in range(ops):
            torch.nn.functional.silu(x @ w)
        return time.perf_counter() - t0
    finally:
        torch.set_num_threads(prev)


def probe(ncpu: int | None = None, ops: int = 60, rounds: int = 2) -> tuple[int, dict[int, float]]:
    """(thread count to use, best seconds per candidate) from timing ``ops`` small
    parallel ops with 1 thread and with every usable core, interleaved ``rounds`` times."""
    ncpu = ncpu or usable_cores()
    candidates = sorted({1, ncpu})
    best: dict[int, float] = {}
    for _ in range(rounds):
        for t in candidates:
            s = _time_small_ops(t, ops)
            best[t] = min(best.get(t, s), s)
    choice = ncpu
    if best[1] * MARGIN < best[ncpu]:
        choice = 1
    return choice, best


try:
    from transformers import TrainerCallback as _Callback
except ImportError:  # pragma: no cover - transformers is a dependency of the engine
    _Callback = object  # type: ignore[assignment,misc]


class ThreadsCallback(_Callback):
    """Re-probes the thread count before each optimizer step (``train.threads: auto``)."""

    def __init__(self, log: list[int] | None = None) -> None:
        self.log = log if log is not None else []

    def on_step_begin(self, args, state, control, **kw):
        import torch

        choice, _ = probe()
        torch.set_num_threads(choice)
        self.log.append(choice)
