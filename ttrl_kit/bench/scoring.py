"""Score one estimator on cached rollouts through :class:`ttrl_kit.GroupScorer`.

Every estimator of a grid sees the *same* samples, so differences between rows are the
estimators', not sampling noise.  Gold labels are used only here, for reporting; the
estimate itself never sees them (GroupScorer guarantees it).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

from ttrl_kit.bench.config import EstimatorSpec
from ttrl_kit.bench.rollouts import RolloutSet
from ttrl_kit.core import metrics
from ttrl_kit.core.errors import ConfigError
from ttrl_kit.core.records import Signals
from ttrl_kit.core.scoring import GroupScorer

#: Columns of an estimate-mode row, in table order (besides the grid coordinates).
METRICS = (
    "groups",
    "n_votes",
    "n_train",
    "label_accuracy",
    "reward_accuracy",
    "reward_corr",
    "reward_auroc",
    "majority_ratio",
    "low_consensus_rate",
    "no_label_rate",
    "abstain_ratio",
    "answer_entropy",
    "reward_mean",
    "zero_variance_rate",
    "avg_at_k",
    "maj_at_k",
    "pass_at_k",
    "estimate_us_per_group",
    "score_ms_per_group",
)


@dataclass
class CellScore:
    metrics: dict[str, float | None]
    #: Per group: id, majority_ratio, reward_accuracy, label_correct (for plots and audits).
    groups: list[dict[str, Any]]


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def score_cell(rollouts: RolloutSet, task_name: str, task_options: Any, est: EstimatorSpec, registry: Any) -> CellScore:
    """All metrics of one estimator on one model x task's rollouts.

    ``reward_corr`` (point-biserial correlation) and ``reward_auroc`` compare each trained
    sample's reward with its gold correctness, pooled over the cell's groups, so continuous
    rewards (soft, self_certainty, ...) are told apart from binary ones, which
    ``reward_accuracy`` (a "winning class" test) cannot do.

    ``estimate_us_per_group`` times ``Estimator.estimate`` alone (median over groups, the
    cost an engine pays per prompt group on top of answer extraction/grouping);
    ``score_ms_per_group`` times the whole ``GroupScorer.score`` call (extract, group,
    estimate and grading against gold), median over groups."""
    scorer = GroupScorer(
        registry.task(task_name, **dict(task_options)), registry.estimator(est.name, **dict(est.options)), est.name
    )
    n_train_opt = est.options.get("n_train")
    rows: list[dict[str, Any]] = []
    est_times: list[float] = []
    score_times: list[float] = []
    label_ok: list[float] = []
    reward_acc: list[float] = []
    avg_k: list[float] = []
    maj_k: list[float] = []
    pass_k: list[float] = []
    stats: dict[str, list[float]] = {}
    zero_var: list[float] = []
    n_votes_used = 0
    n_train_used = 0
    all_rewards: list[float] = []
    all_correct: list[bool] = []
    for g in rollouts.groups:
        responses = g.responses[: est.n_votes] if est.n_votes else g.responses
        n_votes_used = len(responses)
        signals = None
        if scorer.needs:
            if not g.signals:
                raise ConfigError(f"estimator {est.id!r}: rollouts of group {g.id!r} carry no signals")
            signals = Signals.from_mapping({k: v[: len(responses)] for k, v in g.signals.items() if k in scorer.needs})
        t0 = time.perf_counter()
        r = scorer.score(responses, gold=g.gold, id=g.id, signals=signals)
        score_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        if scorer.needs:
            scorer.estimator.estimate(r.classes, None, signals=signals)  # type: ignore[call-arg]
        else:
            scorer.estimator.estimate(r.classes, None)
        est_times.append(time.perf_counter() - t0)
        e = r.estimate
        n_train_used = len(e.rewards)
        for k, v in e.stats.items():
            stats.setdefault(k, []).append(float(v))
        zero_var.append(1.0 if len(set(e.rewards)) <= 1 else 0.0)
        row = {"id": g.id, "majority_ratio": e.majority_ratio, "label": e.label, "low_consensus": e.low_consensus}
        if r.gold is not None and r.sample_correct is not None:
            correct = list(r.sample_correct)
            class_correct = [False] * len(r.classes.representatives)
            for c, ok in zip(r.classes.class_of, correct):
                if c is not None and ok:
                    class_correct[c] = True
            label_ok.append(1.0 if r.label_correct else 0.0)
            reward_acc.append(float(r.reward_accuracy or 0.0))
            all_rewards.extend(e.rewards)
            all_correct.extend(correct[: len(e.rewards)])
            avg_k.append(metrics.avg_at_k(correct))
            maj_k.append(metrics.maj_at_k(r.classes.class_of, class_correct))
            pass_k.append(metrics.pass_at_k(len(correct), sum(correct), len(correct)))
            row.update(
                gold=r.gold, label_correct=bool(r.label_correct), reward_accuracy=r.reward_accuracy, avg_at_k=avg_k[-1]
            )
        rows.append(row)
    # An estimator that never labels (self_certainty, neg_entropy) has no label accuracy, and
    # "in the winning class" (reward_accuracy) means nothing for it: shown as n/a, not 0.
    labels = not (stats.get("label_free") and all(stats["label_free"]))
    out: dict[str, float | None] = {
        "groups": float(len(rollouts.groups)),
        "n_votes": float(n_votes_used),
        "n_train": float(n_train_used if n_train_opt is None else n_train_opt),
        "label_accuracy": _mean(label_ok) if labels else None,
        "reward_accuracy": _mean(reward_acc) if labels else None,
        "reward_corr": metrics.point_biserial(all_rewards, all_correct) if all_rewards else None,
        "reward_auroc": metrics.auroc(all_rewards, all_correct) if all_rewards else None,
        "majority_ratio": _mean(stats.get("majority_ratio", [])),
        "low_consensus_rate": _mean(stats.get("low_consensus", [])),
        "no_label_rate": (1.0 - _mean(stats["has_label"])) if stats.get("has_label") else None,  # type: ignore[operator]
        "abstain_ratio": _mean(stats.get("abstain_ratio", [])),
        "answer_entropy": _mean(stats.get("answer_entropy", [])),
        "reward_mean": _mean(stats.get("reward_mean", [])),
        "zero_variance_rate": _mean(zero_var),
        "avg_at_k": _mean(avg_k),
        "maj_at_k": _mean(maj_k),
        "pass_at_k": _mean(pass_k),
        "estimate_us_per_group": statistics.median(est_times) * 1e6 if est_times else None,
        "score_ms_per_group": statistics.median(score_times) * 1e3 if score_times else None,
    }
    return CellScore(metrics=out, groups=rows)
