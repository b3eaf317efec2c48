"""The call an engine makes once per prompt group: extract -> group -> estimate (-> evaluate).

Engines hold a :class:`GroupScorer` and hand it whole groups keyed by prompt id; they never
touch a task or an estimator directly, and never know which plugin provided them.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from typing import Any, cast

from ttrl_kit.core import metrics
from ttrl_kit.core.batch import is_batch, load_state, load_state_record, save_state, state_record
from ttrl_kit.core.errors import ConfigError, PluginError
from ttrl_kit.core.estimators import Estimator
from ttrl_kit.core.plugins import PluginRegistry, get_registry
from ttrl_kit.core.records import AnswerClasses, Estimate, GroupInput, GroupResult, Signals
from ttrl_kit.core.signals import check_supplied, estimator_needs, validate_group
from ttrl_kit.core.task import Task
from ttrl_kit.core.vote import plurality


class GroupScorer:
    """A task and an estimator bound together."""

    def __init__(self, task: Task, estimator: Estimator, estimator_name: str | None = None) -> None:
        self.task = task
        self.estimator = estimator
        self.estimator_name = estimator_name or str(getattr(estimator, "name", type(estimator).__name__))
        #: Signals the estimator reads (see :mod:`ttrl_kit.core.signals`); an engine computes
        #: exactly these, so an answers-only estimator (``()``) costs nothing extra.
        self.needs: tuple[str, ...] = estimator_needs(estimator, self.estimator_name)
        #: The estimator sees a whole step at once (``estimate_batch``, :mod:`ttrl_kit.core.batch`).
        self.batch: bool = is_batch(estimator)

    def check_engine(self, engine: str, supplied: Collection[str]) -> None:
        """Fail with one line (naming estimator, signal and engine) when ``engine`` cannot
        supply what the estimator needs; engines call it while configuring, before loading
        a model."""
        check_supplied(self.estimator_name, self.needs, engine, supplied)

    @classmethod
    def from_names(
        cls,
        task: str,
        estimator: str = "majority",
        *,
        task_options: Mapping[str, Any] | None = None,
        estimator_options: Mapping[str, Any] | None = None,
        registry: PluginRegistry | None = None,
        where: str | None = None,
    ) -> GroupScorer:
        """The one scorer factory: task and estimator from the plugin registry by name.
        ``where`` (a config file) puts ``"<where>: field 'task': "`` or ``"... field
        'estimator': "`` before a refusal, so a run config's error names its field."""
        reg = registry or get_registry()
        parts: list[Any] = []
        for field, build in (
            ("task", lambda: reg.task(task, **dict(task_options or {}))),
            ("estimator", lambda: reg.estimator(estimator, **dict(estimator_options or {}))),
        ):
            try:
                parts.append(build())
            except ConfigError as exc:
                if where is None:
                    raise
                raise type(exc)(f"{where}: field {field!r}: {exc}") from None
        return cls(parts[0], parts[1], estimator)

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

    def classify(self, responses: Sequence[str]) -> tuple[tuple[str | None, ...], AnswerClasses]:
        """Extract each response's answer and group the answers into the task's classes."""
        answers = tuple(self.extract(r) for r in responses)
        classes = _plugin_call(self.task.group_answers, answers, what=f"task {self._name(self.task)} group_answers")
        return answers, classes

    def score(
        self,
        responses: Sequence[str],
        *,
        gold: str | None = None,
        n_train: int | None = None,
        id: Any = None,
        signals: Signals | None = None,
        labelled: bool = False,
    ) -> GroupResult:
        """Extract, group and estimate one group.  ``signals`` (aligned with ``responses``)
        is handed to the estimator only when it declares ``needs``; then it must carry them.
        A batch-aware estimator is called with a batch of this one group.  ``labelled``: see
        :class:`~ttrl_kit.core.records.GroupInput` (gold rewards this group)."""
        if self.batch:
            return self.score_batch([GroupInput(tuple(responses), gold, n_train, id, signals, labelled)])[0]
        answers, classes = self.classify(responses)
        estimate_fn: Callable[..., Estimate] = self.estimator.estimate
        if self.needs:
            validate_group(signals, len(responses), self.needs, self.estimator_name)
            assert signals is not None  # validate_group refuses a group without them
            # a signal estimator's estimate() takes signals= (hookspecs); the Estimator protocol does not
            estimate_fn = functools.partial(cast(Any, self.estimator).estimate, signals=signals.only(self.needs))
        estimate = _plugin_call(estimate_fn, classes, n_train, what=f"estimator {self._name(self.estimator)}")
        return self._result(answers, classes, estimate, gold, id, labelled)

    def score_batch(self, groups: Sequence[GroupInput]) -> list[GroupResult]:
        """Score one step's groups.  A batch-aware estimator (``estimate_batch``, see
        :mod:`ttrl_kit.core.batch`) is called ONCE with every group; any other estimator
        group by group, exactly as :meth:`score`.  Results are in input order."""
        if not groups:  # e.g. a rank that owns no group this step: the estimator is not called
            return []
        if not self.batch:
            return [
                self.score(g.responses, gold=g.gold, n_train=g.n_train, id=g.id, signals=g.signals, labelled=g.labelled)
                for g in groups
            ]
        prepared = [self.classify(g.responses) for g in groups]
        kwargs: dict[str, Any] = {}
        if self.needs:
            sigs = []
            for g in groups:
                validate_group(g.signals, len(g.responses), self.needs, self.estimator_name)
                assert g.signals is not None
                sigs.append(g.signals.only(self.needs))
            kwargs["signals"] = sigs
        fn = functools.partial(cast(Any, self.estimator).estimate_batch, **kwargs)
        what = f"estimator {self._name(self.estimator)}"
        estimates = list(_plugin_call(fn, [c for _, c in prepared], [g.n_train for g in groups], what=what))
        if len(estimates) != len(groups):
            raise PluginError(f"{what}: estimate_batch returned {len(estimates)} estimates for {len(groups)} groups")
        return [self._result(a, c, e, g.gold, g.id, g.labelled) for (a, c), e, g in zip(prepared, estimates, groups)]

    def save_state(self, directory: Any) -> Any:
        """Save a stateful estimator's running state into a checkpoint directory (no-op
        otherwise); see :mod:`ttrl_kit.core.batch`."""
        return save_state(self.estimator, directory)

    def load_state(self, directory: Any) -> bool:
        """Restore the state :meth:`save_state` wrote (False when there is none)."""
        return load_state(self.estimator, directory)

    def state_record(self) -> dict[str, Any] | None:
        """The estimator's state as a JSON-serialisable record (None: stateless), for engines
        that store it inside their own checkpoint format (OpenRLHF's client states)."""
        return state_record(self.estimator)

    def load_state_record(self, record: Any, where: str) -> None:
        """Restore a :meth:`state_record`; ``where`` names the checkpoint in errors."""
        load_state_record(self.estimator, record, where)

    def _result(
        self,
        answers: tuple[str | None, ...],
        classes: AnswerClasses,
        estimate: Estimate,
        gold: str | None,
        id: Any,
        labelled: bool,
    ) -> GroupResult:
        """The group's record; with gold, the evaluation numbers (and, for a labelled group
        only, gold rewards).  The estimate was made before gold is looked at."""
        if classes.stats:  # the task's own numbers (e.g. a truncated equivalence stage) are logged too
            estimate = dataclasses.replace(estimate, stats={**estimate.stats, **classes.stats})
        if labelled and gold is None:
            raise ConfigError(f"group {str(id)[:80]!r} is labelled for training but has no gold answer")
        if gold is None:
            return GroupResult(id=id, answers=answers, classes=classes, estimate=estimate)
        class_correct = tuple(self._correct(rep, gold) for rep in classes.representatives)
        sample_correct = tuple(c is not None and class_correct[c] for c in classes.class_of)
        label_correct = estimate.label_class is not None and class_correct[estimate.label_class]
        k = len(estimate.rewards)
        gold_rewards = tuple(1.0 if ok else 0.0 for ok in sample_correct[:k]) if labelled else None
        if gold_rewards is not None:
            rewarded = [r > 0 for r in gold_rewards]
        else:
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
            class_correct=class_correct,
            gold_rewards=gold_rewards,
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
        signals: Signals | None = None,
        extra: Mapping[Hashable, Sequence[str]] | None = None,
        extra_signals: Mapping[Hashable, Signals | None] | None = None,
        labelled: Collection[Hashable] | None = None,
    ) -> OrderedDict[Hashable, tuple[list[int], GroupResult]]:
        """Score a flat batch whose samples carry prompt ids: samples are grouped by id,
        never by position, each group is scored whole, and the step's groups form one batch
        (:meth:`score_batch`: a batch-aware estimator sees them in one call).  Returns, per
        id, the batch indices of its samples (in batch order) and its result.

        Every engine scores its batches through this call (verl's ``uid`` rows, the TRL
        reward's gathered step).  ``signals`` covers the batch's responses (aligned with
        them); ``extra[id]`` are vote-only responses appended after the group's own (with
        their signals in ``extra_signals[id]``), so ``n_train`` is then the group's own size.
        ``labelled``: ids whose groups are rewarded against gold (a few labels)."""
        if len(ids) != len(responses):
            raise ValueError(f"{len(ids)} ids for {len(responses)} responses")
        if signals is not None and signals.n != len(responses):
            raise ValueError(f"signals cover {signals.n} responses, the batch has {len(responses)}")
        groups = group_indices(ids)
        inputs = []
        for gid, idx in groups.items():
            group = tuple([responses[i] for i in idx] + list((extra or {}).get(gid, ())))
            sig = signals.take(idx) if signals is not None else None
            more = (extra_signals or {}).get(gid)
            if sig is not None and more is not None:
                sig = sig.concat(more)
            gold = golds.get(gid) if golds else None
            inputs.append(GroupInput(group, gold, n_train, gid, sig, gid in (labelled or ())))
        results = self.score_batch(inputs)
        return OrderedDict((gid, (idx, r)) for (gid, idx), r in zip(groups.items(), results))


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


