"""``train.threads: auto``: pick the torch thread count by timing it, not by guessing.

Why measure: on a shared 2-core machine neither choice is always right.  With the cores
otherwise idle, 2 threads are ~1.4x faster than 1.  With the cores oversubscribed (load
average ~10 on 2 cores, other jobs running), every OpenMP parallel region waits at its barrier
for a thread the scheduler has parked: sampling with 2 threads measured 6-9x SLOWER than with
1 while burning 15x the CPU time, and a forward + backward 3-4x slower
(benchmarks/results/engine_step.md).  The load average or /proc/stat cannot tell these cases
apart reliably (moderate load: 2 threads still win), a timing can: :func:`probe` runs the kind
of work that suffers (many small ops, each one parallel region, as in a decode step) with each
candidate count.  The choice is re-made at each optimizer step (:class:`ThreadsCallback`),
because other jobs start and stop during a run.

How the timing is read, and why (the first version mis-picked under a bursty load):

* It kept the *fastest* of two short rounds per candidate.  The all-cores timing is the noisy
  one under load (fast while the other job sleeps, stalled while it runs), so its best round
  is its luckiest, and a 40-120 s step pays every stall, not the best case: a fresh-clone demo
  run beside a CI job got all cores on two steps that then took 123 s and 144 s against ~60 s
  for its 1-thread steps.  Now each candidate is scored by its *mean* over the rounds.
* The rounds alternate the order of the candidates, and 1 thread is chosen only when it beats
  every core by :data:`MARGIN` in the mean *and* in at least 3 rounds with at most one round
  against (3 of 3, or 4 of 5).  When the rounds disagree more than that, the measurement is
  noise (the load changed under the probe) and the probe falls back to the safe choice, the
  default (every usable core): ``auto`` then does exactly what not setting it does, so it is
  never slower than the default by more than its own cost (two rounds, a few hundredths of a
  second on idle cores, where every core wins each round).
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass

#: 1 thread must be this factor faster than every core (in the mean and per round) to be chosen.
MARGIN = 1.15
#: Interleaved rounds at most; the probe stops early once the outcome cannot change.
ROUNDS = 5


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


@dataclass(frozen=True)
class ThreadsProbe:
    """What :func:`probe` measured: the choice, each candidate's seconds per round (in the order
    run) and whether the rounds agreed (``noisy``: they did not, so the default was kept)."""

    choice: int
    seconds: dict[int, tuple[float, ...]]
    noisy: bool

    def mean(self, threads: int) -> float:
        return statistics.fmean(self.seconds[threads])


def probe(ncpu: int | None = None, ops: int = 60, rounds: int = ROUNDS) -> ThreadsProbe:
    """Time ``ops`` small parallel ops with 1 thread and with every usable core, in up to
    ``rounds`` interleaved rounds (the order alternates, so a load change hits both alike);
    see the module docstring for the rule."""
    ncpu = ncpu or usable_cores()
    if ncpu <= 1:
        return ThreadsProbe(choice=1, seconds={1: ()}, noisy=False)
    seconds: dict[int, list[float]] = {1: [], ncpu: []}
    one_wins = other = 0
    for r in range(rounds):
        for t in (1, ncpu) if r % 2 == 0 else (ncpu, 1):
            seconds[t].append(_time_small_ops(t, ops))
        if seconds[1][-1] * MARGIN < seconds[ncpu][-1]:
            one_wins += 1
        else:
            other += 1
        if other >= 2 or (one_wins >= 3 and other == 0) or one_wins >= 4:
            break  # decided: the outcome cannot change any more
    done = {t: tuple(v) for t, v in seconds.items()}
    one_clearly = statistics.fmean(done[1]) * MARGIN < statistics.fmean(done[ncpu])
    one_consistent = one_wins >= 3 and other <= 1
    choice = 1 if one_clearly and one_consistent else ncpu
    noisy = one_wins > 0 and other > 0  # the rounds disagreed
    return ThreadsProbe(choice=choice, seconds=done, noisy=noisy)


try:
    from transformers import TrainerCallback as _Callback
except ImportError:  # pragma: no cover - transformers is a dependency of the engine
    _Callback = object  # type: ignore[assignment,misc]


class ThreadsCallback(_Callback):
    """Re-probes the thread count before each optimizer step (``train.threads: auto``)."""

    def __init__(self, log: list[ThreadsProbe] | None = None) -> None:
        self.log = log if log is not None else []

    def on_step_begin(self, args, state, control, **kw):
        import torch

        result = probe()
        torch.set_num_threads(result.choice)
        self.log.append(result)
