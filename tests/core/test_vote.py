"""The one plurality vote (core/vote.py) and the places that must agree with it."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ttrl_kit import AnswerClasses, GroupScorer, plurality, summarise, tally_vote
from ttrl_kit.core import metrics
from ttrl_kit.core.estimators import MajorityVote

answers = st.lists(st.one_of(st.none(), st.sampled_from("abcd")), max_size=12)


def test_tally_vote_ties_go_to_the_class_seen_first():
    # classes 1 and 0 tie on 2 votes; class 1's first member (position 0) comes first
    assert tally_vote([1, 0, 0, 1, None], 2).winner == 1
    assert tally_vote([1, 0, 0, 1, None], 2, tie_break="none").winner is None
    v = tally_vote([0, 1, 1, None], 2)
    assert (v.counts, v.tally, v.winner) == ((1, 2), (1.0, 2.0), 1)


def test_tally_vote_weights_prefer_and_nobody_voting():
    assert tally_vote([0, 1, 1], 2, weights=[5.0, 1.0, 1.0]).winner == 0
    assert tally_vote([0, 0, 1, 1], 2, prefer=[0.1, 0.9]).winner == 1  # tied: higher preference wins
    assert tally_vote([None, None], 0).winner is None
    assert tally_vote([0, 1], 2, weights=[0.0, 0.0]).winner is None  # a zero tally elects nobody
    with pytest.raises(ValueError, match="tie_break"):
        tally_vote([0], 1, tie_break="random")


@given(answers)
@settings(max_examples=200, deadline=None)
def test_plurality_is_counter_most_common_over_answers(items):
    """TTRL's rule: ``Counter.most_common`` (insertion order breaks ties) over the answers."""
    counted = Counter(x for x in items if x is not None)
    expected = counted.most_common(1)[0][0] if counted else None
    assert plurality(items) == expected


@given(answers)
@settings(max_examples=200, deadline=None)
def test_estimator_label_and_maj_at_k_use_the_same_vote(items):
    index: dict[str, int] = {}
    class_of = tuple(None if x is None else index.setdefault(x, len(index)) for x in items)
    classes = AnswerClasses(class_of, tuple(index))
    winner = plurality(items)
    assert MajorityVote().estimate(classes).label == winner
    for right in index:  # maj@k is 1 exactly when the plurality answer is the right one
        class_correct = [a == right for a in index]
        assert metrics.maj_at_k(class_of, class_correct) == (1.0 if winner == right else 0.0)


def test_summarise_reports_the_gold_side_metrics_once():
    scorer = GroupScorer.from_names("math", "majority")
    results = [
        scorer.score(["1", "2", "2", "1"], gold="1"),  # tie 1/2: 1 first -> maj right; avg 0.5
        scorer.score(["3", "4", "4"], gold="3"),  # plurality 4 wrong; avg 1/3; pass 1
        scorer.score(["5", "5"], gold="6"),  # nothing right
        scorer.score(["7", "8"]),  # no gold: not in the gold-side metrics
    ]
    s = summarise(results)
    assert s["labelled_groups"] == 3.0
    assert s["avg_at_k"] == pytest.approx((0.5 + 1 / 3 + 0.0) / 3)
    assert s["maj_at_k"] == pytest.approx(1 / 3)
    assert s["pass_at_k"] == pytest.approx(2 / 3)
    assert s["label_accuracy"] == pytest.approx(1 / 3)
    # zero-variance: group 3 (all in the winning class) has all-equal rewards
    assert s["zero_variance_groups"] == pytest.approx(1 / 4)
    assert results[0].class_correct == (True, False)
