"""The reward function groups by prompt id, never by position, and calls the estimator once per group."""

from __future__ import annotations

import random

import pytest

from ttrl_kit import GroupScorer
from ttrl_kit.engines.embedded.rewards import GroupReward, GroupSplitError, completion_text

from .conftest import NumTask


class CountingEstimator:
    """Majority over classes, counting calls and recording group sizes."""

    name = "counting"

    def __init__(self):
        from ttrl_kit.core.estimators import BUILTIN_ESTIMATORS

        self.inner = BUILTIN_ESTIMATORS["majority"][0]()
        self.calls = []

    def estimate(self, classes, n_train=None):
        self.calls.append((classes.n, n_train))
        return self.inner.estimate(classes, n_train)


def _reward(n_train=4, n_votes=4, extra=None):
    est = CountingEstimator()
    r = GroupReward(GroupScorer(NumTask(), est), n_train=n_train, n_votes=n_votes, id_column="ttrl_id",
                    gold_column="ttrl_gold", extra_votes=extra)
    return r, est


def test_interleaved_ids_score_per_id():
    r, est = _reward()
    # two prompts, samples interleaved and shuffled: group a votes 7 (3 of 4), group b votes 5 (3 of 4)
    samples = [("a", "7"), ("b", "5"), ("a", "7"), ("b", "9"), ("b", "5"), ("a", "1"), ("a", "7"), ("b", "5")]
    random.Random(3).shuffle(samples)
    ids = [s[0] for s in samples]
    comps = [[{"role": "assistant", "content": f"so {s[1]}"}] for s in samples]
    rewards = r(prompts=[None] * 8, completions=comps, ttrl_id=ids, ttrl_gold=["7" if i == "a" else "4" for i in ids])
    for (gid, ans), rew in zip(samples, rewards):
        expected = 1.0 if (gid, ans) in {("a", "7"), ("b", "5")} else 0.0
        assert rew == expected, (gid, ans, rew)
    assert est.calls == [(4, 4), (4, 4)]  # one estimator call per group, whole groups
    s = r.last.summary()
    assert s["label_accuracy"] == 0.5  # a's label 7 is right, b's label 5 is wrong (gold 4)
    assert s["groups"] == 2.0 and s["zero_variance_groups"] == 0.0


def test_positional_grouping_would_differ():
    """Same multiset of samples in block order vs interleaved: rewards follow the ids."""
    r, _ = _reward(n_train=2, n_votes=2)
    ids = ["a", "b", "a", "b"]
    comps = ["1", "2", "1", "3"]
    rewards = r(prompts=[None] * 4, completions=comps, ttrl_id=ids)
    assert rewards == [1.0, 1.0, 1.0, 0.0]  # a: {1,1} all agree; b: {2,3} tie -> first (2) wins


def test_split_group_is_refused():
    r, _ = _reward(n_train=4, n_votes=4)
    with pytest.raises(GroupSplitError, match="prompt 'a'"):
        r(prompts=[None] * 6, completions=["1"] * 6, ttrl_id=["a", "a", "b", "b", "b", "b"])


def test_extra_votes_vote_but_are_not_trained():
    seen = {}

    def extra(prompts_by_id, n):
        seen.update({k: n for k in prompts_by_id})
        # the extra votes overturn group a's trained-sample majority
        return {"a": ["9"] * n, "b": ["5"] * n}

    r, est = _reward(n_train=2, n_votes=6, extra=extra)
    rewards = r(prompts=["pa", "pb", "pa", "pb"], completions=["1", "5", "1", "5"], ttrl_id=["a", "b", "a", "b"])
    assert seen == {"a": 4, "b": 4}
    assert est.calls == [(6, 2), (6, 2)]
    assert rewards == [0.0, 1.0, 0.0, 1.0]  # a's label is 9 (4 of 6 votes), so its trained "1"s get 0
    assert len(rewards) == 4


def test_completion_text_shapes():
    assert completion_text("x") == "x"
    assert completion_text([{"role": "assistant", "content": "y"}]) == "y"
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "z"}]}]) == "z"
    assert completion_text(None) == ""
