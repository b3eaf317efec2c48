"""The label-free health monitor: numbers from the groups alone, never from gold."""

from __future__ import annotations

import math
import random

import pytest

from ttrl_kit import AnswerClasses, GroupScorer
from ttrl_kit.core.estimators import MajorityVote
from ttrl_kit.core.health import StepHealth, step_health
from ttrl_kit.core.records import Estimate, GroupResult

GROUPS = [
    ["\\boxed{3}"] * 4,  # unanimous: zero reward variance
    ["\\boxed{3}", "\\boxed{3}", "\\boxed{4}", "no answer"],
    ["\\boxed{5}", "\\boxed{6}", "\\boxed{7}", "\\boxed{8}"],
    ["", "", "", ""],  # all abstain: zero variance, not unanimous
]
GOLDS = ["3", "4", "5", "9"]


def _score(golds):
    scorer = GroupScorer.from_names("math", "majority")
    return [scorer.score(g, gold=gold, id=i) for i, (g, gold) in enumerate(zip(GROUPS, golds))]


def test_step_health_numbers():
    h = step_health(_score(GOLDS), lengths=[10, 20, 30])
    assert h.groups == 4
    assert h.majority_ratio == pytest.approx((1.0 + 0.5 + 0.25 + 0.0) / 4)
    assert h.zero_variance_share == pytest.approx(2 / 4)
    assert h.unanimous_share == pytest.approx(1 / 4)
    assert h.abstain_share == pytest.approx((0 + 0.25 + 0 + 1.0) / 4)
    assert h.distinct_answers == pytest.approx((1 + 2 + 4 + 0) / 4)
    h2 = -(2 / 3) * math.log(2 / 3) - (1 / 3) * math.log(1 / 3)
    assert h.answer_entropy == pytest.approx((0 + h2 + math.log(4) + 0) / 4)
    assert h.mean_length == pytest.approx(20.0)
    assert h.token_entropy is None and h.self_certainty is None
    assert "token_entropy" not in h.to_dict()  # unmeasured: left out, not null
    assert StepHealth.from_dict({**h.to_dict(), "future_key": 1}) == h


def test_gold_never_changes_the_health():
    """Same groups with the gold labels permuted, with other gold, or without gold: the
    health (which the stop rule and the pick read) is identical, while the gold-side numbers
    of the same results do change (so the permutation really changed something)."""
    base = _score(GOLDS)
    rng = random.Random(0)
    for _ in range(5):
        perm = GOLDS[:]
        rng.shuffle(perm)
        other = _score(perm)
        assert step_health(other) == step_health(base)
    assert step_health(_score([None] * 4)) == step_health(base)
    assert [r.label_correct for r in _score(["9", "9", "9", "3"])] != [r.label_correct for r in base]


def test_signal_stats_and_engine_values():
    est = MajorityVote().estimate(AnswerClasses((0, 0), ("a",)))
    with_stats = Estimate(**{**est.__dict__, "stats": {**est.stats, "self_certainty_mean": 2.0, "entropy_mean": 0.5}})
    r = GroupResult(id=1, answers=("a", "a"), classes=AnswerClasses((0, 0), ("a",)), estimate=with_stats)
    h = step_health([r, r])
    assert (h.self_certainty, h.token_entropy) == (2.0, 0.5)
    # a value the engine measured itself wins over the estimator's
    assert step_health([r], token_entropy=1.5).token_entropy == 1.5


def test_plugin_estimator_without_stats_falls_back_to_classes():
    classes = AnswerClasses((0, 1, 1, None), ("x", "y"))
    est = Estimate("y", 1, (0.0, 1.0, 1.0, 0.0), (False, True, True, False), 0.5, False, stats={})
    h = step_health([GroupResult(id=0, answers=("x", "y", "y", None), classes=classes, estimate=est)])
    assert h.distinct_answers == 2.0 and h.abstain_share == 0.25
    assert h.answer_entropy == pytest.approx(-(1 / 3) * math.log(1 / 3) - (2 / 3) * math.log(2 / 3))


def test_empty_step():
    h = step_health([], mean_length=3.0)
    assert h.groups == 0 and h.mean_length == 3.0
