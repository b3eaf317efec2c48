"""When to stop a label-free run, and which saved checkpoint is its result, without labels.

Background.  URLVR (arXiv 2603.08660) shows that every intrinsic reward rises, then falls,
and marks the *model collapse step* as the step where the reward's accuracy against gold
drops below 1 %.  That needs gold labels, which a label-free run does not have.  What a run
*can* see is the state URLVR's collapse ends in: the policy has sharpened until its groups
agree with themselves, and GRPO then gets no gradient (a group whose rewards are all equal
has zero advantage).  Training on past that point cannot fix a question that locked onto a
wrong answer; the only groups still producing gradient are the uncertain ones, where
training mostly pushes the current majority further, right or wrong (our demo lost pass@16
exactly that way after 10-16 steps).  So the rule stops there, and it decides from
:class:`~ttrl_kit.core.health.StepHealth` records only, which never read gold.

**The stop rule** (:func:`stop_decision`).  ``window`` = the number of steps in which the run
sees every question once (an engine sets it to ``ceil(questions / prompts_per_step)``; a
single step sees only some questions, so one step alone is noise).  After step ``t >=
max(window, min_steps)``, with means over the last ``window`` steps:

* ``no_gradient``: mean zero-reward-variance share >= ``zero_variance`` (default 0.9): at
  least 90 % of the groups gave GRPO nothing to learn from;
* ``collapsed``: mean majority ratio >= ``consensus`` (default 0.95): the answers collapsed
  onto one per question (answer entropy near 0), whatever the estimator rewards.

Either stops training (with a checkpoint).  A wall-time budget stays a safety net only: the
rule counts steps, never seconds, so a fast and a slow machine stop at the same step.

**The checkpoint pick** (:func:`pick_checkpoint`).  Health line ``t`` was measured on samples
drawn from checkpoint ``t - 1`` (the model *before* step ``t``'s update), so checkpoint
``c``'s own label-free score is the mean majority ratio of steps ``c + 2 - window .. c + 1``
(one pass over the questions, sampled from checkpoints up to ``c``).  The last checkpoint
has no samples of its own and is a candidate only when it is the sole one.  The pick is the
*earliest* candidate whose score is within ``tolerance`` of the best score: among
checkpoints that are equally self-consistent, the least-sharpened one has spent the fewest
steps pushing uncertain questions towards their current majority (and keeps more of the
answer diversity that pass@k needs).  For rewards that rise then fall (URLVR), it is the
checkpoint at the peak.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ttrl_kit.core.health import StepHealth


@dataclass(frozen=True)
class StopRule:
    """The stop rule's thresholds (see the module docstring); ``window`` >= 1 steps."""

    window: int = 3
    zero_variance: float = 0.9
    consensus: float = 0.95
    min_steps: int = 0

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"StopRule.window must be >= 1, got {self.window}")


@dataclass(frozen=True)
class StopDecision:
    """Stop after ``step`` because of ``reason`` (``no_gradient`` or ``collapsed``)."""

    step: int
    reason: str
    zero_variance_share: float
    majority_ratio: float


@dataclass(frozen=True)
class Pick:
    """The label-free pick: checkpoint ``step`` (``scores``: every candidate's score)."""

    step: int
    score: float | None
    reason: str
    scores: dict[int, float] = field(default_factory=dict)


def _window_mean(history: Sequence[StepHealth], last: int, window: int, key: str) -> float:
    """Mean of ``key`` over steps ``last - window + 1 .. last`` (1-based, clipped at step 1)."""
    rows = history[max(0, last - window) : last]
    return sum(float(getattr(h, key)) for h in rows) / len(rows)


def stop_decision(history: Sequence[StepHealth], rule: StopRule) -> StopDecision | None:
    """Whether to stop after the newest step (``history[i]`` is step ``i + 1``)."""
    t = len(history)
    if t < max(rule.window, rule.min_steps, 1):
        return None
    zv = _window_mean(history, t, rule.window, "zero_variance_share")
    mr = _window_mean(history, t, rule.window, "majority_ratio")
    if zv >= rule.zero_variance:
        return StopDecision(t, "no_gradient", zv, mr)
    if mr >= rule.consensus:
        return StopDecision(t, "collapsed", zv, mr)
    return None


def first_stop(history: Sequence[StepHealth], rule: StopRule) -> StopDecision | None:
    """The step at which the rule first fires over a whole recorded history (a resumed run
    replays its metrics through this, so it stops where an uninterrupted run would)."""
    for t in range(1, len(history) + 1):
        d = stop_decision(history[:t], rule)
        if d is not None:
            return d
    return None


def checkpoint_scores(history: Sequence[StepHealth], candidates: Sequence[int], window: int) -> dict[int, float]:
    """Each candidate checkpoint's label-free score: the mean majority ratio over the window
    of steps that ends with the first step sampled from it (``c + 1``).  Candidates whose
    window is not full (too early) are scored only when no candidate has a full window;
    checkpoints without samples of their own (``c >= len(history)``) get no score."""
    t = len(history)
    measured = sorted(c for c in set(candidates) if 0 <= c < t)
    full = [c for c in measured if c + 1 >= window]
    return {c: _window_mean(history, c + 1, window, "majority_ratio") for c in (full or measured)}


def pick_checkpoint(
    history: Sequence[StepHealth], candidates: Sequence[int], *, window: int, tolerance: float = 0.01
) -> Pick | None:
    """The label-free pick among ``candidates`` (checkpoint steps; ``history[i]`` is step
    ``i + 1``).  None without candidates; the newest candidate when none has samples."""
    if not candidates:
        return None
    scores = checkpoint_scores(history, candidates, window)
    if not scores:
        return Pick(max(candidates), None, "no checkpoint has samples of its own; the newest is kept")
    best = max(scores.values())
    step = min(c for c, s in scores.items() if s >= best - tolerance)
    return Pick(
        step,
        scores[step],
        f"earliest checkpoint whose mean majority ratio over {window} step(s) is within {tolerance} of the best "
        f"({best:.3f})",
        scores,
    )
