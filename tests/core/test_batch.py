"""Batch-aware, stateful estimators (core/batch.py) and the distribution-aligned vote
(core/aligned.py), on synthetic groups skewed toward one class."""

import json
import random

import pytest

from ttrl_kit import AnswerClasses, ConfigError, GroupScorer, summarise
from ttrl_kit.core.aligned import AlignedVote, parse_prior
from ttrl_kit.core.batch import STATE_FILE, is_batch, is_stateful, load_state, save_state
from ttrl_kit.core.estimators import MajorityVote
from ttrl_kit.core.records import GroupInput

LABELS = ("positive", "negative")


def group(labels):
    """AnswerClasses of one group from its answers (None = abstain), classes by first appearance."""
    reps: list[str] = []
    class_of = []
    for a in labels:
        if a is None:
            class_of.append(None)
            continue
        if a not in reps:
            reps.append(a)
        class_of.append(reps.index(a))
    return AnswerClasses(tuple(class_of), tuple(reps))


def skewed_responses(n_groups=64, n=8, seed=0, p_pos_if_pos=0.95, p_pos_if_neg=0.6):
    """A model biased to "positive": half the questions are negative, yet most of their
    samples say positive.  Returns [(responses, gold label)] per group."""
    rng = random.Random(seed)
    out = []
    for i in range(n_groups):
        gold = LABELS[i % 2]
        p = p_pos_if_pos if gold == "positive" else p_pos_if_neg
        out.append((["positive" if rng.random() < p else "negative" for _ in range(n)], gold))
    return out


def skewed_groups(n_groups=64, n=8, seed=0, p_pos_if_pos=0.95, p_pos_if_neg=0.6):
    """:func:`skewed_responses` as (AnswerClasses per group, gold labels)."""
    rows = skewed_responses(n_groups, n, seed, p_pos_if_pos, p_pos_if_neg)
    return [group(r) for r, _ in rows], [g for _, g in rows]


def share(labels, which="positive"):
    labels = [x for x in labels if x is not None]
    return sum(1 for x in labels if x == which) / len(labels)


def accuracy(labels, golds):
    return sum(1 for a, g in zip(labels, golds) if a == g) / len(golds)


def test_contract_detection():
    assert is_batch(AlignedVote()) and is_stateful(AlignedVote())
    assert not is_batch(MajorityVote()) and not is_stateful(MajorityVote())
    assert GroupScorer.from_names("text_cls", "aligned").batch
    assert not GroupScorer.from_names("text_cls", "majority").batch


def test_aligned_keeps_skewed_batch_from_collapsing_onto_one_class():
    groups, golds = skewed_groups()
    plain = [MajorityVote().estimate(g).label for g in groups]
    aligned = [e.label for e in AlignedVote().estimate_batch(groups, [None] * len(groups))]
    assert share(plain) > 0.85  # the plain vote drifts onto "positive"
    assert abs(share(aligned) - 0.5) <= 0.15  # aligned to the uniform prior
    assert accuracy(aligned, golds) > accuracy(plain, golds) + 0.2


def test_aligned_reward_is_majority_style_in_the_aligned_class():
    groups, _ = skewed_groups(n_groups=16)
    for g, e in zip(groups, AlignedVote().estimate_batch(groups, [None] * len(groups))):
        assert e.rewards == tuple(1.0 if c == e.label_class else 0.0 for c in g.class_of)
        assert e.stats["has_label"] == 1.0 and 0.0 < e.majority_ratio <= 1.0


def test_aligned_given_prior_pulls_labels_toward_it():
    groups, _ = skewed_groups(n_groups=200, p_pos_if_pos=0.9, p_pos_if_neg=0.5)
    uniform = [e.label for e in AlignedVote().estimate_batch(groups, [None] * 200)]
    tilted = AlignedVote(prior={"positive": 3, "negative": 1}).estimate_batch(groups, [None] * 200)
    assert share([e.label for e in tilted]) > share(uniform) + 0.1


def test_answers_outside_an_explicit_prior_never_win():
    est = AlignedVote(prior="positive:1,negative:1")
    (e,) = est.estimate_batch([group(["neutral"] * 5 + ["negative"])], [None])
    assert e.label == "negative"
    assert e.rewards == (0.0,) * 5 + (1.0,)


