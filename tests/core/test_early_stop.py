"""The label-free stop rule and checkpoint pick on synthetic health sequences."""

from __future__ import annotations

import pytest

from ttrl_kit.core.early_stop import StopRule, checkpoint_scores, first_stop, pick_checkpoint, stop_decision
from ttrl_kit.core.health import StepHealth


def seq(majority, zero_variance=None):
    zv = zero_variance or [0.0] * len(majority)
    return [StepHealth(8, m, 0.0, 1.0, z, z, 0.0) for m, z in zip(majority, zv)]


# the demo's idle run (runs/demo-add1, 16 steps): majority ratio and zero-variance share per step
DEMO_MR = [0.406, 0.562, 0.578, 0.688, 0.766, 0.844, 0.906, 0.844, 0.938, 0.938, 0.969, 0.969, 0.969, 0.953, 1.0, 0.984]
DEMO_ZV = [0, 0, 0, 0.125, 0.125, 0.5, 0.5, 0.25, 0.625, 0.625, 0.75, 0.75, 0.75, 0.625, 1.0, 0.875]


def test_collapse_stops_where_the_window_mean_reaches_consensus():
    h = seq(DEMO_MR, DEMO_ZV)
    d = first_stop(h, StopRule(window=3))
    # window 10..12: (0.938 + 0.969 + 0.969) / 3 = 0.959 >= 0.95; window 9..11 is 0.948
    assert d is not None and (d.step, d.reason) == (12, "collapsed")
    assert d.majority_ratio == pytest.approx((0.938 + 0.969 + 0.969) / 3)


def test_no_gradient_fires_on_zero_variance_alone():
    # a continuous reward: answers still differ (majority ratio low) but rewards are flat
    h = seq([0.4] * 6, [0.5, 0.9, 0.95, 1.0, 1.0, 1.0])
    d = first_stop(h, StopRule(window=2))
    assert (d.step, d.reason) == (3, "no_gradient")


def test_no_stop_before_window_or_min_steps_and_none_on_healthy_runs():
    assert stop_decision(seq([1.0]), StopRule(window=3)) is None
    assert stop_decision(seq([1.0] * 3), StopRule(window=3)) is not None
    assert first_stop(seq([1.0] * 6), StopRule(window=2, min_steps=5)).step == 5
    assert first_stop(seq([0.5, 0.6, 0.7, 0.8, 0.9, 0.9]), StopRule(window=3)) is None
    with pytest.raises(ValueError):
        StopRule(window=0)


def test_incremental_decision_equals_replay():
    """The callback decides step by step; a resumed run replays metrics.jsonl: same step."""
    h = seq(DEMO_MR, DEMO_ZV)
    rule = StopRule(window=3)
    live = next(stop_decision(h[:t], rule) for t in range(1, len(h) + 1) if stop_decision(h[:t], rule))
    assert live == first_stop(h, rule)


def test_pick_is_the_earliest_checkpoint_near_the_best_score():
    h = seq(DEMO_MR[:12], DEMO_ZV[:12])  # the run stopped at step 12
    scores = checkpoint_scores(h, range(1, 13), window=3)
    assert 12 not in scores  # the last checkpoint has no samples of its own
    assert min(scores) == 2  # checkpoint 2's window (steps 1..3) is the first full one
    p = pick_checkpoint(h, list(range(1, 13)), window=3, tolerance=0.01)
    # best: checkpoint 11 (steps 10..12: 0.959); checkpoint 10 (steps 9..11: 0.948) is 0.0103 below
    assert p.step == 11
    p = pick_checkpoint(h, list(range(1, 13)), window=3, tolerance=0.02)
    assert p.step == 10 and p.score == pytest.approx((0.938 + 0.938 + 0.969) / 3)


def test_pick_finds_the_peak_of_a_rise_then_fall():
    mr = [0.4, 0.6, 0.8, 0.9, 0.95, 0.9, 0.8, 0.7, 0.6]
    p = pick_checkpoint(seq(mr), list(range(1, 10)), window=1, tolerance=0.0)
    assert p.step == 4  # checkpoint 4 produced step 5's samples, the peak


def test_pick_without_measured_candidates_keeps_the_newest():
    assert pick_checkpoint(seq([0.5]), [1], window=3).step == 1
    assert pick_checkpoint(seq([0.5]), [], window=3) is None
    # windows not yet full anywhere: partial windows are used
    assert pick_checkpoint(seq([0.5, 0.7, 0.6]), [1, 2, 3], window=5).step == 1
