"""Sampling with HF ``generate`` without its CPU overheads (measured in benchmarks/engine_step).

Three costs dominate sampling from a small model on a CPU, none of them the model's work:

* ``torch.multinomial`` over the 49,152-wide vocabulary took ~90 ms per decode step for 64
  rows (of a ~250 ms step).  :class:`InverseCdfSampler` draws the same distribution with one
  uniform number per row, a float64 cumulative sum and a binary search (~2 ms), and hands
  ``generate`` scores whose arg-max is the drawn token, so ``generate`` runs its greedy loop.
* Autocast over fp32 weights re-casts every weight to bf16 at every decode step.
  :class:`GenerationCopy` keeps one bf16 copy of the policy for sampling and refreshes it in
  place (a copy of the weights, ~0.1 s) only when the policy changed.
* Many small ``generate`` calls pay the per-step overhead many times: callers pass all the
  samples of a step in one call.

The distribution is exactly the one ``generate(do_sample=True, temperature, top_k, top_p)``
samples from (temperature, then top-k, then top-p, as HF applies its warpers); only the
random numbers that pick from it differ.
"""

from __future__ import annotations

from typing import Any

import torch

_DTYPES = {"bf16": torch.bfloat16, "fp32": torch.float32}


class InverseCdfSampler:
    """A ``LogitsProcessor`` that samples the next token and returns scores that are 0 at the
    drawn token and -inf elsewhere (so greedy decoding emits exactly the draw)."""

    def __init__(
        self, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, generator: torch.Generator | None = None
    ) -> None:
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature
        self.top_k = top_k
        self.top_p = top_p
        self.generator = generator

    def probs(self, scores: torch.Tensor) -> torch.Tensor:
        """The sampling distribution per row (after temperature, top-k and top-p), fp32."""
        logits = scores.float() / self.temperature
        if self.top_k and 0 < self.top_k < logits.shape[-1]:
            kth = torch.topk(logits, self.top_k, dim=-1).values[..., -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        probs = torch.softmax(logits, dim=-1)
        if self.top_p < 1.0:
            sorted_p, idx = torch.sort(probs, dim=-1, descending=True)
            # keep the smallest prefix whose mass reaches top_p (always the most likely token)
            drop_sorted = (sorted_p.cumsum(-1) - sorted_p) >= self.top_p
            drop = drop_sorted.scatter(-1, idx, drop_sorted)
            probs = probs.masked_fill(drop, 0.0)
            probs = probs / probs.sum(-1, keepdim=True)
        return probs

    def draw(self, scores: torch.Tensor) -> torch.Tensor:
        """One token id per row, shape ``(rows,)``."""
        probs = self.probs(scores)
        cdf = probs.double().cumsum(-1)
        u = torch.rand((probs.shape[0], 1), generator=self.generator, dtype=torch.float64, device=probs.device)
        idx = torch.searchsorted(cdf, u * cdf[:, -1:], right=True)
        idx = idx.clamp_(max=probs.shape[-1] - 1)
        # a zero-probability token can only be hit at the boundary of float rounding: step back to a live one
        bad = probs.gather(-1, idx) <= 0
        if bool(bad.any()):
            idx[bad] = probs[bad.squeeze(-1)].argmax(-1)
        return idx.squeeze(-1)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        tok = self.draw(scores)
        out = torch.full_like(scores, float("-inf"))
        out.scatter_(-1, tok.unsqueeze(-1), 0.0)
        return out


class GenerationCopy:
    """A sampling copy of a policy in ``dtype`` (bf16 by default), refreshed in place from the
    policy's weights when :meth:`get` is called with a new ``version`` (e.g. the global step)."""

    def __init__(self, dtype: str = "bf16") -> None:
        self.dtype = _DTYPES[dtype]
        self.model: Any = None
        self.version: Any = object()

    def get(self, policy: Any, version: Any) -> Any:
        if all(p.dtype == self.dtype for p in policy.parameters()):
            return policy  # already in the sampling dtype (e.g. train.bf16_weights): nothing to copy
        if self.model is None:
            from ttrl_kit.engines.embedded.models import independent_copy

            # not copy.deepcopy: instance-level forward/generate patches would run the policy
            self.model = independent_copy(policy).to(self.dtype).eval()
            for p in self.model.parameters():
                p.requires_grad_(False)
        elif version != self.version:
            with torch.no_grad():
                for dst, src in zip(self.model.parameters(), policy.parameters()):
                    dst.copy_(src)
        self.version = version
        return self.model


def generate_ids(
    model: Any,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    *,
    n: int = 1,
    temperature: float,
    top_p: float = 1.0,
    top_k: int = 0,
    max_new_tokens: int,
    pad_token_id: int,
    eos_token_id: int | list[int],
    static_cache: bool = False,
) -> torch.Tensor:
    """``n`` sampled continuations per row of a left-padded batch, all rows in ONE generate
    call; returns the generated ids ``(rows * n, <= max_new_tokens)`` (prompt stripped, rows
    of one prompt adjacent, padded with ``pad_token_id`` after the end)."""
    from transformers import GenerationConfig, LogitsProcessorList

    if n > 1:
        input_ids = input_ids.repeat_interleave(n, dim=0)
        attention_mask = attention_mask.repeat_interleave(n, dim=0)
    gc = GenerationConfig(
        do_sample=False,
        max_new_tokens=max_new_tokens,
        pad_token_id=pad_token_id,
        eos_token_id=eos_token_id,
        num_beams=1,
        cache_implementation="static" if static_cache else None,
    )
    sampler = InverseCdfSampler(temperature=temperature, top_k=top_k, top_p=top_p)
    with torch.no_grad():
        out = model.generate(
            input_ids=input_ids,
            attention_mask=attention_mask,
            generation_config=gc,
            logits_processor=LogitsProcessorList([sampler]),
        )
    return out[:, input_ids.shape[1] :]
