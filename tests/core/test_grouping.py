from fractions import Fraction

import pytest

from ttrl_kit import GroupScorer, KeyedTask, group_by_key, group_indices
from ttrl_kit.core.estimators import MajorityVote


class NumberTask(KeyedTask):
    name = "numbers"

    def canonical_key(self, answer):
        return Fraction(answer.strip())

    def extract_answer(self, response):
        parts = response.split()
        return parts[-1] if parts else None


def test_group_by_key_first_appearance_numbering():
    c = group_by_key(["2", "1", "2", None, "3"], lambda s: s)
    assert c.class_of == (0, 1, 0, None, 2)
    assert c.representatives == ("2", "1", "3")


def test_failing_key_abstains():
    c = group_by_key(["1", "boom", "1"], lambda s: int(s))
    assert c.class_of == (0, None, 0)


def test_equivalence_merges_symmetrically_and_transitively():
    # an asymmetric relation: only (small, big) direction says "same"
    same = {("0.5", "1/2"), ("1/2", "2/4")}

    def eq(a, b):
        return (a, b) in same

    for order in (["0.5", "1/2", "2/4"], ["2/4", "1/2", "0.5"], ["1/2", "2/4", "0.5"]):
        c = group_by_key(order, lambda s: s, eq)
        assert c.class_of == (0, 0, 0), order
        assert c.representatives == (order[0],)


def test_equivalence_check_budget_only_between_representatives():
    calls = []

    def eq(a, b):
        calls.append((a, b))
        return False

    group_by_key(["1"] * 50 + ["2"] * 50, lambda s: s, eq)
    assert len(calls) == 2  # one pair of representatives, both directions


def test_scorer_with_gold_and_rewards():
    scorer = GroupScorer(NumberTask(), MajorityVote())
    r = scorer.score(["x 1", "y 1.0", "z 2", "", "w 0.5"], gold="1")
    assert r.answers == ("1", "1.0", "2", None, "0.5")
    assert r.label == "1" and r.label_correct is True
    assert r.rewards == (1.0, 1.0, 0.0, 0.0, 0.0)
    assert r.sample_correct == (True, True, False, False, False)
    assert r.reward_accuracy == 1.0


def test_scorer_survives_hostile_task():
    class Hostile(NumberTask):
        def extract_answer(self, response):
            raise RuntimeError("boom")

    r = GroupScorer(Hostile(), MajorityVote()).score(["1", "2"])
    assert r.label is None and r.rewards == (0.0, 0.0)


def test_groups_are_keyed_by_prompt_id_not_position():
    scorer = GroupScorer(NumberTask(), MajorityVote())
    ids = ["b", "a", "b", "a", "b", "a"]
    responses = ["7", "3", "7", "3", "8", "4"]
    out = scorer.score_groups(ids, responses, golds={"a": "3", "b": "8"})
    assert list(out) == ["b", "a"]
    idx_b, res_b = out["b"]
    assert idx_b == [0, 2, 4] and res_b.label == "7" and res_b.label_correct is False
    idx_a, res_a = out["a"]
    assert idx_a == [1, 3, 5] and res_a.rewards == (1.0, 1.0, 0.0)
    assert list(group_indices([1, 1, 2])) == [1, 2]


def test_score_groups_appends_vote_only_extras_and_splits_signals_by_group():
    """What the TRL reward hands the core: a flat batch (trained samples), extra votes per
    id that vote but are not rewarded, and per-response signals cut per group."""
    from ttrl_kit import Signals
    from ttrl_kit.core.certainty import ConfidenceVote

    ids = ["a", "b", "a", "b"]
    responses = ["1", "5", "2", "5"]
    scorer = GroupScorer(NumberTask(), MajorityVote())
    out = scorer.score_groups(ids, responses, n_train=2, extra={"a": ["2", "2"]})
    idx_a, res_a = out["a"]
    # the extras outvote "1": label 2, and only the two trained samples get rewards
    assert idx_a == [0, 2] and res_a.label == "2" and res_a.rewards == (0.0, 1.0) and len(res_a.answers) == 4
    assert out["b"][1].rewards == (1.0, 1.0)

    conf = GroupScorer(NumberTask(), ConfidenceVote(), "confidence")
    lp = Signals(("logprob",), (((-5.0,), (-9.0,), (-0.1,), (-9.0,)),))  # b's rows are unsure
    extra_sig = {"a": Signals(("logprob",), (((-9.0,), (-9.0,)),))}
    out = conf.score_groups(ids, responses, n_train=2, signals=lp, extra={"a": ["1", "1"]}, extra_signals=extra_sig)
    # group a: "1" (conf 5 + two very unsure extras) vs "2" (sure): the signals followed their responses
    assert out["a"][1].label == "2"
    with pytest.raises(ValueError, match="signals cover"):
        conf.score_groups(ids, responses, signals=extra_sig["a"])