def group_indices(ids: Sequence[Hashable]) -> OrderedDict[Hashable, list[int]]:
    """Batch positions of each prompt id, in first-appearance order."""
    groups: OrderedDict[Hashable, list[int]] = OrderedDict()
    for i, gid in enumerate(ids):
        groups.setdefault(gid, []).append(i)
    return groups


@dataclasses.dataclass(frozen=True)
class GroupGold:
    """Gold-side numbers of one labelled group, for reports only (never for rewards).

    ``avg_at_k``: share of its k samples that are correct (TTRL's pass@1); ``maj_at_k``: 1
    when the plurality class (:func:`ttrl_kit.core.vote.plurality`, abstentions never win)
    is correct; ``pass_at_k``: unbiased pass@k with k = n (1 when any sample is correct);
    ``majority_class``: that plurality class (None when nothing answered)."""

    avg_at_k: float
    maj_at_k: float
    pass_at_k: float
    majority_class: int | None


def group_gold(result: GroupResult) -> GroupGold | None:
    """The gold-side numbers of one group, or None when it had no gold label."""
    correct, class_correct = result.sample_correct, result.class_correct
    if result.gold is None or correct is None or class_correct is None:
        return None
    class_of = result.classes.class_of
    return GroupGold(
        avg_at_k=metrics.avg_at_k(correct),
        maj_at_k=metrics.maj_at_k(class_of, class_correct),
        pass_at_k=metrics.pass_at_k(len(correct), sum(correct), len(correct)),
        majority_class=plurality(class_of),
    )


