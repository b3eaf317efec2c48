"""The label-free health of a training step, measured from its scored groups alone.

Why: every label-free run eventually over-sharpens (answer entropy -> 0, every group
unanimous, questions locked onto one answer, right or wrong), and URLVR (arXiv 2603.08660)
finds the same rise-then-fall for every intrinsic reward.  A run has no gold labels to watch,
so what it can watch is how its own groups look.  :func:`step_health` reduces one step's
:class:`~ttrl_kit.core.records.GroupResult` list to a few numbers that every engine logs the
same way and that the early-stop rule (:mod:`ttrl_kit.core.early_stop`) reads.

Nothing here reads ``gold``, ``label_correct``, ``sample_correct`` or ``reward_accuracy``:
the numbers are the same whether or not (and whichever) gold labels were attached, which is
what lets the stop rule and the checkpoint pick run on them (tests/core/test_health.py
permutes gold labels to check it).

Per step, averaged over the step's groups:

* ``majority_ratio``: share of the winning class over all votes (abstentions included);
* ``answer_entropy``: Shannon entropy (nats) of the group's answer classes;
* ``distinct_answers``: number of distinct answer classes;
* ``zero_variance_share``: share of groups whose trained rewards are all equal.  With GRPO
  such a group has zero advantage: it produces no policy gradient;
* ``unanimous_share``: share of groups where every vote is in one class;
* ``abstain_share``: share of samples with no extractable answer;
* ``mean_length``: mean response length in tokens (when the engine gives lengths);
* ``token_entropy`` / ``self_certainty``: mean per-token entropy / self-certainty of the
  responses, when the engine measured them (the signal contract, :mod:`ttrl_kit.core.signals`)
  or the estimator reported them (``entropy_mean`` / ``self_certainty_mean`` stats).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ttrl_kit.core import metrics
from ttrl_kit.core.records import GroupResult
from ttrl_kit.core.scoring import summarise

#: Estimator stats that carry a token-level signal mean (see ``ttrl_kit.core.certainty``).
_SIGNAL_STATS = {"token_entropy": "entropy_mean", "self_certainty": "self_certainty_mean"}


@dataclass(frozen=True)
class StepHealth:
    """Label-free numbers of one step (see the module docstring for each field)."""

    groups: int
    majority_ratio: float
    answer_entropy: float
    distinct_answers: float
    zero_variance_share: float
    unanimous_share: float
    abstain_share: float
    mean_length: float | None = None
    token_entropy: float | None = None
    self_certainty: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; unmeasured signals are left out rather than written as null."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepHealth:
        """Back from a metrics line (unknown keys ignored, so older lines still read)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def step_health(
    results: Sequence[GroupResult],
    *,
    lengths: Sequence[float] | None = None,
    mean_length: float | None = None,
    token_entropy: float | None = None,
    self_certainty: float | None = None,
) -> StepHealth:
    """The health of one step from its groups (all ranks' groups, each scored once).

    ``lengths``: the step's response lengths in tokens, when the engine knows them (or
    ``mean_length``, their mean, when that is all it has).  ``token_entropy`` /
    ``self_certainty``: step means the engine measured itself; otherwise the estimator's
    ``entropy_mean`` / ``self_certainty_mean`` stats are used when present.  The numbers come
    from the core's one :func:`~ttrl_kit.core.scoring.summarise` (the estimator's own
    ``Estimate.stats`` averaged over groups, and its zero-variance share), of which only the
    label-free keys are read; a plugin estimator without those stats falls back to its
    classes."""
    rs = list(results)
    if not rs:
        return StepHealth(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, mean_length, token_entropy, self_certainty)
    core = summarise(rs)

    def stat(key: str, fallback: Callable[[GroupResult], float]) -> float:
        v = core.get(key)
        return float(v) if isinstance(v, (int, float)) else _mean([fallback(r) for r in rs])

    signals: dict[str, float | None] = {"token_entropy": token_entropy, "self_certainty": self_certainty}
    for name, key in _SIGNAL_STATS.items():
        if signals[name] is None and isinstance(core.get(key), (int, float)):
            signals[name] = float(core[key])
    return StepHealth(
        groups=len(rs),
        majority_ratio=stat("majority_ratio", lambda r: float(r.estimate.majority_ratio)),
        answer_entropy=stat("answer_entropy", lambda r: metrics.answer_entropy(r.classes.counts())),
        distinct_answers=stat("n_classes", lambda r: float(sum(1 for c in r.classes.counts() if c > 0))),
        zero_variance_share=float(core["zero_variance_groups"]),
        unanimous_share=_mean([1.0 if _unanimous(r) else 0.0 for r in rs]),
        abstain_share=stat("abstain_ratio", lambda r: sum(a is None for a in r.answers) / max(len(r.answers), 1)),
        mean_length=_mean([float(x) for x in lengths]) if lengths else mean_length,
        token_entropy=signals["token_entropy"],
        self_certainty=signals["self_certainty"],
    )


def _unanimous(r: GroupResult) -> bool:
    """Every vote answered, all in one class."""
    return bool(r.answers) and None not in r.classes.class_of and len(set(r.classes.class_of)) == 1
