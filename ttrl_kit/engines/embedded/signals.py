"""Per-token signals from the logits HF ``generate`` already computes (no second forward).

:class:`SignalCapture` wraps one model's ``generate`` for the duration of a ``with`` block.
During that call a forward hook on the causal LM reads each decoding step's last-position
logits, which the sampler computes anyway, and reduces them at once to what the estimator
needs (``GroupScorer.needs``; nothing when it needs nothing):

* ``entropy`` = ``-sum_j p_j log p_j`` and ``self_certainty`` = ``-log V - mean_j log p_j``
  (Intuitor's KL(U || p)) per row, exact over the full vocabulary;
* ``logprob`` of the sampled token: the next step's input is the token sampled from the
  previous step's logits, so we gather it then; the last token is gathered after
  ``generate`` returns, from the returned sequences;
* ``topk_logprobs``: the :data:`TOPK` largest log-probabilities per step.

All of them are computed on the **raw** logits (the model's own distribution at
temperature 1, before temperature / top-k / top-p processing), which is what Intuitor,
RENT and DeepConf define them on; the sampler's processed distribution would make them
depend on sampling settings.  Only one step's log-softmax is held at a time, so memory is
one ``batch x vocab`` tensor, not one per generated token.

The captured rows are matched to completions by their token ids (:meth:`for_completions`),
so a reordering between generation and reward would be caught, not silently mis-assigned.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ttrl_kit.core.records import Signals
from ttrl_kit.core.topk import DEFAULT_TOPK

TOPK = DEFAULT_TOPK
"""k of ``topk_logprobs``: the same k as every engine (:data:`ttrl_kit.core.topk.DEFAULT_TOPK`)."""

SUPPLIED = ("logprob", "entropy", "self_certainty", "topk_logprobs")
"""Everything the embedded engine supplies when it generates with HF ``generate``."""


class SignalMismatch(RuntimeError):
    """Captured signal rows do not match the completions they are asked for."""


@dataclass
class CapturedBatch:
    """One ``generate`` call: per row the generated token ids and per-step values."""

    tokens: list[list[int]] = field(default_factory=list)
    values: dict[str, list[list[Any]]] = field(default_factory=dict)

    def row(self, i: int, length: int) -> dict[str, tuple[Any, ...]]:
        return {name: tuple(v[i][:length]) for name, v in self.values.items()}


def _logits_module(model: Any) -> Any:
    """The module whose forward returns ``.logits`` (inside a PEFT wrapper if any)."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


class SignalCapture:
    """Collects the signals in ``needs`` from every ``generate`` made inside :meth:`on`."""

    def __init__(self, needs: Sequence[str], topk: int = TOPK) -> None:
        unknown = [n for n in needs if n not in SUPPLIED]
        if unknown:
            raise ValueError(f"the embedded engine cannot supply {unknown}")
        self.needs = tuple(needs)
        self.topk = topk
        self.batches: list[CapturedBatch] = []
        #: Signals of the extra (voting, not trained) samples of the current step, by prompt id.
        self.extra: dict[str, Signals] = {}
        self.seconds = 0.0  # time spent reducing logits (the overhead; reset by the reader)

    def clear(self) -> None:
        self.batches = []
        self.extra = {}

    @contextlib.contextmanager
    def on(self, model: Any) -> Iterator[SignalCapture]:
        """Route ``model.generate`` through the capture while the block runs."""
        if not self.needs:
            yield self
            return
        original = model.generate

        def generate(*args: Any, **kwargs: Any) -> Any:
            return self._generate(original, model, *args, **kwargs)

        model.generate = generate
        try:
            yield self
        finally:
            try:
                del model.generate
            except AttributeError:
                model.generate = original

    # -- the capture ---------------------------------------------------------------------
    def _generate(self, original: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
        import time

        import torch

        state: dict[str, Any] = {"prev": None, "steps": 0}
        cols: dict[str, list[Any]] = {n: [] for n in self.needs}

        def hook(module: Any, f_args: Any, f_kwargs: Any, output: Any) -> None:
            logits = getattr(output, "logits", None)
            if logits is None and isinstance(output, tuple) and output:
                logits = output[0]
            if logits is None:
                return
            t0 = time.perf_counter()
            with torch.no_grad():
                logp = torch.log_softmax(logits[:, -1, :].float(), dim=-1)
                if "logprob" in cols:
                    ids = f_kwargs.get("input_ids") if isinstance(f_kwargs, dict) else None
                    if state["prev"] is not None and ids is not None:
                        cols["logprob"].append(state["prev"].gather(-1, ids[:, -1:].to(logp.device)).squeeze(-1))
                    state["prev"] = logp
                if "entropy" in cols:
                    cols["entropy"].append(-(logp.exp() * logp).sum(-1))
                if "self_certainty" in cols:
                    cols["self_certainty"].append(-math.log(logp.shape[-1]) - logp.mean(-1))
                if "topk_logprobs" in cols:
                    cols["topk_logprobs"].append(logp.topk(min(self.topk, logp.shape[-1]), dim=-1).values)
            state["steps"] += 1
            self.seconds += time.perf_counter() - t0

        handle = _logits_module(model).register_forward_hook(hook, with_kwargs=True)
        try:
            out = original(*args, **kwargs)
        finally:
            handle.remove()
        seqs = out if isinstance(out, torch.Tensor) else getattr(out, "sequences", None)
        prompt = kwargs.get("input_ids", args[0] if args else None)
        if seqs is None or prompt is None:
            return out
        gen = seqs[:, prompt.shape[1] :]
        steps = gen.shape[1]
        t0 = time.perf_counter()
        if "logprob" in cols and state["prev"] is not None and steps > 0:
            cols["logprob"].append(state["prev"].gather(-1, gen[:, -1:].to(state["prev"].device)).squeeze(-1))
        batch = CapturedBatch(tokens=gen.tolist())
        for name, per_step in cols.items():
            per_step = per_step[:steps]
            if not per_step:
                batch.values[name] = [[] for _ in range(gen.shape[0])]
                continue
            stacked = torch.stack(per_step, dim=1).cpu()  # rows x steps (x k)
            batch.values[name] = stacked.tolist()
        self.seconds += time.perf_counter() - t0
        self.batches.append(batch)
        return out

    # -- handing rows out ----------------------------------------------------------------
    def for_completions(self, completion_ids: Sequence[Sequence[int]]) -> list[dict[str, tuple[Any, ...]]]:
        """Per-completion signals for completions given by token ids (each a prefix of a
        captured row, cut at its end-of-sequence), taken from the latest capture whose rows
        match; raises :class:`SignalMismatch` when none does."""
        for batch in reversed(self.batches):
            if len(batch.tokens) != len(completion_ids):
                continue
            if all(list(c) == row[: len(c)] for c, row in zip(completion_ids, batch.tokens)):
                return [batch.row(i, len(c)) for i, c in enumerate(completion_ids)]
        raise SignalMismatch(f"no captured generation matches these {len(completion_ids)} completions")

    def for_lengths(self, lengths: Sequence[int], batch_index: int = -1) -> list[dict[str, tuple[Any, ...]]]:
        """Per-row signals of one captured call, each row cut to ``lengths[i]`` tokens."""
        batch = self.batches[batch_index]
        if len(batch.tokens) != len(lengths):
            raise SignalMismatch(f"{len(lengths)} lengths for {len(batch.tokens)} captured rows")
        return [batch.row(i, n) for i, n in enumerate(lengths)]