def summarise(results: Sequence[GroupResult]) -> dict[str, float]:
    """The batch numbers every engine, the bench and the CLI report: estimator stats
    averaged over groups (each over the groups that have it), ``zero_variance_groups``
    (share of groups whose trained rewards are all equal: GRPO learns nothing from them)
    and, over the groups with a gold label, ``label_accuracy`` / ``reward_accuracy``
    (absent for an estimator that never labels, stat ``label_free``), ``avg_at_k``,
    ``maj_at_k``, ``pass_at_k`` (see :class:`GroupGold`) and ``labelled_groups``.  When some
    groups were rewarded against gold (a few labels), ``reward_mean`` is the mean of the
    rewards actually trained on and ``vote_reward_mean`` the estimator's own."""
    out: dict[str, float] = {"groups": float(len(results))}
    if not results:
        return out
    keys = sorted({k for r in results for k in r.estimate.stats})
    for k in keys:
        vals = [r.estimate.stats[k] for r in results if k in r.estimate.stats]
        out[k] = sum(vals) / len(vals)
    out["zero_variance_groups"] = sum(1.0 if len(set(r.rewards)) <= 1 else 0.0 for r in results) / len(results)
    labelled = [r for r in results if r.gold is not None]
    if labelled:
        # An estimator that never labels (stat ``label_free``) has no label/reward accuracy.
        if not all(r.estimate.stats.get("label_free") for r in labelled):
            out["label_accuracy"] = metrics.label_accuracy(r.label_correct for r in labelled)
            out["reward_accuracy"] = sum(r.reward_accuracy or 0.0 for r in labelled) / len(labelled)
        gold = [g for g in map(group_gold, labelled) if g is not None]
        if gold:
            out["avg_at_k"] = sum(g.avg_at_k for g in gold) / len(gold)
            out["maj_at_k"] = sum(g.maj_at_k for g in gold) / len(gold)
            out["pass_at_k"] = sum(g.pass_at_k for g in gold) / len(gold)
        out["labelled_groups"] = float(len(labelled))
    gold_rewarded = [r for r in results if r.gold_rewards is not None]
    if gold_rewarded:  # a few labels: the estimator's label accuracy on each part, side by side
        out["gold_reward_share"] = len(gold_rewarded) / len(results)
        if "reward_mean" in out:  # the rewards trained on, not the vote's where gold replaced them
            out["vote_reward_mean"] = out["reward_mean"]
            out["reward_mean"] = sum(sum(r.rewards) / len(r.rewards) if r.rewards else 0.0 for r in results) / len(
                results
            )
        out["label_accuracy_gold_rewarded"] = metrics.label_accuracy(r.label_correct for r in gold_rewarded)
        rest = [r for r in labelled if r.gold_rewards is None]
        if rest:
            out["label_accuracy_vote_rewarded"] = metrics.label_accuracy(r.label_correct for r in rest)
    return out
