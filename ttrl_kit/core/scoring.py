"""The call an engine makes once per prompt group: extract -> group -> estimate (-> evaluate).

Engines hold a :class:`GroupScorer` and hand it whole groups keyed by prompt id; they never
touch a task or an estimator directly, and never know which plugin provided them.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import Any, Hashable, Mapping, Sequence

from ttrl_kit.core import metrics
from ttrl_kit.core.errors import PluginError
from ttrl_kit.core.estimators import Estimator
from ttrl_kit.core.plugins import PluginRegistry, get_registry
from ttrl_kit.core.records import GroupResult
from ttrl_kit.core.task import Task


class GroupScorer:
    """A task and an estimator bound together."""

    def __init__(self, task: Task, estimator: Estimator) -> None:
        self.task = task
        self.estimator = estimator

    @classmethod
    def from_names(
        cls,
        task: str,
        estimator: str = "majority",
        *,
        task_options: Mapping[str, Any] | None = None,
        estimator_options: Mapping[str, Any] | None = None,
        registry: PluginRegistry | None = None,
    ) -> "GroupScorer":
        reg = registry or get_registry()
        return cls(reg.task(task, **dict(task_options or {})), reg.estimator(estimator, **dict(estimator_options or {})))

    def extract(self, response: Any) -> str | None:
        """Extraction that cannot raise: model output is untrusted, a failure abstains."""
        if not isinstance(response, str):
            return None
        try:
            answer = self.task.extract_answer(response)
        except KeyboardInterrupt:
            raise
        except BaseException:  # SystemExit from a plugin too: the sample abstains
            return None
        return answer if isinstance(answer, str) and answer.strip() else None

    def score(
        self,
        responses: Sequence[str],
        *,
        gold: str | None = None,
        n_train: int | None = None,
        id: Any = None,
    ) -> GroupResult:
        answers = tuple(self.extract(r) for r in responses)
        classes = _plugin_call(self.task.group_answers, answers, what=f"task {self._name(self.task)} group_answers")
        estimate = _plugin_call(self.estimator.estimate, classes, n_train, what=f"estimator {self._name(self.estimator)}")
        if classes.stats:  # the task's own numbers (e.g. a truncated equivalence stage) are logged too
            estimate = dataclasses.replace(estimate, stats={**estimate.stats, **classes.stats})
        if gold is None:
            return GroupResult(id=id, answers=answers, classes=classes, estimate=estimate)
        class_correct = [self._correct(rep, gold) for rep in classes.representatives]
        sample_correct = tuple(c is not None and class_correct[c] for c in classes.class_of)
        label_correct = estimate.label_class is not None and class_correct[estimate.label_class]
        k = len(estimate.rewards)
        rewarded = [a and not estimate.low_consensus for a in estimate.agrees[:k]]
        return GroupResult(
            id=id,
            answers=answers,
            classes=classes,
            estimate=estimate,
            gold=gold,
            label_correct=bool(label_correct),
            sample_correct=sample_correct,
            reward_accuracy=metrics.reward_accuracy(rewarded, sample_correct[:k]),
        )

    @staticmethod
    def _name(obj: Any) -> str:
        return repr(getattr(obj, "name", type(obj).__name__))

    def _correct(self, answer: str, gold: str) -> bool:
        try:
            return bool(self.task.is_correct(answer, gold))
        except KeyboardInterrupt:
            raise
        except BaseException:  # a grader failure (even SystemExit from a plugin) is a wrong answer
            return False

    def score_groups(
        self,
        ids: Sequence[Hashable],
        responses: Sequence[str],
        *,
        golds: Mapping[Hashable, str | None] | None = None,
        n_train: int | None = None,
    ) -> "OrderedDict[Hashable, tuple[list[int], GroupResult]]":
        """Score a flat batch whose samples carry prompt ids: samples are grouped by id,
        never by position, and each group is scored in one estimator call.  Returns, per
        id, the batch indices of its samples (in batch order) and its result."""
        if len(ids) != len(responses):
            raise ValueError(f"{len(ids)} ids for {len(responses)} responses")
        out: OrderedDict[Hashable, tuple[list[int], GroupResult]] = OrderedDict()
        for gid, idx in group_indices(ids).items():
            gold = golds.get(gid) if golds else None
            out[gid] = (idx, self.score([responses[i] for i in idx], gold=gold, n_train=n_train, id=gid))
        return out


def _plugin_call(fn: Any, *args: Any, what: str) -> Any:
    """Call plugin code; ordinary exceptions pass unchanged (callers report them as before),
    but a ``BaseException`` other than KeyboardInterrupt (``sys.exit`` in a plugin) becomes a
    one-line :class:`PluginError` instead of silently ending the engine or the command."""
    try:
        return fn(*args)
    except (Exception, KeyboardInterrupt):
        raise
    except BaseException as exc:
        raise PluginError(f"{what} raised {type(exc).__name__}: {exc}"[:500]) from None


def group_indices(ids: Sequence[Hashable]) -> "OrderedDict[Hashable, list[int]]":
    """Batch positions of each prompt id, in first-appearance order."""
    groups: OrderedDict[Hashable, list[int]] = OrderedDict()
    for i, gid in enumerate(ids):
        groups.setdefault(gid, []).append(i)
    return groups


def summarise(results: Sequence[GroupResult]) -> dict[str, float]:
    """Batch-level numbers an engine logs: estimator stats averaged over groups, plus the
    gold-based metrics over the groups that had a gold label."""
    out: dict[str, float] = {"groups": float(len(results))}
    if not results:
        return out
    keys = sorted({k for r in results for k in r.estimate.stats})
    for k in keys:
        vals = [r.estimate.stats[k] for r in results if k in r.estimate.stats]
        out[k] = sum(vals) / len(vals)
    labelled = [r for r in results if r.gold is not None]
    if labelled:
        out["label_accuracy"] = metrics.label_accuracy(r.label_correct for r in labelled)
        out["reward_accuracy"] = sum(r.reward_accuracy or 0.0 for r in labelled) / len(labelled)
        out["avg_at_k"] = sum(metrics.avg_at_k(r.sample_correct or ()) for r in labelled) / len(labelled)
        out["labelled_groups"] = float(len(labelled))
    return out
