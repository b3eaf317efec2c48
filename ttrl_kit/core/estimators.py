"""Label-free reward estimators: one group's answer classes -> pseudo-label, rewards, stats.

Shared rules (all estimators, documented in README "Estimators"):

* **Abstain.** A sample whose answer is ``None`` (empty or unparseable) is never counted
  as a vote for any class, can never be the label, and gets reward 0, or the lowest reward
  an answering trained sample of its group gets when that is below 0 (``entropy``'s shared
  penalty, ``aligned``'s balance term): not answering must never pay more than answering.
  Before this rule, ``entropy`` (w 0.75) paid a diffuse group's answers -0.6 and its
  non-answers 0, and a 10-step bench run on add1 drove the share of unparsed answers from
  0.11 to 0.63 (benchmarks/results/bench.md).  A group in which nothing parses has label
  ``None`` and all-zero rewards.  ``abstain=False`` restores the
  original TTRL behaviour (the empty answer forms a class of its own that can win), only
  for reproducing old numbers.
* **Ties** are broken deterministically by ``tie_break``: ``"first"`` (default) picks the
  tied class whose first member appears earliest in the group, i.e. what
  ``collections.Counter.most_common`` did in TTRL; ``"none"`` refuses to pick: a tied group
  gets no label and all-zero rewards.
* **min_consensus.** When the winning share (``majority_ratio``, over all votes) is below
  it, rewards are all zero and ``low_consensus`` is set; the label is still reported.
* **n_votes > n_train.** Every sample votes; rewards are returned for the first
  ``n_train`` samples only (TTRL: 64 votes, 32 trained).  Engines put the trained
  samples first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ttrl_kit.core.errors import ConfigError
from ttrl_kit.core.metrics import answer_entropy
from ttrl_kit.core.records import AnswerClasses, Estimate, Signals
from ttrl_kit.core.schema import build, setting
from ttrl_kit.core.vote import tally_vote

ABSTAIN_LABEL = ""


def trained_count(n_train: int | None, option: int | None, n: int) -> int:
    """How many of a group's ``n`` samples are trained on: the engine's ``n_train`` (votes
    beyond it are extra votes), else the estimator's option, else all of them."""
    if n_train is None:
        n_train = option if option is not None else n
    if n_train > n:
        raise ConfigError(f"n_train={n_train} is larger than the group ({n} samples)")
    return n_train


@runtime_checkable
class Estimator(Protocol):
    """``estimate(classes, n_train=None) -> Estimate``; an estimator that declares
    ``needs`` (signal names, see :mod:`ttrl_kit.core.signals`) is also passed the group's
    ``signals=`` (a :class:`Signals` covering every response, trained ones first)."""

    name: str

    def estimate(self, classes: AnswerClasses, n_train: int | None = None) -> Estimate:
        """Pseudo-label and rewards for one group; never sees a gold label."""


@dataclass(frozen=True)
class VoteOptions:
    """The shared vote rules' options (see the module docstring)."""

    abstain: bool = setting(True, help="Unparseable answers never vote (False: they form a class that can win).")
    tie_break: str = setting(
        "first",
        help="``first``: the tied class seen first wins (TTRL's Counter order); ``none``: a tie gets no label.",
        choices=("first", "none"),
    )
    min_consensus: float = setting(
        0.0, help="Below this winning share rewards are all zero (the label is still reported).", ge=0, le=1
    )
    n_train: int | None = setting(
        None, help="Samples rewarded per group, the first ones (null: the engine's n_train, else all).", ge=1
    )


def build_options(cls: type, options: Mapping[str, Any], estimator: str) -> Any:
    """An estimator's options data class from user key/values (one-line errors naming the
    estimator and the option; ``true``/``false`` text from a command line is a boolean)."""
    return build(cls, options, f"estimator {estimator!r}", noun="option", strings=True)


def _vote(
    classes: AnswerClasses,
    opts: VoteOptions,
    weights: Sequence[float] | None = None,
    prefer: Sequence[float] | None = None,
) -> tuple[list[int | None], list[int], list[float], int | None]:
    """The estimators' view of the one vote (:func:`ttrl_kit.core.vote.tally_vote`).

    Returns the per-sample class (abstentions folded into an extra class when
    ``abstain=False``), plain class counts, the weighted tally (``weights[i]`` per sample,
    1 each by default, so the tally equals the counts) and the winning class (or None).
    Among classes tied on the tally, a higher ``prefer`` score (one per class, e.g. mean
    certainty) wins first; what is still tied follows ``tie_break``."""
    class_of = list(classes.class_of)
    k = len(classes.representatives)
    if not opts.abstain and any(c is None for c in class_of):
        class_of = [k if c is None else c for c in class_of]
        k += 1
    # Class indices are numbered by first appearance; the abstain class (if any) is k-1,
    # but the vote orders ties by first appearance, which is what "first" promises.
    v = tally_vote(class_of, k, weights=weights, prefer=prefer, tie_break=opts.tie_break)
    return class_of, list(v.counts), list(v.tally), v.winner


