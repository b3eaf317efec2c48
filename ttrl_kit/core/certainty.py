"""Estimators that read the model's per-token signals, not only its final answers.

* ``self_certainty`` (Intuitor / RLIF, arXiv 2505.19590) and ``neg_entropy`` (RENT, arXiv
  2505.22660): the reward is a continuous certainty score of each response; no vote, no
  label.
* ``confidence`` (DeepConf, arXiv 2508.15260): a majority vote in which each trace's vote is
  weighted by its confidence, optionally after dropping the least confident traces.
* ``certainty_vote``: majority vote whose weak majorities are checked by certainty (ours).

The vote ones reuse the core's one vote (:func:`ttrl_kit.core.estimators._vote`, through
:class:`_VotingEstimator`): abstain, ties, ``min_consensus`` and ``n_train`` behave exactly
as for ``majority``.  Signals are the contract of :mod:`ttrl_kit.core.signals`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ttrl_kit.core.estimators import VoteOptions, _vote, _VotingEstimator, build_options, trained_count
from ttrl_kit.core.metrics import answer_entropy
from ttrl_kit.core.records import AnswerClasses, Estimate, Signals
from ttrl_kit.core.schema import setting
from ttrl_kit.core.signals import lowest_window_mean, token_mean, validate_group


# --------------------------------------------------------------------------- continuous
@dataclass(frozen=True)
class SignalRewardOptions:
    abstain: bool = setting(True, help="A response without an answer gets the group's lowest reward.")
    n_train: int | None = setting(None, help="Samples rewarded per group, the first ones (null: all).", ge=1)
    tail: int = setting(0, help="Score only the last ``tail`` tokens of a response (0: all of them).", ge=0)


class _SignalReward:
    """Reward = a per-response score computed from one signal; answers only feed the stats.

    Abstain rule, adapted to a continuous reward: with ``abstain=True`` a response without
    a parsable answer (or without tokens) gets the lowest reward of the group's answering
    responses, so it never beats one that answered (a fixed 0 would be the *best* possible
    ``neg_entropy``); when nothing answers every reward is 0.  Ties and ``min_consensus``
    do not apply: there is no vote.  ``label`` is None (``has_label`` 0), and
    ``majority_ratio`` is the plain vote's, reported for monitoring only."""

    name = "signal"
    signal = ""
    sign = 1.0

    def __init__(self, **options: Any) -> None:
        self.options = build_options(SignalRewardOptions, options, self.name)
        self.needs: tuple[str, ...] = (self.signal,)

    def scores(self, signals: Signals) -> list[float | None]:
        values = signals.get(self.signal) or ()
        out: list[float | None] = []
        for tokens in values:
            m = token_mean(tokens, self.options.tail)
            out.append(None if m is None else self.sign * m)
        return out

    def estimate(self, classes: AnswerClasses, n_train: int | None = None, signals: Signals | None = None) -> Estimate:
        opts = self.options
        n = classes.n
        n_train = trained_count(n_train, opts.n_train, n)
        validate_group(signals, n, self.needs, self.name)
        assert signals is not None
        raw = self.scores(signals)
        usable = [
            s if s is not None and (c is not None or not opts.abstain) else None for s, c in zip(raw, classes.class_of)
        ]
        present = [s for s in usable if s is not None]
        floor = min(present) if present else 0.0
        rewards = tuple(float(s) if s is not None else float(floor) if present else 0.0 for s in usable[:n_train])
        _class_of, counts, _tally, winner = _vote(classes, VoteOptions(abstain=opts.abstain))
        share = counts[winner] / n if winner is not None and n else 0.0
        mean_r = sum(rewards) / len(rewards) if rewards else 0.0
        stats = {
            "n_votes": float(n),
            "n_train": float(n_train),
            "n_classes": float(sum(1 for c in counts if c > 0)),
            "abstain_ratio": float(sum(1 for c in classes.class_of if c is None) / n) if n else 0.0,
            "answer_entropy": answer_entropy(counts),
            "answer_entropy_norm": answer_entropy(counts, normalise=True),
            "majority_ratio": share,
            "low_consensus": 0.0,
            "has_label": 0.0,
            "label_free": 1.0,  # never labels: label/reward accuracy are n/a, not 0
            "reward_mean": mean_r,
            "reward_std": math.sqrt(sum((r - mean_r) ** 2 for r in rewards) / len(rewards)) if rewards else 0.0,
            f"{self.signal}_mean": sum(present) / len(present) * self.sign if present else 0.0,
        }
        return Estimate(
            label=None,
            label_class=None,
            rewards=rewards,
            agrees=tuple(False for _ in range(n)),
            majority_ratio=share,
            low_consensus=False,
            stats=stats,
        )


