"""Top-k approximations of entropy and self-certainty against the exact values on known
distributions (ttrl_kit.core.topk): which are bounds, how large the error can be."""

from __future__ import annotations

import math

import pytest
import torch

from ttrl_kit.core.topk import (
    entropy_bounds,
    entropy_error_bound,
    signals_from_topk,
    topk_entropy,
    topk_self_certainty,
)

V = 1000
K = 20


def exact(logp: torch.Tensor) -> tuple[float, float]:
    """Entropy and Intuitor's KL(U || p) over the whole vocabulary."""
    return float(-(logp.exp() * logp).sum()), float(-math.log(logp.numel()) - logp.mean())


def distributions():
    """Flat to peaked logits (Gaussian, scale 0.5..8), a Zipf-like one and a uniform-tail one."""
    g = torch.Generator().manual_seed(0)
    out = [torch.log_softmax(torch.randn(V, generator=g, dtype=torch.float64) * s, -1) for s in (0.5, 1, 3, 6, 8)]
    out.append(torch.log_softmax(-1.1 * torch.log(torch.arange(1, V + 1, dtype=torch.float64)), -1))
    head = torch.tensor([0.6, 0.2, 0.1], dtype=torch.float64)
    out.append(torch.cat([head, torch.full((V - 3,), 0.1 / (V - 3), dtype=torch.float64)]).log())
    return out


@pytest.mark.parametrize("i", range(7))
def test_entropy_is_an_upper_bound_within_its_error_bound(i):
    logp = distributions()[i]
    h, _ = exact(logp)
    top = logp.topk(K).values.tolist()
    low, high = entropy_bounds(top, V)
    assert low - 1e-9 <= h <= high + 1e-9
    assert topk_entropy(top, V) == high
    assert 0.0 <= topk_entropy(top, V) - h <= entropy_error_bound(top, V) + 1e-9
    # the renormalised top-k entropy (not used) is further from the true value
    p = [math.exp(x) for x in top]
    m = sum(p)
    renorm = math.log(m) - sum(q * x for q, x in zip(p, top)) / m
    assert abs(renorm - h) >= abs(topk_entropy(top, V) - h) - 1e-12


@pytest.mark.parametrize("i", range(7))
def test_self_certainty_is_a_lower_bound(i):
    logp = distributions()[i]
    _, sc = exact(logp)
    assert 0.0 <= topk_self_certainty(logp.topk(K).values.tolist(), V) <= sc + 1e-9


def test_both_are_exact_for_a_uniform_tail_and_for_the_full_vocabulary():
    h, sc = exact(distributions()[6])  # 0.6, 0.2, 0.1 and the last 0.1 spread uniformly
    top = distributions()[6].topk(K).values.tolist()
    assert topk_entropy(top, V) == pytest.approx(h, rel=1e-12)
    assert topk_self_certainty(top, V) == pytest.approx(sc, rel=1e-9)
    assert entropy_error_bound(top, V) == pytest.approx(0.0, abs=1e-12)  # the top k include tail tokens: p_k = R / (V - k)
    logp = distributions()[2]
    full = logp.tolist()
    h, sc = exact(logp)
    assert topk_entropy(full, V) == pytest.approx(h, rel=1e-9)
    assert topk_self_certainty(full, V) == pytest.approx(sc, rel=1e-9)
    assert entropy_error_bound(full, V) == pytest.approx(0.0, abs=1e-9)


def test_peaked_distributions_have_small_entropy_error():
    # confident steps (top-20 mass 0.97 and ~1.0): the entropy is known to about 0.1 nat / 3e-4 nat
    for i, mass, bound in ((3, 0.95, 0.15), (4, 0.999, 1e-3)):
        logp = distributions()[i]
        top = logp.topk(K).values.tolist()
        assert sum(math.exp(x) for x in top) > mass
        assert entropy_error_bound(top, V) < bound
        h, _ = exact(logp)
        assert 0 <= topk_entropy(top, V) - h < bound


def test_signals_from_topk_computes_only_what_is_asked_and_needs_the_vocabulary():
    rows = [[[-0.1, -3.0, -4.0], [-0.5, -1.5, -2.0]]]
    out = signals_from_topk(rows, ["topk_logprobs"], None)
    assert out == {"topk_logprobs": [((-0.1, -3.0, -4.0), (-0.5, -1.5, -2.0))]}
    out = signals_from_topk(rows, ["entropy", "self_certainty"], 50)
    assert set(out) == {"entropy", "self_certainty"} and len(out["entropy"][0]) == 2
    assert out["entropy"][0][0] < out["entropy"][0][1]  # the first step is the more peaked
    with pytest.raises(ValueError, match="vocabulary size"):
        signals_from_topk(rows, ["entropy"], None)


def test_the_topk_holding_all_mass_stays_finite():
    top = [0.0, -200.0]  # all mass on one token to float precision
    assert topk_entropy(top, 100) == pytest.approx(0.0, abs=1e-12)
    assert math.isfinite(topk_self_certainty(top, 100))