def test_balanced_groups_are_left_alone():
    groups = [group(["positive"] * 6 + ["negative"] * 2), group(["negative"] * 6 + ["positive"] * 2)] * 10
    plain = [MajorityVote().estimate(g).label for g in groups]
    aligned = AlignedVote().estimate_batch(groups, [None] * len(groups))
    assert [e.label for e in aligned] == plain
    assert all(e.stats["aligned_label_changed"] == 0.0 for e in aligned)


def test_abstentions_and_empty_groups():
    est = AlignedVote()
    e1, e2 = est.estimate_batch([group([None, None, None]), group([None, "positive", "positive", "negative"])], None)
    assert e1.label is None and e1.rewards == (0.0, 0.0, 0.0)
    assert e2.rewards[0] == 0.0  # an abstaining sample gets 0, whatever wins
    assert est.state_dict()["groups"] == 1  # a group where nothing parses does not move the mean


def test_n_train_and_min_consensus_apply():
    est = AlignedVote(min_consensus=0.99)
    (e,) = est.estimate_batch([group(["positive", "positive", "negative", "positive"])], [2])
    assert len(e.rewards) == 2 and e.low_consensus and e.rewards == (0.0, 0.0)


def test_batch_and_stream_reach_the_same_running_state():
    groups, _ = skewed_groups(n_groups=20)
    batch, stream = AlignedVote(window=8), AlignedVote(window=8)
    batch.estimate_batch(groups, [None] * len(groups))
    for g in groups:
        stream.estimate(g)  # an engine that sees groups one at a time (OpenRLHF's hook)
    a, b = batch.state_dict(), stream.state_dict()
    assert a["groups"] == b["groups"] == 20
    assert a["mass"] == pytest.approx(b["mass"])
    assert a["sums"] == pytest.approx(b["sums"])


def test_state_resume_gives_the_uninterrupted_answers(tmp_path):
    steps = [skewed_groups(n_groups=8, seed=s)[0] for s in range(6)]
    straight = AlignedVote(window=16)

    def run(est, steps):  # rewards and the aligned share, which moves with the state
        return [[(e.rewards, round(e.majority_ratio, 12)) for e in est.estimate_batch(s, [None] * 8)] for s in steps]

    expected = run(straight, steps)

    first = AlignedVote(window=16)
    for s in steps[:3]:
        first.estimate_batch(s, [None] * 8)
    assert save_state(first, tmp_path) == tmp_path / STATE_FILE
    resumed = AlignedVote(window=16)  # a new process after a crash
    assert load_state(resumed, tmp_path)
    assert run(resumed, steps[3:]) == expected[3:]
    fresh = AlignedVote(window=16)  # without the state the answers differ: the state matters
    assert run(fresh, steps[3:]) != expected[3:]


def test_state_file_errors_are_one_line(tmp_path):
    assert not load_state(AlignedVote(), tmp_path)  # no file: a checkpoint from before
    assert save_state(MajorityVote(), tmp_path) is None  # stateless: nothing written
    (tmp_path / STATE_FILE).write_text(json.dumps({"estimator": "other", "state": {}}))
    with pytest.raises(ConfigError, match="state of estimator 'other'"):
        load_state(AlignedVote(), tmp_path)
    (tmp_path / STATE_FILE).write_text("{not json")
    with pytest.raises(ConfigError, match="unreadable estimator state"):
        load_state(AlignedVote(), tmp_path)
    (tmp_path / STATE_FILE).write_text(
        json.dumps({"estimator": "aligned", "state": {"sums": {"a": -1}, "mass": 1.0, "groups": 1}})
    )
    with pytest.raises(ConfigError, match="field 'state'"):
        load_state(AlignedVote(), tmp_path)


# ------------------------------------------------------------------ class-balance term
def group_advantages(rewards, scale="group"):
    """GRPO's advantages: r - group mean, divided by the group's std under ``scale_rewards:
    group`` (0 when the group is flat)."""
    m = sum(rewards) / len(rewards)
    sd = (sum((r - m) ** 2 for r in rewards) / len(rewards)) ** 0.5
    if scale == "none":
        return [r - m for r in rewards]
    return [0.0 if sd < 1e-9 else (r - m) / sd for r in rewards]


