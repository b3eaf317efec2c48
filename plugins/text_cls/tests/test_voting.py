"""Voting over labels goes through the core estimators (abstain, ties, min_consensus)."""

from __future__ import annotations

import pytest

from ttrl_kit import GroupScorer

OPTS = {"verbalizers": {"positive": ["fresh", "good"], "negative": ["rotten", "bad"]}}


def scorer(estimator="majority", **eopts):
    return GroupScorer.from_names("text_cls", estimator, task_options=OPTS, estimator_options=eopts)


def test_majority_over_synonyms_and_abstentions():
    s = scorer()
    responses = ["Sentiment: fresh", "positive or negative", "**good**", "It is bad.", "", "The answer is positive."]
    r = s.score(responses, gold="positive", id="rt-1")
    assert r.answers == ("positive", None, "positive", "negative", None, "positive")
    assert r.label == "positive"
    assert r.rewards == (1.0, 0.0, 1.0, 0.0, 0.0, 1.0)
    assert r.label_correct is True
    assert r.estimate.majority_ratio == pytest.approx(3 / 6)
    assert r.reward_accuracy == 1.0


def test_abstentions_cannot_win():
    r = scorer().score(["???", "", "positive or negative", "bad"])
    assert r.label == "negative"
    assert r.rewards == (0.0, 0.0, 0.0, 1.0)


def test_all_abstain_gives_no_label_and_zero_rewards():
    r = scorer().score(["", "maybe", "not positive"])
    assert r.label is None and r.rewards == (0.0, 0.0, 0.0)


def test_tie_first_and_none():
    responses = ["bad", "good", "good", "bad"]
    assert scorer().score(responses).label == "negative"  # first seen wins the tie
    r = scorer(tie_break="none").score(responses)
    assert r.label is None and set(r.rewards) == {0.0}


def test_min_consensus_zeroes_rewards_but_reports_label():
    r = scorer(min_consensus=0.75).score(["good", "good", "bad", "fresh", "rotten"])
    assert r.label == "positive"
    assert r.estimate.low_consensus is True
    assert set(r.rewards) == {0.0}


def test_n_train_and_score_groups_by_id():
    s = scorer()
    ids = ["a", "b", "a", "b", "a", "b"]
    resp = ["good", "bad", "good", "bad", "rotten", "good"]
    out = s.score_groups(ids, resp, golds={"a": "positive", "b": "negative"}, n_train=2)
    (ia, ra), (ib, rb) = out["a"], out["b"]
    assert ia == [0, 2, 4] and ra.label == "positive" and ra.rewards == (1.0, 1.0)
    assert ib == [1, 3, 5] and rb.label == "negative" and rb.label_correct is True


@pytest.mark.parametrize("estimator", ["soft", "entropy"])
def test_other_core_estimators_work_over_labels(estimator):
    r = scorer(estimator).score(["good", "good", "good", "bad", ""])
    assert r.label == "positive"
    assert len(r.rewards) == 5
    assert r.rewards[0] > r.rewards[3]
    # the core's abstain rule: 0, or the lowest answering reward when that is below 0 (entropy)
    assert r.rewards[4] == min(0.0, r.rewards[3])