class SelfCertainty(_SignalReward):
    """Intuitor's reward: the response's mean per-token self-certainty KL(U || p) (nats,
    >= 0; larger = the model's next-token distributions were further from uniform, i.e.
    more certain).  GRPO's group normalisation turns it into "more certain than the
    group's other responses".  ``tail=N`` averages only the last N tokens."""

    name = "self_certainty"
    signal = "self_certainty"


class NegEntropy(_SignalReward):
    """RENT's reward: minus the response's mean per-token entropy (nats, <= 0; closer to 0
    = more confident).  RENT found the last tokens (where the answer is written) the most
    useful: ``tail=N`` averages only the last N tokens."""

    name = "neg_entropy"
    signal = "entropy"
    sign = -1.0


# --------------------------------------------------------------------------- weighted votes
@dataclass(frozen=True)
class ConfidenceOptions(VoteOptions):
    confidence: str = setting(
        "logprob",
        help="Token confidence: the sampled token's ``logprob`` or DeepConf's ``topk``.",
        choices=("logprob", "topk"),
    )
    aggregate: str = setting(
        "mean", help="Per-trace aggregate of token confidence.", choices=("mean", "lowest_group", "tail")
    )
    window: int = setting(2048, help="Tokens per window of ``lowest_group`` / ``tail``.", ge=1)
    keep_top: float = setting(1.0, help="Share of answering traces kept for the vote, the most confident.", gt=0, le=1)


class ConfidenceVote(_VotingEstimator):
    """DeepConf-style confidence-weighted majority vote; reward 1 for a response in the
    winning class, else 0 (TTRL's reward with a better-informed label).

    Token confidence (option ``confidence``):

    * ``logprob`` (default): the sampled token's log-probability; a trace's weight is
      ``exp(aggregate)``, for ``mean`` the geometric-mean token probability, in (0, 1].
      Needs only ``logprob``, which every engine supplies exactly.
    * ``topk``: DeepConf's ``C_t = -mean(top-k log-probs at t)`` (a peaked distribution
      has very negative runner-up log-probs, so larger = more confident); the weight is
      the aggregate itself.  Needs ``topk_logprobs``.

    ``aggregate``: ``mean`` over the trace, ``lowest_group`` (DeepConf: the lowest mean over
    sliding windows of ``window`` tokens; one bad stretch sinks a trace) or ``tail`` (mean
    of the last ``window`` tokens).  ``keep_top`` < 1 keeps only that fraction of the
    answering traces, the most confident ones (DeepConf keeps 10 % or 90 %), before
    voting; dropped traces still get a reward by class.  ``majority_ratio`` and
    ``min_consensus`` use the winner's share of the total weight."""

    name = "confidence"
    options_class = ConfidenceOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.needs = ("logprob",) if self.options.confidence == "logprob" else ("topk_logprobs",)

    def trace_confidence(self, signals: Signals) -> list[float | None]:
        o = self.options
        if o.confidence == "logprob":
            per_token = [list(t) for t in signals.get("logprob") or ()]
        else:
            per_token = [[-sum(k) / len(k) if k else 0.0 for k in t] for t in signals.get("topk_logprobs") or ()]
        out: list[float | None] = []
        for toks in per_token:
            if o.aggregate == "mean":
                agg = token_mean(toks)
            elif o.aggregate == "tail":
                agg = token_mean(toks, o.window)
            else:
                agg = lowest_window_mean(toks, o.window)
            if agg is None:
                out.append(None)
            else:
                out.append(math.exp(agg) if o.confidence == "logprob" else max(agg, 0.0))
        return out

    def vote_weights(self, classes: AnswerClasses, signals: Signals | None) -> list[float] | None:
        assert signals is not None
        n = classes.n
        conf = self.trace_confidence(signals)
        weights = [c if c is not None else 0.0 for c in conf]
        if self.options.keep_top < 1.0:
            answering = [i for i in range(n) if conf[i] is not None and classes.class_of[i] is not None]
            keep = max(1, math.ceil(self.options.keep_top * len(answering))) if answering else 0
            ranked = sorted(answering, key=lambda i: (-weights[i], i))  # ties: earlier trace first
            kept = set(ranked[:keep])
            weights = [w if i in kept or classes.class_of[i] is None else 0.0 for i, w in enumerate(weights)]
        return weights

    def estimate(self, classes: AnswerClasses, n_train: int | None = None, signals: Signals | None = None) -> Estimate:
        validate_group(signals, classes.n, self.needs, self.name)
        return super().estimate(classes, n_train, signals)

    def sample_reward(self, cls, winner, counts, n, entropy_norm):
        return 1.0 if cls == winner else 0.0