def push_toward(groups, estimates, which="positive", scale="group"):
    """Sum of the advantages of the samples answering ``which``: to first order, how much GRPO
    raises that answer's logit (a group's advantages sum to 0, so the rest goes elsewhere)."""
    total = 0.0
    for g, e in zip(groups, estimates):
        for c, a in zip(g.class_of, group_advantages(list(e.rewards), scale)):
            if c is not None and g.representatives[c] == which:
                total += a
    return total


@pytest.mark.parametrize("scale", ["group", "none"])
@pytest.mark.parametrize("abstain", [False, True])
@pytest.mark.parametrize("clip", [0.5, 1.0])
def test_balance_term_turns_the_push_against_the_overpredicted_class(scale, abstain, clip):
    # a model at ~85 % "positive": most groups 7 of 8 positive (with an unparsed answer or
    # not), a few unanimous, a few split evenly
    mostly = ["positive"] * 6 + ([None] if abstain else ["positive"]) + ["negative"]
    groups = [group(mostly)] * 12 + [group(["positive"] * 8)] * 4 + [group(["positive", "negative"] * 4)] * 2
    plain = AlignedVote().estimate_batch(groups, None)
    balanced = AlignedVote(balance=1.0, balance_clip=clip).estimate_batch(groups, None)
    assert [e.label for e in plain] == [e.label for e in balanced]  # the term never moves a label
    assert push_toward(groups, plain, scale=scale) > 0  # aligned labels alone still push toward "positive"
    assert push_toward(groups, balanced, scale=scale) < push_toward(groups, plain, scale=scale)
    assert push_toward(groups, balanced, "negative", scale) > push_toward(groups, plain, "negative", scale)
    if clip == 1.0 or not abstain:
        assert push_toward(groups, balanced, scale=scale) < 0  # turned around
    # (clip 0.5 with unparsed answers under group scaling: positive and negative samples get
    # the same reward, yet the 6 positive ones take more of the abstention's lost mass)
    if clip <= 0.5:
        for g, e in zip(groups, balanced):
            agree = [r for c, r in zip(g.class_of, e.rewards) if c == e.label_class]
            disagree = [r for c, r in zip(g.class_of, e.rewards) if c is not None and c != e.label_class]
            assert not disagree or min(agree) >= max(disagree)  # agreement is never outranked


def test_balance_term_vanishes_at_the_prior_and_is_bounded():
    balanced = [group(["positive"] * 6 + ["negative"] * 2), group(["negative"] * 6 + ["positive"] * 2)] * 10
    for e in AlignedVote(balance=1.0).estimate_batch(balanced, None):
        # r == prior up to the running mean's smoothing: TTRL's 0/1 reward, all but unchanged
        assert all(min(abs(r), abs(r - 1)) < 0.01 for r in e.rewards)
    est = AlignedVote(balance=5.0, balance_clip=0.25)
    (e,) = est.estimate_batch([group(["positive"] * 7 + ["negative"] + [None])], None)
    assert est.class_balance() == {"positive": -0.25, "negative": 0.25}
    assert e.rewards == (0.75,) * 7 + (0.25, 0.0)  # abstaining: 0 while no answer gets less
    (e,) = est.estimate_batch([group(["negative"] * 5 + ["positive"] * 2 + [None])], None)
    assert e.label == "negative" and e.rewards[5:] == (-0.25, -0.25, -0.25)  # never above an answer
    assert AlignedVote().class_balance() == {}  # balance 0 (default): off


def test_balance_term_pushes_answers_outside_an_explicit_prior_away():
    est = AlignedVote(prior="positive:1,negative:1", balance=1.0)
    (e,) = est.estimate_batch([group(["neutral"] * 3 + ["negative"] * 2 + ["positive"])], None)
    assert e.label == "negative"
    assert e.rewards[:3] == (-0.5,) * 3


