"""Evaluation metrics for when gold labels exist.

They are *reported*, never used for training: nothing here is reachable from an
estimator.  Definitions follow the TTRL paper: avg@k is the mean correctness of k samples
(what the paper calls pass@1), maj@k is whether the majority answer of k samples is
correct, pass@k is the unbiased estimator of Chen et al. (2021).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from ttrl_kit.core.vote import plurality


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def label_accuracy(label_correct: Iterable[bool | None]) -> float:
    """Share of groups whose pseudo-label equals the gold label (no label counts as wrong)."""
    return _mean([1.0 if c else 0.0 for c in label_correct])


def reward_accuracy(agrees: Sequence[bool], correct: Sequence[bool]) -> float:
    """Share of samples whose reward matches the reward the gold label would have given.

    For the majority vote reward (1 iff in the winning class) the gold reward is 1 iff the
    sample is correct, so this is TTRL's ``reward_acc``.  Non-binary estimators are compared
    through ``agrees`` (the sample is in the winning class), the same binary decision.
    """
    if len(agrees) != len(correct):
        raise ValueError("agrees and correct must have the same length")
    return _mean([1.0 if a == c else 0.0 for a, c in zip(agrees, correct)])


def majority_ratio(counts: Sequence[int], n: int) -> float:
    """Winning class size over all n samples (abstentions count in the denominator)."""
    return max(counts) / n if counts and n else 0.0


def avg_at_k(correct: Sequence[bool]) -> float:
    """Mean correctness of the k samples of one question (= pass@1 as TTRL reports it)."""
    return _mean([1.0 if c else 0.0 for c in correct])


def maj_at_k(class_of: Sequence[int | None], class_correct: Sequence[bool]) -> float:
    """1.0 when the most frequent class (ties: first seen) is correct, else 0.0.

    ``class_correct[c]`` says whether class c matches the gold label; abstentions never win.
    """
    winner = plurality(class_of)
    return 1.0 if winner is not None and class_correct[winner] else 0.0


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k: probability that at least one of k draws (without replacement)
    from n samples with c correct is correct: ``1 - C(n-c, k) / C(n, k)``."""
    if not (0 <= c <= n) or k < 1 or k > n:
        raise ValueError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def answer_entropy(counts: Sequence[int], normalise: bool = False) -> float:
    """Shannon entropy (nats) of the answer-class distribution; with ``normalise`` it is
    divided by ``log`` of the number of counted answers so it lies in [0, 1]."""
    total = sum(counts)
    if total == 0:
        return 0.0
    h = -sum((x / total) * math.log(x / total) for x in counts if x > 0)
    if normalise:
        return h / math.log(total) if total > 1 else 0.0
    return h


def point_biserial(rewards: Sequence[float], correct: Sequence[bool]) -> float | None:
    """Pearson correlation between a per-sample reward and gold correctness (0/1), the
    point-biserial correlation URLVR reports.  It compares estimators whose rewards live on
    different scales: only how well the reward *orders* right above wrong, linearly,
    counts.  None when either side is constant (the correlation is undefined)."""
    if len(rewards) != len(correct):
        raise ValueError("rewards and correct must have the same length")
    n = len(rewards)
    if n < 2:
        return None
    ys = [1.0 if c else 0.0 for c in correct]
    mx, my = sum(rewards) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(rewards, ys))
    sxx = sum((x - mx) ** 2 for x in rewards)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 0.0 or syy <= 0.0:
        return None
    return sxy / math.sqrt(sxx * syy)


def auroc(rewards: Sequence[float], correct: Sequence[bool]) -> float | None:
    """Area under the ROC curve of the reward as a score for "this sample is correct": the
    probability that a random correct sample gets a higher reward than a random wrong one
    (ties count one half; Mann-Whitney U).  0.5 = no information.  None without both a
    correct and a wrong sample."""
    if len(rewards) != len(correct):
        raise ValueError("rewards and correct must have the same length")
    pairs = sorted(zip(rewards, correct), key=lambda p: p[0])
    n_pos = sum(1 for c in correct if c)
    n_neg = len(correct) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    # Average ranks (1-based) with ties sharing the mean rank.
    rank_sum_pos = 0.0
    i = 0
    while i < len(pairs):
        j = i
        while j + 1 < len(pairs) and pairs[j + 1][0] == pairs[i][0]:
            j += 1
        mean_rank = (i + j) / 2.0 + 1.0
        rank_sum_pos += mean_rank * sum(1 for k in range(i, j + 1) if pairs[k][1])
        i = j + 1
    return (rank_sum_pos - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