class _VotingEstimator:
    """A vote over answer classes, then a reward per trained sample.

    Subclasses choose the per-sample reward (:meth:`sample_reward`) and, when they read
    signals, the vote weights (:meth:`vote_weights`), a per-class preference for ties
    (:meth:`class_preference`) and a veto (:meth:`veto`)."""

    name = "base"
    options_class: type = VoteOptions
    needs: tuple[str, ...] = ()

    def __init__(self, **options: Any) -> None:
        self.options = build_options(self.options_class, options, self.name)

    def sample_reward(self, cls: int | None, winner: int, counts: list[int], n: int, entropy_norm: float) -> float:
        raise NotImplementedError

    def vote_weights(self, classes: AnswerClasses, signals: Signals | None) -> list[float] | None:
        """One vote weight per sample (None: every vote counts 1)."""
        return None

    def class_preference(self, classes: AnswerClasses, signals: Signals | None) -> list[float] | None:
        """One score per answer class; among classes tied on the tally the higher wins."""
        return None

    def veto(self, class_of: list[int | None], winner: int, share: float, signals: Signals | None) -> bool:
        """True to refuse the winner: the group gets no label and all-zero rewards."""
        return False

    def estimate(self, classes: AnswerClasses, n_train: int | None = None, signals: Signals | None = None) -> Estimate:
        opts = self.options
        n = classes.n
        n_train = trained_count(n_train, opts.n_train, n)
        weights = self.vote_weights(classes, signals)
        prefer = self.class_preference(classes, signals)
        if prefer is not None:
            prefer = list(prefer) + [-math.inf]  # the abstain class (abstain=False) is never preferred
        class_of, counts, tally, winner = _vote(classes, opts, weights, prefer)
        abstain_class = len(classes.representatives) if len(counts) > len(classes.representatives) else None
        ent = answer_entropy(counts)
        ent_norm = answer_entropy(counts, normalise=True)
        stats: dict[str, float] = {
            "n_votes": float(n),
            "n_train": float(n_train),
            "n_classes": float(sum(1 for c in counts if c > 0)),
            "abstain_ratio": float(sum(1 for c in classes.class_of if c is None) / n) if n else 0.0,
            "answer_entropy": ent,
            "answer_entropy_norm": ent_norm,
        }
        total = float(n) if weights is None else float(sum(weights))
        share = tally[winner] / total if winner is not None and total > 0 else 0.0
        vetoed = winner is not None and self.veto(class_of, winner, share, signals)
        if type(self).veto is not _VotingEstimator.veto:
            stats["vetoed"] = float(vetoed)
        if winner is None or vetoed:
            stats.update(majority_ratio=0.0, low_consensus=0.0, has_label=0.0, reward_mean=0.0)
            return Estimate(
                label=None,
                label_class=None,
                rewards=tuple(0.0 for _ in range(n_train)),
                agrees=tuple(False for _ in range(n)),
                majority_ratio=0.0,
                low_consensus=False,
                stats=stats,
            )
        majority_ratio = share
        low = majority_ratio < opts.min_consensus
        if winner == abstain_class:
            label = ABSTAIN_LABEL
            label_class = None
        else:
            label = classes.representatives[winner]
            label_class = winner
        agrees = tuple(c == winner for c in class_of)
        if low:
            rewards = tuple(0.0 for _ in range(n_train))
        else:
            answered = {
                i: float(self.sample_reward(c, winner, counts, n, ent_norm))
                for i, c in enumerate(class_of[:n_train])
                if c is not None
            }
            floor = min(0.0, *answered.values())
            rewards = tuple(answered.get(i, floor) for i in range(n_train))
        stats.update(
            majority_ratio=majority_ratio,
            low_consensus=float(low),
            has_label=1.0,
            reward_mean=(sum(rewards) / len(rewards)) if rewards else 0.0,
        )
        return Estimate(
            label=label,
            label_class=label_class,
            rewards=rewards,
            agrees=agrees,
            majority_ratio=majority_ratio,
            low_consensus=low,
            stats=stats,
        )


class MajorityVote(_VotingEstimator):
    """TTRL's reward: 1 for a sample in the winning class, else 0."""

    name = "majority"

    def sample_reward(self, cls, winner, counts, n, entropy_norm):
        return 1.0 if cls == winner else 0.0


class SoftFrequency(_VotingEstimator):
    """Reward = the share of the whole group (abstentions included) in the sample's class.

    Gives partial credit to runner-up answers, which keeps a gradient on groups where the
    plurality is thin instead of betting everything on it."""

    name = "soft"

    def sample_reward(self, cls, winner, counts, n, entropy_norm):
        return counts[cls] / n


@dataclass(frozen=True)
class EntropyOptions(VoteOptions):
    weight: float = setting(0.75, help="Weight of the normalised answer entropy subtracted from the frequency.")


class EntropyRegularised(_VotingEstimator):
    """TTRV's reward: frequency of the sample's answer minus ``weight`` x the normalised
    entropy of the answer distribution (entropy over valid votes divided by ``log`` of the
    number of valid votes, so it lies in [0, 1]).  The penalty is shared by the whole
    group, so it lowers rewards of diffuse groups and pushes the policy to concentrate;
    samples without an answer share it too (the abstain rule: never above an answer)."""

    name = "entropy"
    options_class = EntropyOptions

    def sample_reward(self, cls, winner, counts, n, entropy_norm):
        return counts[cls] / n - self.options.weight * entropy_norm


BUILTIN_ESTIMATORS: dict[str, tuple[type, str]] = {  # + the signal family, see certainty.py
    MajorityVote.name: (MajorityVote, "TTRL majority vote: 1 if in the winning class, else 0"),
    SoftFrequency.name: (SoftFrequency, "share of the group in the sample's class"),
    EntropyRegularised.name: (EntropyRegularised, "TTRV: frequency minus weight x normalised answer entropy"),
}