@pytest.mark.parametrize(
    "options, message",
    [
        ({"prior": "positive"}, "label:weight"),
        ({"prior": {"positive": 1}}, "at least two"),
        ({"prior": {"positive": 1, "negative": 0}}, "positive number"),
        ({"prior": "a:x,b:1"}, "not a number"),
        ({"prior": 3}, "expected 'uniform'"),
        ({"window": 0.5}, "window"),
        ({"smoothing": -1}, "smoothing"),
        ({"max_classes": 1}, "max_classes"),
        ({"balance": -1}, "balance"),
        ({"balance_clip": 1.5}, "balance_clip"),
        ({"bogus": 1}, "unknown option"),
    ],
)
def test_bad_options(options, message):
    with pytest.raises(ConfigError, match=message):
        AlignedVote(**options)


def test_prior_forms():
    assert parse_prior("uniform") is None
    assert parse_prior("a:1, b:3") == (("a", 0.25), ("b", 0.75))
    assert parse_prior({"a": 2, "b": 2}) == (("a", 0.5), ("b", 0.5))


def test_max_classes_bounds_the_state():
    est = AlignedVote(max_classes=3)
    est.estimate_batch([group([f"x{i}", f"x{i}", "y"]) for i in range(50)], None)
    assert len(est.state_dict()["sums"]) <= 3


# ------------------------------------------------------------------ GroupScorer
class SpyAligned(AlignedVote):
    calls: list[int]

    def estimate_batch(self, groups, n_train=None, signals=None):
        self.calls = [*getattr(self, "calls", []), len(groups)]
        return super().estimate_batch(groups, n_train, signals)


def test_score_batch_calls_a_batch_estimator_once_per_step():
    spy = SpyAligned()
    scorer = GroupScorer(GroupScorer.from_names("text_cls", "majority").task, spy, "aligned")
    inputs = [GroupInput(("positive", "negative", "positive")) for _ in range(5)]
    results = scorer.score_batch(inputs)
    assert spy.calls == [5] and len(results) == 5
    scorer.score(["negative", "negative"])  # one group: a batch of one
    assert spy.calls == [5, 1]


def test_answers_only_estimators_score_the_same_per_group_or_batched():
    scorer = GroupScorer.from_names("math", "majority")
    inputs = [
        GroupInput((r"\boxed{1}", r"\boxed{2}", r"\boxed{1}"), gold="1", id="a"),
        GroupInput((r"\boxed{3}", "none", r"\boxed{3}", r"\boxed{4}"), gold="4", n_train=2, id="b"),
    ]
    batched = scorer.score_batch(inputs)
    one_by_one = [scorer.score(g.responses, gold=g.gold, n_train=g.n_train, id=g.id) for g in inputs]
    assert batched == one_by_one


# ------------------------------------------------------------------ a few labels
MATH = [
    GroupInput((r"\boxed{2}", r"\boxed{2}", r"\boxed{3}", r"\boxed{2}"), gold="3", id="q0", labelled=True),
    GroupInput((r"\boxed{5}", r"\boxed{5}", r"\boxed{6}", r"\boxed{5}"), gold="6", id="q1"),
    GroupInput((r"\boxed{7}", r"\boxed{8}", r"\boxed{7}", "x"), gold="7", n_train=3, id="q2", labelled=True),
]


def test_labelled_groups_are_rewarded_against_gold():
    r0, r1, r2 = GroupScorer.from_names("math", "majority").score_batch(MATH)
    assert r0.rewards == (0.0, 0.0, 1.0, 0.0)  # gold "3", though the vote says 2
    assert r0.estimate.rewards == (1.0, 1.0, 0.0, 1.0)  # the vote is still reported
    assert r2.rewards == (1.0, 0.0, 1.0)  # n_train=3: the first three, by correctness
    assert r1.rewards == (1.0, 1.0, 0.0, 1.0) and r1.gold_rewards is None  # the vote's, wrong gold or not
    assert r0.reward_accuracy == 1.0


