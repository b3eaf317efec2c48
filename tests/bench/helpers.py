"""A fake sampler for bench tests: deterministic, counts its calls, answers arithmetic
prompts right with a fixed probability (so every metric has a value to check)."""

from __future__ import annotations

import random
import re
from typing import Any

from ttrl_kit.bench.sampling import UnsupportedPrompt, has_images


def question_sum(messages: Any) -> int:
    """The true answer of an arithmetic prompt ('What is 3 + 4?')."""
    text = " ".join(m["content"] for m in messages if isinstance(m.get("content"), str))
    expr = re.search(r"(\d+)\s*([+*-])\s*(\d+)", text)
    a, op, b = int(expr.group(1)), expr.group(2), int(expr.group(3))
    return a + b if op == "+" else a * b if op == "*" else a - b


class FakeSampler:
    def __init__(self, p_correct: float = 0.6, fail_after: int | None = None) -> None:
        self.p_correct = p_correct
        self.calls: list[tuple[int, int]] = []  # (prompts in call, seed)
        self.fail_after = fail_after

    def __call__(self, prompts, spec, seed):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise KeyboardInterrupt("simulated crash")
        self.calls.append((len(prompts), seed))
        r = random.Random(seed)
        out = []
        for p in prompts:
            if has_images(p):
                raise UnsupportedPrompt("fake model is text-only")
            truth = question_sum(p)
            group = []
            for _ in range(spec.n):
                x = r.random()
                if x < self.p_correct:
                    group.append(f"so the answer is {truth}")
                elif x < 0.9:
                    group.append(f"I think it is {truth + r.randint(1, 2)}")
                else:
                    group.append("no idea")
            out.append(group)
        return out


class Factory:
    """``sampler_factory`` for run_bench that records which models were loaded."""

    def __init__(self, **kw: Any) -> None:
        self.kw = kw
        self.loaded: list[str] = []
        self.samplers: list[FakeSampler] = []

    def __call__(self, spec, seed):
        self.loaded.append(spec.id)
        s = FakeSampler(**self.kw)
        self.samplers.append(s)
        return s

    @property
    def calls(self) -> int:
        return sum(len(s.calls) for s in self.samplers)


def never(spec, seed):
    raise AssertionError(f"model {spec.id} loaded although every cell was cached")
