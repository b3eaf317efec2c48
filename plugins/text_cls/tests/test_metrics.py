"""scikit-learn metrics for pseudo-labels and policy samples, and the collapse warning."""

from __future__ import annotations

import math

import pytest

from ttrl_kit import GroupScorer
from ttrl_text_cls.metrics import (
    ABSTAIN,
    LabelCollapseWarning,
    classification_report,
    group_metrics,
    label_distribution,
)

LABELS = ("positive", "negative")


def test_report_hand_computed():
    gold = ["positive", "positive", "negative", "negative", "negative", None]
    pred = ["positive", None, "negative", "positive", "negative", "positive"]
    rep = classification_report(gold, pred, LABELS)
    assert rep.n == 5  # the unlabeled pair is skipped
    assert rep.accuracy == pytest.approx(3 / 5)
    # positive: tp 1, fp 1, fn 1 -> F1 0.5; negative: tp 2, fp 0, fn 1 -> F1 0.8
    assert rep.macro_f1 == pytest.approx((0.5 + 0.8) / 2)
    assert rep.columns == ("positive", "negative", ABSTAIN)
    assert rep.confusion == ((1, 0, 1), (1, 2, 0))
    assert rep.coverage == pytest.approx(4 / 5)
    assert -1.0 <= rep.mcc <= 1.0 and rep.mcc > 0


def test_report_perfect_constant_and_empty():
    assert classification_report(["positive", "negative"], ["positive", "negative"], LABELS).mcc == pytest.approx(1.0)
    const = classification_report(["positive", "negative"], ["positive", "positive"], LABELS)
    assert const.mcc == 0.0 and const.accuracy == 0.5
    empty = classification_report([None], ["positive"], LABELS)
    assert empty.n == 0 and empty.accuracy == 0.0
    unk = classification_report(["neutral", "positive"], ["positive", "positive"], LABELS)
    assert unk.n == 1 and unk.unknown_gold == 1
    with pytest.raises(ValueError):
        classification_report(["positive"], [], LABELS)


def test_label_distribution_entropy_and_collapse_warning():
    d = label_distribution(["positive", "negative"] * 10, LABELS)
    assert d.entropy == pytest.approx(math.log(2)) and d.entropy_norm == pytest.approx(1.0)
    assert not d.collapsed
    with pytest.warns(LabelCollapseWarning, match="95% of 20"):
        c = label_distribution(["positive"] * 19 + ["negative", None, "junk"], LABELS)
    assert c.collapsed and c.top_label == "positive" and c.abstain == 2
    assert c.entropy_norm < 0.3
    small = label_distribution(["positive"] * 5, LABELS)  # too few to call it a collapse
    assert not small.collapsed


def test_group_metrics_from_scored_groups():
    s = GroupScorer.from_names("text_cls", "majority")
    results = [
        s.score(["positive", "positive", "negative", ""], gold="positive", id=1),  # maj right, 2/4 right
        s.score(["positive", "negative", "negative", "negative"], gold="negative", id=2),  # maj right, 3/4
        s.score(["positive", "positive", "positive", "negative"], gold="negative", id=3),  # maj wrong, 1/4
        s.score(["negative"] * 4, id=4),  # unlabeled: counted in distributions only
    ]
    m = group_metrics(results, LABELS, warn=False)
    assert m.groups == 4 and m.labelled_groups == 3
    assert m.avg_at_k == pytest.approx((2 / 4 + 3 / 4 + 1 / 4) / 3)
    assert m.maj_at_k == pytest.approx(2 / 3)
    assert m.pseudo.accuracy == pytest.approx(2 / 3)
    assert m.policy.n == 12 and m.policy.accuracy == pytest.approx(6 / 12)
    assert m.policy.confusion == ((2, 1, 1), (4, 4, 0))
    assert sum(m.policy_distribution.counts.values()) == 15 and m.policy_distribution.abstain == 1
    flat = m.flat()
    assert flat["cls/maj_at_k"] == pytest.approx(2 / 3)
    assert all(isinstance(v, float) for v in flat.values())
    # the task exposes the same numbers duck-typed, for engines that do not know the plugin
    assert s.task.report_metrics(results)["cls/policy_macro_f1"] == pytest.approx(m.policy.macro_f1)