@pytest.mark.parametrize("estimator", ["majority", "aligned"])
def test_unlabelled_groups_never_see_gold(estimator):
    """The rewards of groups not labelled are identical with the true gold, a wrong gold and
    no gold at all: gold reaches only the labelled groups' rewards."""
    scorer = lambda: GroupScorer.from_names("math", estimator)  # noqa: E731 - a fresh state per run
    runs = []
    for golds in (("3", "6", "7"), ("3", "5", "7"), ("3", "999", "7"), ("3", None, "7")):
        inputs = [GroupInput(g.responses, gold, g.n_train, g.id, None, g.labelled) for g, gold in zip(MATH, golds)]
        runs.append(scorer().score_batch(inputs)[1].rewards)
    assert all(r == runs[0] for r in runs)


def test_label_accuracy_reported_for_both_parts():
    s = summarise(GroupScorer.from_names("math", "majority").score_batch(MATH))
    assert s["gold_reward_share"] == pytest.approx(2 / 3)
    assert s["label_accuracy_gold_rewarded"] == 0.5  # the vote was wrong on q0, right on q2
    assert s["label_accuracy_vote_rewarded"] == 0.0
    # reward_mean is what was trained on (gold where labelled); vote_reward_mean the vote's
    assert s["reward_mean"] == pytest.approx((1 / 4 + 3 / 4 + 2 / 3) / 3)
    assert s["vote_reward_mean"] == pytest.approx((3 / 4 + 3 / 4 + 2 / 3) / 3)
    assert "gold_reward_share" not in summarise(GroupScorer.from_names("math", "majority").score_batch(MATH[1:2]))


def test_a_labelled_group_needs_gold():
    bad = GroupInput((r"\boxed{1}",), gold=None, id="q9", labelled=True)
    with pytest.raises(ConfigError, match="'q9' is labelled for training but has no gold"):
        GroupScorer.from_names("math", "majority").score_batch([bad])


# ------------------------------------------------------------------ the vote CLI and the bench
def test_vote_cli_sees_the_whole_file_as_one_batch(tmp_path):
    from ttrl_kit.cli.main import main

    lines = [json.dumps({"id": i, "responses": r, "gold": g}) for i, (r, g) in enumerate(skewed_responses(40, seed=3))]
    src = tmp_path / "groups.jsonl"
    src.write_text("\n".join(lines) + "\n")
    labels = {}
    for est in ("majority", "aligned"):
        out = tmp_path / f"{est}.jsonl"
        args = ["vote", "--task", "text_cls", "--estimator", est, "--input", str(src), "--output", str(out)]
        assert main(args + (["--option", "prior=positive:1,negative:1"] if est == "aligned" else [])) == 0
        labels[est] = [json.loads(x)["label"] for x in out.read_text().splitlines()]
    assert share(labels["majority"]) >= 0.8
    assert abs(share(labels["aligned"]) - 0.5) <= 0.15
    assert main(["vote", "--task", "text_cls", "--estimator", "aligned", "--option", "n_train=9", "--input", str(src)]) == 2


def test_bench_scores_a_batch_estimator_as_one_batch():
    from types import SimpleNamespace

    from ttrl_kit.bench.scoring import score_cell
    from ttrl_kit.core.plugins import get_registry

    groups = [
        SimpleNamespace(id=f"g{i}", responses=r, gold=g, signals=None) for i, (r, g) in enumerate(skewed_responses(30, seed=5))
    ]
    rollouts = SimpleNamespace(groups=groups)
    cells = {}
    for name in ("majority", "aligned"):
        spec = SimpleNamespace(id=name, name=name, options={}, n_votes=None)
        cells[name] = score_cell(rollouts, "text_cls", {}, spec, get_registry())  # type: ignore[arg-type]
    assert cells["aligned"].metrics["label_accuracy"] > cells["majority"].metrics["label_accuracy"] + 0.1
    assert cells["aligned"].metrics["estimate_us_per_group"] is not None
    aligned, plain = (share([g["label"] for g in cells[k].groups]) for k in ("aligned", "majority"))
    assert aligned <= plain - 0.1


@pytest.mark.parametrize("prior", ["a:1," * 20000, "x" * 100_000, "a:" + "9" * 100_000 + "x,b:1"])
def test_a_huge_prior_gives_a_short_one_line_error(prior):
    with pytest.raises(ConfigError) as e:
        parse_prior(prior)
    message = str(e.value)
    assert "\n" not in message and len(message) < 400
