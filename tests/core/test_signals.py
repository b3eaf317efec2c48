"""The signal contract and the estimators that read signals (core only, no engine)."""

import math
import pickle

import pytest

from ttrl_kit import AnswerClasses, ConfigError, GroupScorer, get_registry
from ttrl_kit.core.certainty import CertaintyVote, ConfidenceVote, NegEntropy, SelfCertainty
from ttrl_kit.core.estimators import MajorityVote
from ttrl_kit.core.records import Signals
from ttrl_kit.core.signals import SignalError, check_supplied, check_values, lowest_window_mean, token_mean


def classes(*cls):
    k = max([c for c in cls if c is not None], default=-1) + 1
    return AnswerClasses(tuple(cls), tuple(f"a{i}" for i in range(k)))


def sig(**per_response):
    return Signals.from_mapping(per_response)


def test_signals_record_is_frozen_picklable_and_aligned():
    s = sig(logprob=[[-1.0, -2.0], [-0.5]], entropy=[[0.1], [0.2, 0.3]])
    assert s.n == 2 and "logprob" in s and "self_certainty" not in s
    assert pickle.loads(pickle.dumps(s)) == s
    with pytest.raises(Exception):
        s.names = ()  # type: ignore[misc]
    assert s.only(["entropy"]).names == ("entropy",)
    both = s.concat(sig(logprob=[[-3.0]], entropy=[[1.0]]))
    assert both.n == 3 and both.get("logprob")[2] == (-3.0,)
    with pytest.raises(ValueError):
        Signals(("logprob", "entropy"), (((-1.0,),), ((0.1,), (0.2,))))


def test_token_helpers():
    assert token_mean([1.0, 2.0, 3.0]) == 2.0
    assert token_mean([1.0, 2.0, 3.0], tail=2) == 2.5
    assert token_mean([]) is None
    assert lowest_window_mean([0.0, 0.0, -3.0, -3.0, 0.0], 2) == -3.0
    assert lowest_window_mean([-1.0, -3.0], 8) == -2.0


@pytest.mark.parametrize(
    "name,values,problem",
    [
        ("logprob", [[-1.0]], "1 lists for 2 responses"),
        ("logprob", [[-1.0], [float("nan")]], "non-finite"),
        ("logprob", [[-1.0], [0.5]], "<= 0"),
        ("entropy", [[-1.0], [0.5]], ">= 0"),
        ("logprob", [[-1.0], ["x"]], "expected a number"),
        ("topk_logprobs", [[[-1.0, -2.0]], [-1.0]], "top-k"),
    ],
)
def test_check_values_rejects(name, values, problem):
    assert problem in check_values(name, values, 2)


def test_check_supplied_names_estimator_signal_and_engine():
    check_supplied("confidence", ("logprob",), "openrlhf", {"logprob", "entropy"})
    with pytest.raises(ConfigError) as e:
        check_supplied("self_certainty", ("self_certainty",), "embedded (vLLM)", set())
    msg = str(e.value)
    assert "'self_certainty'" in msg and "embedded (vLLM)" in msg and "\n" not in msg


def test_answers_only_scorer_needs_nothing_and_ignores_signals():
    scorer = GroupScorer.from_names("math", "majority")
    assert scorer.needs == ()
    scorer.check_engine("anything", set())
    r = scorer.score(["\\boxed{1}", "\\boxed{1}"])
    assert r.label == "1"


def test_scorer_demands_needed_signals():
    scorer = GroupScorer.from_names("math", "self_certainty")
    assert scorer.needs == ("self_certainty",)
    with pytest.raises(ConfigError, match="needs signal 'self_certainty'.*engine 'x'"):
        scorer.check_engine("x", {"logprob"})
    with pytest.raises(SignalError, match="needs signal 'self_certainty'"):
        scorer.score(["\\boxed{1}"])
    with pytest.raises(SignalError, match="cover 1 responses"):
        scorer.score(["\\boxed{1}", "\\boxed{2}"], signals=sig(self_certainty=[[1.0]]))


def test_self_certainty_rewards_are_mean_token_values_and_abstainers_get_the_floor():
    s = sig(self_certainty=[[2.0, 4.0], [1.0], [9.0], []])
    est = SelfCertainty().estimate(classes(0, 1, None, 0), signals=s)
    assert est.rewards == (3.0, 1.0, 1.0, 1.0)  # abstainer and empty response: lowest answering reward
    assert est.label is None and est.stats["has_label"] == 0.0
    assert SelfCertainty(abstain=False).estimate(classes(0, 1, None, 0), signals=s).rewards[2] == 9.0
    assert SelfCertainty(tail=1).estimate(classes(0, 1), signals=sig(self_certainty=[[2.0, 4.0], [1.0]])).rewards == (4.0, 1.0)
    assert SelfCertainty().estimate(classes(None, None), signals=sig(self_certainty=[[1.0], [2.0]])).rewards == (0.0, 0.0)
    assert SelfCertainty(n_train=1).estimate(classes(0, 0), signals=sig(self_certainty=[[1.0], [2.0]])).rewards == (1.0,)


def test_neg_entropy_prefers_low_entropy_and_floors_abstainers_below_answers():
    s = sig(entropy=[[0.5, 1.5], [0.1], [0.0]])
    est = NegEntropy().estimate(classes(0, 1, None), signals=s)
    assert est.rewards == (-1.0, -0.1, -1.0)  # the abstainer's 0 entropy does not win
    assert est.rewards[1] > est.rewards[0]


