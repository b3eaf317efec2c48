"""Per-token signals from the top-k log-probabilities alone: what an engine that only sees
an inference server's top-k (vLLM's ``SamplingParams(logprobs=k)``) can supply.

``entropy`` and ``self_certainty`` are defined over the whole vocabulary (see
:data:`ttrl_kit.core.records.SIGNAL_NAMES`); with only the k largest log-probabilities
``l_1 >= ... >= l_k`` of a vocabulary of ``V`` tokens they can only be approximated.  Write
``p_i = exp(l_i)``, the head mass ``M = sum_i p_i`` and the tail mass ``R = 1 - M``, spread
over the ``V - k`` other tokens, each of which has probability at most ``p_k``.

* :func:`topk_entropy` puts the tail mass uniformly on the tail tokens:
  ``H_k = h - R log(R / (V - k))`` with ``h = -sum_i p_i l_i``.  A uniform tail has the
  largest entropy a tail of mass ``R`` can have, so ``H_k`` is an **upper bound** of the true
  entropy ``H``; every tail token has ``-log p >= -l_k``, so ``H >= h - R l_k``
  (:func:`entropy_bounds`), and ``H_k - H`` is at most ``R (l_k - log(R / (V - k)))``
  (:func:`entropy_error_bound`), which vanishes as ``R -> 0``.  The entropy of the
  renormalised top-k (``p_i / M``) was not used: it ignores the tail's share, falls outside
  these bounds and is further from ``H`` on every distribution the tests try.
* :func:`topk_self_certainty` puts the tail mass uniformly on the tail tokens:
  ``SC_k = -log V - (sum_i l_i + (V - k) log(R / (V - k))) / V``.  By Jensen's inequality
  ``sum_tail log p_j <= (V - k) log(R / (V - k))``, so ``SC_k`` is a **lower bound** of the
  true ``KL(U || p)``, equal to it when the tail is uniform.  No finite upper bound exists
  from the top-k alone (a tail token's log-probability can be arbitrarily small), and the
  tail dominates: ``(V - k) / V`` of the average is the tail's.  So ``SC_k`` ranks responses
  by how much of the mass the head holds and how peaked it is; it is not Intuitor's value.

The sampled token's log-probability needs no approximation (it is in vLLM's dictionary
whether or not it is among the top k).  All values are on the model's raw distribution
(temperature 1), like the embedded engine's exact signals, when the server returns raw
log-probabilities (vLLM's default ``logprobs_mode="raw_logprobs"``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

DEFAULT_TOPK = 20
"""k of ``topk_logprobs`` and of the top-k approximations (DeepConf computes token
confidence from the top 20; vLLM's default ``max_logprobs`` is 20)."""

APPROXIMATED = ("entropy", "self_certainty")
"""Signals that :func:`signals_from_topk` can only approximate from the top k."""

TAIL_FLOOR = 1e-12
"""Smallest tail mass :func:`topk_self_certainty` uses: when the top k hold all the mass to
float precision, ``log R`` would be ``-inf``.  Flooring ``R`` keeps the value a lower bound
(``log`` is increasing) and finite."""


def _head(topk: Sequence[float]) -> list[float]:
    """The log-probabilities sorted from largest; finite ones only (vLLM reports -inf for
    tokens a mask removed)."""
    head = sorted((float(x) for x in topk if math.isfinite(float(x))), reverse=True)
    if not head:
        raise ValueError("top-k log-probabilities: no finite value")
    return head


def _tail(head: Sequence[float], vocab_size: int) -> tuple[float, int]:
    """(tail mass ``R`` >= 0, number of tail tokens ``V - k``)."""
    m = vocab_size - len(head)
    if m < 0:
        raise ValueError(f"{len(head)} top-k log-probabilities for a vocabulary of {vocab_size}")
    rest = max(0.0, 1.0 - sum(math.exp(x) for x in head))
    return (rest if m > 0 else 0.0), m


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0.0 else x * math.log(y)


def entropy_bounds(topk: Sequence[float], vocab_size: int) -> tuple[float, float]:
    """An interval that contains the true entropy (nats) of any distribution over
    ``vocab_size`` tokens whose k largest log-probabilities are ``topk``; its upper end is
    :func:`topk_entropy`."""
    head = _head(topk)
    rest, m = _tail(head, vocab_size)
    h = -sum(math.exp(x) * x for x in head)
    low = h - rest * head[-1]
    high = h - (_xlogy(rest, rest / m) if m else 0.0)
    return max(0.0, low), max(0.0, low, high)


def topk_entropy(topk: Sequence[float], vocab_size: int) -> float:
    """Entropy (nats) with the tail mass spread uniformly over the other tokens: an upper
    bound of the true entropy, exact when the tail is uniform or empty."""
    return entropy_bounds(topk, vocab_size)[1]


def entropy_error_bound(topk: Sequence[float], vocab_size: int) -> float:
    """Largest possible ``topk_entropy(topk) - H`` given only the top k."""
    low, high = entropy_bounds(topk, vocab_size)
    return high - low


def topk_self_certainty(topk: Sequence[float], vocab_size: int) -> float:
    """``KL(U || p)`` with the tail mass spread uniformly over the tail: a lower bound of the
    true value (exact when the tail is uniform or the top k are the whole vocabulary)."""
    head = _head(topk)
    rest, m = _tail(head, vocab_size)
    tail = m * math.log(max(rest, TAIL_FLOOR) / m) if m else 0.0
    return max(0.0, -math.log(vocab_size) - (sum(head) + tail) / vocab_size)


def signals_from_topk(
    topk_rows: Iterable[Sequence[Sequence[float]]], names: Sequence[str], vocab_size: int | None
) -> dict[str, list[tuple[float, ...] | tuple[tuple[float, ...], ...]]]:
    """Per-response ``topk_logprobs``, ``entropy`` and ``self_certainty`` (whichever of them
    ``names`` lists) from each response's per-token top-k log-probabilities.
    ``vocab_size`` (the model's, i.e. its logits' width) is needed for the approximations."""
    if any(n in APPROXIMATED for n in names) and not vocab_size:
        raise ValueError("entropy / self_certainty from top-k log-probabilities need the vocabulary size")
    out: dict[str, list] = {n: [] for n in names if n in ("topk_logprobs", *APPROXIMATED)}
    for tokens in topk_rows:
        heads = [_head(t) for t in tokens]
        if "topk_logprobs" in out:
            out["topk_logprobs"].append(tuple(tuple(h) for h in heads))
        if "entropy" in out:
            out["entropy"].append(tuple(topk_entropy(h, vocab_size or 0) for h in heads))
        if "self_certainty" in out:
            out["self_certainty"].append(tuple(topk_self_certainty(h, vocab_size or 0) for h in heads))
    return out
