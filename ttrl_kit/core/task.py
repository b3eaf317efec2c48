"""The Task protocol, and a base class that turns a canonical key into equivalence classes.

A task knows everything domain-specific: how to ask (prompt), how to read an answer out of
free text (extraction), which answers mean the same thing (grouping) and how to grade.
Estimators know none of that; they only see class indices.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from ttrl_kit.core.records import AnswerClasses


@runtime_checkable
class Task(Protocol):
    """What a task plugin provides.  All methods must tolerate hostile text: model output is
    untrusted, so they return ``None`` / ``False`` rather than raise on bad input."""

    name: str

    def build_prompt(self, row: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Chat messages for one dataset row (engines apply the model's chat template)."""

    def gold_label(self, row: Mapping[str, Any]) -> str | None:
        """The reference answer of a row, used only for reporting; ``None`` when unlabeled."""

    def extract_answer(self, response: str) -> str | None:
        """The final answer in a response, or ``None`` when there is none (abstain)."""

    def group_answers(self, answers: Sequence[str | None]) -> AnswerClasses:
        """Partition extracted answers into equivalence classes (``None`` abstains)."""

    def is_correct(self, answer: str | None, gold: str) -> bool:
        """Whether an extracted answer matches a reference answer."""


def grade(task: Task, prediction: str, gold: str) -> bool:
    """Grade a prediction that may be a full response or a bare answer: the one per-sample
    gold grader (``ttrl-kit grade``, OpenRLHF's eval reward, verl's validation reward).

    Extraction runs first so that ``grade`` and voting read answers the same way.  Model
    output is untrusted and a plugin may fail in any way (even ``sys.exit``): a failure is a
    wrong answer, never an exception inside an engine's reward loop.
    """
    try:
        return bool(task.is_correct(task.extract_answer(prediction), gold))
    except KeyboardInterrupt:
        raise
    except BaseException:
        return False


class KeyedTask:
    """Base class for tasks whose equivalence is "same canonical key", optionally refined by
    an expensive ``equivalent`` check that runs only between class representatives.

    Subclasses implement :meth:`canonical_key` (cheap, total, returns ``None`` for answers
    that cannot be read) and may override :meth:`equivalent`.  Grouping costs one key per
    answer plus at most ``k*(k-1)/2`` ``equivalent`` calls for ``k`` distinct keys, never
    ``n^2`` calls.  ``equivalent`` is applied in both argument orders, so an asymmetric
    check cannot make the grouping depend on sample order.
    """

    name: str = "keyed"
    #: Stop merging representatives after this many ``equivalent`` calls (a budget, not a
    #: correctness knob: beyond it distinct keys simply stay distinct classes).
    max_equivalence_checks: int = 2000

    def canonical_key(self, answer: str) -> Hashable | None:
        raise NotImplementedError

    def equivalent(self, a: str, b: str) -> bool:
        """Refines key equality; the default says distinct keys are distinct answers."""
        return False

    def extract_answer(self, response: str) -> str | None:
        text = response.strip() if isinstance(response, str) else ""
        return text or None

    def group_answers(self, answers: Sequence[str | None]) -> AnswerClasses:
        return group_by_key(answers, self.canonical_key, self.equivalent, max_checks=self.max_equivalence_checks)

    def is_correct(self, answer: str | None, gold: str) -> bool:
        if answer is None or gold is None:
            return False
        classes = self.group_answers([answer, gold])
        return classes.class_of[0] is not None and classes.class_of[0] == classes.class_of[1]


def group_by_key(
    answers: Sequence[str | None],
    key: Callable[[str], Hashable | None],
    equivalent: Callable[[str, str], bool] | None = None,
    *,
    max_checks: int = 2000,
    deadline: float | None = None,
    answer_budget_s: float | None = None,
) -> AnswerClasses:
    """Bucket answers by key, then merge buckets whose representatives are equivalent.

    Classes are numbered by first appearance in ``answers``; a class's representative is
    its first member.  A key function that returns ``None`` (or raises) makes that sample
    abstain, so one unreadable answer never poisons the group.

    The merge stage is bounded three ways, because ``equivalent`` runs on untrusted text:
    at most ``max_checks`` calls, nothing after ``deadline`` (a ``time.monotonic()`` value),
    and at most ``answer_budget_s`` seconds spent comparing any one representative with the
    earlier ones.  A bucket that was not (fully) compared stays its own class: the fallback
    is the canonical-key partition, which can split a class but never merges a wrong one.
    With an ``equivalent`` the result's ``stats`` say whether that happened
    (``equivalence_truncated`` 0/1, ``equivalence_unchecked``: buckets not fully compared).
    """
    keys: list[Hashable | None] = []
    for a in answers:
        k = None
        if a is not None:
            try:
                k = key(a)
            except KeyboardInterrupt:
                raise
            except BaseException:  # untrusted text (or a plugin's sys.exit): a failing key is an abstention
                k = None
        keys.append(k)

    bucket_of_key: dict[Hashable, int] = {}
    bucket_rep: list[str] = []
    sample_bucket: list[int | None] = []
    for a, k in zip(answers, keys):
        if k is None:
            sample_bucket.append(None)
            continue
        b = bucket_of_key.get(k)
        if b is None:
            b = len(bucket_rep)
            bucket_of_key[k] = b
            bucket_rep.append(a)  # type: ignore[arg-type]
        sample_bucket.append(b)

    parent = list(range(len(bucket_rep)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    stats: dict[str, float] = {}
    if equivalent is not None:
        unchecked = 0
        checks = 0
        for j in range(1, len(bucket_rep)):
            started = time.monotonic()
            complete = True
            for i in range(j):
                if find(i) == find(j):
                    continue
                now = time.monotonic()
                if (
                    checks >= max_checks
                    or (deadline is not None and now >= deadline)
                    or (answer_budget_s is not None and now - started >= answer_budget_s)
                ):
                    complete = False
                    break
                checks += 1
                try:
                    same = equivalent(bucket_rep[i], bucket_rep[j]) or equivalent(bucket_rep[j], bucket_rep[i])
                except KeyboardInterrupt:
                    raise
                except BaseException:
                    same = False
                if same:
                    ri, rj = find(i), find(j)
                    parent[max(ri, rj)] = min(ri, rj)
            unchecked += not complete
        stats = {"equivalence_truncated": float(unchecked > 0), "equivalence_unchecked": float(unchecked)}

    class_of_root: dict[int, int] = {}
    reps: list[str] = []
    class_of: list[int | None] = []
    for b in sample_bucket:
        if b is None:
            class_of.append(None)
            continue
        r = find(b)
        c = class_of_root.get(r)
        if c is None:
            c = len(reps)
            class_of_root[r] = c
            reps.append(bucket_rep[r])
        class_of.append(c)
    return AnswerClasses(class_of=tuple(class_of), representatives=tuple(reps), stats=stats)