@dataclass(frozen=True)
class CertaintyVoteOptions(VoteOptions):
    signal: str = setting(
        "self_certainty", help="Mean token certainty of a class's members.", choices=("self_certainty", "logprob")
    )
    weak: float = setting(0.5, help="Winning shares below this are checked by certainty.", ge=0, le=1)


class CertaintyVote(_VotingEstimator):
    """Majority vote (reward 1 in the winning class, else 0) in which certainty only
    speaks where the vote is weak.

    * **Break:** classes tied on votes are ordered by their members' mean certainty
      (``signal``: mean token ``self_certainty``, or mean token ``logprob``) before the
      first-seen rule, which is arbitrary: it rewards whichever answer happened to be
      sampled first.
    * **Veto:** when the winner's share is below ``weak`` *and* its members are on average
      less certain than the answering responses outside it, the group gets no label and
      zero rewards (``stats['vetoed']`` = 1).

    Why: TTRL's wrong pseudo-labels sit mostly in groups with a thin plurality, where the
    label is close to a coin flip between resamples; rewarding it pushes the policy toward
    a wrong answer with full force.  The model's certainty is evidence the count does not
    use: a thin plurality the model is *less* sure of than of its alternatives is the case
    most likely to be a shared wrong path, and skipping it costs one group's gradient,
    while reinforcing it costs accuracy.  Strong majorities are left to the vote, because
    there the vote is usually right and certainty-only rewards (Intuitor, RENT) are known
    to reward confident mistakes and to over-sharpen.  ``weak=0`` is plain majority vote
    with certainty tie-breaks."""

    name = "certainty_vote"
    options_class = CertaintyVoteOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.needs = (self.options.signal,)

    def _certainty(self, signals: Signals | None) -> list[float | None]:
        assert signals is not None
        return [token_mean(t) for t in signals.get(self.options.signal) or ()]

    def class_preference(self, classes: AnswerClasses, signals: Signals | None) -> list[float]:
        cert = self._certainty(signals)
        k = len(classes.representatives)
        sums, counts = [0.0] * k, [0] * k
        for c, x in zip(classes.class_of, cert):
            if c is not None and x is not None:
                sums[c] += x
                counts[c] += 1
        return [sums[c] / counts[c] if counts[c] else -math.inf for c in range(k)]

    def veto(self, class_of: list[int | None], winner: int, share: float, signals: Signals | None) -> bool:
        if share >= self.options.weak:
            return False
        cert = self._certainty(signals)
        inside = [x for c, x in zip(class_of, cert) if c == winner and x is not None]
        outside = [x for c, x in zip(class_of, cert) if c is not None and c != winner and x is not None]
        if not inside or not outside:
            return False
        return sum(inside) / len(inside) < sum(outside) / len(outside)

    def estimate(self, classes: AnswerClasses, n_train: int | None = None, signals: Signals | None = None) -> Estimate:
        validate_group(signals, classes.n, self.needs, self.name)
        return super().estimate(classes, n_train, signals)

    def sample_reward(self, cls, winner, counts, n, entropy_norm):
        return 1.0 if cls == winner else 0.0


SIGNAL_ESTIMATORS: dict[str, tuple[type, str]] = {
    SelfCertainty.name: (
        SelfCertainty,
        "Intuitor: mean token self-certainty KL(U||p) of the response (needs self_certainty)",
    ),
    NegEntropy.name: (NegEntropy, "RENT: minus the mean token entropy of the response (needs entropy)"),
    ConfidenceVote.name: (
        ConfidenceVote,
        "DeepConf: confidence-weighted majority vote, optional top-fraction filter (needs logprob)",
    ),
    CertaintyVote.name: (
        CertaintyVote,
        "majority vote; certainty breaks ties and vetoes weak, uncertain majorities (needs self_certainty)",
    ),
}
