"""Samplers: chat prompts -> n responses each.  The grid code depends only on the
:class:`Sampler` protocol, so it is tested with a fake sampler and a tiny random model, and a
different backend (vLLM, an API) is one class.

The Hugging Face sampler loads models through the embedded engine's loader
(``ttrl_kit.engines.embedded.models.load_model``), so ``smollm2-135m`` (the offline GGUF
conversion), ``tiny-random``, local directories and hub ids mean exactly what they mean to
``ttrl-kit train``.  A vision-language checkpoint (Qwen2-VL / Qwen2.5-VL) loads with its
processor and samples the image prompts of a visual task; a text-only model records those
cells as skipped.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ttrl_kit.bench.config import ModelSpec, SamplingSpec
from ttrl_kit.core.errors import ConfigError

Messages = Sequence[Mapping[str, Any]]


class UnsupportedPrompt(Exception):
    """The model cannot take this prompt (e.g. images for a text-only model): the cell is
    recorded as skipped with this message instead of failing the grid."""


@runtime_checkable
class Sampler(Protocol):
    """``sampler(prompts, spec, seed) -> [[response] * spec.n for each prompt]``.

    Must be deterministic for a given ``seed`` and prompt batch: resumed runs redo a batch
    with the same seed and get the same rollouts."""

    def __call__(self, prompts: Sequence[Messages], spec: SamplingSpec, seed: int) -> list[list[str]]: ...


@dataclass
class SampleStats:
    """Throughput of the last call (the HF sampler fills it; others may leave zeros)."""

    seconds: float = 0.0
    new_tokens: int = 0


def has_images(messages: Messages) -> bool:
    """True when a chat prompt carries non-text content blocks (images)."""
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            for block in content:
                if isinstance(block, Mapping) and block.get("type") not in (None, "text"):
                    return True
    return False


def flatten_text(messages: Messages) -> list[dict[str, str]]:
    """Messages whose content is typed text blocks become plain strings (templates of text
    models expect strings)."""
    out = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            content = "".join(b.get("text", "") for b in content if isinstance(b, Mapping))
        out.append({"role": str(m.get("role", "user")), "content": str(content or "")})
    return out


class HFSampler:
    """Sampling through the embedded engine's own ``generate.sample`` (HF ``generate``, left
    padding, ``num_return_sequences = n``, completions cut at the first eos), so bench
    numbers and ``ttrl-kit eval`` / the train run's before/after numbers are measured the
    same way.  ``bf16`` means fp32 weights with bf16 autocast, as in the engine."""

    def __init__(self, spec: ModelSpec, *, seed: int = 0) -> None:
        from ttrl_kit.engines.embedded.models import load_model

        self.spec = spec
        loaded = load_model(spec.name, seed=seed)
        self.model = loaded.model
        self.tokenizer = loaded.tokenizer
        self.source = loaded.source
        self.model.eval()
        self.stats = SampleStats()
        self.signals: tuple[str, ...] = ()
        #: Per prompt of the last call, ``{signal: [[per-token values] per response]}``.
        self.last_signals: list[dict[str, list[list[Any]]]] = []

    def record_signals(self, names: Sequence[str]) -> None:
        """Also capture these per-token signals from generate's own logits (see
        ``ttrl_kit.engines.embedded.signals``) on every later call."""
        self.signals = tuple(names)

    def __call__(self, prompts: Sequence[Messages], spec: SamplingSpec, seed: int) -> list[list[str]]:
        import torch

        from ttrl_kit.engines.embedded.generate import sample
        from ttrl_kit.engines.embedded.vision import is_processor

        chats: list[list[dict[str, Any]]]
        if is_processor(self.tokenizer):  # image-text model: chats keep their image parts
            chats = [[dict(m) for m in p] for p in prompts]
        elif any(has_images(p) for p in prompts):
            raise UnsupportedPrompt(f"model {self.spec.name!r} is text-only; this task's prompts carry images")
        else:
            chats = [flatten_text(p) for p in prompts]
        from ttrl_kit.engines.embedded.signals import SignalCapture

        torch.manual_seed(seed)
        t0 = time.perf_counter()
        capture = SignalCapture(self.signals)
        with capture.on(self.model):
            texts, lengths = sample(
                self.model,
                self.tokenizer,
                chats,
                spec.n,
                temperature=spec.temperature,
                top_p=spec.top_p,
                top_k=spec.top_k,
                max_new_tokens=spec.max_new_tokens,
                dtype=self.spec.dtype,
            )
        self.last_signals = []
        if self.signals:
            rows = capture.for_lengths([x for per in lengths for x in per])
            for j in range(len(chats)):
                group = rows[j * spec.n : (j + 1) * spec.n]
                self.last_signals.append({name: [_round(r[name]) for r in group] for name in self.signals})
        self.stats = SampleStats(seconds=time.perf_counter() - t0, new_tokens=sum(sum(x) for x in lengths))
        return [list(t) for t in texts]


def _round(values: Sequence[Any]) -> list[Any]:
    """5 decimals are plenty for a reward and keep the rollout files small."""
    return [[round(x, 5) for x in v] if isinstance(v, (list, tuple)) else round(float(v), 5) for v in values]


def load_sampler(spec: ModelSpec, *, seed: int = 0) -> Sampler:
    """The sampler for a model spec; model-loading failures become one-line ConfigErrors."""
    try:
        return HFSampler(spec, seed=seed)
    except ConfigError:
        raise
    except ImportError as exc:
        raise ConfigError(
            f"model {spec.name!r}: the bench needs the train extra (pip install 'ttrl-kit[train]'): {exc}"
        ) from None
