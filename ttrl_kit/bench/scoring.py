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
from ttrl_kit.core.records import GroupInput, GroupResult, Signals
from ttrl_kit.core.scoring import GroupScorer, group_gold, summarise

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
    results: list[GroupResult] = []
    est_times: list[float] = []
    score_times: list[float] = []
    n_votes_used = 0
    n_train_used = 0
    all_rewards: list[float] = []
    all_correct: list[bool] = []
    prepared: list[tuple[Any, list[str], Signals | None]] = []
    for g in rollouts.groups:
        responses = g.responses[: est.n_votes] if est.n_votes else g.responses
        n_votes_used = len(responses)
        signals = None
        if scorer.needs:
            if not g.signals:
                raise ConfigError(f"estimator {est.id!r}: rollouts of group {g.id!r} carry no signals")
            signals = Signals.from_mapping({k: v[: len(responses)] for k, v in g.signals.items() if k in scorer.needs})
        prepared.append((g, list(responses), signals))
    if scorer.batch:
        results, score_times, est_times = _score_batch(scorer, prepared, registry, est)
    else:
        results.clear()
        for g, responses, signals in prepared:
            t0 = time.perf_counter()
            results.append(scorer.score(responses, gold=g.gold, id=g.id, signals=signals))
            score_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            if scorer.needs:
                scorer.estimator.estimate(results[-1].classes, None, signals=signals)  # type: ignore[call-arg]
            else:
                scorer.estimator.estimate(results[-1].classes, None)
            est_times.append(time.perf_counter() - t0)
    for (g, _responses, _signals), r in zip(prepared, results):
        e = r.estimate
        n_train_used = len(e.rewards)
        row = {"id": g.id, "majority_ratio": e.majority_ratio, "label": e.label, "low_consensus": e.low_consensus}
        gold = group_gold(r)
        if gold is not None and r.sample_correct is not None:
            all_rewards.extend(e.rewards)
            all_correct.extend(r.sample_correct[: len(e.rewards)])
            row.update(
                gold=r.gold,
                label_correct=bool(r.label_correct),
                reward_accuracy=r.reward_accuracy,
                avg_at_k=gold.avg_at_k,
            )
        rows.append(row)
    # The core's batch summary: the same definitions as training logs and `ttrl-kit vote`.  An
    # estimator that never labels (self_certainty, neg_entropy) has no label accuracy, and "in
    # the winning class" (reward_accuracy) means nothing for it: summarise leaves them out (n/a).
    s = summarise(results)
    out: dict[str, float | None] = {
        "groups": float(len(rollouts.groups)),
        "n_votes": float(n_votes_used),
        "n_train": float(n_train_used if n_train_opt is None else n_train_opt),
        "label_accuracy": s.get("label_accuracy"),
        "reward_accuracy": s.get("reward_accuracy"),
        "reward_corr": metrics.point_biserial(all_rewards, all_correct) if all_rewards else None,
        "reward_auroc": metrics.auroc(all_rewards, all_correct) if all_rewards else None,
        "majority_ratio": s.get("majority_ratio"),
        "low_consensus_rate": s.get("low_consensus"),
        "no_label_rate": (1.0 - s["has_label"]) if "has_label" in s else None,
        "abstain_ratio": s.get("abstain_ratio"),
        "answer_entropy": s.get("answer_entropy"),
        "reward_mean": s.get("reward_mean"),
        "zero_variance_rate": s.get("zero_variance_groups"),
        "avg_at_k": s.get("avg_at_k"),
        "maj_at_k": s.get("maj_at_k"),
        "pass_at_k": s.get("pass_at_k"),
        "estimate_us_per_group": statistics.median(est_times) * 1e6 if est_times else None,
        "score_ms_per_group": statistics.median(score_times) * 1e3 if score_times else None,
    }
    return CellScore(metrics=out, groups=rows)


def _score_batch(
    scorer: GroupScorer, prepared: list[tuple[Any, list[str], Signals | None]], registry: Any, est: EstimatorSpec
) -> tuple[list[GroupResult], list[float], list[float]]:
    """A batch-aware estimator scores the cell's groups as ONE batch (the cell is its step).
    Times are per group: the whole call divided by the groups; the estimate alone is timed
    on a fresh estimator (same options, fresh running state), so timing never advances the
    scored estimator's state."""
    inputs = [GroupInput(tuple(resp), g.gold, None, g.id, sig) for g, resp, sig in prepared]
    n = max(len(inputs), 1)
    t0 = time.perf_counter()
    results = scorer.score_batch(inputs)
    score_s = (time.perf_counter() - t0) / n
    fresh: Any = registry.estimator(est.name, **dict(est.options))
    kwargs = {"signals": [sig for _g, _r, sig in prepared]} if scorer.needs else {}
    t0 = time.perf_counter()
    fresh.estimate_batch([r.classes for r in results], [None] * len(results), **kwargs)
    est_s = (time.perf_counter() - t0) / n
    return results, [score_s] * len(results), [est_s] * len(results)