def test_confidence_acceptance_group_flips_the_label():
    c = classes(0, 0, 0, 0, 1, 1, 1)
    s = sig(logprob=[[-3.0, -3.1]] * 4 + [[-0.05, -0.04]] * 3)
    assert MajorityVote().estimate(c).label == "a0"
    est = ConfidenceVote().estimate(c, signals=s)
    assert est.label == "a1" and est.rewards == (0, 0, 0, 0, 1, 1, 1)
    assert est.majority_ratio > 0.9


def test_confidence_topk_lowest_group_and_keep_top():
    c = classes(0, 0, 1)
    # topk mode: trace 2 has a peaked distribution (very negative runner-ups) -> confident
    topk = [[[-1.0, -1.2]], [[-1.0, -1.1]], [[-0.01, -9.0]]]
    est = ConfidenceVote(confidence="topk").estimate(c, signals=sig(topk_logprobs=topk))
    assert est.label == "a1"
    with pytest.raises(SignalError):
        ConfidenceVote(confidence="topk").estimate(c, signals=sig(logprob=[[-1.0]] * 3))
    # lowest_group: one bad stretch sinks trace 0 even though its mean is high
    lp = [[0.0] * 8 + [-2.0, -2.0], [-0.5] * 10]
    assert ConfidenceVote().estimate(classes(0, 1), signals=sig(logprob=lp)).label == "a0"
    assert ConfidenceVote(aggregate="lowest_group", window=2).estimate(classes(0, 1), signals=sig(logprob=lp)).label == "a1"
    assert ConfidenceVote(aggregate="tail", window=2).estimate(classes(0, 1), signals=sig(logprob=lp)).label == "a1"
    # keep_top: only the most confident third votes; dropped traces still get a class reward
    lp2 = [[-1.0], [-1.0], [-0.1], [-2.0]]
    est = ConfidenceVote(keep_top=0.25).estimate(classes(0, 0, 1, 0), signals=sig(logprob=lp2))
    assert est.label == "a1" and est.rewards == (0.0, 0.0, 1.0, 0.0)
    with pytest.raises(ConfigError):
        ConfidenceVote(keep_top=0.0)
    with pytest.raises(ConfigError):
        ConfidenceVote(aggregate="median")


def test_confidence_keeps_shared_rules():
    s = sig(logprob=[[-1.0]] * 4)
    assert ConfidenceVote(min_consensus=0.9).estimate(classes(0, 0, 1, 1), signals=s).rewards == (0, 0, 0, 0)
    assert ConfidenceVote(tie_break="none").estimate(classes(0, 0, 1, 1), signals=s).label is None
    assert ConfidenceVote().estimate(classes(0, 1, 1, 0), signals=s).label == "a0"  # first seen
    assert ConfidenceVote().estimate(classes(None, None, None, None), signals=s).label is None


def test_certainty_vote_breaks_ties_by_certainty():
    c = classes(0, 0, 1, 1)
    s = sig(self_certainty=[[1.0], [1.0], [3.0], [3.0]])
    est = CertaintyVote(weak=0.0).estimate(c, signals=s)
    assert est.label == "a1" and est.rewards == (0, 0, 1, 1)
    assert MajorityVote().estimate(c).label == "a0"


def test_certainty_vote_vetoes_weak_uncertain_majority_only():
    c = classes(0, 0, 1, 2, 3)  # share 0.4: weak
    unsure = sig(self_certainty=[[0.5], [0.5], [2.0], [2.0], [2.0]])
    sure = sig(self_certainty=[[3.0], [3.0], [2.0], [2.0], [2.0]])
    v = CertaintyVote().estimate(c, signals=unsure)
    assert v.label is None and set(v.rewards) == {0.0} and v.stats["vetoed"] == 1.0
    ok = CertaintyVote().estimate(c, signals=sure)
    assert ok.label == "a0" and ok.rewards == (1, 1, 0, 0, 0) and ok.stats["vetoed"] == 0.0
    strong = CertaintyVote().estimate(classes(0, 0, 0, 1), signals=sig(self_certainty=[[0.1]] * 3 + [[9.0]]))
    assert strong.label == "a0"  # a strong majority is never vetoed
    lp = CertaintyVote(signal="logprob")
    assert lp.needs == ("logprob",)


def test_builtin_signal_estimators_registered_with_descriptions():
    reg = get_registry()
    for name in ("self_certainty", "neg_entropy", "confidence", "certainty_vote"):
        assert name in reg.estimators and reg.estimators[name].plugin == "ttrl_kit.core"
        assert reg.estimators[name].description
    assert reg.estimator("confidence", confidence="topk").needs == ("topk_logprobs",)


def test_estimates_of_signal_estimators_are_picklable():
    est = ConfidenceVote().estimate(classes(0, 1), signals=sig(logprob=[[-1.0], [-2.0]]))
    assert pickle.loads(pickle.dumps(est)) == est
    assert math.isclose(sum(ConfidenceVote().vote_weights(classes(0, 1), sig(logprob=[[0.0], [-math.log(2)]]))), 1.5)


def test_summaries_show_no_label_accuracy_for_label_free_estimators():
    from ttrl_kit import summarise

    sc = GroupScorer.from_names("math", "self_certainty")
    r = sc.score(["\\boxed{1}", "\\boxed{2}"], gold="1", signals=sig(self_certainty=[[2.0], [1.0]]))
    s = summarise([r])
    assert "label_accuracy" not in s and "reward_accuracy" not in s and s["avg_at_k"] == 0.5
    maj = summarise([GroupScorer.from_names("math", "majority").score(["", ""], gold="1")])
    assert maj["label_accuracy"] == 0.0  # a voting estimator without a label is wrong, not n/a
